/*
 * The cgroup layer: a memory cap (the OOM killer ends a program that touches
 * more than mem_mb) and a pids cap (a fork bomb gets EAGAIN), per instance.
 *
 * Slots, not one cgroup per run: making and removing a memory cgroup costs
 * far more than a run, so each process keeps up to SLOTS cgroups named
 * grpo-sb-<pid>-<i>, hands a free one to each run, sets its limits when they
 * change, and sweeps it when the run ends.  They are removed at exit
 * (sandbox_shutdown, registered with atexit).
 *
 * Where: cgroups are made below the caller's own cgroup, never above it, so
 * an outer envelope (tests/sandbox/wrap.sh) still caps everything.
 *   v1  /sys/fs/cgroup/{memory,pids}/<own path>/grpo-sb-...  (this machine)
 *   v2  <parent of own cgroup>/grpo-sb-... : a v2 cgroup holding processes
 *       cannot hand controllers to children, so slots are siblings of the
 *       caller's leaf; the parent must have (or accept) +memory +pids in
 *       cgroup.subtree_control.
 * When neither works the run goes on without the layer and the result's
 * isolation bits say so.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/internal.h"

#define SLOTS 64
#define CG_ROOT "/sys/fs/cgroup"

struct sb_cgroup {
    int busy, made;
    long mem_bytes;
    int pids_max;
    long oom_before;
    char mem[PATH_MAX], pids[PATH_MAX]; /* v2: the same directory */
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_inited, g_version; /* 0: no cgroups; 1 or 2 */
static pid_t g_owner;            /* a forked child must not share its parent's slots */
static char g_base_mem[PATH_MAX], g_base_pids[PATH_MAX];
static sb_cgroup g_slots[SLOTS];

/* ------------------------------------------------------------- file helpers */

static int write_file(const char *dir, const char *file, const char *text) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    ssize_t n = write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -(n < 0 ? e : EIO);
}

static int read_file(const char *dir, const char *file, char *buf, size_t cap) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0) return -errno;
    buf[n] = 0;
    return 0;
}

/* The value after "key " in a "key value" lines file, or 0. */
static long keyed_value(const char *dir, const char *file, const char *key) {
    char buf[4096];
    if (read_file(dir, file, buf, sizeof buf)) return 0;
    size_t k = strlen(key);
    for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, key, k) == 0 && line[k] == ' ') return atol(line + k + 1);
    return 0;
}

/* ------------------------------------------------------------------ detect */

/* Our own path in the hierarchy holding `controller` (v1), or the v2 path
 * for controller "" ("0::/path"). */
static int own_path(const char *controller, char *out, size_t cap) {
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f) return -1;
    char line[PATH_MAX + 64];
    int found = -1;
    while (found && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2) continue;
        *c2 = 0;
        char *ctrls = c1 + 1;
        int match = controller[0] ? 0 : ctrls[0] == 0;
        for (char *tok = strtok(ctrls, ","); tok && controller[0]; tok = strtok(NULL, ","))
            if (strcmp(tok, controller) == 0) match = 1;
        if (match) {
            snprintf(out, cap, "%s", c2 + 1);
            found = 0;
        }
    }
    fclose(f);
    return found;
}

static int detect_v1(void) {
    char mem[PATH_MAX], pids[PATH_MAX];
    if (access(CG_ROOT "/memory/cgroup.procs", W_OK) || access(CG_ROOT "/pids/cgroup.procs", W_OK))
        return 0;
    if (own_path("memory", mem, sizeof mem) || own_path("pids", pids, sizeof pids)) return 0;
    snprintf(g_base_mem, sizeof g_base_mem, CG_ROOT "/memory%s", strcmp(mem, "/") ? mem : "");
    snprintf(g_base_pids, sizeof g_base_pids, CG_ROOT "/pids%s", strcmp(pids, "/") ? pids : "");
    return access(g_base_mem, W_OK) == 0 && access(g_base_pids, W_OK) == 0;
}

static int detect_v2(void) {
    char own[PATH_MAX], ctl[256];
    if (access(CG_ROOT "/cgroup.controllers", R_OK) || own_path("", own, sizeof own)) return 0;
    char *slash = strrchr(own, '/');
    if (slash && slash != own) *slash = 0; /* the parent of our leaf */
    else own[0] = 0;                       /* we are in the root (or its child) */
    snprintf(g_base_mem, sizeof g_base_mem, CG_ROOT "%s", own);
    snprintf(g_base_pids, sizeof g_base_pids, "%s", g_base_mem);
    if (read_file(g_base_mem, "cgroup.subtree_control", ctl, sizeof ctl)) return 0;
    if (!strstr(ctl, "memory") || !strstr(ctl, "pids"))
        write_file(g_base_mem, "cgroup.subtree_control", "+memory +pids");
    if (read_file(g_base_mem, "cgroup.subtree_control", ctl, sizeof ctl)) return 0;
    return strstr(ctl, "memory") && strstr(ctl, "pids") && access(g_base_mem, W_OK) == 0;
}

/* Slots left by a process that died without sandbox_shutdown (SIGKILL):
 * remove the empty ones whose owner no longer exists.  (An owner in another
 * PID namespace looks dead too; rmdir only succeeds on an empty cgroup, and
 * its owner makes a removed slot again: see sb_cgroup_acquire.) */
static void remove_stale(void) {
    DIR *d = opendir(g_base_mem);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int pid, index;
        if (sscanf(e->d_name, "grpo-sb-%d-%d", &pid, &index) != 2 || pid == getpid()) continue;
        if (kill(pid, 0) == 0 || errno != ESRCH) continue;
        char path[PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s", g_base_mem, e->d_name);
        rmdir(path);
        if (g_version == 1) {
            snprintf(path, sizeof path, "%s/%s", g_base_pids, e->d_name);
            rmdir(path);
        }
    }
    if (d) closedir(d);
}

static void init_locked(void) {
    if (g_inited && g_owner == getpid()) return;
    if (g_inited) memset(g_slots, 0, sizeof g_slots); /* forked: the slots are the parent's */
    int first = !g_inited;
    g_inited = 1;
    g_owner = getpid();
    const char *off = getenv("GRPO_SANDBOX_NO_CGROUP"); /* tests of the fallback */
    if (off && *off) g_version = 0;
    else if (detect_v1()) g_version = 1;
    else if (detect_v2()) g_version = 2;
    else g_version = 0;
    if (g_version) remove_stale();
    if (first) atexit(sandbox_shutdown);
}

/* -------------------------------------------------------------------- slots */

static int make_slot(sb_cgroup *s, int i) {
    snprintf(s->mem, sizeof s->mem, "%s/grpo-sb-%d-%d", g_base_mem, (int)getpid(), i);
    snprintf(s->pids, sizeof s->pids, "%s/grpo-sb-%d-%d", g_base_pids, (int)getpid(), i);
    if (mkdir(s->mem, 0755) && errno != EEXIST) return -errno;
    if (g_version == 1 && mkdir(s->pids, 0755) && errno != EEXIST) return -errno;
    if (g_version == 2) write_file(s->mem, "memory.swap.max", "0");
    s->made = 1;
    s->mem_bytes = -1;
    s->pids_max = -1;
    return 0;
}

static int set_limits(sb_cgroup *s, const sandbox_limits *lim) {
    char text[32];
    long bytes = (long)lim->mem_mb * 1024 * 1024;
    int pids = lim->max_procs + 2; /* + the init + the payload it forks */
    int rc = 0;
    if (bytes != s->mem_bytes) {
        snprintf(text, sizeof text, "%ld", bytes);
        rc = write_file(s->mem, g_version == 1 ? "memory.limit_in_bytes" : "memory.max", text);
        s->mem_bytes = rc ? -1 : bytes;
    }
    if (!rc && pids != s->pids_max) {
        snprintf(text, sizeof text, "%d", pids);
        rc = write_file(s->pids, "pids.max", text);
        s->pids_max = rc ? -1 : pids;
    }
    return rc;
}

static long oom_kills(const sb_cgroup *s) {
    return g_version == 1 ? keyed_value(s->mem, "memory.oom_control", "oom_kill")
                          : keyed_value(s->mem, "memory.events", "oom_kill");
}

sb_cgroup *sb_cgroup_acquire(const sandbox_limits *lim, unsigned *iso) {
    sb_cgroup *s = NULL;
    int index = -1;
    pthread_mutex_lock(&g_mu);
    init_locked();
    for (int i = 0; g_version && i < SLOTS && index < 0; i++)
        if (!g_slots[i].busy) index = i;
    if (index >= 0) {
        s = &g_slots[index];
        s->busy = 1;
    }
    pthread_mutex_unlock(&g_mu);
    if (!s) return NULL;
    int rc = s->made ? 0 : make_slot(s, index);
    if (rc == 0 && (rc = set_limits(s, lim)) == -ENOENT) { /* removed under us: make it again */
        s->made = 0;
        if ((rc = make_slot(s, index)) == 0) rc = set_limits(s, lim);
    }
    if (rc) {
        pthread_mutex_lock(&g_mu);
        s->busy = 0;
        pthread_mutex_unlock(&g_mu);
        return NULL;
    }
    s->oom_before = oom_kills(s);
    *iso |= SANDBOX_ISO_CG_MEM | SANDBOX_ISO_CG_PIDS;
    return s;
}

int sb_cgroup_attach(sb_cgroup *s, pid_t pid) {
    char text[32];
    snprintf(text, sizeof text, "%d", (int)pid);
    int rc = write_file(s->mem, "cgroup.procs", text);
    if (!rc && g_version == 1) rc = write_file(s->pids, "cgroup.procs", text);
    return rc;
}

/* Kill every process still in the slot until it is empty (bounded). */
static void sweep(const sb_cgroup *s) {
    if (g_version == 2) write_file(s->pids, "cgroup.kill", "1");
    for (int round = 0; round < 200; round++) {
        char buf[4096];
        if (read_file(s->pids, "cgroup.procs", buf, sizeof buf) || !buf[0]) return;
        for (char *p = buf; *p;) {
            long pid = strtol(p, &p, 10);
            if (pid > 0) kill((pid_t)pid, SIGKILL);
            while (*p == '\n') p++;
        }
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
}

void sb_cgroup_release(sb_cgroup *s, long *oom) {
    sweep(s);
    *oom = oom_kills(s) - s->oom_before;
    pthread_mutex_lock(&g_mu);
    s->busy = 0;
    pthread_mutex_unlock(&g_mu);
}

void sb_cgroup_shutdown(void) {
    pthread_mutex_lock(&g_mu);
    for (int i = 0; g_owner == getpid() && i < SLOTS; i++) {
        sb_cgroup *s = &g_slots[i];
        if (!s->made || s->busy) continue;
        sweep(s);
        rmdir(s->mem);
        if (g_version == 1) rmdir(s->pids);
        s->made = 0;
    }
    pthread_mutex_unlock(&g_mu);
}
