/*
 * tests/cuda/model_train_bench.c — training throughput of the whole model on
 * the CUDA backend, through model.h (what `grpo train` runs: forward with
 * log-probs, backward, grad norm, AdamW), and its MFU:
 *
 *   model_train_bench MATMUL PEAK_TFLOPS [dim layers heads kv_heads ffn vocab seq batch steps]
 *
 * MATMUL is model.matmul (fp32, tf32, bf16); PEAK_TFLOPS the card's dense
 * peak for it (H100/H200 SXM: 67 fp32, 495 tf32, 989 bf16).  The default
 * shape is ~124M parameters (dim 768, 12 layers, 12 heads, ffn 2048, vocab
 * 50304 tied, seq 1024, batch 8).  FLOPs per token: 6 per matmul weight
 * (forward 2, backward 4) plus causal attention (2 products of T/2 x dim
 * per layer, x3).  Prints `bench:` lines; the fastest of the timed steps
 * after one warm-up step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "model/model.h"

static void die(const char *what, const core_error *e) {
    fprintf(stderr, "model_train_bench: %s: %s\n", what, e->msg);
    exit(1);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: model_train_bench fp32|tf32|bf16 PEAK_TFLOPS [dim layers heads kv ffn vocab seq batch steps]\n");
        return 2;
    }
    const char *matmul = argv[1];
    double peak = atof(argv[2]);
    int v[9] = {768, 12, 12, 12, 2048, 50304, 1024, 8, 5};
    for (int i = 0; i < 9 && 3 + i < argc; i++) v[i] = atoi(argv[3 + i]);
    model_config mc = {.dim = v[0], .n_layers = v[1], .n_heads = v[2], .n_kv_heads = v[3], .ffn_dim = v[4],
                       .vocab = v[5], .max_seq = v[6], .rope_theta = 10000, .norm_eps = 1e-5f,
                       .tie_embeddings = 1};
    int T = v[6], B = v[7], steps = v[8] < 2 ? 2 : v[8];
    core_error err = {0};
    model *m;
    if (model_create(&m, &mc, B, &err)) die("create", &err);
    model_init(m, 1, 0.02f);
    if (model_set_device(m, "cuda", matmul, &err)) die("device", &err);
    int *tok = malloc(sizeof(int) * B * T);
    float *lp = malloc(sizeof(float) * B * T), *dlp = malloc(sizeof(float) * B * T);
    if (!tok || !lp || !dlp) return 1;
    core_rng r = core_rng_stream(2, CORE_RNG_INIT, 0, 0);
    for (int i = 0; i < B * T; i++) tok[i] = (int)(core_rng_uniform(&r) * (mc.vocab - 8)), dlp[i] = -1.0f / (B * T);
    model_adamw hp = {.lr = 1e-4f, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.1f};
    double best = 1e30;
    for (int s = 0; s < steps; s++) {
        double t0 = core_now();
        model_zero_grad(m);
        if (model_forward(m, tok, B, T, lp, NULL, &err)) die("forward", &err); /* waits: log-probs to the host */
        model_backward(m, dlp, NULL);
        float norm = model_grad_norm(m); /* waits */
        if (norm > 1.0f) model_scale_grads(m, 1.0f / norm);
        model_adamw_step(m, &hp, s + 1);
        (void)model_grad_norm(m); /* a wait for the step to finish (sums the grads again: counted) */
        if (model_check_device(m, &err)) die("step", &err);
        double dt = core_now() - t0;
        if (s > 0 && dt < best) best = dt;
    }
    double C = mc.dim, F = mc.ffn_dim, kv = C / mc.n_heads * mc.n_kv_heads;
    double per_layer = 2 * C * C + 2 * kv * C + 3 * F * C;
    double flops_tok = 6 * (mc.n_layers * per_layer + (double)mc.vocab * C) + 3 * mc.n_layers * 2.0 * T * C;
    double tps = B * T / best, tflops = tps * flops_tok / 1e12;
    printf("bench: cuda_model_train_%s_tokens_per_s %.0f tokens/s (%zu parameters, batch %d x %d, step %.1f ms)\n",
           matmul, tps, model_n_params(m), B, T, best * 1e3);
    printf("bench: cuda_model_train_%s_mfu %.1f %% (%.1f TFLOP/s of %.0f)\n", matmul,
           peak > 0 ? 100 * tflops / peak : 0, tflops, peak);
    model_free(m);
    free(tok), free(lp), free(dlp);
    return 0;
}
