/*
 * tests/model/helpers.h — small shared helpers for the model tests.
 */
#ifndef GRPO_TESTS_MODEL_HELPERS_H
#define GRPO_TESTS_MODEL_HELPERS_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
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

/* A fresh folder under /tmp for one test (dir holds its path), and its removal. */
static inline void make_temp_dir(char *dir, size_t cap) {
    snprintf(dir, cap, "/tmp/grpo-test-XXXXXX");
    cr_assert(mkdtemp(dir));
}
static inline void remove_temp_dir(const char *dir) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_expect_eq(system(cmd), 0);
}

/* AdamW steps from..to on one fixed batch of two 8-token rows (tokens drawn
 * from seed), so the optimizer state is non-trivial. */
static inline void train_steps(model *m, int from, int to, uint64_t seed) {
    int tok[2 * 8];
    float lp[16], dl[16];
    core_error err;
    random_tokens(tok, 16, 263, seed);
    for (int i = 0; i < 16; i++) dl[i] = -1.0f / 16;
    model_adamw hp = {.lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.99f, .eps = 1e-8f, .weight_decay = 0.1f};
    for (int t = from; t <= to; t++) {
        cr_assert_eq(model_forward(m, tok, 2, 8, lp, NULL, &err), 0);
        model_zero_grad(m);
        model_backward(m, dl, NULL);
        model_adamw_step(m, &hp, t);
    }
}

#endif
