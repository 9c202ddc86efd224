/*
 * reward/ internals shared by reward.c and format.c (not part of the API).
 */
#ifndef GRPO_REWARD_INTERNAL_H
#define GRPO_REWARD_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "reward/reward.h"

struct reward_fn {
    core_config cfg;                 /* a copy: components read their keys here */
    pcre2_code *format_re;           /* compiled once; JIT when available */
    pcre2_match_context *format_mctx; /* match and depth limits, shared read-only */
    int n;                           /* components in use */
    const reward_component *comp[REWARD_MAX_PARTS];
    void *state[REWARD_MAX_PARTS];
    double weight[REWARD_MAX_PARTS];
    int gated;                       /* combine = gated */
    int math_flags;                  /* MATH_LITERAL_ONLY */
};

/* format.c: compile cfg.reward.format_pattern; CORE_EINPUT naming the key,
 * PCRE2's message and the offset when it does not compile. */
int reward_format_compile(reward_fn *r, core_error *err);
void reward_format_free(reward_fn *r);
/* How many of <think> </think> <answer> </answer> appear in that order (0-4). */
int reward_format_tags_in_order(const char *s, size_t len);

#endif
