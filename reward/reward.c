/*
 * reward/reward.c — the registry of reward components and their composition.
 *
 * reward.components names the components in use, reward.weights their
 * weights (all 1 when empty), reward.combine how they add up:
 *   sum    total = Σ weight_i · value_i
 *   gated  the same, but accuracy components count only when the format
 *          holds (their value is still reported, so the logs show what the
 *          gate removed)
 * Components:
 *   format          1 when the template matches (partial credit optional)
 *   accuracy_math   1 when the extracted answer equals the gold answer
 *   length_penalty  −reward.length_penalty per token beyond max_new_tokens/2
 *   overlong        DAPO's soft overlong punishment: 0 up to
 *                   max_new_tokens − overlong_buffer, then falling linearly
 *                   to −1 at max_new_tokens (and −1 beyond or when truncated)
 *   accuracy_code   1 when the program in the response passes the tests
 *                   (reward/code.c, in the sandbox; or the fraction passed)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reward/code.h"
#include "reward/math_internal.h"
#include "reward/reward_internal.h"

/* ------------------------------------------------------------ components */

static int score_format(const reward_fn *r, void *state, const reward_input *in, reward_part *part) {
    (void)state;
    part->value = reward_format_score(r, in->response, in->response_len);
    if (part->value >= 1.0) {
        snprintf(part->detail, sizeof part->detail, "template matched");
        return 0;
    }
    int tags = in->response ? reward_format_tags_in_order(in->response, in->response_len) : 0;
    snprintf(part->detail, sizeof part->detail, "no match (%d of 4 tags in order)", tags);
    return 0;
}

static void clip_copy(char *dst, size_t cap, const char *src) {
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

static int score_accuracy_math(const reward_fn *r, void *state, const reward_input *in, reward_part *part) {
    (void)state;
    char answer[REWARD_ANSWER_MAX + 1], gold[REWARD_ANSWER_MAX + 1], why[96];
    const char *rule = "none", *gold_rule = "none";
    part->value = 0;
    if (!in->gold) {
        snprintf(part->detail, sizeof part->detail, "no gold answer");
        return 0;
    }
    int n = reward_math_extract(in->response, in->response_len, r->cfg.reward.math_extract, answer, sizeof answer,
                                &rule);
    if (n < 0) {
        snprintf(part->detail, sizeof part->detail, "no answer found");
        return 0;
    }
    if (n > REWARD_ANSWER_MAX) { /* never compare a truncated answer */
        snprintf(part->detail, sizeof part->detail, "%s: answer longer than %d bytes", rule, REWARD_ANSWER_MAX);
        return 0;
    }
    /* the gold answer goes through the same extraction; a bare gold is taken whole */
    n = reward_math_extract(in->gold, strlen(in->gold), r->cfg.reward.math_extract, gold, sizeof gold, &gold_rule);
    /* a bare gold that only the last-number rule could read ("12:30", "\pm 1")
     * is meant whole */
    size_t gold_len = strlen(in->gold);
    if (n < 0 || (!strcmp(gold_rule, "last_number") && !reward_math_has_words(in->gold, gold_len))) {
        n = (int)gold_len;
        clip_copy(gold, sizeof gold, in->gold);
    }
    if (n > REWARD_ANSWER_MAX) {
        snprintf(part->detail, sizeof part->detail, "gold answer longer than %d bytes", REWARD_ANSWER_MAX);
        return 0;
    }
    int eq = reward_math_equal_ex(answer, gold, r->cfg.reward.math_rel_tol, r->math_flags, why, sizeof why);
    part->value = eq ? 1.0 : 0.0;
    snprintf(part->detail, sizeof part->detail, "%s: %s", rule, why);
    return 0;
}

static int score_length_penalty(const reward_fn *r, void *state, const reward_input *in, reward_part *part) {
    (void)state;
    int free_tokens = in->max_new_tokens / 2;
    int over = in->n_tokens > free_tokens ? in->n_tokens - free_tokens : 0;
    part->value = over ? -r->cfg.reward.length_penalty * over : 0.0;
    snprintf(part->detail, sizeof part->detail, "%d tokens, %d over %d", in->n_tokens, over, free_tokens);
    return 0;
}

static int score_overlong(const reward_fn *r, void *state, const reward_input *in, reward_part *part) {
    (void)state;
    int max = in->max_new_tokens, buffer = r->cfg.reward.overlong_buffer, len = in->n_tokens;
    int soft_start = max - buffer;
    if (in->truncated || len > max) part->value = -1.0;
    else if (len <= soft_start || buffer <= 0) part->value = 0.0;
    else part->value = (double)(soft_start - len) / buffer;
    snprintf(part->detail, sizeof part->detail, "%d tokens, soft zone %d..%d%s", len, soft_start, max,
             in->truncated ? ", truncated" : "");
    return 0;
}

/* The registry: one row per component (format must stay first: reward_score
 * reads format_ok from it). */
static const reward_component registry[] = {
    {"format", 0, NULL, NULL, score_format},
    {"accuracy_math", 1, NULL, NULL, score_accuracy_math},
    {"accuracy_code", 1, reward_code_init, reward_code_free, reward_code_score}, /* reward/code.c */
    {"length_penalty", 0, NULL, NULL, score_length_penalty},
    {"overlong", 0, NULL, NULL, score_overlong},
};
#define N_REGISTRY (int)(sizeof registry / sizeof registry[0])

const reward_component *reward_component_find(const char *name) {
    for (int i = 0; i < N_REGISTRY; i++)
        if (!strcmp(registry[i].name, name)) return &registry[i];
    return NULL;
}

const char *reward_component_names(void) {
    return "format, accuracy_math, accuracy_code, length_penalty, overlong";
}

int reward_components_grade_code(const core_config *cfg) {
    char parts[16][64];
    int n = core_split_list(cfg->reward.components, parts, 16);
    for (int i = 0; i < n; i++)
        if (!strcmp(parts[i], "accuracy_code")) return 1;
    return 0;
}

/* --------------------------------------------------------------- create */

static int parse_components(reward_fn *r, core_error *err) {
    char names[REWARD_MAX_PARTS + 1][64];
    int n = core_split_list(r->cfg.reward.components, names, REWARD_MAX_PARTS + 1);
    if (n == 0) return core_fail(err, CORE_EINPUT, "reward.components: no component given (known: %s)", reward_component_names());
    if (n > REWARD_MAX_PARTS)
        return core_fail(err, CORE_EINPUT, "reward.components: at most %d components", REWARD_MAX_PARTS);
    for (int i = 0; i < n; i++) {
        const reward_component *c = reward_component_find(names[i]);
        if (!c)
            return core_fail(err, CORE_EINPUT, "reward.components: unknown component '%s' (known: %s)", names[i],
                             reward_component_names());
        for (int j = 0; j < i; j++)
            if (r->comp[j] == c) return core_fail(err, CORE_EINPUT, "reward.components: '%s' listed twice", names[i]);
        r->comp[i] = c;
    }
    r->n = n;
    return 0;
}

static int parse_weights(reward_fn *r, core_error *err) {
    char items[REWARD_MAX_PARTS + 1][64];
    for (int i = 0; i < r->n; i++) r->weight[i] = 1.0;
    int n = core_split_list(r->cfg.reward.weights, items, REWARD_MAX_PARTS + 1);
    if (n == 0) return 0;
    if (n != r->n)
        return core_fail(err, CORE_EINPUT, "reward.weights: %d weights for %d components (\"%s\")", n, r->n,
                         r->cfg.reward.components);
    for (int i = 0; i < n; i++) {
        char *end;
        double w = strtod(items[i], &end);
        if (end == items[i] || *end || !isfinite(w))
            return core_fail(err, CORE_EINPUT, "reward.weights: '%s' is not a number", items[i]);
        r->weight[i] = w;
    }
    return 0;
}

int reward_create(reward_fn **out, const core_config *cfg, core_error *err) {
    *out = NULL;
    reward_fn *r = calloc(1, sizeof *r);
    if (!r) return core_fail(err, CORE_ERUNTIME, "reward: out of memory");
    r->cfg = *cfg;
    r->gated = !strcmp(cfg->reward.combine, "gated");
    r->math_flags = cfg->reward.math_literal_only ? MATH_LITERAL_ONLY : 0;
    int rc = parse_components(r, err);
    if (!rc) rc = parse_weights(r, err);
    if (!rc) rc = reward_math_check_rules(cfg->reward.math_extract, err);
    if (!rc) rc = reward_format_compile(r, err);
    for (int i = 0; !rc && i < r->n; i++)
        if (r->comp[i]->init) {
            rc = r->comp[i]->init(&r->state[i], &r->cfg, err);
            if (rc) core_fail_wrap(err, "reward component %s", r->comp[i]->name);
        }
    if (rc) {
        reward_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void reward_free(reward_fn *r) {
    if (!r) return;
    for (int i = 0; i < r->n; i++)
        if (r->comp[i]->free && r->state[i]) r->comp[i]->free(r->state[i]);
    reward_format_free(r);
    free(r);
}

const core_config *reward_config(const reward_fn *r) { return &r->cfg; }

/* ---------------------------------------------------------------- score */

int reward_score(const reward_fn *r, const reward_input *in, reward_result *out) {
    int rc = 0, have_format = 0;
    memset(out, 0, sizeof *out);
    for (int i = 0; i < r->n; i++) {
        const reward_component *c = r->comp[i];
        reward_part *part = &out->parts[i];
        snprintf(part->name, sizeof part->name, "%s", c->name);
        int crc = c->score(r, r->state[i], in, part);
        if (crc == CORE_EINPUT) rc = CORE_EINPUT;
        else if (crc) {
            if (!out->infra_fail) out->infra_fail = i + 1;
            if (!rc) rc = CORE_ERUNTIME;
        }
        out->n_parts = i + 1;
        if (c->is_accuracy && part->value >= 1.0) out->correct = 1;
        if (c == &registry[0]) { /* the format component already ran the template match */
            have_format = 1;
            out->format_ok = part->value >= 1.0;
        }
    }
    if (!have_format) out->format_ok = reward_format_ok(r, in->response, in->response_len);
    for (int i = 0; i < r->n; i++) {
        if (r->comp[i]->is_accuracy && r->gated && !out->format_ok) continue;
        out->total += r->weight[i] * out->parts[i].value;
    }
    return rc;
}
