/*
 * tests/cuda/model_parity.c — the whole model on the CUDA backend against
 * the CPU backend, through the public model.h only:
 *
 *   model_parity [TOL [MATMUL]]
 *
 * For three shapes (Llama with grouped-query heads, Qwen2's q/k/v biases,
 * Qwen3's per-head q/k norms with a head size apart from dim/heads): two
 * models with the same weights, one moved with model_set_device("cuda");
 * then the per-token log-probs and entropies of a batch, the gradients of a
 * loss on both, the weights after one AdamW step, and temperature-0
 * sampling (tokens equal, log-probs close).  Differences are relative to
 * each array's scale: max |a - b| <= TOL * max(1, max |b|) (default 1e-5).
 * The AdamW step starts both models from the CPU's gradients (its first
 * step divides each gradient by its own magnitude, so it would magnify the
 * rounding of gradients that cancel to ~0).  MATMUL (model.matmul: fp32,
 * tf32, bf16) sets how the device multiplies; past fp32 the gradients
 * are compared by direction (1 - cosine) and the sampling checks are left
 * out (the prefill's rounding may flip a greedy token).  Linked with the CPU
 * stand-in (build/cuda-emu/model_parity, make test) or with the real CUDA
 * build (tests/cuda/run_on_gpu.sh).  Prints one line per check; exit 1 if
 * any fails.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "model/model.h"

static double g_tol = 1e-5;
static const char *g_matmul = "fp32";
static int g_failed;

/* max |a - b| over max(1, max |b|): relative to the array's scale (a
 * gradient element that cancels to ~0 carries its terms' rounding) */
static double rel_diff(const float *a, const float *b, size_t n) {
    double worst = 0, scale = 1;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= worst)) worst = d; /* NaN wins */
        if (fabs((double)b[i]) > scale) scale = fabs((double)b[i]);
    }
    return worst / scale;
}

/* 1 - cos(a, b): the direction of a whole gradient, for the rounded modes
 * (an element's bf16 error is relative to its products, not to the sum) */
static double one_minus_cos(const float *a, const float *b, size_t n) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; i++) ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
    return aa > 0 && bb > 0 ? 1 - ab / sqrt(aa * bb) : 1;
}

static void report(const char *shape, const char *what, double d) {
    int ok = d <= g_tol;
    printf("%s %-7s %-28s max rel diff %.3g (tol %.0e)\n", ok ? "PASS" : "FAIL", shape, what, d, g_tol);
    if (!ok) g_failed = 1;
}

static void die(const char *what, const core_error *e) {
    fprintf(stderr, "model_parity: %s: %s\n", what, e->msg);
    exit(2);
}

enum { B = 3, T = 24, NEW = 12 };

static void check_shape(const char *name, model_config mc) {
    core_error err = {0};
    model *cpu, *gpu;
    if (model_create(&cpu, &mc, B, &err) || model_create(&gpu, &mc, B, &err)) die("create", &err);
    model_init(cpu, 7, 0.3f);
    model_init(gpu, 7, 0.3f);
    if (model_set_device(gpu, "cuda", g_matmul, &err)) die("model_set_device", &err);
    size_t n = model_n_params(cpu);
    int tokens[B * T];
    core_rng r = core_rng_stream(11, CORE_RNG_INIT, 99, 0);
    for (int i = 0; i < B * T; i++) tokens[i] = (int)(core_rng_uniform(&r) * mc.vocab) % mc.vocab;

    /* forward: log-probs and entropies */
    float lp[2][B * T], ent[2][B * T], dlp[B * T], dent[B * T];
    if (model_forward(cpu, tokens, B, T, lp[0], ent[0], &err) ||
        model_forward(gpu, tokens, B, T, lp[1], ent[1], &err))
        die("forward", &err);
    report(name, "log-probs", rel_diff(lp[1], lp[0], B * T));
    report(name, "entropies", rel_diff(ent[1], ent[0], B * T));
    report(name, "logits (model_last_logits)",
           rel_diff(model_last_logits(gpu), model_last_logits(cpu), (size_t)B * T * mc.vocab));

    /* backward: a loss mixing log-probs and an entropy bonus */
    for (int i = 0; i < B * T; i++) dlp[i] = (float)(core_rng_uniform(&r) - 0.5), dent[i] = 0.01f;
    model_zero_grad(cpu), model_zero_grad(gpu);
    model_backward(cpu, dlp, dent);
    model_backward(gpu, dlp, dent);
    float *g0 = malloc(n * sizeof *g0);
    if (!g0) exit(2);
    memcpy(g0, model_grads(cpu), n * sizeof *g0);
    if (!strcmp(g_matmul, "fp32")) report(name, "gradients", rel_diff(model_grads(gpu), g0, n));
    else report(name, "gradients (1 - cosine)", one_minus_cos(model_grads(gpu), g0, n));
    memcpy(g0, model_grads(cpu), n * sizeof *g0);
    report(name, "grad norm", fabs(model_grad_norm(gpu) - model_grad_norm(cpu)) / fmax(1, model_grad_norm(cpu)));

    /* one AdamW step, from the same gradients */
    memcpy(model_grads(gpu), g0, n * sizeof *g0);
    model_grads_commit(gpu);
    model_adamw hp = {.lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.1f};
    model_adamw_step(cpu, &hp, 1);
    model_adamw_step(gpu, &hp, 1);
    memcpy(g0, model_params(cpu), n * sizeof *g0);
    report(name, "weights after AdamW", rel_diff(model_params(gpu), g0, n));
    free(g0);

    if (strcmp(g_matmul, "fp32")) {
        printf("skip %-7s greedy sampling (model.matmul = %s)\n", name, g_matmul);
        goto done;
    }
    /* temperature-0 sampling of B prompts x 1, decoded as one batch */
    int out_tok[2][B][NEW];
    float out_lp[2][B][NEW];
    int lens[B], mismatched = 0;
    const int *prompts[B];
    model_sample_params sp = {.temperature = 0, .top_p = 1, .max_new_tokens = NEW};
    for (int p = 0; p < B; p++) prompts[p] = tokens + p * T, lens[p] = 5 + 3 * p;
    for (int d = 0; d < 2; d++) {
        model_sample out[B];
        core_rng rng[B];
        for (int p = 0; p < B; p++) {
            out[p] = (model_sample){0, out_tok[d][p], out_lp[d][p], 0};
            rng[p] = core_rng_stream(3, CORE_RNG_SAMPLE, 0, (uint64_t)p);
            memset(out_tok[d][p], 0, sizeof out_tok[d][p]), memset(out_lp[d][p], 0, sizeof out_lp[d][p]);
        }
        if (model_sample_prompts(d ? gpu : cpu, prompts, lens, B, 1, &sp, rng, out, &err)) die("sample", &err);
    }
    mismatched = memcmp(out_tok[0], out_tok[1], sizeof out_tok[0]) != 0;
    printf("%s %-7s %-28s %s\n", mismatched ? "FAIL" : "PASS", name, "greedy tokens",
           mismatched ? "differ" : "equal");
    if (mismatched) g_failed = 1;
    report(name, "greedy log-probs", rel_diff(&out_lp[1][0][0], &out_lp[0][0][0], B * NEW));
done:
    if (model_check_device(gpu, &err)) die("device", &err);
    model_free(cpu);
    model_free(gpu);
}

int main(int argc, char **argv) {
    if (argc > 1) g_tol = atof(argv[1]);
    if (argc > 2) g_matmul = argv[2];
    model_config llama = {.dim = 64, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .ffn_dim = 96,
                          .vocab = 300, .max_seq = 48, .rope_theta = 10000, .norm_eps = 1e-5f,
                          .tie_embeddings = 0};
    model_config qwen2 = llama, qwen3 = llama;
    qwen2.arch = MODEL_ARCH_QWEN2, qwen2.qkv_bias = 1, qwen2.tie_embeddings = 1;
    qwen3.arch = MODEL_ARCH_QWEN3, qwen3.qk_norm = 1, qwen3.head_dim = 24;
    check_shape("llama", llama);
    check_shape("qwen2", qwen2);
    check_shape("qwen3", qwen3);
    printf("model_parity: %s\n", g_failed ? "FAILED" : "all checks passed");
    return g_failed;
}
