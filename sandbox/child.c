/*
 * The instance's init: the cloned child, PID 1 of its own PID namespace.
 * It applies the layers in the fixed order documented in sandbox.h, then
 * runs each step (compile, run) as a forked payload and reports "started"
 * and "ended" records on the status pipe.  When it exits, the kernel kills
 * every other process of the namespace: nothing outlives a run.
 *
 * The init keeps its namespace capabilities (it needs them for the mounts)
 * but makes itself non-dumpable, so a payload, which has none, cannot ptrace
 * it, read its memory or signal it (PID 1 ignores signals it has no handler
 * for).  Async-signal-safe code only: the parent may be multithreaded.
 * Raw syscalls where glibc would consult its thread list or locks, which
 * clone() copied from a parent with other threads: setresuid and friends
 * (glibc signals every thread it believes exists and waits for them); no
 * fork (glibc takes its allocator locks around it) but vfork, a bare
 * syscall, which also spares copying the address space again.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/internal.h"

#ifndef SECBIT_NOROOT
#define SECBIT_NOROOT (1 << 0)
#define SECBIT_NOROOT_LOCKED (1 << 1)
#define SECBIT_NO_SETUID_FIXUP (1 << 2)
#define SECBIT_NO_SETUID_FIXUP_LOCKED (1 << 3)
#define SECBIT_KEEP_CAPS_LOCKED (1 << 5)
#define SECBIT_NO_CAP_AMBIENT_RAISE (1 << 6)
#define SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED (1 << 7)
#endif

#define COMPILE_LOG "/tmp/.compile.log"

static const char *const ENVP[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/work",
                                   "TMPDIR=/tmp", "LANG=C.UTF-8", "PYTHONHASHSEED=0", NULL};

static int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void send_record(const sb_record *r) {
    ssize_t n;
    do n = write(SB_FD_STATUS, r, sizeof *r); while (n < 0 && errno == EINTR);
}

void sb_report_error(int fd, int step, const char *stage, int err_no) {
    sb_record r;
    memset(&r, 0, sizeof r);
    r.kind = SB_REC_ERROR;
    r.step = step;
    r.err_no = err_no;
    size_t n = strlen(stage);
    if (n >= sizeof r.msg) n = sizeof r.msg - 1;
    memcpy(r.msg, stage, n);
    ssize_t w;
    do w = write(fd, &r, sizeof r); while (w < 0 && errno == EINTR);
}

static _Noreturn void fail(int step, const char *stage, int err_no) {
    sb_report_error(SB_FD_STATUS, step, stage, err_no);
    _exit(127);
}

/* Move the plan's descriptors to SB_FD_* and close every other one. */
static int arrange_fds(const sb_plan *p) {
    int want[] = {p->fd_status, p->fd_stdin, p->fd_out, p->fd_err, p->fd_sync};
    int high[5];
    for (int i = 0; i < 5; i++) /* first out of the way of 3..7 */
        if ((high[i] = fcntl(want[i], F_DUPFD, 64)) < 0) return -errno;
    for (int i = 0; i < 5; i++)
        if (dup2(high[i], SB_FD_STATUS + i) < 0) return -errno;
    if (syscall(SYS_close_range, SB_FD_FIRST_FREE, ~0U, 0) != 0) return -errno;
    return 0;
}

static int write_source(const sb_plan *p) {
    if (!p->source_file) return 0;
    char path[64] = "/work/";
    strncat(path, p->source_file, sizeof path - 7);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)p->source_mode);
    if (fd < 0) return -errno;
    size_t done = 0;
    while (done < p->source_len) {
        ssize_t n = write(fd, p->source + done, p->source_len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = n < 0 ? errno : ENOSPC;
            close(fd);
            return -e;
        }
        done += (size_t)n;
    }
    close(fd);
    return 0;
}

/* The root-only fallback (no user namespace): become nobody of the host. */
static int become_nobody(void) {
    if (syscall(SYS_setgroups, 0, NULL) != 0) return -errno;
    if (syscall(SYS_setresgid, 65534, 65534, 65534) != 0) return -errno;
    if (syscall(SYS_setresuid, 65534, 65534, 65534) != 0) return -errno;
    return 0;
}

/* Every capability gone for good: bounding set, ambient, effective,
 * permitted, inheritable; securebits so that uid 0 regains none on exec.
 * Without a user namespace the identity changes to nobody in between,
 * while CAP_SETUID is still effective. */
static int drop_capabilities(int userns) {
    for (int cap = 0; cap <= 63; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return -errno;
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    int bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
               SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
               SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
    if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) != 0) return -errno;
    int rc = userns ? 0 : become_nobody();
    if (rc) return rc;
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capset, &hdr, data) != 0) return -errno;
    return 0;
}

/* Standard streams of a step: the run step gets the program's stdin and
 * the capture pipes; the compile step reads nothing and logs to a file
 * that the init shows only if compiling fails. */
static int step_stdio(const sb_step *s) {
    int in = SB_FD_STDIN, out = SB_FD_OUT, err = SB_FD_ERR;
    if (s->kind == SB_STEP_COMPILE) {
        in = open("/dev/null", O_RDONLY);
        out = err = open(COMPILE_LOG, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0) return -errno;
    }
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) return -errno;
    return 0;
}

/* The payload: steps 4a-4d of the documented order, then exec. */
static _Noreturn void payload(const sb_plan *p, int k) {
    const sb_step *s = &p->steps[k];
    const char *stage = "rlimits";
    int rc;
    if (setsid() < 0) fail(k, "setsid", errno);
    if ((rc = step_stdio(s))) fail(k, "stdio", -rc);
    fcntl(SB_FD_STATUS, F_SETFD, FD_CLOEXEC);
    if (syscall(SYS_close_range, SB_FD_STATUS + 1, ~0U, 0) != 0) fail(k, "close_range", errno);
    if (chdir("/work") != 0) fail(k, "chdir /work", errno);
    /* The OOM killer must pick the program, never the init (whose RSS
     * counts every page it shares with the process it was cloned from). */
    int adj = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (adj >= 0) {
        if (write(adj, "1000", 4) != 4) {} /* raising it is always allowed; best effort */
        close(adj);
    }
    if ((rc = sb_rlimits_apply(&s->lim, p->cg_mem, p->userns, &stage))) fail(k, stage, -rc);
    if ((rc = drop_capabilities(p->userns))) fail(k, "drop capabilities", -rc);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(k, "no_new_privs", errno);
    if (p->filter && (rc = sb_seccomp_apply(p->filter))) fail(k, "seccomp", -rc);
    execve(s->argv[0], (char *const *)s->argv, (char *const *)ENVP);
    fail(k, "execve", errno);
}

/* Kill every process left in the namespace and reap them all: after this
 * the init is alone (a process whose parent died was reparented to it). */
static void sweep(void) {
    for (;;) {
        kill(-1, SIGKILL);
        pid_t r = waitpid(-1, NULL, __WALL);
        if (r < 0 && errno == ECHILD) return;
    }
}

static void dump_compile_log(void) {
    int fd = open(COMPILE_LOG, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        if (write(SB_FD_ERR, buf, (size_t)n) != n) break;
    close(fd);
}

/* Run step k; returns its wait status. */
static int run_step(const sb_plan *p, int k) {
    sb_record r;
    memset(&r, 0, sizeof r);
    r.step = k;
    r.kind = SB_REC_START;
    send_record(&r);
    int64_t t0 = now_us();
    /* vfork: the init is a copy of the caller (maybe a trainer holding
     * gigabytes), and the payload only makes syscalls before execve. */
#ifdef __SANITIZE_ADDRESS__
    /* ASan's vfork interceptor unpoisons from our (heap) clone stack up to
     * the thread's stack: hundreds of MB of shadow writes, charged to the
     * instance's memory cgroup, and the init is OOM-killed. */
    pid_t pid = (pid_t)syscall(SYS_fork);
#else
    pid_t pid = vfork();
#endif
    if (pid < 0) fail(k, "fork payload", errno);
    if (pid == 0) payload(p, k);
    int status = 0;
    struct rusage ru;
    while (wait4(pid, &status, __WALL, &ru) < 0)
        if (errno != EINTR) fail(k, "wait payload", errno);
    r.wall_us = now_us() - t0;
    sweep();
    r.kind = SB_REC_END;
    r.wstatus = status;
    r.cpu_us = (int64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec +
               (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
    r.rss_kb = ru.ru_maxrss;
    if (p->steps[k].kind == SB_STEP_COMPILE) {
        if (status != 0) dump_compile_log();
        unlink(COMPILE_LOG);
    }
    send_record(&r);
    return status;
}

int sb_child_main(void *arg) {
    const sb_plan *p = arg;
    const char *stage = "";
    int rc;
    char go = 0;
    /* Close the parent's other descriptors first (other runs' pipes among
     * them), then wait until it has mapped our uid and put us in the cgroup. */
    if ((rc = arrange_fds(p))) {
        sb_report_error(p->fd_status, -1, "arrange fds", -rc);
        _exit(127);
    }
    if (read(SB_FD_SYNC, &go, 1) != 1 || go != 'g') _exit(126);
    close(SB_FD_SYNC);
    if (p->fault) fail(-1, "injected fault (GRPO_FAULT_SANDBOX)", EIO); /* as a failed mount would */
    /* Become SB_UID, the namespace's only user (nobody outside): until then
     * our credentials are the parent's (host root), unmapped here.  The
     * capabilities the clone gave us in the namespace stay: uid 0 is not
     * mapped, so this is no change from or to root and nothing is dropped. */
    if (p->userns) {
        syscall(SYS_setgroups, 0, NULL); /* refused (and moot) when the parent was unprivileged */
        if (syscall(SYS_setresgid, SB_GID, SB_GID, SB_GID) != 0) fail(-1, "setresgid", errno);
        if (syscall(SYS_setresuid, SB_UID, SB_UID, SB_UID) != 0) fail(-1, "setresuid", errno);
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if ((rc = sb_mounts_setup(p, &stage))) fail(-1, stage, -rc);
    if (sethostname("sandbox", 7) != 0) fail(-1, "sethostname", errno);
    if ((rc = write_source(p))) fail(-1, "write source", -rc);
    for (int k = 0; k < p->n_steps; k++)
        if (run_step(p, k) != 0) break;
    _exit(0);
}
