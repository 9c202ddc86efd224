/* Attaches to its parent (the instance's init) and tries to be traced.
 * Expected: OK and "ptrace denied". */
#include <stdio.h>
#include <sys/ptrace.h>
#include <unistd.h>
int main(void) {
    long a = ptrace(PTRACE_ATTACH, getppid(), 0, 0);
    long b = ptrace(PTRACE_SEIZE, 1, 0, 0);
    long c = ptrace(PTRACE_TRACEME, 0, 0, 0);
    printf(a == -1 && b == -1 && c == -1 ? "ptrace denied\n" : "PTRACE ALLOWED\n");
    return 0;
}
