/*
 * tests/fuzz/fuzz_math.c — libFuzzer target for the math checker:
 * extraction, normalisation and equivalence on arbitrary bytes.
 *
 * fuzz-sources: reward/math_*.c core/core.c
 *
 * The input is split at its first newline into two answers a and b.  Beyond
 * "no crash, no UB, no leak" (ASan/UBSan), it checks properties that must
 * hold for any input:
 *   - extraction never reports more than it wrote or than the input holds;
 *   - an answer that normalises to something non-empty equals itself;
 *   - equality is symmetric;
 *   - normalisation is deterministic.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reward/math_internal.h"
#include "reward/reward.h"

#define RULES "answer_tag,boxed,gsm8k,answer_is,latex_math,whole,last_number"

static char *dup_n(const uint8_t *p, size_t n) {
    char *s = malloc(n + 1);
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nl = memchr(data, '\n', size);
    size_t na = nl ? (size_t)(nl - data) : size;
    char *a = dup_n(data, na), *b = dup_n(nl ? nl + 1 : data, nl ? size - na - 1 : 0);

    char ans[REWARD_ANSWER_MAX + 1];
    const char *rule;
    int n = reward_math_extract((const char *)data, size, RULES, ans, sizeof ans, &rule);
    /* the full length, like snprintf; what was written is min(n, cap-1) bytes (a NUL byte may end it early) */
    if (n >= 0 && strlen(ans) > (size_t)n) __builtin_trap();
    if (n > (int)size) __builtin_trap();

    char n1[2 * REWARD_ANSWER_MAX + 64], n2[2 * REWARD_ANSWER_MAX + 64];
    int l1 = reward_math_normalize(a, strlen(a), n1, sizeof n1);
    int l2 = reward_math_normalize(a, strlen(a), n2, sizeof n2);
    if (l1 != l2 || (l1 > 0 && memcmp(n1, n2, (size_t)l1))) __builtin_trap();
    if (l1 > 0) {
        reward_math_is_value(n1, (size_t)l1);
        math_num v;
        math_eval(n1, (size_t)l1, 0, &v, NULL);
        math_eval(n1, (size_t)l1, MATH_LITERAL_ONLY, &v, NULL);
        if (strlen(a) == (size_t)na && !reward_math_equal(a, a, 1e-6, NULL, 0)) __builtin_trap();
    }
    char why[128];
    int ab = reward_math_equal(a, b, 1e-6, why, sizeof why);
    int ba = reward_math_equal(b, a, 1e-6, why, sizeof why);
    if (ab != ba) __builtin_trap();
    free(a);
    free(b);
    return 0;
}
