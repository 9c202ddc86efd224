/*
 * The helper: runs are cloned from a small process, not from the caller.
 *
 * clone() copies the caller's page tables, and the caller may be a rollout
 * worker or trainer holding hundreds of megabytes: measured here, a 256 MB
 * caller makes every fork cost ~13 ms of CPU, ten times a whole sandboxed
 * run.  So the first sandbox_run spawns a helper with posix_spawn (vfork
 * semantics: no copy) running /proc/self/exe with GRPO_SANDBOX_HELPER set;
 * a constructor in this file catches that before main() and serves
 * requests instead.  The helper is the caller's program, freshly loaded and
 * small, and clones every instance.
 *
 * Protocol: one SOCK_SEQPACKET control socket; per run the caller makes a
 * stream socketpair, passes one end over the control socket (SCM_RIGHTS),
 * writes the request on the other and reads the reply.  The helper serves
 * each request on a thread of its own (sandbox_run is thread-safe), so the
 * pool's parallelism carries over.  The helper exits when the control
 * socket closes: at the caller's exit (atexit closes it and reaps the
 * helper) or when every process holding it has died.
 *
 * GRPO_SANDBOX_DIRECT=1 skips the helper (runs are cloned from the caller);
 * if the helper cannot be started or dies, runs fall back to that too.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/internal.h"

#define HELPER_ENV "GRPO_SANDBOX_HELPER"
#define WIRE_MAGIC 0x67727062u /* "grpb" */
#define MAX_WIRE (512u << 20)  /* largest source / stdin / output accepted on the wire */

typedef struct wire_req {
    uint32_t magic;
    sandbox_limits lim;
    char lang[16];
    uint32_t n_args;
    uint64_t args_len, source_len, stdin_len;
    int32_t has_source;
} wire_req;

typedef struct wire_res {
    uint32_t magic;
    int32_t rc, verdict, exit_code, signal, truncated;
    uint32_t isolation;
    double cpu_ms, wall_ms;
    int64_t max_rss_kb;
    uint64_t out_len, err_len;
    char detail[256];
    char err_msg[1024];
} wire_res;

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_ctl = -1;          /* control socket to the helper, or -1: run directly */
static int g_is_helper;
static pid_t g_helper, g_owner;  /* the helper and the process that spawned it */

/* ------------------------------------------------------------------- io */

static int send_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int recv_all(int fd, void *buf, size_t len) {
    char *p = buf;
    while (len) {
        ssize_t n = recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static char *recv_blob(int fd, uint64_t len) {
    if (len > MAX_WIRE) return NULL;
    char *b = malloc(len + 1);
    if (b && recv_all(fd, b, len) != 0) {
        free(b);
        return NULL;
    }
    if (b) b[len] = 0;
    return b;
}

/* --------------------------------------------------------------- helper */

static void serve_one(int fd) {
    wire_req q;
    wire_res s;
    memset(&s, 0, sizeof s);
    s.magic = WIRE_MAGIC;
    if (recv_all(fd, &q, sizeof q) != 0 || q.magic != WIRE_MAGIC || q.n_args > SB_MAX_ARGS) return;
    char *args = recv_blob(fd, q.args_len), *src = recv_blob(fd, q.source_len), *in = recv_blob(fd, q.stdin_len);
    const char *argv[SB_MAX_ARGS + 1] = {0};
    sandbox_result r;
    memset(&r, 0, sizeof r);
    if (args && src && in) {
        char *a = args;
        for (uint32_t i = 0; i < q.n_args && a < args + q.args_len; i++, a += strlen(a) + 1) argv[i] = a;
        q.lang[sizeof q.lang - 1] = 0;
        sandbox_program p = {.lang = q.lang, .source = q.has_source ? src : NULL, .source_len = q.source_len,
                             .argv = q.n_args ? argv : NULL};
        core_error err = {0};
        s.rc = sandbox_run(&q.lim, &p, in, q.stdin_len, &r, &err);
        memcpy(s.err_msg, err.msg, sizeof s.err_msg);
    } else {
        s.rc = CORE_ERUNTIME;
        snprintf(s.err_msg, sizeof s.err_msg, "sandbox helper: bad request");
    }
    s.verdict = r.verdict;
    s.exit_code = r.exit_code;
    s.signal = r.signal;
    s.truncated = r.truncated;
    s.isolation = r.isolation;
    s.cpu_ms = r.cpu_ms;
    s.wall_ms = r.wall_ms;
    s.max_rss_kb = r.max_rss_kb;
    s.out_len = r.out_len;
    s.err_len = r.err_len;
    memcpy(s.detail, r.detail, sizeof s.detail);
    if (send_all(fd, &s, sizeof s) == 0 && send_all(fd, r.out ? r.out : "", r.out_len) == 0)
        send_all(fd, r.err ? r.err : "", r.err_len);
    sandbox_result_free(&r);
    free(args);
    free(src);
    free(in);
}

static void *serve_thread(void *arg) {
    int fd = (int)(intptr_t)arg;
    serve_one(fd);
    close(fd);
    return NULL;
}

static int recv_fd(int ctl) {
    char byte;
    struct iovec iov = {&byte, 1};
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    ssize_t n;
    do n = recvmsg(ctl, &m, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
    if (n <= 0) return -2; /* the callers are gone */
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

static void serve(int ctl) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (;;) {
        int fd = recv_fd(ctl);
        if (fd == -2) break;
        if (fd < 0) continue;
        pthread_t t;
        if (pthread_create(&t, &attr, serve_thread, (void *)(intptr_t)fd) != 0) {
            serve_one(fd);
            close(fd);
        }
    }
    sandbox_shutdown();
}

/* Before main(): a process started as the helper never runs the program. */
__attribute__((constructor)) static void helper_entry(void) {
    const char *v = getenv(HELPER_ENV);
    if (!v || !*v) return;
    int ctl = atoi(v);
    unsetenv(HELPER_ENV);
    setsid(); /* no terminal signals: the caller decides when it ends */
    g_is_helper = 1;
    signal(SIGPIPE, SIG_IGN);
    serve(ctl);
    _exit(0);
}

/* --------------------------------------------------------------- caller */

/* At exit: close the control socket (the helper removes its cgroups and
 * exits) and reap it, so no zombie is left for PID 1 to collect. */
static void stop_helper(void) {
    if (g_ctl < 0 || g_owner != getpid()) return;
    close(g_ctl);
    g_ctl = -1;
    while (waitpid(g_helper, NULL, 0) < 0 && errno == EINTR) {}
}

static void start_helper(void) {
    const char *direct = getenv("GRPO_SANDBOX_DIRECT");
    if (g_is_helper || (direct && *direct && strcmp(direct, "0"))) return;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return;
    /* fd 3 is the control socket (via a spare number, so that dup2 always
     * happens and clears CLOEXEC); stdio is /dev/null; nothing else. */
    int spare = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, spare, 3);
    for (int fd = 0; fd < 3; fd++)
        posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd ? O_WRONLY : O_RDONLY, 0);
    posix_spawn_file_actions_addclosefrom_np(&fa, 4);
    /* The caller's environment goes along (GRPO_SANDBOX_* switches included). */
    extern char **environ;
    int n = 0;
    while (environ[n]) n++;
    char **envp = calloc((size_t)n + 2, sizeof *envp), env_fd[32] = HELPER_ENV "=3";
    char *argv[] = {"grpo-sandbox-helper", NULL};
    pid_t pid;
    int rc = spare < 0 || !envp;
    if (!rc) {
        for (int i = 0; i < n; i++) envp[i] = environ[i];
        envp[n] = env_fd;
        rc = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, envp);
    }
    posix_spawn_file_actions_destroy(&fa);
    free(envp);
    if (spare >= 0) close(spare);
    close(sv[1]);
    if (rc != 0) {
        close(sv[0]);
        return;
    }
    g_ctl = sv[0];
    g_helper = pid;
    g_owner = getpid();
    atexit(stop_helper);
}

static int send_fd(int ctl, int fd) {
    char byte = 'r';
    struct iovec iov = {&byte, 1};
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
    memset(&u, 0, sizeof u);
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    ssize_t n;
    do n = sendmsg(ctl, &m, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : -1;
}

static int send_request(int fd, const sandbox_limits *lim, const sandbox_program *prog, const char *in,
                        size_t in_len) {
    wire_req q;
    memset(&q, 0, sizeof q);
    q.magic = WIRE_MAGIC;
    q.lim = *lim;
    snprintf(q.lang, sizeof q.lang, "%s", prog->lang);
    char args[8192];
    size_t used = 0;
    for (int i = 0; prog->argv && prog->argv[i]; i++) {
        size_t k = strlen(prog->argv[i]) + 1;
        if (i >= SB_MAX_ARGS || used + k > sizeof args) return -2;
        memcpy(args + used, prog->argv[i], k);
        used += k;
        q.n_args++;
    }
    q.args_len = used;
    q.has_source = prog->source != NULL;
    q.source_len = prog->source ? prog->source_len : 0;
    q.stdin_len = in ? in_len : 0;
    if (q.source_len > MAX_WIRE || q.stdin_len > MAX_WIRE) return -2;
    if (send_all(fd, &q, sizeof q) || send_all(fd, args, used) ||
        send_all(fd, prog->source ? prog->source : "", q.source_len) || send_all(fd, in ? in : "", q.stdin_len))
        return -1;
    return 0;
}

/* Returns -1 when the helper could not be used (the caller runs directly). */
static int run_remote(const sandbox_limits *lim, const sandbox_program *prog, const char *in, size_t in_len,
                      sandbox_result *res, core_error *err) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return -1;
    int sent = send_fd(g_ctl, sv[1]);
    close(sv[1]);
    wire_res s;
    int rc = sent == 0 ? send_request(sv[0], lim, prog, in, in_len) : -1;
    if (rc == -2) {
        close(sv[0]);
        return -1; /* too big for the wire: run it here */
    }
    if (rc != 0) { /* the helper is gone: run it here */
        close(sv[0]);
        return -1;
    }
    /* From here the program may have run: a failure is an error, never a
     * second run.  The helper enforces every limit; this only guards
     * against the helper itself hanging. */
    struct timeval tv = {.tv_sec = lim->time_ms / 1000 + 120};
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    memset(res, 0, sizeof *res);
    if (recv_all(sv[0], &s, sizeof s) == 0 && s.magic == WIRE_MAGIC) {
        res->out = recv_blob(sv[0], s.out_len);
        res->err = res->out ? recv_blob(sv[0], s.err_len) : NULL;
    }
    close(sv[0]);
    if (!res->out || !res->err) {
        sandbox_result_free(res);
        res->out = calloc(1, 1);
        res->err = calloc(1, 1);
        res->verdict = SANDBOX_ERROR;
        res->exit_code = -1;
        snprintf(res->detail, sizeof res->detail, "the sandbox helper did not answer");
        return core_fail(err, CORE_ERUNTIME, "sandbox: the helper process did not answer");
    }
    res->out_len = s.out_len;
    res->err_len = s.err_len;
    res->verdict = (sandbox_verdict)s.verdict;
    res->exit_code = s.exit_code;
    res->signal = s.signal;
    res->truncated = s.truncated;
    res->isolation = s.isolation;
    res->cpu_ms = s.cpu_ms;
    res->wall_ms = s.wall_ms;
    res->max_rss_kb = s.max_rss_kb;
    memcpy(res->detail, s.detail, sizeof res->detail);
    res->detail[sizeof res->detail - 1] = 0;
    if (s.rc) {
        s.err_msg[sizeof s.err_msg - 1] = 0;
        return core_fail(err, s.rc, "%s", s.err_msg);
    }
    return 0;
}

int sandbox_run(const sandbox_limits *lim, const sandbox_program *prog, const char *stdin_data,
                size_t stdin_len, sandbox_result *res, core_error *err) {
    pthread_once(&g_once, start_helper);
    if (g_ctl >= 0 && prog && prog->lang && sandbox_lang_known(prog->lang)) {
        int rc = run_remote(lim, prog, stdin_data, stdin_len, res, err);
        if (rc != -1) return rc;
    }
    return sb_run_local(lim, prog, stdin_data, stdin_len, res, err);
}
