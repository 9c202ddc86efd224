/*
 * sandbox/ — run untrusted programs: the code reward's only door to exec.
 *
 * One run is one fresh isolated instance.  The parent clones a child into
 * new user, PID, mount, IPC and UTS namespaces and an empty network
 * namespace, puts it in a cgroup slot, maps one id (SB_UID 60000 inside)
 * to nobody outside and lets it go.  The parent is a small helper process (server.c) that sandbox_run
 * starts once and forwards runs to, so the cost of a run does not grow with
 * the caller's memory (forking a 256 MB trainer costs ~10 ms of page-table
 * copying; the helper, ~0).  The child becomes the instance's init and
 * applies, in this fixed order (child.c):
 *
 *   1. fds      only stdin (a memfd), stdout/stderr pipes and the status pipe
 *   2. identity waits until the parent has mapped its uid and put it in the
 *               cgroup, then becomes uid/gid 60000, the namespace's only id
 *               (nobody outside; uid 0 is not mapped: nothing inside is
 *               root), keeping the namespace capabilities the clone gave it
 *   3. mounts   a tmpfs root: /usr /etc ... read-only, /etc/shadow and
 *               /etc/gshadow masked by a mode-0000 file (EACCES), a small
 *               /dev, a fresh /proc, tmpfs /work and /tmp; pivot_root
 *   4. uts      hostname "sandbox"
 *   5. steps    for each step (compile, run): vfork a payload which does
 *        5a. session    setsid, its stdio, every other fd closed, cwd /work,
 *                       oom_score_adj 1000 (the OOM killer's first choice)
 *        5b. rlimits    CPU, address space, processes, file size, fds, core 0
 *        5c. privileges every capability dropped (bounding set, securebits),
 *                       no_new_privs: the program runs as uid 60000 with
 *                       no capabilities, like isolate's and nsjail's
 *        5d. seccomp    the deny-list filter (seccomp.c), last before exec
 *        5e. execve
 *      and report "started" / "ended" records to the parent.
 *
 * The parent only waits, measures and kills: it enforces the wall clock per
 * step, caps the output, and kills the instance's init when a limit is hit;
 * the kernel then kills every process of the PID namespace however it tried
 * to escape (setsid, double fork).  The cgroup slot is swept as a backstop.
 *
 * A layer the kernel refuses is left off only where that is safe, and the
 * layers actually achieved are recorded in sandbox_result.isolation:
 *   no user namespace   as root, the same instance without it, payloads as
 *                       the host's uid/gid 65534 (bit "user" missing); not
 *                       root either: SANDBOX_ERROR, nothing runs
 *   no cgroup           runs go on; RLIMIT_AS caps memory and a run ending
 *                       near the cap is MEMORY_LIMIT (bits cg_* missing)
 * Switches for tests: GRPO_SANDBOX_NO_USERNS, GRPO_SANDBOX_NO_CGROUP,
 * GRPO_SANDBOX_DIRECT (clone from the caller, no helper), and the fault
 * hook GRPO_FAULT_SANDBOX=TEXT: every run whose source or stdin contains
 * TEXT fails in the instance's setup (the init reports a setup error, as a
 * refused mount would), so the caller sees SANDBOX_ERROR and CORE_ERUNTIME
 * through the same path as a real infrastructure failure.  The helper reads
 * it when it starts (at the first run): set it before that.
 *
 * Thread-safe: any number of threads may call sandbox_run at once (the pool
 * does).  Process-wide state (the compiled seccomp filter, the cgroup slots,
 * the empty network namespace) is made once, lazily; sandbox_shutdown (also
 * run at exit) removes the cgroups it made.
 */
#ifndef GRPO_SANDBOX_H
#define GRPO_SANDBOX_H

#include <stddef.h>

#include "core/core.h"

typedef enum sandbox_verdict {
    SANDBOX_OK = 0,          /* exited 0 within every limit */
    SANDBOX_RUNTIME_ERROR,   /* non-zero exit, a signal, or a compile error */
    SANDBOX_TIME_LIMIT,      /* wall clock or CPU time */
    SANDBOX_MEMORY_LIMIT,    /* killed by the memory cgroup (or near the cap) */
    SANDBOX_OUTPUT_LIMIT,    /* stdout/stderr over the cap, or file size (SIGXFSZ) */
    SANDBOX_ERROR            /* the sandbox itself failed; the program may not have run */
} sandbox_verdict;

/* Isolation layers, as bits of sandbox_result.isolation. */
enum {
    SANDBOX_ISO_USER    = 1 << 0,  /* user namespace, uid 60000 mapped to nobody, no root */
    SANDBOX_ISO_PID     = 1 << 1,
    SANDBOX_ISO_NET     = 1 << 2,  /* an empty network namespace */
    SANDBOX_ISO_MOUNT   = 1 << 3,
    SANDBOX_ISO_IPC     = 1 << 4,
    SANDBOX_ISO_UTS     = 1 << 5,
    SANDBOX_ISO_FS      = 1 << 6,  /* tmpfs root, read-only system dirs, no home/root/shadow */
    SANDBOX_ISO_NNP     = 1 << 7,  /* no_new_privs and no capabilities */
    SANDBOX_ISO_SECCOMP = 1 << 8,
    SANDBOX_ISO_RLIMITS = 1 << 9,
    SANDBOX_ISO_CG_MEM  = 1 << 10, /* memory cgroup */
    SANDBOX_ISO_CG_PIDS = 1 << 11, /* pids cgroup */
};
#define SANDBOX_ISO_ALL ((1u << 12) - 1)

typedef struct sandbox_limits {
    int time_ms;    /* wall clock of the run step; the whole tree is killed after it */
    int cpu_ms;     /* CPU time of the run step (0: same as time_ms) */
    int mem_mb;     /* memory: cgroup limit (address space rlimit as backstop) */
    int output_kb;  /* cap per stream, stdout and stderr */
    int max_procs;  /* processes and threads of the instance */
    int file_mb;    /* largest file, and the size of each of /work and /tmp */
    int max_fds;    /* open files per process */
} sandbox_limits;

/* The defaults: time 2000 ms, mem 256 MB, output 64 KB, 16 procs, 16 MB
 * files, 64 fds (matching the [sandbox] config defaults). */
void sandbox_limits_default(sandbox_limits *lim);
/* From cfg->sandbox (time_ms, mem_mb, output_kb, max_procs); others default. */
void sandbox_limits_from_config(sandbox_limits *lim, const core_config *cfg);

typedef struct sandbox_program {
    const char *lang;         /* "python", "c", "sh", "exec", or "c-build" (compile, the
                                 executable comes back on stdout) and "elf" (run one) */
    const char *source;       /* program text, written to /work (not for exec) */
    size_t source_len;
    /* exec: the full argv, argv[0] an absolute path visible inside (/usr/...).
     * Other languages: extra arguments after the program (may be NULL). */
    const char *const *argv;
} sandbox_program;

typedef struct sandbox_result {
    sandbox_verdict verdict;
    int exit_code;        /* exit status, or -1 when killed by a signal */
    int signal;           /* the killing signal, or 0 */
    double cpu_ms;        /* user + system CPU of the run step */
    double wall_ms;       /* wall clock of the run step */
    long max_rss_kb;      /* peak resident set of the run step's processes */
    char *out, *err;      /* captured stdout/stderr, NUL-terminated, malloc'd */
    size_t out_len, err_len;
    int truncated;        /* 1 when either stream went over output_kb */
    unsigned isolation;   /* SANDBOX_ISO_* bits achieved */
    char detail[256];     /* why, in words: "wall clock 2000 ms", "compile error", ... */
} sandbox_result;

/* Run one program on one stdin.  Returns 0 when the verdict is meaningful
 * (any verdict but SANDBOX_ERROR); CORE_EINPUT for a bad program or limits
 * (unknown language, limits out of range); CORE_ERUNTIME when the sandbox
 * failed (res->verdict = SANDBOX_ERROR, err says why).  res must be freed
 * with sandbox_result_free in every case. */
int sandbox_run(const sandbox_limits *lim, const sandbox_program *prog,
                const char *stdin_data, size_t stdin_len, sandbox_result *res,
                core_error *err);
void sandbox_result_free(sandbox_result *res);

/* ------------------------------------------------------------------ pool */

/* One job of a batch: the program, its stdin, and where its result goes. */
typedef struct sandbox_job {
    const sandbox_program *prog;
    const char *stdin_data;
    size_t stdin_len;
    sandbox_result result;   /* filled by sandbox_run_many */
    int rc;                  /* sandbox_run's return */
    core_error error;
} sandbox_job;

/* Run n jobs on up to `workers` threads (0: one per online core).  Returns 0
 * when every job returned 0, else the first failing job's code. */
int sandbox_run_many(const sandbox_limits *lim, sandbox_job *jobs, int n, int workers);

/* Python jobs (lang "python", each its own source and stdin) run in ONE
 * instance, each forked from a warm interpreter (warm.c): ~1 ms a job
 * instead of ~9.  Each job keeps its own wall clock, output cap and verdict
 * under lim; the jobs share the instance (its memory cap, processes and
 * /work), so batch only runs that trust one another, like the tests of one
 * completion.  Returns 0 (every job then has a result, rc 0), CORE_EINPUT
 * for a job that is not Python, CORE_ERUNTIME when the sandbox failed. */
int sandbox_run_python_batch(const sandbox_limits *lim, sandbox_job *jobs, int n, core_error *err);

/* ----------------------------------------------------------------- names */

const char *sandbox_verdict_name(sandbox_verdict v);   /* "OK", "TIME_LIMIT", ... */
/* "user,pid,net,mount,ipc,uts,fs,nnp,seccomp,rlimits,cg_mem,cg_pids" for the
 * bits set ("none" when none); returns the length written. */
int sandbox_isolation_names(unsigned iso, char *buf, size_t cap);
/* Whether the language is in the table ("python", "c", "sh", "exec"). */
int sandbox_lang_known(const char *lang);

/* Remove the cgroups this process made; also registered with atexit. */
void sandbox_shutdown(void);

#endif
