#define _GNU_SOURCE
/* Pokes at the kernel's administrative surface; each attempt must fail.
 * Prints "allowed: NAME" for any that succeeds, then "attempts N allowed M".
 * Nothing here reboots, loads code into the kernel or leaves the box: the
 * calls are harmless even where they would be allowed. */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

static int attempts, allowed;

static void expect_fail(const char *name, long rc) {
    attempts++;
    if (rc >= 0) {
        allowed++;
        printf("allowed: %s\n", name);
    }
}

int main(void) {
    expect_fail("mount tmpfs", mount("none", "/tmp", "tmpfs", 0, NULL));
    expect_fail("unshare user", unshare(CLONE_NEWUSER));
    expect_fail("unshare net", unshare(CLONE_NEWNET));
    expect_fail("unshare mount", unshare(CLONE_NEWNS));
    expect_fail("clone newuser", syscall(SYS_clone, CLONE_NEWUSER | 17 /* SIGCHLD */, 0, 0, 0, 0));
    int ns = open("/proc/1/ns/net", O_RDONLY);
    expect_fail("setns", ns >= 0 ? syscall(SYS_setns, ns, 0) : -1);
    expect_fail("chroot", chroot("/tmp"));
    expect_fail("bpf", syscall(SYS_bpf, 0, 0, 0));
    expect_fail("keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0));
    expect_fail("perf_event_open", syscall(SYS_perf_event_open, 0, 0, -1, -1, 0));
    expect_fail("io_uring_setup", syscall(SYS_io_uring_setup, 1, 0));
    expect_fail("userfaultfd", syscall(SYS_userfaultfd, 0));
    expect_fail("open /proc/1/mem", open("/proc/1/mem", O_RDONLY));
    expect_fail("open /proc/1/environ", open("/proc/1/environ", O_RDONLY));
    expect_fail("sethostname", sethostname("pwned", 5));
    expect_fail("setuid 0 regain", setuid(0) == 0 && setgid(0) == 0 && mount("none", "/work", "tmpfs", 0, NULL) == 0 ? 0 : -1);
    expect_fail("write /proc/sys", open("/proc/sys/kernel/hostname", O_WRONLY));
    expect_fail("mknod", syscall(SYS_mknod, "/work/null", 0020666, 0x0103));
    expect_fail("write /usr", open("/usr/grpo-probe", O_WRONLY | O_CREAT, 0644));
    printf("attempts %d allowed %d\n", attempts, allowed);
    return 0;
}
