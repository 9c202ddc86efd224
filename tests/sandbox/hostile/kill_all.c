/* kill(-1, SIGKILL): every process it may signal.  Expected: the test and
 * its canary outside the sandbox live on; the program itself survives
 * (kill(-1) spares the caller) and prints "alive". */
#include <signal.h>
#include <stdio.h>
int main(void) {
    int rc = kill(-1, SIGKILL);
    printf("alive %d\n", rc);
    return 0;
}
