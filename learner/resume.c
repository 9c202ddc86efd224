/*
 * resume.c — which settings a resumed run may change.
 *
 * --resume continues a run from its checkpoint; a setting that alters what
 * the run computes (seed, learning rate, group size, model shape, ...) would
 * silently make it a different run under the same id.  Such a change is
 * refused unless --allow-changed, and then recorded (run_events).  The
 * settings below only extend, watch or house the run: they may change.
 */
#include <stdlib.h>
#include <string.h>

#include "learner/internal.h"

/* GRPO: every key alters the run except these (a trailing '.' is a section). */
static const char *const train_free[] = {
    "run.steps", "run.max_minutes", "run.log_level", "db.", "eval.", "pretrain.",
    "learner.checkpoint_every", "learner.keep_last", "learner.keep_best", "learner.max_nonfinite",
    "sandbox.workers", "sandbox.warm_python", "rollout.worker_timeout_s", NULL};

/* Pretraining: only these keys alter the run. */
static const char *const pretrain_bound[] = {
    "run.seed", "model.", "tasks.", "pretrain.steps", "pretrain.batch", "pretrain.lr",
    "pretrain.min_lr_frac", "pretrain.warmup", "pretrain.weight_decay", NULL};

static int listed(const char *const *list, const char *key) {
    for (; *list; list++) {
        size_t n = strlen(*list);
        if ((*list)[n - 1] == '.' ? !strncmp(key, *list, n) : !strcmp(key, *list)) return 1;
    }
    return 0;
}

int learner_key_alters_run(const char *key, int pretrain) {
    return pretrain ? listed(pretrain_bound, key) : !listed(train_free, key);
}

/* Next "section.key = value" of an INI text written by core_config_to_ini;
 * *p advances.  Returns 0 at the end. */
static int next_entry(const char **p, char *section, size_t scap, char *key, size_t kcap, char *value,
                      size_t vcap) {
    while (**p) {
        const char *line = *p, *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        *p = end ? end + 1 : line + len;
        if (len > 2 && line[0] == '[') {
            snprintf(section, scap, "%.*s", (int)(len - 2), line + 1);
            continue;
        }
        const char *eq = memchr(line, '=', len);
        if (!eq || eq == line) continue;
        size_t klen = (size_t)(eq - line);
        while (klen && line[klen - 1] == ' ') klen--;
        const char *v = eq + 1;
        while (v < line + len && *v == ' ') v++;
        snprintf(key, kcap, "%s.%.*s", section, (int)klen, line);
        snprintf(value, vcap, "%.*s", (int)(line + len - v), v);
        return 1;
    }
    return 0;
}

/* The value of section.key in ini, or NULL (a key the old binary did not have). */
static int lookup(const char *ini, const char *want, char *value, size_t vcap) {
    char section[64] = "", key[160], v[CORE_STR_MAX + 32];
    const char *p = ini;
    while (next_entry(&p, section, sizeof section, key, sizeof key, v, sizeof v))
        if (!strcmp(key, want)) return snprintf(value, vcap, "%s", v), 1;
    return 0;
}

int learner_config_changes(const char *old_ini, const char *new_ini, int pretrain, char *out,
                           size_t cap) {
    char section[64] = "", key[160], now[CORE_STR_MAX + 32], was[CORE_STR_MAX + 32];
    const char *p = new_ini;
    int n = 0;
    size_t used = 0;
    out[0] = 0;
    while (next_entry(&p, section, sizeof section, key, sizeof key, now, sizeof now)) {
        if (!learner_key_alters_run(key, pretrain) || !lookup(old_ini, key, was, sizeof was) ||
            !strcmp(was, now))
            continue;
        n++;
        if (used < cap)
            used += (size_t)snprintf(out + used, cap - used, "%s%s: %s -> %s", n > 1 ? "; " : "", key,
                                     was, now);
    }
    return n;
}
