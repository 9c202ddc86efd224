/* Shared by the sandbox tests: skip (not fail) when this machine cannot
 * make namespaces at all, checked independently of the code under test. */
#ifndef GRPO_TESTS_SANDBOX_NAMESPACES_H
#define GRPO_TESTS_SANDBOX_NAMESPACES_H

#include <criterion/criterion.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

/* 1 when a child may unshare user (or, as root, pid+mount) namespaces. */
static inline int namespaces_available(void) {
    pid_t pid = fork();
    if (pid == 0) {
        int flags = CLONE_NEWPID | CLONE_NEWNS;
        _exit(unshare(flags | CLONE_NEWUSER) == 0 || (geteuid() == 0 && unshare(flags) == 0) ? 0 : 1);
    }
    int status = 1;
    if (pid > 0) waitpid(pid, &status, 0);
    return pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* After sandbox_run failed with msg: skip when namespaces are unavailable. */
static inline void skip_without_namespaces(const char *msg) {
    if (!namespaces_available())
        cr_skip_test("this machine cannot make namespaces (%s)", msg);
}

#endif
