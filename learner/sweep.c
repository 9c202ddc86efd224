/*
 * sweep.c — `grpo ablate`: plan the arms of a sweep, check every arm's
 * config before anything runs, record the sweep, and run each arm × seed as
 * a child `grpo train` of its own resolved config (one process per run: a
 * run owns its process, its MPI session and its signals, and a crash of one
 * arm leaves the others alone).  One run after another, or under mpirun a
 * share of the runs on each rank, in parallel.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mpi.h>

#include "db/db.h"
#include "learner/learner.h"
#include "learner/pretrain.h"
#include "learner/sweep.h"
#include "reward/reward.h"

/* ------------------------------------------------------------- the plan */

/* Keys a sweep owns itself: the run's name, seed and storage. */
static int reserved_key(const char *key) {
    static const char *const keys[] = {"run.name", "run.seed", "run.out_dir", "db.path"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(key, keys[i])) return 1;
    return 0;
}

static void trim_copy(char *dst, size_t cap, const char *start, const char *end) {
    while (start < end && (*start == ' ' || *start == '\t')) start++;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t')) end--;
    size_t n = (size_t)(end - start) < cap - 1 ? (size_t)(end - start) : cap - 1;
    memcpy(dst, start, n);
    dst[n] = 0;
}

/* Check one value of an axis by applying it to a copy of the base config:
 * an unknown key or an out-of-range value is an error naming the key. */
static int check_value(const sweep_plan *p, const char *key, const char *value, core_error *err) {
    static core_config scratch; /* a core_config is large: kept off the stack */
    char assignment[CORE_STR_MAX + 160];
    scratch = p->base;
    snprintf(assignment, sizeof assignment, "%s=%s", key, value);
    return core_config_set(&scratch, assignment, err);
}

int sweep_add_axis(sweep_plan *p, const char *spec, core_error *err) {
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || !eq[1])
        return core_fail(err, CORE_EINPUT, "--vary %s: expected section.key=v1,v2,...", spec);
    if (p->n_axes == SWEEP_MAX_AXES)
        return core_fail(err, CORE_EINPUT, "--vary %s: at most %d varied keys", spec, SWEEP_MAX_AXES);
    sweep_axis *a = &p->axes[p->n_axes];
    memset(a, 0, sizeof *a);
    trim_copy(a->key, sizeof a->key, spec, eq);
    if (reserved_key(a->key))
        return core_fail(err, CORE_EINPUT, "--vary %s: the sweep sets this key itself (use --seeds for seeds)", a->key);
    for (int i = 0; i < p->n_axes; i++)
        if (!strcmp(p->axes[i].key, a->key))
            return core_fail(err, CORE_EINPUT, "--vary %s: the key is varied twice", a->key);
    char sep = strchr(eq + 1, '|') ? '|' : ',';
    for (const char *v = eq + 1;;) {
        const char *end = strchr(v, sep);
        if (!end) end = v + strlen(v);
        if (a->n == SWEEP_MAX_VALUES)
            return core_fail(err, CORE_EINPUT, "--vary %s: at most %d values", a->key, SWEEP_MAX_VALUES);
        trim_copy(a->values[a->n], sizeof a->values[0], v, end);
        if (check_value(p, a->key, a->values[a->n], err)) return core_fail_wrap(err, "--vary %s", a->key);
        for (int i = 0; i < a->n; i++)
            if (!strcmp(a->values[i], a->values[a->n]))
                return core_fail(err, CORE_EINPUT, "--vary %s: value '%s' given twice", a->key, a->values[i]);
        a->n++;
        if (!*end) break;
        v = end + 1;
    }
    p->n_axes++;
    return 0;
}

/* ------------------------------------------------------ the sweep file */

typedef struct file_ctx {
    sweep_plan *p;
    const char *path;
    int line, in_sweep, seeds_given;
    char name_given[128];
    sweep_file_arm *arm;     /* the [arm NAME] being read, or NULL */
} file_ctx;

/* "section.key = value" in [sweep] (every arm) or in an [arm NAME]. */
static int file_setting(file_ctx *c, const char *key, const char *value, core_error *err) {
    sweep_plan *p = c->p;
    if (!strchr(key, '.'))
        return core_fail(err, CORE_EINPUT, "%s:%d: '%s': expected section.key = value%s", c->path, c->line,
                         key, c->in_sweep ? " (or seeds = N)" : "");
    if (reserved_key(key))
        return core_fail(err, CORE_EINPUT, "%s:%d: %s: the sweep sets this key itself", c->path, c->line, key);
    if (c->in_sweep) {
        char assignment[CORE_STR_MAX + 160];
        snprintf(assignment, sizeof assignment, "%s=%s", key, value);
        if (core_config_set(&p->base, assignment, err)) return core_fail_wrap(err, "%s:%d", c->path, c->line);
        return 0;
    }
    sweep_file_arm *a = c->arm;
    for (int i = 0; i < a->n; i++)
        if (!strcmp(a->keys[i], key))
            return core_fail(err, CORE_EINPUT, "%s:%d: %s set twice in [arm %s]", c->path, c->line, key, a->name);
    if (a->n == SWEEP_MAX_SETTINGS)
        return core_fail(err, CORE_EINPUT, "%s:%d: at most %d settings per arm", c->path, c->line, SWEEP_MAX_SETTINGS);
    if (check_value(p, key, value, err)) return core_fail_wrap(err, "%s:%d", c->path, c->line);
    snprintf(a->keys[a->n], sizeof a->keys[0], "%s", key);
    snprintf(a->values[a->n++], sizeof a->values[0], "%s", value);
    return 0;
}

static int file_section(file_ctx *c, const char *name, core_error *err) {
    sweep_plan *p = c->p;
    c->in_sweep = !strcmp(name, "sweep");
    c->arm = NULL;
    if (c->in_sweep) return 0;
    if (strncmp(name, "arm ", 4) || !name[4])
        return core_fail(err, CORE_EINPUT, "%s:%d: [%s]: expected [sweep] or [arm NAME]", c->path, c->line, name);
    const char *arm_name = name + 4;
    while (*arm_name == ' ') arm_name++;
    for (int i = 0; i < p->n_file_arms; i++)
        if (!strcmp(p->file_arms[i].name, arm_name))
            return core_fail(err, CORE_EINPUT, "%s:%d: [arm %s] twice", c->path, c->line, arm_name);
    if (p->n_file_arms == SWEEP_MAX_FILE_ARMS)
        return core_fail(err, CORE_EINPUT, "%s:%d: at most %d arms", c->path, c->line, SWEEP_MAX_FILE_ARMS);
    if (strlen(arm_name) >= sizeof p->file_arms[0].name || strpbrk(arm_name, " \t="))
        return core_fail(err, CORE_EINPUT, "%s:%d: arm name '%s': one word of at most %zu characters", c->path,
                         c->line, arm_name, sizeof p->file_arms[0].name - 1);
    c->arm = &p->file_arms[p->n_file_arms++];
    memset(c->arm, 0, sizeof *c->arm);
    snprintf(c->arm->name, sizeof c->arm->name, "%s", arm_name);
    return 0;
}

static int file_line(file_ctx *c, char *line, core_error *err) {
    char *s = line, *end = line + strlen(line);
    while (*s == ' ' || *s == '\t') s++;
    while (end > s && strchr(" \t\r\n", end[-1])) *--end = 0;
    if (!*s || *s == ';' || *s == '#') return 0;
    if (*s == '[') {
        if (end[-1] != ']') return core_fail(err, CORE_EINPUT, "%s:%d: expected [section]", c->path, c->line);
        end[-1] = 0;
        char name[128];
        trim_copy(name, sizeof name, s + 1, end - 1);
        return file_section(c, name, err);
    }
    char *eq = strchr(s, '=');
    if (!eq) return core_fail(err, CORE_EINPUT, "%s:%d: expected key = value", c->path, c->line);
    char key[128], value[CORE_STR_MAX];
    trim_copy(key, sizeof key, s, eq);
    trim_copy(value, sizeof value, eq + 1, end);
    if (!c->in_sweep && !c->arm)
        return core_fail(err, CORE_EINPUT, "%s:%d: %s outside [sweep] or [arm NAME]", c->path, c->line, key);
    if (c->in_sweep && !strcmp(key, "name")) {
        if (!*value || strlen(value) >= sizeof c->p->name || strpbrk(value, " \t/"))
            return core_fail(err, CORE_EINPUT, "%s:%d: name: one word of at most %zu characters, no '/'",
                             c->path, c->line, sizeof c->p->name - 1);
        snprintf(c->name_given, sizeof c->name_given, "%s", value);
        return 0;
    }
    if (c->in_sweep && !strcmp(key, "seeds")) {
        char *e;
        long n = strtol(value, &e, 10);
        if (*e || n < 1 || n > SWEEP_MAX_SEEDS)
            return core_fail(err, CORE_EINPUT, "%s:%d: seeds: expected 1..%d, got '%s'", c->path, c->line,
                             SWEEP_MAX_SEEDS, value);
        c->seeds_given = (int)n;
        return 0;
    }
    return file_setting(c, key, value, err);
}

int sweep_load_file(sweep_plan *p, const char *path, core_error *err) {
    FILE *f = fopen(path, "r");
    if (!f) return core_fail(err, CORE_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    file_ctx c = {p, path, 0, 0, 0, "", NULL};
    char line[CORE_STR_MAX + 256];
    int rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        c.line++;
        rc = file_line(&c, line, err);
    }
    fclose(f);
    if (rc) return rc;
    /* --seeds and --name, given on the command line, win over the file's */
    if (c.seeds_given && !p->n_seeds) p->n_seeds = c.seeds_given;
    if (c.name_given[0] && !p->name[0]) snprintf(p->name, sizeof p->name, "%s", c.name_given);
    return 0;
}

/* ------------------------------------------------------------- the arms */

static int axes_count(const sweep_plan *p) {
    int n = 1;
    for (int i = 0; i < p->n_axes; i++) n *= p->axes[i].n;
    return n;
}

int sweep_n_arms(const sweep_plan *p) {
    return (p->n_file_arms ? p->n_file_arms : 1) * axes_count(p);
}

static const char *axis_value(const sweep_plan *p, int arm, int axis) {
    arm %= axes_count(p);
    for (int i = p->n_axes - 1; i > axis; i--) arm /= p->axes[i].n;
    return p->axes[axis].values[arm % p->axes[axis].n];
}

int sweep_arm_settings(const sweep_plan *p, int arm, const char **keys, const char **values) {
    int n = 0;
    if (p->n_file_arms) {
        const sweep_file_arm *a = &p->file_arms[arm / axes_count(p)];
        for (int i = 0; i < a->n; i++) keys[n] = a->keys[i], values[n++] = a->values[i];
    }
    for (int i = 0; i < p->n_axes; i++) keys[n] = p->axes[i].key, values[n++] = axis_value(p, arm, i);
    return n;
}

void sweep_arm_label(const sweep_plan *p, int arm, char *out, size_t cap) {
    size_t len = 0;
    out[0] = 0;
    if (p->n_file_arms) len += snprintf(out, cap, "%s", p->file_arms[arm / axes_count(p)].name);
    for (int i = 0; i < p->n_axes && len < cap; i++)
        len += snprintf(out + len, cap - len, "%s%s=%s", len ? " " : "", p->axes[i].key, axis_value(p, arm, i));
}

static const char *sweep_name(const sweep_plan *p) { return p->name[0] ? p->name : p->base.run.name; }

static void run_name(const sweep_plan *p, int arm, int seed_index, char *out, size_t cap) {
    snprintf(out, cap, "%s-a%d-s%d", sweep_name(p), arm, seed_index);
}

int sweep_run_config(const sweep_plan *p, int arm, int seed_index, core_config *out, core_error *err) {
    const char *keys[SWEEP_MAX_SETTINGS + SWEEP_MAX_AXES], *values[SWEEP_MAX_SETTINGS + SWEEP_MAX_AXES];
    int n = sweep_arm_settings(p, arm, keys, values);
    *out = p->base;
    for (int i = 0; i < n; i++) {
        char assignment[CORE_STR_MAX + 160];
        snprintf(assignment, sizeof assignment, "%s=%s", keys[i], values[i]);
        if (core_config_set(out, assignment, err)) return core_fail_wrap(err, "arm %d: %s", arm, keys[i]);
    }
    /* every run starts from the sweep's base model, not one named after the run */
    if (!out->model.checkpoint[0])
        pretrain_checkpoint_path(&p->base, out->model.checkpoint, sizeof out->model.checkpoint);
    if ((long)p->base.run.seed + seed_index > 2147483647L)
        return core_fail(err, CORE_EINPUT, "run.seed %d + %d seeds overflows", p->base.run.seed, p->n_seeds);
    out->run.seed = p->base.run.seed + seed_index;
    run_name(p, arm, seed_index, out->run.name, sizeof out->run.name);
    return 0;
}

/* What `grpo train` would refuse at start-up, refused before any run. */
static int check_arm(const sweep_plan *p, int arm, int need_base, core_error *err) {
    static core_config cfg;
    char label[1024];
    sweep_arm_label(p, arm, label, sizeof label);
    if (sweep_run_config(p, arm, 0, &cfg, err)) return err->code;
    reward_fn *r = NULL;
    grpo_objective obj;
    if (reward_create(&r, &cfg, err) || learner_objective_from_config(&cfg, &obj, err))
        return core_fail_wrap(err, "arm %d (%s)", arm, label);
    reward_free(r);
    struct stat st;
    if (need_base && stat(cfg.model.checkpoint, &st))
        return core_fail(err, CORE_EINPUT,
                         "arm %d (%s): base model %s not found (run `grpo pretrain` with the same "
                         "config first, or set model.checkpoint)", arm, label, cfg.model.checkpoint);
    return 0;
}

int sweep_check(const sweep_plan *p, int need_base, core_error *err) {
    if (p->n_seeds < 1 || p->n_seeds > SWEEP_MAX_SEEDS)
        return core_fail(err, CORE_EINPUT, "--seeds %d: expected 1..%d", p->n_seeds, SWEEP_MAX_SEEDS);
    if (p->n_axes == 0 && p->n_file_arms == 0)
        return core_fail(err, CORE_EINPUT, "no arms: give --vary or a sweep file with [arm NAME] sections");
    /* a key both in an arm and on an axis: which value would win is a guess */
    for (int a = 0; a < p->n_file_arms; a++)
        for (int k = 0; k < p->file_arms[a].n; k++)
            for (int i = 0; i < p->n_axes; i++)
                if (!strcmp(p->file_arms[a].keys[k], p->axes[i].key))
                    return core_fail(err, CORE_EINPUT, "--vary %s: [arm %s] sets it too", p->axes[i].key,
                                     p->file_arms[a].name);
    for (int arm = 0; arm < sweep_n_arms(p); arm++)
        if (check_arm(p, arm, need_base, err)) return err->code;
    return 0;
}

/* ------------------------------------------------------- the sweep rows */

/* The arms as stored in sweeps.vary: a file's arms as "[arm NAME] k=v;"
 * lines, then the axes as "key=v1|v2" lines. */
static char *vary_text(const sweep_plan *p) {
    size_t cap = 64;
    for (int i = 0; i < p->n_axes; i++) cap += sizeof p->axes[i].key + p->axes[i].n * (CORE_STR_MAX + 1);
    for (int a = 0; a < p->n_file_arms; a++) cap += 80 + p->file_arms[a].n * (CORE_STR_MAX + 130);
    char *t = malloc(cap);
    size_t len = 0;
    t[0] = 0;
    for (int a = 0; a < p->n_file_arms; a++) {
        len += snprintf(t + len, cap - len, "[arm %s]", p->file_arms[a].name);
        for (int k = 0; k < p->file_arms[a].n; k++)
            len += snprintf(t + len, cap - len, " %s=%s;", p->file_arms[a].keys[k], p->file_arms[a].values[k]);
        len += snprintf(t + len, cap - len, "\n");
    }
    for (int i = 0; i < p->n_axes; i++) {
        len += snprintf(t + len, cap - len, "%s=", p->axes[i].key);
        for (int v = 0; v < p->axes[i].n; v++)
            len += snprintf(t + len, cap - len, "%s%s", v ? "|" : "", p->axes[i].values[v]);
        len += snprintf(t + len, cap - len, "\n");
    }
    return t;
}

static int create_sweep(db *d, const sweep_plan *p, const char *ini, const char *vary, int64_t *id,
                        core_error *err) {
    if (db_begin(d, err)) return err->code;
    int rc = db_sweep_create(d, sweep_name(p), ini, vary, p->n_seeds, id, err);
    for (int arm = 0; arm < sweep_n_arms(p) && !rc; arm++) {
        char label[1024];
        const char *keys[SWEEP_MAX_SETTINGS + SWEEP_MAX_AXES], *values[SWEEP_MAX_SETTINGS + SWEEP_MAX_AXES];
        int n = sweep_arm_settings(p, arm, keys, values);
        sweep_arm_label(p, arm, label, sizeof label);
        rc = db_sweep_add_arm(d, *id, arm, label, n, keys, values, err);
    }
    if (rc) {
        db_rollback(d);
        return err->code;
    }
    return db_commit(d, err);
}

/* Find (resume) or create the sweep row; a name already used is an error
 * without --resume, and with it the config and axes must be the same. */
static int open_sweep(db *d, const sweep_plan *p, int resume, int64_t *id, core_error *err) {
    char *ini = core_config_to_ini(&p->base), *vary = vary_text(p);
    db_sweep_info old;
    int rc = db_sweep_find(d, sweep_name(p), &old, err);
    const char *name = sweep_name(p), *path = p->base.db.path;
    if (rc) rc = err->code;
    else if (old.id && !resume)
        rc = core_fail(err, CORE_EINPUT, "%s: a sweep named '%s' exists (id %lld); --resume continues "
                       "it, or --name gives a new one", path, name, (long long)old.id);
    else if (!old.id && resume)
        rc = core_fail(err, CORE_EINPUT, "--resume: no sweep named '%s' in %s", name, path);
    else if (old.id && (strcmp(old.vary, vary) || old.seeds != p->n_seeds))
        rc = core_fail(err, CORE_EINPUT, "--resume: sweep '%s' was started with other --vary or --seeds:\n%s"
                       "seeds %d", name, old.vary, old.seeds);
    else if (old.id && strcmp(old.config, ini))
        rc = core_fail(err, CORE_EINPUT, "--resume: sweep '%s' was started with another config "
                       "(see sweeps.config in %s)", name, path);
    else if (old.id) *id = old.id;
    else rc = create_sweep(d, p, ini, vary, id, err);
    db_sweep_info_free(&old);
    free(ini);
    free(vary);
    return rc;
}

/* ------------------------------------------------------- the child runs */

/* Under mpirun each rank drives a share of the runs (run i of the sweep on
 * rank i % size) and each run is one `grpo train` process, a learner that
 * samples for itself: the child leaves the MPI job's environment behind and
 * starts as its own singleton.  Rank 0 creates or finds the sweep, tells
 * the others, and after the runs gathers the counts. */
typedef struct world { int rank, size, mpi; } world;

static void world_init(world *w) {
    *w = (world){0, 1, 0};
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK")) return;
    int initialized;
    MPI_Initialized(&initialized);
    if (!initialized) MPI_Init(NULL, NULL);
    MPI_Comm_rank(MPI_COMM_WORLD, &w->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &w->size);
    w->mpi = 1;
}

/* Rank 0's rc and sweep id to every rank. */
static void world_share(const world *w, int *rc, int64_t *sweep_id) {
    if (!w->mpi) return;
    long long v[2] = {*rc, *sweep_id};
    MPI_Bcast(v, 2, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
    *rc = (int)v[0], *sweep_id = v[1];
}

static void world_sum(const world *w, sweep_result *res) {
    if (!w->mpi) return;
    int mine[4] = {res->ran, res->skipped, res->failed, res->stopped}, all[4];
    MPI_Allreduce(mine, all, 4, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    res->ran = all[0], res->skipped = all[1], res->failed = all[2], res->stopped = all[3];
}

/* In a child: drop the variables that tie a process to the mpirun job. */
static void leave_mpi_job(void) {
    extern char **environ;
    static const char *const prefixes[] = {"OMPI_", "PMIX_", "OPAL_", "PRTE_"};
    for (int found = 1; found;) {
        found = 0;
        for (char **e = environ; *e && !found; e++) {
            if (!strncmp(*e, "OMPI_ALLOW_RUN_AS_ROOT", 22)) continue;
            for (int i = 0; i < 4 && !found; i++) {
                if (strncmp(*e, prefixes[i], strlen(prefixes[i]))) continue;
                char name[256];
                size_t len = strcspn(*e, "=");
                snprintf(name, sizeof name, "%.*s", (int)len, *e);
                unsetenv(name);
                found = 1;
            }
        }
    }
}

static volatile sig_atomic_t child_pid, interrupted;

typedef struct sweep_link { int64_t sweep_id; int arm, seed_index; } sweep_link;
static void forward_sigint(int sig) {
    (void)sig;
    interrupted = 1;
    if (child_pid > 0) kill(child_pid, SIGINT);
}

/* `exe train INI [--resume]` with stdout and stderr appended to log.
 * While it runs, the run it creates (named `name`) joins the sweep as soon
 * as its row exists, so a report shows a sweep's runs as they train. */
static int run_child(db *d, const char *name, const sweep_link *link, const char *exe, const char *ini,
                     const char *log, int resume, int *status, core_error *err) {
    pid_t pid = fork();
    if (pid < 0) return core_fail(err, CORE_ERUNTIME, "fork: %s", strerror(errno));
    if (pid == 0) {
        setpgid(0, 0); /* our own group: a terminal Ctrl-C reaches the parent, which forwards it */
        leave_mpi_job();
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) dup2(fd, 1), dup2(fd, 2), close(fd);
        char *args[] = {(char *)exe, "train", (char *)ini, resume ? "--resume" : NULL, NULL};
        execv(exe, args);
        _exit(127);
    }
    child_pid = pid;
    int joined = 0;
    for (;;) {
        pid_t got = waitpid(pid, status, WNOHANG);
        if (got == pid) break;
        if (got < 0 && errno != EINTR)
            return child_pid = 0, core_fail(err, CORE_ERUNTIME, "waitpid: %s", strerror(errno));
        int64_t run_id = joined ? 0 : db_run_latest(d, name, "train");
        core_error ignore; /* joined for certain once the child is done */
        if (run_id && !db_run_join_sweep(d, run_id, link->sweep_id, link->arm, link->seed_index, &ignore))
            joined = 1;
        usleep(200 * 1000);
    }
    child_pid = 0;
    return 0;
}

static int write_config(const core_config *cfg, const char *path, core_error *err) {
    char *ini = core_config_to_ini(cfg);
    FILE *f = fopen(path, "w");
    int ok = f && fputs(ini, f) >= 0;
    if (f && fclose(f)) ok = 0;
    free(ini);
    return ok ? 0 : core_fail(err, CORE_ERUNTIME, "cannot write %s: %s", path, strerror(errno));
}

static int make_dir(const char *path, core_error *err) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *s = buf + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(buf, 0755) && errno != EEXIST) return core_fail(err, CORE_ERUNTIME, "mkdir %s: %s", buf, strerror(errno));
        *s = '/';
    }
    if (mkdir(buf, 0755) && errno != EEXIST) return core_fail(err, CORE_ERUNTIME, "mkdir %s: %s", buf, strerror(errno));
    return 0;
}

/* One arm × seed: skip it when done, else run (or resume) it. */
static int run_one(db *d, const sweep_plan *p, int64_t sweep_id, int arm, int k, const char *exe,
                   sweep_result *res, core_error *err) {
    static core_config cfg;
    char dir[1024], ini[1200], log[1200], label[1024], status[32];
    if (sweep_run_config(p, arm, k, &cfg, err)) return err->code;
    sweep_arm_label(p, arm, label, sizeof label);
    int64_t run_id = db_run_latest(d, cfg.run.name, "train");
    db_run_status(d, run_id, status, sizeof status);
    if (run_id && !strcmp(status, "done")) {
        res->skipped++;
        core_info("sweep: %s (arm %d: %s, seed %d) done before; skipped", cfg.run.name, arm, label, k);
        return db_run_join_sweep(d, run_id, sweep_id, arm, k, err);
    }
    snprintf(dir, sizeof dir, "%s/%s", p->base.run.out_dir, sweep_name(p));
    snprintf(ini, sizeof ini, "%s/a%d-s%d.ini", dir, arm, k);
    snprintf(log, sizeof log, "%s/a%d-s%d.log", dir, arm, k);
    if (make_dir(dir, err) || write_config(&cfg, ini, err)) return err->code;
    core_info("sweep: %s (arm %d: %s, seed %d)%s; log %s", cfg.run.name, arm, label, k,
              run_id ? " resuming" : "", log);
    double t0 = core_now();
    int wstatus;
    sweep_link link = {sweep_id, arm, k};
    if (run_child(d, cfg.run.name, &link, exe, ini, log, run_id != 0, &wstatus, err)) return err->code;
    run_id = db_run_latest(d, cfg.run.name, "train");
    if (run_id && db_run_join_sweep(d, run_id, sweep_id, arm, k, err)) return err->code;
    db_run_status(d, run_id, status, sizeof status);
    int ok = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;
    if (ok && !strcmp(status, "done")) res->ran++;
    else if (!strcmp(status, "stopped") || interrupted) res->stopped++;
    else {
        res->failed++;
        core_warn("sweep: %s failed (exit %d, status '%s'); see %s", cfg.run.name,
                  WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus), status, log);
        return 0;
    }
    core_info("sweep: %s %s in %.1f s", cfg.run.name, status, core_now() - t0);
    return 0;
}

int sweep_run(const sweep_plan *p, int resume, const char *exe, sweep_result *res, core_error *err) {
    memset(res, 0, sizeof *res);
    world w;
    world_init(&w);
    res->rank = w.rank;
    db *d = NULL;
    int rc = sweep_check(p, 1, err);
    if (!rc) rc = db_open(&d, p->base.db.path, p->base.db.busy_timeout_ms, err);
    if (w.rank == 0 && !rc) rc = open_sweep(d, p, resume, &res->sweep_id, err);
    int rc0 = rc;
    world_share(&w, &rc0, &res->sweep_id);
    if (!rc && rc0) rc = core_fail(err, rc0, "rank 0 could not open the sweep (its message says why)");
    struct sigaction sa = {.sa_handler = forward_sigint}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term); /* mpirun passes a Ctrl-C on as SIGTERM */
    interrupted = 0;
    /* seed-major: a sweep stopped halfway has every arm at the same seeds */
    int n_arms = sweep_n_arms(p);
    for (int k = 0; k < p->n_seeds && !rc && !res->stopped && !interrupted; k++)
        for (int arm = 0; arm < n_arms && !rc && !res->stopped && !interrupted; arm++)
            if ((k * n_arms + arm) % w.size == w.rank) rc = run_one(d, p, res->sweep_id, arm, k, exe, res, err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (interrupted && !res->stopped) res->stopped = 1;
    int failed_here = rc != 0;
    world_sum(&w, res);
    if (w.mpi) MPI_Allreduce(MPI_IN_PLACE, &failed_here, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (w.rank == 0 && res->sweep_id) {
        core_error ignore;
        const char *status = failed_here || res->failed ? "failed" : res->stopped ? "stopped" : "done";
        db_sweep_set_status(d, res->sweep_id, status, &ignore);
    }
    db_close(d);
    if (w.mpi) MPI_Finalize();
    return rc;
}
