/*
 * The rlimit layer, applied by each payload just after fork (so the
 * instance's init is not bound by them).  Soft and hard limits are equal, so
 * the program cannot raise them back.
 *
 *   RLIMIT_CPU     cpu_ms rounded up to seconds, +1 s (the parent's wall
 *                  clock is the precise limit; this catches a spinning tree)
 *   RLIMIT_AS      mem_mb (+64 MB for the interpreter's mappings) when no
 *                  memory cgroup exists; with one, 4x that, a loose backstop
 *                  that lets the cgroup (which counts resident memory) decide
 *   RLIMIT_NPROC   max_procs + 1 (the init counts: same uid in the namespace);
 *                  without a user namespace the count would be shared by
 *                  every instance running as nobody, so it is only a loose
 *                  backstop (4096) and the pids cgroup is the cap
 *   RLIMIT_FSIZE   file_mb;  RLIMIT_NOFILE max_fds;  RLIMIT_CORE 0
 *   RLIMIT_MEMLOCK 0;  RLIMIT_MSGQUEUE 0;  RLIMIT_STACK 64 MB (deep recursion
 *                  ends in SIGSEGV, not in eating the memory limit)
 */
#include <errno.h>
#include <sys/resource.h>

#include "sandbox/internal.h"

/* Never above the current hard limit: raising it needs CAP_SYS_RESOURCE in
 * the initial namespace, which the payload does not have. */
static int set_limit(int resource, rlim_t value) {
    struct rlimit cur;
    if (getrlimit(resource, &cur) == 0 && cur.rlim_max != RLIM_INFINITY && value > cur.rlim_max)
        value = cur.rlim_max;
    struct rlimit r = {value, value};
    return setrlimit(resource, &r) == 0 ? 0 : -errno;
}

int sb_rlimits_apply(const sandbox_limits *lim, int cg_mem, int userns, const char **stage) {
    const rlim_t MB = 1024 * 1024;
    int cpu_ms = lim->cpu_ms > 0 ? lim->cpu_ms : lim->time_ms;
    rlim_t as = ((rlim_t)lim->mem_mb + 64) * MB;
    if (cg_mem) as *= 4;
    struct { int res; rlim_t value; const char *name; } table[] = {
        {RLIMIT_CPU, (rlim_t)(cpu_ms + 999) / 1000 + 1, "rlimit cpu"},
        {RLIMIT_AS, as, "rlimit as"},
        {RLIMIT_NPROC, userns ? (rlim_t)lim->max_procs + 1 : 4096, "rlimit nproc"},
        {RLIMIT_FSIZE, (rlim_t)lim->file_mb * MB, "rlimit fsize"},
        {RLIMIT_NOFILE, (rlim_t)lim->max_fds, "rlimit nofile"},
        {RLIMIT_CORE, 0, "rlimit core"},
        {RLIMIT_MEMLOCK, 0, "rlimit memlock"},
        {RLIMIT_MSGQUEUE, 0, "rlimit msgqueue"},
        {RLIMIT_STACK, 64 * MB, "rlimit stack"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        int rc = set_limit(table[i].res, table[i].value);
        if (rc) {
            *stage = table[i].name;
            return rc;
        }
    }
    return 0;
}
