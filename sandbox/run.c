/*
 * The parent side of a run: build the plan, clone the instance, map its
 * root to nobody, put it in a cgroup slot, let it go; then only wait,
 * measure and kill.  Limits the parent enforces:
 *
 *   wall clock  per step, from the step's "started" record: compile
 *               COMPILE_WALL_MS, run lim->time_ms.  At the deadline the
 *               instance's init is SIGKILLed and the kernel kills its whole
 *               PID namespace.
 *   output      each stream is kept up to output_kb; one byte more kills
 *               the instance (OUTPUT_LIMIT) instead of draining forever.
 *   setup       the instance must start its first step within SETUP_MS.
 *
 * The verdict is decided once everything has ended (decide()).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/internal.h"

#define STACK_SIZE (1024 * 1024)
/* gcc on a short program takes ~0.1 s of CPU; the CPU cap is what bounds a
 * compile bomb, the wall clock is generous so a busy machine does not turn
 * a slow compile into a failed one. */
#define COMPILE_CPU_MS 10000
#define COMPILE_WALL_MS 60000
#define COMPILE_MEM_MB 512
#define SETUP_MS 30000 /* a hung init only; generous for busy machines */
#define EXIT_GRACE_MS 2000
#define NS_FLAGS (CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS)
#define ISO_INSTANCE (SANDBOX_ISO_USER | SANDBOX_ISO_PID | SANDBOX_ISO_NET | SANDBOX_ISO_MOUNT | \
                      SANDBOX_ISO_IPC | SANDBOX_ISO_UTS | SANDBOX_ISO_FS | SANDBOX_ISO_NNP |     \
                      SANDBOX_ISO_SECCOMP | SANDBOX_ISO_RLIMITS)

void sandbox_limits_default(sandbox_limits *lim) {
    *lim = (sandbox_limits){.time_ms = 2000, .cpu_ms = 0, .mem_mb = 256, .output_kb = 64,
                            .max_procs = 16, .file_mb = 16, .max_fds = 64};
}

void sandbox_limits_from_config(sandbox_limits *lim, const core_config *cfg) {
    sandbox_limits_default(lim);
    lim->time_ms = cfg->sandbox.time_ms;
    lim->cpu_ms = cfg->sandbox.cpu_ms;
    lim->mem_mb = cfg->sandbox.mem_mb;
    lim->output_kb = cfg->sandbox.output_kb;
    lim->max_procs = cfg->sandbox.max_procs;
}

static int check_limits(const sandbox_limits *l, core_error *err) {
    struct { const char *name; int value, lo, hi; } t[] = {
        {"time_ms", l->time_ms, 1, 3600000},  {"cpu_ms", l->cpu_ms, 0, 3600000},
        {"mem_mb", l->mem_mb, 8, 1048576},    {"output_kb", l->output_kb, 1, 1048576},
        {"max_procs", l->max_procs, 1, 65536}, {"file_mb", l->file_mb, 1, 65536},
        {"max_fds", l->max_fds, 8, 65536},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (t[i].value < t[i].lo || t[i].value > t[i].hi)
            return core_fail(err, CORE_EINPUT, "sandbox limits: %s = %d, expected %d..%d",
                             t[i].name, t[i].value, t[i].lo, t[i].hi);
    if (l->cpu_ms > l->time_ms) /* the wall clock would always stop the program first */
        return core_fail(err, CORE_EINPUT, "sandbox limits: cpu_ms = %d is above time_ms = %d, so it "
                         "would never apply", l->cpu_ms, l->time_ms);
    return 0;
}

/* ------------------------------------------------------------------ plan */

static int fill_argv(const char **dst, const char *const *base, const char *const *extra) {
    int n = 0;
    for (; base && base[n]; n++) dst[n] = base[n];
    for (int i = 0; extra && extra[i]; i++) {
        if (n >= SB_MAX_ARGS) return -1;
        dst[n++] = extra[i];
    }
    dst[n] = NULL;
    return n;
}

static int build_plan(sb_plan *p, const sb_lang *lang, const sandbox_limits *lim,
                      const sandbox_program *prog, core_error *err) {
    memset(p, 0, sizeof *p);
    p->source = prog->source;
    p->source_len = prog->source_len;
    p->source_file = lang->source_file;
    p->source_mode = lang->executable ? 0755 : 0644;
    p->file_mb = lim->file_mb;
    if (lang->source_file && !prog->source)
        return core_fail(err, CORE_EINPUT, "sandbox: language %s needs a source text", lang->name);
    if (lang->compile[0]) {
        sb_step *c = &p->steps[p->n_steps++];
        c->kind = SB_STEP_COMPILE;
        fill_argv(c->argv, lang->compile, NULL);
        c->lim = *lim;
        c->lim.time_ms = COMPILE_WALL_MS;
        c->lim.cpu_ms = COMPILE_CPU_MS;
        c->lim.mem_mb = lim->mem_mb > COMPILE_MEM_MB ? lim->mem_mb : COMPILE_MEM_MB;
        if (c->lim.max_procs < 8) c->lim.max_procs = 8;
    }
    sb_step *r = &p->steps[p->n_steps++];
    r->kind = SB_STEP_RUN;
    r->lim = *lim;
    int n = lang->run[0] ? fill_argv(r->argv, lang->run, prog->argv) : fill_argv(r->argv, prog->argv, NULL);
    if (n <= 0) return core_fail(err, CORE_EINPUT, "sandbox: %s: no program to run (argv empty or over %d args)",
                                 lang->name, SB_MAX_ARGS);
    if (r->argv[0][0] != '/' && r->argv[0][0] != '.')
        return core_fail(err, CORE_EINPUT, "sandbox: exec: argv[0] must be an absolute path, got \"%s\"",
                         r->argv[0]);
    return 0;
}

/* --------------------------------------------------------------- channels */

typedef struct capture {
    char *buf;
    size_t len, cap;
    int over;       /* more than cap bytes arrived */
} capture;

typedef struct channels {
    int out[2], err[2], status[2], sync[2], stdin_fd;
} channels;

static void close_fd(int *fd) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

static void close_channels(channels *c) {
    for (int i = 0; i < 2; i++) {
        close_fd(&c->out[i]);
        close_fd(&c->err[i]);
        close_fd(&c->status[i]);
        close_fd(&c->sync[i]);
    }
    close_fd(&c->stdin_fd);
}

static int write_all(int fd, const char *data, size_t len) {
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int open_channels(channels *c, const char *stdin_data, size_t stdin_len, core_error *err) {
    memset(c, -1, sizeof *c);
    if (pipe2(c->out, O_CLOEXEC) || pipe2(c->err, O_CLOEXEC) || pipe2(c->status, O_CLOEXEC) ||
        pipe2(c->sync, O_CLOEXEC))
        return core_fail(err, CORE_ERUNTIME, "sandbox: pipe: %s", strerror(errno));
    /* stdin is a memfd: any size, no writer to keep alive. */
    c->stdin_fd = memfd_create("grpo-stdin", MFD_CLOEXEC);
    if (c->stdin_fd < 0 || (stdin_len && write_all(c->stdin_fd, stdin_data, stdin_len)) ||
        lseek(c->stdin_fd, 0, SEEK_SET) != 0)
        return core_fail(err, CORE_ERUNTIME, "sandbox: stdin memfd: %s", strerror(errno));
    for (int i = 0; i < 3; i++) {
        int fd = i == 0 ? c->out[0] : i == 1 ? c->err[0] : c->status[0];
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
    return 0;
}

/* SB_UID inside is nobody outside (or, unprivileged, the caller itself);
 * one line each, so uid and gid 0 exist nowhere in the namespace. */
static int map_ids(pid_t pid) {
    char path[64], text[64];
    uid_t uid = geteuid();
    gid_t gid = getegid();
    unsigned outside_uid = uid == 0 ? 65534 : uid, outside_gid = uid == 0 ? 65534 : gid;
    const char *files[] = {"setgroups", "uid_map", "gid_map"};
    for (int i = 0; i < 3; i++) {
        if (i == 0 && uid == 0) continue; /* setgroups only matters unprivileged */
        snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, files[i]);
        if (i == 0) snprintf(text, sizeof text, "deny");
        else snprintf(text, sizeof text, "%u %u 1", i == 1 ? SB_UID : SB_GID, i == 1 ? outside_uid : outside_gid);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0) return -errno;
        int rc = write_all(fd, text, strlen(text));
        int e = errno;
        close(fd);
        if (rc) return -e;
    }
    return 0;
}

/* ----------------------------------------------------------------- watch */

typedef struct watch {
    sb_record end[SB_MAX_STEPS];
    int ended[SB_MAX_STEPS];
    int current;           /* the step that last started, or -1 */
    double step_started;   /* when its record arrived */
    int timed_out;         /* the current step ran past its wall clock */
    int setup_timed_out;
    int killed;
    int error;             /* an error record arrived */
    sb_record error_rec;
    double timeout_wall_ms;
    int init_status;       /* the init's wait status, for the error message */
} watch;

static void read_capture(int *fd, capture *c, int *kill_now) {
    char scratch[65536];
    for (;;) {
        ssize_t n = read(*fd, scratch, sizeof scratch);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return; /* EAGAIN */
        if (n == 0) {
            close_fd(fd);
            return;
        }
        size_t room = c->cap - c->len, take = (size_t)n < room ? (size_t)n : room;
        memcpy(c->buf + c->len, scratch, take);
        c->len += take;
        if (take < (size_t)n && !c->over) {
            c->over = 1;
            *kill_now = 1;
        }
    }
}

static void read_records(int *fd, char *acc, size_t *acc_len, const sb_plan *p, watch *w) {
    for (;;) {
        ssize_t n = read(*fd, acc + *acc_len, sizeof(sb_record) - *acc_len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return;
        if (n == 0) {
            close_fd(fd);
            return;
        }
        *acc_len += (size_t)n;
        if (*acc_len < sizeof(sb_record)) continue;
        *acc_len = 0;
        sb_record r;
        memcpy(&r, acc, sizeof r);
        if (r.kind == SB_REC_ERROR && !w->error) {
            w->error = 1;
            w->error_rec = r;
        } else if (r.kind == SB_REC_START && r.step >= 0 && r.step < p->n_steps) {
            w->current = r.step;
            w->step_started = core_now();
        } else if (r.kind == SB_REC_END && r.step >= 0 && r.step < p->n_steps) {
            w->end[r.step] = r;
            w->ended[r.step] = 1;
        }
    }
}

/* The deadline of whatever the instance is doing now. */
static double deadline_of(const sb_plan *p, const watch *w, double t0, double last_end) {
    if (w->current < 0) return t0 + SETUP_MS / 1000.0;
    if (w->ended[w->current]) return last_end + EXIT_GRACE_MS / 1000.0;
    return w->step_started + p->steps[w->current].lim.time_ms / 1000.0;
}

static void watch_instance(pid_t pid, channels *c, const sb_plan *p, capture *out, capture *err,
                           watch *w) {
    char acc[sizeof(sb_record)];
    size_t acc_len = 0;
    double t0 = core_now(), last_end = 0, grace_end = 0;
    w->current = -1;
    while (c->out[0] >= 0 || c->err[0] >= 0 || c->status[0] >= 0) {
        double now = core_now();
        double deadline = w->killed ? grace_end : deadline_of(p, w, t0, last_end);
        if (now >= deadline) {
            if (w->killed) break; /* killed and still not closed: give up (decide() says so) */
            if (w->current < 0) w->setup_timed_out = 1;
            else if (!w->ended[w->current]) {
                w->timed_out = 1;
                w->timeout_wall_ms = (now - w->step_started) * 1000;
            }
            kill(pid, SIGKILL);
            w->killed = 1;
            grace_end = now + EXIT_GRACE_MS / 1000.0;
            continue;
        }
        struct pollfd fds[3] = {{c->out[0], POLLIN, 0}, {c->err[0], POLLIN, 0}, {c->status[0], POLLIN, 0}};
        int ms = (int)((deadline - now) * 1000) + 1;
        if (poll(fds, 3, ms) < 0 && errno != EINTR) break;
        int kill_now = 0;
        if (c->out[0] >= 0 && fds[0].revents) read_capture(&c->out[0], out, &kill_now);
        if (c->err[0] >= 0 && fds[1].revents) read_capture(&c->err[0], err, &kill_now);
        if (c->status[0] >= 0 && fds[2].revents) {
            int was_ended = w->current >= 0 && w->ended[w->current];
            read_records(&c->status[0], acc, &acc_len, p, w);
            if (w->current >= 0 && w->ended[w->current] && !was_ended) last_end = core_now();
        }
        if (kill_now && !w->killed) {
            kill(pid, SIGKILL);
            w->killed = 1;
            grace_end = core_now() + EXIT_GRACE_MS / 1000.0;
        }
    }
}

/* ---------------------------------------------------------------- verdict */

static void set_verdict(sandbox_result *res, sandbox_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_verdict(sandbox_result *res, sandbox_verdict v, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    res->verdict = v;
    vsnprintf(res->detail, sizeof res->detail, fmt, ap);
    va_end(ap);
}

/* How the run step ended, given its record. */
static void decide_run(sandbox_result *res, const sb_plan *p, const sb_record *r, long oom, int cg_mem) {
    const sandbox_limits *lim = &p->steps[p->n_steps - 1].lim;
    int cpu_limit = lim->cpu_ms > 0 ? lim->cpu_ms : lim->time_ms;
    res->cpu_ms = r->cpu_us / 1000.0;
    res->wall_ms = r->wall_us / 1000.0;
    res->max_rss_kb = r->rss_kb;
    int near_mem = r->rss_kb >= (long)lim->mem_mb * 1024 * 9 / 10;
    if (WIFEXITED(r->wstatus)) {
        res->exit_code = WEXITSTATUS(r->wstatus);
        if (res->cpu_ms > cpu_limit) set_verdict(res, SANDBOX_TIME_LIMIT, "cpu time %.0f ms > %d ms", res->cpu_ms, cpu_limit);
        else if (res->exit_code == 0) set_verdict(res, SANDBOX_OK, "exit 0");
        else if (!cg_mem && near_mem) set_verdict(res, SANDBOX_MEMORY_LIMIT, "exit %d near the memory limit", res->exit_code);
        else set_verdict(res, SANDBOX_RUNTIME_ERROR, "exit %d", res->exit_code);
        return;
    }
    res->exit_code = -1;
    res->signal = WIFSIGNALED(r->wstatus) ? WTERMSIG(r->wstatus) : 0;
    int sig = res->signal;
    if (sig == SIGXCPU || (sig == SIGKILL && res->cpu_ms >= cpu_limit))
        set_verdict(res, SANDBOX_TIME_LIMIT, "cpu time limit %d ms (signal %d)", cpu_limit, sig);
    else if (sig == SIGXFSZ) set_verdict(res, SANDBOX_OUTPUT_LIMIT, "file size limit %d MB", lim->file_mb);
    else if (sig == SIGKILL && (oom > 0 || near_mem))
        set_verdict(res, SANDBOX_MEMORY_LIMIT, "memory limit %d MB (oom kills %ld)", lim->mem_mb, oom);
    else set_verdict(res, SANDBOX_RUNTIME_ERROR, "killed by signal %d (%s)", sig, strsignal(sig));
}

static int decide(sandbox_result *res, const sb_plan *p, const watch *w, long oom, int cg_mem,
                  core_error *err) {
    int run = p->n_steps - 1;
    if (w->error) {
        const sb_record *e = &w->error_rec;
        set_verdict(res, SANDBOX_ERROR, "sandbox %s: %s", e->msg, strerror(e->err_no));
        return core_fail(err, CORE_ERUNTIME, "%s", res->detail);
    }
    if (w->setup_timed_out) {
        set_verdict(res, SANDBOX_ERROR, "sandbox setup took over %d ms", SETUP_MS);
        return core_fail(err, CORE_ERUNTIME, "%s", res->detail);
    }
    if (run > 0 && (!w->ended[0] || w->end[0].wstatus != 0)) {
        res->exit_code = -1;
        if (w->timed_out) set_verdict(res, SANDBOX_RUNTIME_ERROR, "compile error: over %d ms", COMPILE_WALL_MS);
        else if (w->ended[0] && WIFEXITED(w->end[0].wstatus))
            set_verdict(res, SANDBOX_RUNTIME_ERROR, "compile error (exit %d)", WEXITSTATUS(w->end[0].wstatus));
        else set_verdict(res, SANDBOX_RUNTIME_ERROR, "compile error (killed)");
        return 0;
    }
    if (w->timed_out) {
        res->exit_code = -1;
        res->signal = SIGKILL;
        res->wall_ms = w->timeout_wall_ms;
        set_verdict(res, SANDBOX_TIME_LIMIT, "wall clock %d ms", p->steps[run].lim.time_ms);
        return 0;
    }
    if (w->ended[run]) decide_run(res, p, &w->end[run], oom, cg_mem);
    if (res->truncated) {
        set_verdict(res, SANDBOX_OUTPUT_LIMIT, "output over %d KB", p->steps[run].lim.output_kb);
        return 0;
    }
    if (!w->ended[run] && oom > 0) {
        set_verdict(res, SANDBOX_MEMORY_LIMIT, "memory limit %d MB (the OOM killer ended the instance)",
                    p->steps[run].lim.mem_mb);
        return 0;
    }
    if (!w->ended[run]) {
        int st = w->init_status;
        set_verdict(res, SANDBOX_ERROR, "the instance ended before the program did (init %s %d)",
                    WIFSIGNALED(st) ? "killed by signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        return core_fail(err, CORE_ERUNTIME, "%s", res->detail);
    }
    return 0;
}

/* ------------------------------------------------------------------- run */

static int capture_init(capture *c, size_t cap) {
    c->buf = malloc(cap + 1);
    c->len = 0;
    c->cap = cap;
    c->over = 0;
    return c->buf ? 0 : -1;
}

/* Clone the instance, hand it its identity and cgroup, then watch it. */
/* clone the instance: with its own user namespace when the kernel allows
 * it; as root, without one (payloads then run as the host's nobody). */
static pid_t clone_instance(sb_plan *plan, char *stack, int *clone_errno) {
    int flags = NS_FLAGS | SIGCHLD, shared_net = sb_netns_enter_empty() == 0;
    if (shared_net) flags &= ~CLONE_NEWNET; /* born in the empty one instead */
    const char *force = getenv("GRPO_SANDBOX_NO_USERNS"); /* tests of the fallback */
    pid_t pid = -1;
    plan->userns = !(force && *force && geteuid() == 0);
    if (plan->userns) pid = clone(sb_child_main, stack + STACK_SIZE, flags, plan);
    if (pid < 0 && geteuid() == 0) {
        plan->userns = 0;
        pid = clone(sb_child_main, stack + STACK_SIZE, flags & ~CLONE_NEWUSER, plan);
    }
    *clone_errno = errno;
    if (shared_net && sb_netns_leave() != 0) {
        /* This thread would stay cut off from the network: refuse to go on. */
        if (pid > 0) kill(pid, SIGKILL), waitpid(pid, NULL, 0);
        *clone_errno = EIO;
        return -1;
    }
    return pid;
}

static int launch_and_watch(sb_plan *plan, channels *ch, sb_cgroup *cg, capture *out,
                            capture *errc, watch *w, core_error *err) {
    char *stack = malloc(STACK_SIZE);
    if (!stack) return core_fail(err, CORE_ERUNTIME, "sandbox: out of memory");
    int clone_errno = 0;
    pid_t pid = clone_instance(plan, stack, &clone_errno);
    close_fd(&ch->out[1]);
    close_fd(&ch->err[1]);
    close_fd(&ch->status[1]);
    close_fd(&ch->sync[0]);
    close_fd(&ch->stdin_fd);
    if (pid < 0) {
        free(stack);
        return core_fail(err, CORE_ERUNTIME, "sandbox: clone with new namespaces: %s (user namespaces "
                         "disabled and not root?)", strerror(clone_errno));
    }
    int rc = cg ? sb_cgroup_attach(cg, pid) : 0;
    if (rc == 0 && plan->userns) rc = map_ids(pid);
    if (rc == 0 && write(ch->sync[1], "g", 1) != 1) rc = -errno;
    close_fd(&ch->sync[1]);
    if (rc) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        free(stack);
        return core_fail(err, CORE_ERUNTIME, "sandbox: preparing the instance: %s", strerror(-rc));
    }
    watch_instance(pid, ch, plan, out, errc, w);
    struct rusage ru;
    while (wait4(pid, &w->init_status, 0, &ru) < 0 && errno == EINTR) {}
    free(stack);
    return 0;
}

/* GRPO_FAULT_SANDBOX=TEXT: a run whose source or stdin contains TEXT fails
 * in the instance's setup, the way a refused mount or cgroup would. */
static int fault_injected(const sandbox_program *prog, const char *stdin_data, size_t stdin_len) {
    const char *text = getenv("GRPO_FAULT_SANDBOX");
    if (!text || !*text) return 0;
    size_t k = strlen(text);
    int runner = sb_is_warm_runner(prog->source, prog->source_len); /* its jobs are on stdin */
    return (prog->source && !runner && memmem(prog->source, prog->source_len, text, k)) ||
           (stdin_data && memmem(stdin_data, stdin_len, text, k));
}

int sb_run_local(const sandbox_limits *lim, const sandbox_program *prog, const char *stdin_data,
                 size_t stdin_len, sandbox_result *res, core_error *err) {
    memset(res, 0, sizeof *res);
    res->verdict = SANDBOX_ERROR;
    res->exit_code = -1;
    const sb_lang *lang = prog ? sb_lang_find(prog->lang) : NULL;
    if (!lang) return core_fail(err, CORE_EINPUT, "sandbox: unknown language \"%s\" (python, c, sh, exec)",
                                prog && prog->lang ? prog->lang : "(null)");
    int rc = check_limits(lim, err);
    sb_plan plan;
    if (!rc) rc = build_plan(&plan, lang, lim, prog, err);
    if (!rc) rc = sb_seccomp_filter(&plan.filter, err);
    if (rc) return rc;
    plan.fault = fault_injected(prog, stdin_data, stdin_len);
    capture out = {0}, errc = {0};
    if (capture_init(&out, (size_t)lim->output_kb * 1024) || capture_init(&errc, (size_t)lim->output_kb * 1024)) {
        free(out.buf);
        free(errc.buf);
        return core_fail(err, CORE_ERUNTIME, "sandbox: out of memory");
    }
    channels ch;
    watch w;
    memset(&w, 0, sizeof w);
    unsigned iso = 0;
    sb_cgroup *cg = NULL;
    rc = open_channels(&ch, stdin_data, stdin_len, err);
    if (!rc) {
        cg = sb_cgroup_acquire(lim, &iso);
        plan.cg_mem = cg != NULL;
        plan.fd_stdin = ch.stdin_fd;
        plan.fd_out = ch.out[1];
        plan.fd_err = ch.err[1];
        plan.fd_status = ch.status[1];
        plan.fd_sync = ch.sync[0];
        rc = launch_and_watch(&plan, &ch, cg, &out, &errc, &w, err);
    }
    long oom = 0;
    if (cg) sb_cgroup_release(cg, &oom);
    close_channels(&ch);
    out.buf[out.len] = 0;
    errc.buf[errc.len] = 0;
    res->out = out.buf;
    res->out_len = out.len;
    res->err = errc.buf;
    res->err_len = errc.len;
    res->truncated = out.over || errc.over;
    if (rc) {
        snprintf(res->detail, sizeof res->detail, "%s", err ? err->msg : "sandbox failure");
        return rc;
    }
    res->isolation = (iso | ISO_INSTANCE) & ~(plan.userns ? 0u : (unsigned)SANDBOX_ISO_USER);
    return decide(res, &plan, &w, oom, cg != NULL, err);
}

void sandbox_result_free(sandbox_result *res) {
    if (!res) return;
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
    res->out_len = res->err_len = 0;
}

/* ------------------------------------------------------------------ names */

const char *sandbox_verdict_name(sandbox_verdict v) {
    static const char *const NAMES[] = {"OK", "RUNTIME_ERROR", "TIME_LIMIT", "MEMORY_LIMIT",
                                        "OUTPUT_LIMIT", "SANDBOX_ERROR"};
    return (unsigned)v < sizeof NAMES / sizeof NAMES[0] ? NAMES[v] : "UNKNOWN";
}

int sandbox_isolation_names(unsigned iso, char *buf, size_t cap) {
    static const char *const NAMES[] = {"user", "pid", "net", "mount", "ipc", "uts",
                                        "fs", "nnp", "seccomp", "rlimits", "cg_mem", "cg_pids"};
    size_t n = 0;
    if (cap) buf[0] = 0;
    for (int i = 0; i < 12; i++) {
        if (!(iso & (1u << i))) continue;
        int k = snprintf(buf + n, n < cap ? cap - n : 0, "%s%s", n ? "," : "", NAMES[i]);
        n += (size_t)k;
    }
    if (n == 0) n = (size_t)snprintf(buf, cap, "none");
    return (int)n;
}

void sandbox_shutdown(void) { sb_cgroup_shutdown(); }
