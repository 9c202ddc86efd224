/*
 * The pool: many runs in parallel, bounded by cores.  Each worker thread
 * takes the next job (an atomic counter) and calls sandbox_run; runs are
 * independent instances, so the only shared state is the process-wide
 * seccomp filter and cgroup slots, both thread-safe.  With one worker (or
 * one job) everything runs on the calling thread.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "sandbox/internal.h"

#define MAX_WORKERS 64

typedef struct pool {
    const sandbox_limits *lim;
    sandbox_job *jobs;
    int n;
    atomic_int next;
} pool;

static void run_job(const sandbox_limits *lim, sandbox_job *j) {
    j->error = (core_error){0};
    j->rc = sandbox_run(lim, j->prog, j->stdin_data, j->stdin_len, &j->result, &j->error);
}

static void *worker(void *arg) {
    pool *p = arg;
    for (int i; (i = atomic_fetch_add(&p->next, 1)) < p->n;) run_job(p->lim, &p->jobs[i]);
    return NULL;
}

int sandbox_run_many(const sandbox_limits *lim, sandbox_job *jobs, int n, int workers) {
    if (workers <= 0) workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (workers < 1) workers = 1;
    if (workers > n) workers = n;
    if (workers > MAX_WORKERS) workers = MAX_WORKERS;
    pool p = {.lim = lim, .jobs = jobs, .n = n};
    atomic_init(&p.next, 0);
    pthread_t threads[MAX_WORKERS];
    int started = 0;
    for (int i = 1; i < workers; i++) /* the calling thread is worker 0 */
        if (pthread_create(&threads[started], NULL, worker, &p) == 0) started++;
    worker(&p);
    for (int i = 0; i < started; i++) pthread_join(threads[i], NULL);
    for (int i = 0; i < n; i++)
        if (jobs[i].rc) return jobs[i].rc;
    return 0;
}
