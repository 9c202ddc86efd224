/*
 * The seccomp-bpf layer: a deny list over a default of "allow", built once
 * per process with libseccomp and exported to raw BPF, so that a run only
 * pays for one prctl (generating the filter costs far more than loading it).
 *
 * Denied with EPERM: every way to reach the network (socket; socketpair
 * stays, it connects to nothing), to inspect or steer other processes
 * (ptrace, process_vm_*, pidfd_getfd, kcmp), to change the file-system view
 * (mount and the new mount API, pivot_root, chroot, umount), to leave or
 * make namespaces (unshare, setns, clone with CLONE_NEW*), and the kernel's
 * administrative surface (kexec, bpf, perf_event_open, keyctl, reboot,
 * modules, swap, clocks, syslog, acct, quotactl, io_uring, userfaultfd,
 * fanotify, handles, iopl/ioperm).  clone3 answers ENOSYS: its flags live in
 * memory where BPF cannot look, and glibc then falls back to clone, whose
 * flags it can.  Syscalls of another ABI (i386, x32) kill the process
 * (libseccomp's bad-arch action).
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/internal.h"

static const char *const DENIED[] = {
    "socket", "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
    "mount", "umount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen",
    "fsmount", "fspick", "fsconfig", "mount_setattr", "unshare", "setns", "kexec_load",
    "kexec_file_load", "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "reboot",
    "init_module", "finit_module", "delete_module", "create_module", "swapon", "swapoff",
    "syslog", "acct", "quotactl", "quotactl_fd", "settimeofday", "clock_settime", "clock_adjtime",
    "adjtimex", "io_uring_setup", "io_uring_enter", "io_uring_register", "userfaultfd",
    "fanotify_init", "open_by_handle_at", "name_to_handle_at", "iopl", "ioperm", "vhangup",
    "lookup_dcookie", "sethostname", "setdomainname", "personality", "nfsservctl",
};

static const unsigned long NEW_NS_FLAGS[] = {
    CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS,
    CLONE_NEWCGROUP, 0x00000080 /* CLONE_NEWTIME */,
};

static struct sock_fprog g_prog;
static int g_rc;
static char g_msg[256];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static int add_rules(scmp_filter_ctx ctx) {
    for (size_t i = 0; i < sizeof DENIED / sizeof DENIED[0]; i++) {
        int nr = seccomp_syscall_resolve_name(DENIED[i]);
        if (nr == __NR_SCMP_ERROR) continue; /* not on this architecture */
        int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
        if (rc < 0 && rc != -EDOM) {
            snprintf(g_msg, sizeof g_msg, "seccomp: rule for %s: %s", DENIED[i], strerror(-rc));
            return -1;
        }
    }
    for (size_t i = 0; i < sizeof NEW_NS_FLAGS / sizeof NEW_NS_FLAGS[0]; i++) {
        int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                  SCMP_A0(SCMP_CMP_MASKED_EQ, NEW_NS_FLAGS[i], NEW_NS_FLAGS[i]));
        if (rc < 0) {
            snprintf(g_msg, sizeof g_msg, "seccomp: clone flag rule: %s", strerror(-rc));
            return -1;
        }
    }
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                                       SCMP_A1(SCMP_CMP_EQ, TIOCSTI));
    if (rc < 0) {
        snprintf(g_msg, sizeof g_msg, "seccomp: clone3/ioctl rule: %s", strerror(-rc));
        return -1;
    }
    return 0;
}

/* Export the filter through a memfd and keep the BPF program. */
static int export_bpf(scmp_filter_ctx ctx) {
    int fd = memfd_create("grpo-seccomp", MFD_CLOEXEC);
    if (fd < 0) {
        snprintf(g_msg, sizeof g_msg, "seccomp: memfd_create: %s", strerror(errno));
        return -1;
    }
    int rc = seccomp_export_bpf(ctx, fd);
    off_t size = lseek(fd, 0, SEEK_END);
    if (rc < 0 || size <= 0 || size % sizeof(struct sock_filter)) {
        snprintf(g_msg, sizeof g_msg, "seccomp: export: %s", strerror(rc < 0 ? -rc : EINVAL));
        close(fd);
        return -1;
    }
    struct sock_filter *code = malloc((size_t)size);
    ssize_t got = code ? pread(fd, code, (size_t)size, 0) : -1;
    close(fd);
    if (got != size) {
        free(code);
        snprintf(g_msg, sizeof g_msg, "seccomp: reading the exported filter failed");
        return -1;
    }
    g_prog.len = (unsigned short)(size / sizeof(struct sock_filter));
    g_prog.filter = code;
    return 0;
}

static void build_once(void) {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) {
        snprintf(g_msg, sizeof g_msg, "seccomp: seccomp_init failed");
        g_rc = -1;
        return;
    }
    /* We set no_new_privs ourselves, in the documented order. */
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    g_rc = add_rules(ctx);
    if (g_rc == 0) g_rc = export_bpf(ctx);
    seccomp_release(ctx);
}

int sb_seccomp_filter(const struct sock_fprog **out, core_error *err) {
    pthread_once(&g_once, build_once);
    if (g_rc != 0) return core_fail(err, CORE_ERUNTIME, "%s", g_msg);
    *out = &g_prog;
    return 0;
}

int sb_seccomp_apply(const struct sock_fprog *filter) {
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, filter) == 0) return 0;
    return -errno;
}
