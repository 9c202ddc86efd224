/* Recursion without end, 4 KB a frame.  Expected: RUNTIME_ERROR, SIGSEGV. */
#include <stdio.h>
static int down(int n) {
    volatile char frame[4096];
    frame[0] = (char)n;
    return down(n + 1) + frame[0];
}
int main(void) { return down(0); }
