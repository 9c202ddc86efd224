/* A child that outlives its parent: fork, setsid, fork again, and the
 * grandchild ("grpo-survivor") sleeps while the main program exits 0.
 * Expected: OK, promptly, and no "grpo-survivor" left afterwards. */
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>
int main(void) {
    if (fork() == 0) {
        setsid();
        if (fork() == 0) {
            prctl(PR_SET_NAME, "grpo-survivor");
            for (;;) sleep(1);
        }
        _exit(0);
    }
    sleep(1); /* let the survivor settle before the main program exits */
    printf("parent done\n");
    return 0;
}
