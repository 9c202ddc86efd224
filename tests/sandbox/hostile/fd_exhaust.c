/* Opens descriptors until refused.  Expected: OK, at most max_fds. */
#include <stdio.h>
#include <unistd.h>
int main(void) {
    int n = 0;
    while (dup(0) >= 0) n++;
    printf("opened %d\n", n);
    return 0;
}
