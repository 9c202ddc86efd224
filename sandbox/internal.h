/*
 * sandbox/ internals shared by its units; not part of the public API.
 *
 * Each isolation mechanism is one small unit:
 *   lang.c     the language table (source file name, compile and run argv)
 *   seccomp.c  the syscall deny-list, compiled once to BPF
 *   rlimits.c  resource limits of a payload
 *   mounts.c   the file-system view of an instance
 *   cgroup.c   memory and pids cgroup slots (v1 or v2), reused across runs
 *   netns.c    the empty network namespace instances are born in
 *   child.c    the instance's init: the fixed order of the layers, the steps
 *   run.c      the parent: clone, map, wait, measure, kill, verdict
 *   pool.c     many runs in parallel, bounded by cores
 *   server.c   the helper process every instance is cloned from
 *   warm.c     many Python runs in one instance, forked from a warm interpreter
 *
 * Code that runs in the cloned child (child.c, mounts.c, rlimits.c and
 * sb_seccomp_apply) must be async-signal-safe: the parent may be
 * multithreaded (OpenMP, MPI), so no malloc, no stdio, no locks there.
 */
#ifndef GRPO_SANDBOX_INTERNAL_H
#define GRPO_SANDBOX_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "sandbox/sandbox.h"

struct sock_fprog;

/* ------------------------------------------------------------------ lang */

#define SB_MAX_ARGS 32

typedef struct sb_lang {
    const char *name;
    const char *source_file;             /* written to /work; NULL for exec */
    int executable;                      /* the source file gets mode 0755 (elf) */
    const char *compile[SB_MAX_ARGS];    /* compile argv, or {NULL} */
    const char *run[SB_MAX_ARGS];        /* run argv before the program's own args */
} sb_lang;

const sb_lang *sb_lang_find(const char *name);

/* ------------------------------------------------------------------ plan */

/* Everything the child needs, built by the parent before clone (the child
 * reads its own copy of this memory and allocates nothing). */
enum { SB_STEP_COMPILE, SB_STEP_RUN };
#define SB_MAX_STEPS 2

typedef struct sb_step {
    int kind;                          /* SB_STEP_COMPILE or SB_STEP_RUN */
    const char *argv[SB_MAX_ARGS + 1];
    sandbox_limits lim;
} sb_step;

typedef struct sb_plan {
    sb_step steps[SB_MAX_STEPS];
    int n_steps;
    const char *source;                /* written to /work/<source_file> */
    size_t source_len;
    const char *source_file;           /* NULL: nothing to write */
    int source_mode;                   /* 0644, or 0755 for an executable */
    int file_mb;                       /* size of /work and /tmp */
    int cg_mem;                        /* the memory cgroup is on: RLIMIT_AS is a loose backstop */
    int userns;                        /* own user namespace; 0: the root-only fallback, where
                                          payloads run as uid/gid 65534 of the host */
    const struct sock_fprog *filter;   /* NULL: no seccomp (never by default) */
    int fault;                         /* GRPO_FAULT_SANDBOX matched: the init fails its setup */
    /* The child's ends, moved to fixed numbers in the child (SB_FD_*). */
    int fd_stdin, fd_out, fd_err, fd_status, fd_sync;
} sb_plan;

/* The identity inside an instance (as isolate's 60000 + box): one id, mapped
 * to the host's nobody (or, unprivileged, to the caller).  Root inside is
 * not mapped at all, so nothing in an instance is root there. */
#define SB_UID 60000
#define SB_GID 60000

/* Descriptor numbers inside the instance's init. */
enum { SB_FD_STATUS = 3, SB_FD_STDIN = 4, SB_FD_OUT = 5, SB_FD_ERR = 6, SB_FD_SYNC = 7,
       SB_FD_FIRST_FREE = 8 };

/* Records the init writes on the status pipe (each < PIPE_BUF, so atomic). */
enum { SB_REC_START, SB_REC_END, SB_REC_ERROR };
typedef struct sb_record {
    int32_t step, kind, wstatus, err_no;
    int64_t cpu_us, rss_kb, wall_us;
    char msg[96];
} sb_record;

/* The clone entry point: the instance's init.  arg is an sb_plan*. */
int sb_child_main(void *arg);
/* Write an error record (stage and errno) on fd; async-signal-safe. */
void sb_report_error(int fd, int step, const char *stage, int err_no);

/* run.c: sandbox_run in this process (server.c's sandbox_run forwards to
 * the helper process, which calls this). */
int sb_run_local(const sandbox_limits *lim, const sandbox_program *prog, const char *stdin_data,
                 size_t stdin_len, sandbox_result *res, core_error *err);

/* warm.c: 1 when src is the warm runner itself (whose jobs travel on its
 * stdin; GRPO_FAULT_SANDBOX matches the jobs, not the runner). */
int sb_is_warm_runner(const char *src, size_t len);

/* ---------------------------------------------------------------- layers */

/* mounts.c: build the instance's root and pivot into it.  Returns 0 or
 * -errno with *stage naming the failing operation. */
int sb_mounts_setup(const sb_plan *p, const char **stage);
/* Remove /tmp/.compile.log etc. between steps is not needed; see child.c. */

/* rlimits.c: apply the limits of one step to the calling process. */
int sb_rlimits_apply(const sandbox_limits *lim, int cg_mem, int userns, const char **stage);

/* seccomp.c: the filter, built once per process (thread-safe). */
int sb_seccomp_filter(const struct sock_fprog **out, core_error *err);
/* Install it in the calling process (no_new_privs must be set). */
int sb_seccomp_apply(const struct sock_fprog *filter);

/* ---------------------------------------------------------------- netns */

/* Move the calling thread into the process's empty network namespace
 * (made once): 0, or -1 when that is not possible (use CLONE_NEWNET). */
int sb_netns_enter_empty(void);
/* Back to the host's network namespace: 0 or -errno. */
int sb_netns_leave(void);

/* ---------------------------------------------------------------- cgroup */

typedef struct sb_cgroup sb_cgroup;
/* A free slot with the limits set, or NULL when no cgroup can be made
 * (*iso then has no SANDBOX_ISO_CG_* bits). */
sb_cgroup *sb_cgroup_acquire(const sandbox_limits *lim, unsigned *iso);
int sb_cgroup_attach(sb_cgroup *cg, pid_t pid);
/* Kill whatever is left in the slot, read how many OOM kills happened since
 * acquire, and free the slot for the next run. */
void sb_cgroup_release(sb_cgroup *cg, long *oom_kills);
void sb_cgroup_shutdown(void);

#endif
