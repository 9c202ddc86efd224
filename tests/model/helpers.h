/*
 * tests/model/helpers.h — small shared helpers for the model tests.
 */
#ifndef GRPO_TESTS_MODEL_HELPERS_H
#define GRPO_TESTS_MODEL_HELPERS_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "core/core.h"
#include "model/model.h"

static inline void fill_normal(float *x, size_t n, float std, uint64_t seed) {
    core_rng r = core_rng_stream(seed, CORE_RNG_TEST, n, 0);
    for (size_t i = 0; i < n; i++) x[i] = (float)(core_rng_normal(&r) * std);
}

/* Buffers from fnew are freed by free_fnew (a suite's .fini), so tests
 * stay leak-free under AddressSanitizer without a free per buffer. */
static void *fnew_list[64];
static int fnew_count;
static inline float *fnew(size_t n) {
    float *p = calloc(n, sizeof(float));
    cr_assert(p && fnew_count < 64);
    fnew_list[fnew_count++] = p;
    return p;
}
static inline void free_fnew(void) {
    while (fnew_count > 0) free(fnew_list[--fnew_count]);
}

/* The tiny config used by most tests: GQA (4 query heads, 2 kv heads), untied head. */
static inline model_config tiny_config(void) {
    return (model_config){.dim = 16, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .ffn_dim = 24,
                          .vocab = 263, .max_seq = 12, .rope_theta = 10000, .norm_eps = 1e-5f,
                          .tie_embeddings = 0};
}

static inline model *tiny_model(model_config mc, int max_batch, uint64_t seed, float std) {
    model *m;
    core_error err = {0};
    cr_assert_eq(model_create(&m, &mc, max_batch, &err), 0, "%s", err.msg);
    model_init(m, seed, std);
    return m;
}

static inline void random_tokens(int *t, int n, int vocab, uint64_t seed) {
    core_rng r = core_rng_stream(seed, CORE_RNG_TEST, 99, n);
    for (int i = 0; i < n; i++) t[i] = (int)core_rng_below(&r, vocab);
}

#endif
