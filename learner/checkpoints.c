/*
 * checkpoints.c — a run's checkpoint folder: paths, completeness, loading
 * with fallback, retention, and the run lock (see checkpoints.h).
 *
 * The lock is flock(2) on <run dir>/lock: advisory, released by the kernel
 * when the process dies however it dies, so a SIGKILLed run never leaves a
 * stale lock behind; the file keeps the holder's pid for the message.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "learner/checkpoints.h"

#define CKPT_EXT ".safetensors"
#define CKPT_OPTIM_EXT ".optim.safetensors"

void ckpt_run_dir(const core_config *cfg, int64_t run_id, char *out, size_t cap) {
    if (run_id > 0) snprintf(out, cap, "%s/%s/run-%lld", cfg->run.out_dir, cfg->run.name, (long long)run_id);
    else snprintf(out, cap, "%s/%s/run-nodb", cfg->run.out_dir, cfg->run.name);
}

void ckpt_path(const char *dir, const char *stem, int64_t step, char *out, size_t cap) {
    snprintf(out, cap, "%s/%s-step%06lld" CKPT_EXT, dir, stem, (long long)step);
}

void ckpt_step_path(const core_config *cfg, const char *dir, const char *stem, int64_t step, char *out,
                    size_t cap) {
    if (cfg->model.path[0]) snprintf(out, cap, "%s/%s-step%06lld", dir, stem, (long long)step);
    else ckpt_path(dir, stem, step, out, cap);
}

/* path minus ".safetensors" plus ".optim.safetensors" (as model_save names it) */
static void optim_path(const char *path, char *out, size_t cap) {
    size_t n = strlen(path), ext = strlen(CKPT_EXT);
    if (n > ext && !strcmp(path + n - ext, CKPT_EXT)) n -= ext;
    snprintf(out, cap, "%.*s" CKPT_OPTIM_EXT, (int)n, path);
}

int ckpt_make_dir(const char *dir, core_error *err) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1;; p++) {
        if (*p && *p != '/') continue;
        char c = *p;
        *p = 0;
        if (mkdir(buf, 0755) && errno != EEXIST)
            return core_fail(err, CORE_ERUNTIME, "mkdir %s: %s", buf, strerror(errno));
        if (!c) return 0;
        *p = c;
    }
}

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static int is_directory(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int ckpt_is_complete(const char *path) {
    char a[1200], b[1200];
    if (is_directory(path)) {
        snprintf(a, sizeof a, "%s/optimizer.safetensors", path);
        snprintf(b, sizeof b, "%s/model.safetensors", path);
    } else {
        snprintf(a, sizeof a, "%s", path);
        optim_path(path, b, sizeof b);
    }
    return file_exists(a) && file_exists(b);
}

static int save_hf(const core_config *cfg, const model *m, const char *path, char sha[65], core_error *err) {
    int dtype = !strcmp(cfg->model.save_dtype, "bfloat16") ? MODEL_DTYPE_BF16 : MODEL_DTYPE_F32;
    char weights[1200];
    snprintf(weights, sizeof weights, "%s/model.safetensors", path);
    if (model_save_hf(m, path, cfg->model.path, dtype, 1, err) || model_file_sha256(weights, sha, err))
        return err->code;
    return 0;
}

int ckpt_save(const core_config *cfg, const model *m, const char *path, char sha[65], core_error *err) {
    if (cfg->model.path[0]) return save_hf(cfg, m, path, sha, err);
    if (model_save(m, path, 1, err) || model_file_sha256(path, sha, err)) return err->code;
    return 0;
}

void ckpt_remove(const char *path) {
    if (is_directory(path)) {
        model_remove_hf(path);
        return;
    }
    char opt[1200];
    optim_path(path, opt, sizeof opt);
    remove(opt); /* the optimizer first: a half-removed checkpoint is then incomplete, not mismatched */
    remove(path);
}

static int by_step(const void *a, const void *b) {
    int64_t x = ((const ckpt_entry *)a)->step, y = ((const ckpt_entry *)b)->step;
    return (x > y) - (x < y);
}

int ckpt_scan(const char *dir, const char *stem, ckpt_entry **out, int *n, core_error *err) {
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    char pattern[160];
    snprintf(pattern, sizeof pattern, "%s-step%%lld%%n", stem);
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        long long s;
        int used = 0;
        if (sscanf(e->d_name, pattern, &s, &used) != 1 || strcmp(e->d_name + used, CKPT_EXT)) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            ckpt_entry *grown = realloc(*out, sizeof **out * (size_t)cap);
            if (!grown) {
                closedir(d);
                return core_fail(err, CORE_ERUNTIME, "out of memory listing %s", dir);
            }
            *out = grown;
        }
        ckpt_entry *c = &(*out)[*n];
        c->step = s;
        c->score = NAN;
        ckpt_path(dir, stem, s, c->path, sizeof c->path);
        if (ckpt_is_complete(c->path)) (*n)++;
    }
    closedir(d);
    if (*n) qsort(*out, (size_t)*n, sizeof **out, by_step);
    return 0;
}

int ckpt_load_newest(model *m, const ckpt_entry *c, int n, int *loaded, char *why, size_t why_cap,
                     core_error *err) {
    *loaded = -1;
    if (why_cap) why[0] = 0;
    char first_failure[1024] = "";
    for (int i = n - 1; i >= 0; i--) {
        core_error e = {0};
        if (!ckpt_is_complete(c[i].path))
            core_fail(&e, CORE_EINPUT, "%s: the weights or the optimizer state is missing", c[i].path);
        else model_load_into(m, c[i].path, &e);
        if (!e.code) {
            *loaded = i;
            return 0;
        }
        /* model_load_into may have overwritten part of m: the next one loads every tensor again */
        core_warn("checkpoint of step %lld does not load (%s); falling back to the one before",
                  (long long)c[i].step, e.msg);
        if (!first_failure[0]) snprintf(first_failure, sizeof first_failure, "%s", e.msg);
        if (why_cap) {
            size_t used = strlen(why);
            snprintf(why + used, why_cap - used, "%sstep %lld skipped: %s", used ? "; " : "",
                     (long long)c[i].step, e.msg);
        }
    }
    if (!n) return 0;
    return core_fail(err, CORE_EINPUT, "none of the %d checkpoints loads (the newest: %s)", n,
                     first_failure);
}

int ckpt_choose_prune(const ckpt_entry *c, int n, int keep_last, int keep_best, int *prune) {
    if (keep_last < 1) keep_last = 1;
    int best = -1;
    for (int i = 0; i < n; i++)
        if (keep_best && !isnan(c[i].score) && (best < 0 || c[i].score >= c[best].score)) best = i;
    int count = 0;
    for (int i = 0; i < n; i++) {
        prune[i] = i < n - keep_last && i != best;
        count += prune[i];
    }
    return count;
}

int ckpt_lock(const char *dir, const char *what, int *fd, core_error *err) {
    char path[1100];
    snprintf(path, sizeof path, "%s/lock", dir);
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0) return core_fail(err, CORE_ERUNTIME, "%s: cannot open: %s", path, strerror(errno));
    if (flock(f, LOCK_EX | LOCK_NB)) {
        char holder[32] = "";
        ssize_t got = pread(f, holder, sizeof holder - 1, 0);
        holder[got > 0 ? got : 0] = 0;
        holder[strcspn(holder, "\n")] = 0;
        close(f);
        return core_fail(err, CORE_EINPUT,
                         "%s is being trained by another process (pid %s holds %s); wait for it "
                         "to end or stop it first",
                         what, holder[0] ? holder : "?", path);
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(f, 0) || pwrite(f, pid, (size_t)len, 0) != len) { /* the pid is only for the message */ }
    *fd = f;
    return 0;
}

void ckpt_unlock(int fd) {
    if (fd >= 0) close(fd);
}
