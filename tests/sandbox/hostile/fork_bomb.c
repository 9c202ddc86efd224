/* Fork bomb: every process forks forever.  Expected: TIME_LIMIT, the pids
 * cap turns fork into EAGAIN, and no "grpo-forkbomb" process survives. */
#include <sys/prctl.h>
#include <unistd.h>
int main(void) {
    prctl(PR_SET_NAME, "grpo-forkbomb");
    for (;;) fork();
}
