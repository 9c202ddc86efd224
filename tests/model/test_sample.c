/*
 * tests/model/test_sample.c — KV-cache sampling against the full forward:
 * every sampled token's log-prob (T=1, no filtering) equals the forward
 * pass's log-prob of that token at that position; greedy picks the argmax;
 * a group equals each sample alone, bit for bit; many prompts at once equal
 * each prompt alone; stop strings, EOS and length limits end samples.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "helpers.h"
#include "model/ops.h"

enum { MAXNEW = 9 };

typedef struct run { model_sample s[16]; int tok[16][MAXNEW]; float lp[16][MAXNEW]; } run;

static void bind(run *r, int n) {
    memset(r, 0, sizeof *r);
    for (int i = 0; i < n; i++) r->s[i] = (model_sample){0, r->tok[i], r->lp[i], 0};
}

static model_sample_params params(float temp) {
    return (model_sample_params){.temperature = temp, .top_p = 1, .top_k = 0, .max_new_tokens = MAXNEW};
}

static void rngs(core_rng *r, int n, uint64_t seed, int first) {
    for (int i = 0; i < n; i++) r[i] = core_rng_stream(seed, CORE_RNG_SAMPLE, 0, first + i);
}

/* Shapes of the families, a large init so distributions are far from uniform:
 *   LLAMA: head size 32 (the AVX-512 decode path), GQA with 2 query heads per kv head
 *   QWEN2: q/k/v biases, head size 16, GQA, rope_theta 1e6
 *   QWEN3: per-head q/k norm, head_dim 24 though dim / n_heads = 16 (the portable
 *          decode path; q is 96 wide, dim 64), GQA, tied head */
enum { SDIM = 64 };
enum sampler_shape { LLAMA, QWEN2, QWEN3 };
static model *sampler_model(int shape, int max_batch) {
    model_config mc = tiny_config();
    mc.dim = SDIM, mc.n_heads = 2, mc.n_kv_heads = 1, mc.max_seq = 16;
    if (shape == QWEN2) mc.arch = MODEL_ARCH_QWEN2, mc.qkv_bias = 1, mc.n_heads = 4, mc.n_kv_heads = 2, mc.rope_theta = 1e6f;
    if (shape == QWEN3)
        mc.arch = MODEL_ARCH_QWEN3, mc.qk_norm = 1, mc.head_dim = 24, mc.n_heads = 4, mc.n_kv_heads = 2,
        mc.tie_embeddings = 1;
    model *m = tiny_model(mc, max_batch, 11, 0.4f);
    for (int i = 0; shape != LLAMA && i < model_n_tensors(m); i++) { /* biases, norms away from 0, 1 */
        const model_tensor *t = model_tensor_at(m, i);
        if (!t->cols) fill_normal(model_params(m) + t->offset, t->numel, 0.3f, 70 + i);
        if (!t->cols && !strstr(t->name, ".bias"))
            for (size_t j = 0; j < t->numel; j++) model_params(m)[t->offset + j] += 1.0f;
    }
    return m;
}

/* Forward over prompt + completion; compare to the sample's log-probs. */
static void expect_matches_forward(model *m, const int *prompt, int plen, const model_sample *s) {
    int seq[32], T = plen + s->n_tokens;
    memcpy(seq, prompt, sizeof(int) * plen);
    memcpy(seq + plen, s->tokens, sizeof(int) * s->n_tokens);
    float lp[32];
    core_error err;
    cr_assert_eq(model_forward(m, seq, 1, T, lp, NULL, &err), 0, "%s", err.msg);
    for (int i = 0; i < s->n_tokens; i++) {
        float want = lp[plen - 1 + i];
        cr_expect(fabsf(s->logprob[i] - want) < 5e-5f, "token %d: sampled log-prob %g, forward %g",
                  i, s->logprob[i], want);
    }
}

static void cache_decode_equals_full_forward(int shape) {
    model *m = sampler_model(shape, 4);
    int prompt[5] = {TOK_BOS, 'Q', ':', '1', '+'};
    run r;
    bind(&r, 4);
    core_rng rng[4];
    rngs(rng, 4, 7, 0);
    model_sample_params sp = params(1.0f);
    core_error err;
    cr_assert_eq(model_sample_group(m, prompt, 5, 4, &sp, rng, r.s, &err), 0, "%s", err.msg);
    for (int g = 0; g < 4; g++) {
        cr_expect(r.s[g].n_tokens >= 1);
        expect_matches_forward(m, prompt, 5, &r.s[g]);
    }
    model_free(m);
}
Test(sample, cache_decode_equals_full_forward_llama) { cache_decode_equals_full_forward(LLAMA); }
Test(sample, cache_decode_equals_full_forward_qwen2) { cache_decode_equals_full_forward(QWEN2); }
Test(sample, cache_decode_equals_full_forward_qwen3) { cache_decode_equals_full_forward(QWEN3); }

static void temperature_zero_is_argmax(int shape) {
    model *m = sampler_model(shape, 2);
    int prompt[3] = {TOK_BOS, 'a', 'b'};
    run r;
    bind(&r, 2);
    core_rng rng[2];
    rngs(rng, 2, 8, 0);
    model_sample_params sp = params(0.0f);
    core_error err;
    cr_assert_eq(model_sample_group(m, prompt, 3, 2, &sp, rng, r.s, &err), 0, "%s", err.msg);
    /* both samples identical; each token is the forward pass's argmax */
    cr_expect_eq(r.s[0].n_tokens, r.s[1].n_tokens);
    cr_expect(!memcmp(r.tok[0], r.tok[1], sizeof(int) * r.s[0].n_tokens));
    int seq[32], T = 3 + r.s[0].n_tokens;
    memcpy(seq, prompt, sizeof prompt);
    memcpy(seq + 3, r.tok[0], sizeof(int) * r.s[0].n_tokens);
    float lp[32];
    cr_assert_eq(model_forward(m, seq, 1, T, lp, NULL, &err), 0);
    for (int i = 0; i < r.s[0].n_tokens; i++) {
        /* any other token would have a lower log-prob at that position */
        int pos = 2 + i, keep = seq[pos + 1];
        for (int alt = 0; alt < 263; alt += 17) {
            if (alt == keep) continue;
            seq[pos + 1] = alt;
            float lp2[32];
            cr_assert_eq(model_forward(m, seq, 1, pos + 2, lp2, NULL, &err), 0);
            cr_expect(lp2[pos] <= lp[pos] + 1e-6f, "token %d: %d beats greedy %d", i, alt, keep);
        }
        seq[pos + 1] = keep;
        cr_expect(fabsf(r.lp[0][i] - lp[pos]) < 2e-5f);
    }
    model_free(m);
}
Test(sample, temperature_zero_is_argmax_llama) { temperature_zero_is_argmax(LLAMA); }
Test(sample, temperature_zero_is_argmax_qwen2) { temperature_zero_is_argmax(QWEN2); }
Test(sample, temperature_zero_is_argmax_qwen3) { temperature_zero_is_argmax(QWEN3); }

static void group_equals_alone_bitwise(int shape) {
    model *m = sampler_model(shape, 8);
    int prompt[4] = {TOK_BOS, '7', '*', '8'};
    run group, alone;
    bind(&group, 8);
    core_rng rng[8];
    rngs(rng, 8, 9, 0);
    model_sample_params sp = params(1.0f);
    sp.top_p = 0.9f, sp.top_k = 50;
    core_error err;
    cr_assert_eq(model_sample_group(m, prompt, 4, 8, &sp, rng, group.s, &err), 0, "%s", err.msg);
    int differ = 0;
    for (int g = 0; g < 8; g++) {
        bind(&alone, 1);
        core_rng one;
        rngs(&one, 1, 9, g);
        cr_assert_eq(model_sample_group(m, prompt, 4, 1, &sp, &one, alone.s, &err), 0);
        cr_expect_eq(alone.s[0].n_tokens, group.s[g].n_tokens, "sample %d", g);
        cr_expect_eq(alone.s[0].finish, group.s[g].finish);
        cr_expect(!memcmp(alone.tok[0], group.tok[g], sizeof(int) * group.s[g].n_tokens), "sample %d tokens", g);
        cr_expect(!memcmp(alone.lp[0], group.lp[g], sizeof(float) * group.s[g].n_tokens), "sample %d log-probs", g);
        differ += memcmp(group.tok[g], group.tok[0], sizeof(int) * 3) != 0;
    }
    cr_expect(differ > 0, "different streams should give different samples");
    model_free(m);
}
Test(sample, group_equals_alone_bitwise_llama) { group_equals_alone_bitwise(LLAMA); }
Test(sample, group_equals_alone_bitwise_qwen2) { group_equals_alone_bitwise(QWEN2); }
Test(sample, group_equals_alone_bitwise_qwen3) { group_equals_alone_bitwise(QWEN3); }

Test(sample, many_prompts_equal_each_alone) {
    model *m = sampler_model(LLAMA, 6);
    int p0[3] = {TOK_BOS, 'x', 'y'}, p1[6] = {TOK_BOS, '1', '2', '3', '4', '5'};
    const int *prompts[2] = {p0, p1};
    int lens[2] = {3, 6};
    run both, alone;
    bind(&both, 6);
    core_rng rng[6];
    rngs(rng, 6, 10, 0);
    model_sample_params sp = params(1.0f);
    core_error err;
    cr_assert_eq(model_sample_prompts(m, prompts, lens, 2, 3, &sp, rng, both.s, &err), 0, "%s", err.msg);
    for (int p = 0; p < 2; p++) {
        bind(&alone, 3);
        rngs(rng, 3, 10, 3 * p);
        cr_assert_eq(model_sample_group(m, prompts[p], lens[p], 3, &sp, rng, alone.s, &err), 0);
        for (int g = 0; g < 3; g++) {
            model_sample *a = &alone.s[g], *b = &both.s[3 * p + g];
            cr_expect_eq(a->n_tokens, b->n_tokens);
            cr_expect(!memcmp(a->tokens, b->tokens, sizeof(int) * a->n_tokens));
            cr_expect(!memcmp(a->logprob, b->logprob, sizeof(float) * a->n_tokens));
        }
        for (int g = 0; g < 3; g++) expect_matches_forward(m, prompts[p], lens[p], &both.s[3 * p + g]);
    }
    model_free(m);
}

Test(sample, deterministic_for_a_seed) {
    model *m = sampler_model(LLAMA, 3);
    int prompt[2] = {TOK_BOS, 'z'};
    run a, b;
    bind(&a, 3), bind(&b, 3);
    core_rng rng[3];
    model_sample_params sp = params(1.5f);
    core_error err;
    rngs(rng, 3, 12, 0);
    cr_assert_eq(model_sample_group(m, prompt, 2, 3, &sp, rng, a.s, &err), 0);
    rngs(rng, 3, 12, 0);
    cr_assert_eq(model_sample_group(m, prompt, 2, 3, &sp, rng, b.s, &err), 0);
    for (int g = 0; g < 3; g++) {
        cr_expect_eq(a.s[g].n_tokens, b.s[g].n_tokens);
        cr_expect(!memcmp(a.tok[g], b.tok[g], sizeof(int) * a.s[g].n_tokens));
    }
    model_free(m);
}

/* Make the model emit one token with near certainty: a huge bias on the
 * LM-head row of `id` via the final norm direction is awkward, so instead
 * zero every weight and set the untied head so that logits = e_id * 50. */
static model *constant_model(int id) {
    model *m = sampler_model(LLAMA, 2);
    memset(model_params(m), 0, sizeof(float) * model_n_params(m));
    const model_tensor *fn = model_tensor_find(m, "model.norm.weight");
    const model_tensor *head = model_tensor_find(m, "lm_head.weight");
    const model_tensor *emb = model_tensor_find(m, "model.embed_tokens.weight");
    float *p = model_params(m);
    for (int c = 0; c < SDIM; c++) p[fn->offset + c] = 1;
    for (int t = 0; t < 263; t++) p[emb->offset + (size_t)t * SDIM] = 1; /* every token: x = e_0 */
    p[head->offset + (size_t)id * SDIM] = 50;                            /* logit[id] = 50 * rms-normed 1 */
    return m;
}

Test(sample, eos_stops) {
    model *m = constant_model(TOK_EOS);
    int prompt[1] = {TOK_BOS};
    run r;
    bind(&r, 1);
    core_rng rng;
    rngs(&rng, 1, 1, 0);
    model_sample_params sp = params(1.0f);
    core_error err;
    cr_assert_eq(model_sample_group(m, prompt, 1, 1, &sp, &rng, r.s, &err), 0, "%s", err.msg);
    cr_expect_eq(r.s[0].n_tokens, 1);
    cr_expect_eq(r.tok[0][0], TOK_EOS);
    cr_expect_eq(r.s[0].finish, MODEL_FINISH_EOS);
    cr_expect_str_eq(model_finish_name(r.s[0].finish), "eos");
    model_free(m);
}

Test(sample, stop_string_across_tokens_and_length) {
    model *m = constant_model('a');
    int prompt[1] = {TOK_BOS};
    run r;
    bind(&r, 1);
    core_rng rng;
    rngs(&rng, 1, 1, 0);
    model_sample_params sp = params(1.0f);
    sp.stop = "aaa";
    core_error err;
    cr_assert_eq(model_sample_group(m, prompt, 1, 1, &sp, &rng, r.s, &err), 0, "%s", err.msg);
    cr_expect_eq(r.s[0].n_tokens, 3);
    cr_expect_eq(r.s[0].finish, MODEL_FINISH_STOP);
    sp.stop = NULL;
    rngs(&rng, 1, 1, 0);
    cr_assert_eq(model_sample_group(m, prompt, 1, 1, &sp, &rng, r.s, &err), 0);
    cr_expect_eq(r.s[0].n_tokens, MAXNEW);
    cr_expect_eq(r.s[0].finish, MODEL_FINISH_LENGTH);
    /* the context limit clips max_new_tokens: 16 - 12 = 4 */
    int longp[12] = {TOK_BOS, 'b', 'b', 'b', 'b', 'b', 'b', 'b', 'b', 'b', 'b', 'b'};
    cr_assert_eq(model_sample_group(m, longp, 12, 1, &sp, &rng, r.s, &err), 0);
    cr_expect_eq(r.s[0].n_tokens, 4);
    cr_expect_eq(r.s[0].finish, MODEL_FINISH_LENGTH);
    model_free(m);
}

Test(sample, bad_requests_are_refused) {
    model *m = sampler_model(LLAMA, 2);
    int prompt[2] = {TOK_BOS, 'a'};
    run r;
    bind(&r, 3);
    core_rng rng[3];
    rngs(rng, 3, 1, 0);
    model_sample_params sp = params(1.0f);
    core_error err;
    cr_expect_eq(model_sample_group(m, prompt, 2, 3, &sp, rng, r.s, &err), CORE_EINPUT);
    cr_expect(strstr(err.msg, "max_batch"), "%s", err.msg);
    sp.top_p = 0;
    cr_expect_eq(model_sample_group(m, prompt, 2, 1, &sp, rng, r.s, &err), CORE_EINPUT);
    sp = params(1.0f);
    cr_expect_eq(model_sample_group(m, prompt, 0, 1, &sp, rng, r.s, &err), CORE_EINPUT);
    int bad[2] = {TOK_BOS, 400};
    cr_expect_eq(model_sample_group(m, bad, 2, 1, &sp, rng, r.s, &err), CORE_EINPUT);
    model_free(m);
}

Test(sample, top_k_one_is_greedy_with_logprob_zero) {
    model *m = sampler_model(LLAMA, 1);
    int prompt[2] = {TOK_BOS, 'q'};
    run a, b;
    bind(&a, 1), bind(&b, 1);
    core_rng rng;
    model_sample_params sp = params(1.0f);
    sp.top_k = 1;
    core_error err;
    rngs(&rng, 1, 5, 0);
    cr_assert_eq(model_sample_group(m, prompt, 2, 1, &sp, &rng, a.s, &err), 0);
    sp = params(0.0f);
    cr_assert_eq(model_sample_group(m, prompt, 2, 1, &sp, &rng, b.s, &err), 0);
    cr_expect(!memcmp(a.tok[0], b.tok[0], sizeof(int) * a.s[0].n_tokens));
    for (int i = 0; i < a.s[0].n_tokens; i++) cr_expect_float_eq(a.lp[0][i], 0.0f, 1e-7);
    model_free(m);
}

/* The decode matmul against BLAS, for shapes that are not multiples of the
 * kernel's blocks, and row independence bit for bit. */
Test(sample, packed_matmul_matches_and_rows_are_independent) {
    int shapes[][3] = {{1, 16, 32}, {13, 40, 70}, {9, 96, 264}, {17, 7, 5}};
    for (int i = 0; i < 4; i++) {
        int M = shapes[i][0], C = shapes[i][1], OC = shapes[i][2];
        float *x = fnew((size_t)M * C), *w = fnew((size_t)OC * C), *wp = fnew(ops_packed_size(OC, C));
        float *ref = fnew((size_t)M * OC), *out = fnew((size_t)M * OC), *one = fnew(OC);
        fill_normal(x, (size_t)M * C, 1, 50 + i), fill_normal(w, (size_t)OC * C, 1, 60 + i);
        ops_pack_t(wp, w, OC, C);
        ops_matmul_forward(ref, x, w, M, C, OC, 0.0f);
        ops_matmul_rows_t(out, x, wp, M, C, OC);
        for (int j = 0; j < M * OC; j++)
            cr_expect(fabsf(out[j] - ref[j]) < 1e-4f * (1 + fabsf(ref[j])), "shape %d: %g vs %g", i, out[j], ref[j]);
        for (int r = 0; r < M; r++) {
            ops_matmul_rows_t(one, x + (size_t)r * C, wp, 1, C, OC);
            cr_expect(!memcmp(one, out + (size_t)r * OC, sizeof(float) * OC), "shape %d row %d differs alone", i, r);
        }
        free_fnew();
    }
}

/* A lone sequence decoded on all threads (spin barriers, weights split by
 * panels) equals the same sequence decoded on one thread, bit for bit. */
static void lone_row_on_all_threads_is_bit_identical(int shape) {
    model *m = sampler_model(shape, 1);
    int prompt[3] = {TOK_BOS, 'k', '='};
    run a, b;
    bind(&a, 1), bind(&b, 1);
    core_rng rng;
    model_sample_params sp = params(1.0f);
    core_error err;
    setenv("GRPO_SHARE_ONE_ROW", "1", 1);
    rngs(&rng, 1, 21, 0);
    cr_assert_eq(model_sample_group(m, prompt, 3, 1, &sp, &rng, a.s, &err), 0, "%s", err.msg);
    setenv("GRPO_SHARE_ONE_ROW", "0", 1);
    rngs(&rng, 1, 21, 0);
    cr_assert_eq(model_sample_group(m, prompt, 3, 1, &sp, &rng, b.s, &err), 0, "%s", err.msg);
    unsetenv("GRPO_SHARE_ONE_ROW");
    cr_expect_eq(a.s[0].n_tokens, b.s[0].n_tokens);
    cr_expect(!memcmp(a.tok[0], b.tok[0], sizeof(int) * a.s[0].n_tokens));
    cr_expect(!memcmp(a.lp[0], b.lp[0], sizeof(float) * a.s[0].n_tokens));
    expect_matches_forward(m, prompt, 3, &a.s[0]);
    model_free(m);
}
Test(sample, lone_row_on_all_threads_is_bit_identical_llama) { lone_row_on_all_threads_is_bit_identical(LLAMA); }
Test(sample, lone_row_on_all_threads_is_bit_identical_qwen2) { lone_row_on_all_threads_is_bit_identical(QWEN2); }
Test(sample, lone_row_on_all_threads_is_bit_identical_qwen3) { lone_row_on_all_threads_is_bit_identical(QWEN3); }
