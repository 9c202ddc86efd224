/*
 * tests/fuzz/fuzz_score.c — libFuzzer target for a whole reward_score call:
 * the PCRE2 template match (JIT), partial credit, extraction, equivalence,
 * length components and their composition, on arbitrary bytes.
 *
 * fuzz-sources: reward/math_*.c reward/format.c reward/reward.c reward/code.c sandbox/*.c core/core.c core/config.c
 *
 * Input: response, then (after the first newline) the gold answer.  Checks
 * beyond ASan/UBSan: the total is finite and within the bounds the
 * components allow, and scoring the same input twice gives the same result.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reward/reward.h"

static reward_fn *make(void) {
    core_config cfg;
    core_error err;
    core_config_defaults(&cfg);
    core_config_set(&cfg, "reward.components=format,accuracy_math,length_penalty,overlong", &err);
    core_config_set(&cfg, "reward.length_penalty=0.01", &err);
    core_config_set(&cfg, "reward.format_partial=1", &err);
    reward_fn *r = NULL;
    if (reward_create(&r, &cfg, &err)) abort();
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static reward_fn *r;
    if (!r) r = make(); /* built once; reward_fn is immutable */
    const uint8_t *nl = memchr(data, '\n', size);
    size_t nr = nl ? (size_t)(nl - data) : size;
    char *resp = malloc(nr + 1), *gold = malloc(size - nr + 1);
    memcpy(resp, data, nr);
    resp[nr] = 0;
    size_t ng = nl ? size - nr - 1 : 0;
    memcpy(gold, nl ? nl + 1 : data, ng);
    gold[ng] = 0;
    reward_input in = {resp, nr, gold, (int)(size % 200), 128, (int)(size & 1), NULL, NULL};
    reward_result a, b;
    reward_score(r, &in, &a);
    reward_score(r, &in, &b);
    if (!isfinite(a.total) || a.total < -3.0 || a.total > 2.0) __builtin_trap();
    if (a.total != b.total || a.correct != b.correct || a.format_ok != b.format_ok) __builtin_trap();
    free(resp);
    free(gold);
    return 0;
}
