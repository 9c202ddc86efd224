/*
 * reward/format.c — does the response follow the template?
 *
 * The R1-Zero template (<think> … </think> <answer> … </answer>) is a PCRE2
 * pattern from reward.format_pattern, compiled once per reward_fn with
 * DOTALL (reasoning spans lines) and, when reward.format_strict is set,
 * anchored at both ends so the whole response must match.  JIT-compiled when
 * the platform allows; the interpreter otherwise.
 *
 * Patterns run in byte mode (no PCRE2_UTF), so invalid UTF-8 in a response is
 * just bytes, never an error.  A match context caps the work of one match
 * (match and depth limits): a pathological pattern or a megabyte response
 * ends as "no match", not a hang.  Each call allocates its own match data, so
 * one reward_fn serves many threads.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <math.h>
#include <string.h>

#include "reward/reward_internal.h"

#define FORMAT_MATCH_LIMIT 2000000u
#define FORMAT_DEPTH_LIMIT 10000u

int reward_format_compile(reward_fn *r, core_error *err) {
    const char *pattern = r->cfg.reward.format_pattern;
    uint32_t options = PCRE2_DOTALL;
    if (r->cfg.reward.format_strict) options |= PCRE2_ANCHORED | PCRE2_ENDANCHORED;
    int code;
    PCRE2_SIZE offset;
    r->format_re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, options, &code, &offset, NULL);
    if (!r->format_re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        return core_fail(err, CORE_EINPUT, "reward.format_pattern: %s at offset %zu in \"%.200s\"",
                         (const char *)msg, (size_t)offset, pattern);
    }
    pcre2_jit_compile(r->format_re, PCRE2_JIT_COMPLETE); /* failure: the interpreter is used */
    r->format_mctx = pcre2_match_context_create(NULL);
    if (!r->format_mctx) return core_fail(err, CORE_ERUNTIME, "reward: out of memory (match context)");
    pcre2_set_match_limit(r->format_mctx, FORMAT_MATCH_LIMIT);
    pcre2_set_depth_limit(r->format_mctx, FORMAT_DEPTH_LIMIT);
    return 0;
}

void reward_format_free(reward_fn *r) {
    pcre2_match_context_free(r->format_mctx);
    pcre2_code_free(r->format_re);
    r->format_mctx = NULL;
    r->format_re = NULL;
}

int reward_format_ok(const reward_fn *r, const char *response, size_t len) {
    if (!r || !r->format_re || !response) return 0;
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (!md) return 0;
    int rc = pcre2_match(r->format_re, (PCRE2_SPTR)response, len, 0, 0, md, r->format_mctx);
    pcre2_match_data_free(md);
    return rc >= 0; /* no match, a limit hit, or any error: not ok */
}

/* How many of the four template tags appear in order. */
int reward_format_tags_in_order(const char *s, size_t len) {
    static const char *const tags[] = {"<think>", "</think>", "<answer>", "</answer>"};
    size_t pos = 0;
    int found = 0;
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(tags[i]);
        const char *hit = pos < len ? memmem(s + pos, len - pos, tags[i], n) : NULL;
        if (!hit) continue;
        found++;
        pos = (size_t)(hit - s) + n;
    }
    return found;
}

double reward_format_score(const reward_fn *r, const char *response, size_t len) {
    if (reward_format_ok(r, response, len)) return 1.0;
    if (!r || !r->cfg.reward.format_partial || !response) return 0.0;
    return fmin(0.75, 0.25 * reward_format_tags_in_order(response, len)); /* only a match earns 1 */
}
