/*
 * tests/cuda/bench_train.cu — GPU figures for bench/bench_cuda.sh: one
 * GRPO-style training step (forward, backward, AdamW) of a Llama-shaped
 * model made of the ops in model/ops_cuda.h only, composed exactly as
 * model/model.c composes their CPU twins; and one batched decode step
 * (the sampling path: packed products, decode attention over a KV cache).
 *
 *   bench_train [dim layers heads kv_heads ffn vocab seq batch decode_rows]
 *   default: 768 12 12 12 2048 50304 1024 8 64 (~124M parameters, tied head)
 *
 * Prints `bench: NAME VALUE UNIT` lines.  MFU counts the model FLOPs the
 * usual way (PaLM appendix B): 6 * (matrix parameters, head included) per
 * token plus 12 * layers * dim * seq per token for attention, and divides by
 * the device's peak: H200 SXM fp32 67 TFLOP/s (exact mode), TF32 tensor
 * cores 494.7 TFLOP/s dense (cuda_set_tf32(1)); override with the
 * environment variables CUDA_PEAK_FP32 and CUDA_PEAK_TF32 (TFLOP/s).
 * The weights are random: the figures are about time, not about learning.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/ops_cuda.h"

typedef struct {
    float *attn_norm, *wq, *wk, *wv, *wo, *ffn_norm, *w_gate, *w_up, *w_down;
} layer_w;
typedef struct {
    float *norm1, *rstd1, *q, *k, *v, *att, *attn_out, *x_mid, *norm2, *rstd2, *gate, *up, *h;
} layer_a;

static int C, L, NH, NKV, F, V, T, B, HS, QD, KVD, N;
static size_t n_params;
static float *params, *grads, *adam_m, *adam_v;
static layer_w *P, *G;
static float *embed, *final_norm, *g_embed, *g_final_norm;
static layer_a *A;
static float *resid, *norm_f, *rstdf, *logits, *lse, *logprob, *entropy, *dlogprob, *dentropy;
static float *dx, *dnorm, *dq, *dk, *dv, *dattn, *d_gate, *d_up, *d_h, *dlogits, *att_scratch;
static float *rope_cos, *rope_sin;
static int *tokens, *targets;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float *dalloc(size_t n) {
    float *p = (float *)cuda_alloc(sizeof(float) * n);
    if (!p) {
        char msg[512];
        cuda_check(msg, sizeof msg);
        fprintf(stderr, "bench_train: out of device memory (%zu floats): %s\n", n, msg);
        exit(1);
    }
    return p;
}

static size_t count_params(void) {
    size_t per_layer = 2 * (size_t)C + (size_t)QD * C + 2 * (size_t)KVD * C + (size_t)C * QD +
                       3 * (size_t)F * C;
    return (size_t)V * C + L * per_layer + C;
}

/* Views into a flat buffer, in model.c's (Hugging Face) order. */
static void bind(float *base, layer_w *w, float **emb, float **fnorm) {
    size_t o = 0;
    *emb = base + o, o += (size_t)V * C;
    for (int l = 0; l < L; l++) {
        w[l].attn_norm = base + o, o += C;
        w[l].wq = base + o, o += (size_t)QD * C;
        w[l].wk = base + o, o += (size_t)KVD * C;
        w[l].wv = base + o, o += (size_t)KVD * C;
        w[l].wo = base + o, o += (size_t)C * QD;
        w[l].ffn_norm = base + o, o += C;
        w[l].w_gate = base + o, o += (size_t)F * C;
        w[l].w_up = base + o, o += (size_t)F * C;
        w[l].w_down = base + o, o += (size_t)C * F;
    }
    *fnorm = base + o;
}

static void block_forward(int l, const float *x_in, float *x_out) {
    layer_w *w = &P[l];
    layer_a *a = &A[l];
    cuda_ops_rmsnorm_forward(a->norm1, a->rstd1, x_in, w->attn_norm, N, C, 1e-5f);
    cuda_ops_matmul_forward(a->q, a->norm1, w->wq, N, C, QD, 0.0f);
    cuda_ops_matmul_forward(a->k, a->norm1, w->wk, N, C, KVD, 0.0f);
    cuda_ops_matmul_forward(a->v, a->norm1, w->wv, N, C, KVD, 0.0f);
    cuda_ops_rope_forward(a->q, rope_cos, rope_sin, B, T, NH, HS, 0);
    cuda_ops_rope_forward(a->k, rope_cos, rope_sin, B, T, NKV, HS, 0);
    cuda_ops_attention_forward(a->attn_out, a->att, a->q, a->k, a->v, B, T, NH, NKV, HS);
    cuda_copy(a->x_mid, x_in, sizeof(float) * N * C);
    cuda_ops_matmul_forward(a->x_mid, a->attn_out, w->wo, N, QD, C, 1.0f);
    cuda_ops_rmsnorm_forward(a->norm2, a->rstd2, a->x_mid, w->ffn_norm, N, C, 1e-5f);
    cuda_ops_matmul_forward(a->gate, a->norm2, w->w_gate, N, C, F, 0.0f);
    cuda_ops_matmul_forward(a->up, a->norm2, w->w_up, N, C, F, 0.0f);
    cuda_ops_swiglu_forward(a->h, a->gate, a->up, N, F);
    cuda_copy(x_out, a->x_mid, sizeof(float) * N * C);
    cuda_ops_matmul_forward(x_out, a->h, w->w_down, N, F, C, 1.0f);
}

static void forward(void) {
    cuda_ops_embed_forward(resid, tokens, embed, N, C);
    for (int l = 0; l < L; l++)
        block_forward(l, resid + (size_t)l * N * C, resid + (size_t)(l + 1) * N * C);
    float *x_last = resid + (size_t)L * N * C;
    cuda_ops_rmsnorm_forward(norm_f, rstdf, x_last, final_norm, N, C, 1e-5f);
    cuda_ops_matmul_forward(logits, norm_f, embed, N, C, V, 0.0f); /* tied head */
    cuda_ops_logprob_forward(logprob, entropy, lse, logits, targets, N, V);
}

static void block_backward(int l, const float *x_in) {
    layer_w *w = &P[l], *dw = &G[l];
    layer_a *a = &A[l];
    cuda_zero(d_h, sizeof(float) * N * F);
    cuda_ops_matmul_backward(d_h, dw->w_down, dx, a->h, w->w_down, N, F, C);
    cuda_zero(d_gate, sizeof(float) * N * F), cuda_zero(d_up, sizeof(float) * N * F);
    cuda_ops_swiglu_backward(d_gate, d_up, d_h, a->gate, a->up, N, F);
    cuda_zero(dnorm, sizeof(float) * N * C);
    cuda_ops_matmul_backward(dnorm, dw->w_up, d_up, a->norm2, w->w_up, N, C, F);
    cuda_ops_matmul_backward(dnorm, dw->w_gate, d_gate, a->norm2, w->w_gate, N, C, F);
    cuda_ops_rmsnorm_backward(dx, dw->ffn_norm, dnorm, a->x_mid, w->ffn_norm, a->rstd2, N, C);
    cuda_zero(dattn, sizeof(float) * N * QD);
    cuda_ops_matmul_backward(dattn, dw->wo, dx, a->attn_out, w->wo, N, QD, C);
    cuda_zero(dq, sizeof(float) * N * QD), cuda_zero(dk, sizeof(float) * N * KVD);
    cuda_zero(dv, sizeof(float) * N * KVD);
    cuda_ops_attention_backward(dq, dk, dv, dattn, a->q, a->k, a->v, a->att, att_scratch, B, T, NH,
                                NKV, HS);
    cuda_ops_rope_backward(dq, rope_cos, rope_sin, B, T, NH, HS, 0);
    cuda_ops_rope_backward(dk, rope_cos, rope_sin, B, T, NKV, HS, 0);
    cuda_zero(dnorm, sizeof(float) * N * C);
    cuda_ops_matmul_backward(dnorm, dw->wv, dv, a->norm1, w->wv, N, C, KVD);
    cuda_ops_matmul_backward(dnorm, dw->wk, dk, a->norm1, w->wk, N, C, KVD);
    cuda_ops_matmul_backward(dnorm, dw->wq, dq, a->norm1, w->wq, N, C, QD);
    cuda_ops_rmsnorm_backward(dx, dw->attn_norm, dnorm, x_in, w->attn_norm, a->rstd1, N, C);
}

static void backward(void) {
    cuda_ops_logprob_backward(dlogits, dlogprob, dentropy, logits, lse, targets, N, V);
    cuda_zero(dnorm, sizeof(float) * N * C);
    cuda_ops_matmul_backward(dnorm, g_embed, dlogits, norm_f, embed, N, C, V);
    cuda_zero(dx, sizeof(float) * N * C);
    float *x_last = resid + (size_t)L * N * C;
    cuda_ops_rmsnorm_backward(dx, g_final_norm, dnorm, x_last, final_norm, rstdf, N, C);
    for (int l = L - 1; l >= 0; l--) block_backward(l, resid + (size_t)l * N * C);
    cuda_ops_embed_backward(g_embed, dx, tokens, N, C);
}

static double g_last_norm;
static void optimizer(int t) {
    double ss = cuda_ops_sumsq(grads, n_params); /* grad-norm clipping, as the learner does */
    float norm = (float)sqrt(ss);
    g_last_norm = norm;
    if (norm > 1.0f) cuda_ops_scale(grads, n_params, 1.0f / norm);
    cuda_ops_adamw(params, grads, adam_m, adam_v, n_params, 1e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
}

/* Sanity of a step: at random init the mean log-prob is near -ln V; the
 * gradient norm is finite and not zero.  Exits if not. */
static void check_sane(const char *where) {
    float *lp = (float *)malloc(sizeof(float) * N);
    cuda_to_host(lp, logprob, sizeof(float) * N);
    double sum = 0;
    int n = 0;
    for (int i = 0; i < N; i++)
        if (i % T != T - 1) sum += lp[i], n++;
    free(lp);
    double mean = n ? sum / n : 0;
    printf("bench_train: %s: mean log-prob %.3f (-ln V = %.3f), grad norm %.4g\n", where, mean,
           -log((double)V), g_last_norm);
    if (!isfinite(mean) || !isfinite(g_last_norm) || g_last_norm <= 0 || mean > 0 ||
        fabs(mean + log((double)V)) > 2.0) {
        fprintf(stderr, "bench_train: %s: implausible step (see the line above)\n", where);
        exit(1);
    }
}

static void check_or_die(const char *where) {
    char msg[512];
    cuda_synchronize();
    if (cuda_check(msg, sizeof msg)) {
        fprintf(stderr, "bench_train: %s: %s\n", where, msg);
        exit(1);
    }
}

/* Seconds per training step (mean of steps after one warm-up), and of its parts. */
static double time_train(int steps, double *t_fwd, double *t_bwd, double *t_opt) {
    int t = 1;
    cuda_zero(grads, sizeof(float) * n_params);
    forward(), backward(), optimizer(t++);
    check_or_die("warm-up step");
    check_sane("warm-up step");
    double f = 0, b = 0, o = 0;
    for (int s = 0; s < steps; s++) {
        double t0 = now();
        cuda_zero(grads, sizeof(float) * n_params);
        forward();
        cuda_synchronize();
        double t1 = now();
        backward();
        cuda_synchronize();
        double t2 = now();
        optimizer(t++);
        cuda_synchronize();
        double t3 = now();
        f += t1 - t0, b += t2 - t1, o += t3 - t2;
    }
    check_or_die("timed steps");
    *t_fwd = f / steps, *t_bwd = b / steps, *t_opt = o / steps;
    return (f + b + o) / steps;
}

static void fill_host_rand(float *h, size_t n, float scale, uint64_t seed) {
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        h[i] = scale * (float)((s >> 40) * (1.0 / (1ull << 23)) - 1.0);
    }
}

/* One batched decode step of M rows at context ctx, on packed weights. */
static double time_decode(int M, int ctx, int steps) {
    size_t kvl = (size_t)M * T * KVD; /* per layer: M slots x max_seq (= T) */
    float *kc = dalloc(kvl * L), *vc = dalloc(kvl * L);
    cuda_zero(kc, sizeof(float) * kvl * L), cuda_zero(vc, sizeof(float) * kvl * L);
    /* packed copies of every matrix (ops_pack_t layout) */
    size_t np = 0;
    np += cuda_ops_packed_size(V, C);
    for (int l = 0; l < L; l++)
        np += cuda_ops_packed_size(QD, C) + 2 * cuda_ops_packed_size(KVD, C) +
              cuda_ops_packed_size(C, QD) + 2 * cuda_ops_packed_size(F, C) + cuda_ops_packed_size(C, F);
    float *wt = dalloc(np), *p = wt;
    layer_w *K = (layer_w *)calloc(L, sizeof(layer_w));
    float *head = p;
    cuda_ops_pack_t(p, embed, V, C), p += cuda_ops_packed_size(V, C);
#define PACK(field, R, CC) \
    K[l].field = p, cuda_ops_pack_t(p, P[l].field, R, CC), p += cuda_ops_packed_size(R, CC)
    for (int l = 0; l < L; l++) {
        PACK(wq, QD, C); PACK(wk, KVD, C); PACK(wv, KVD, C); PACK(wo, C, QD);
        PACK(w_gate, F, C); PACK(w_up, F, C); PACK(w_down, C, F);
    }
#undef PACK
    float *x = dalloc((size_t)M * C), *xn = dalloc((size_t)M * C), *rs = dalloc(M);
    float *q = dalloc((size_t)M * QD), *k = dalloc((size_t)M * KVD), *v = dalloc((size_t)M * KVD);
    float *ao = dalloc((size_t)M * QD), *tmp = dalloc((size_t)M * C), *g = dalloc((size_t)M * F);
    float *u = dalloc((size_t)M * F), *hh = dalloc((size_t)M * F), *lg = dalloc((size_t)M * V);
    float *scr = dalloc((size_t)M * NH * T);
    int *hpos = (int *)malloc(sizeof(int) * M * 3);
    for (int m = 0; m < M; m++) hpos[m] = ctx - 1, hpos[M + m] = m, hpos[2 * M + m] = ctx;
    int *dpos = (int *)cuda_alloc(sizeof(int) * M * 3);
    cuda_to_device(dpos, hpos, sizeof(int) * M * 3);
    const int *pos = dpos, *slot = dpos + M, *n_ctx = dpos + 2 * M;
    cuda_zero(x, sizeof(float) * M * C);
    double best = 1e30;
    for (int s = 0; s <= steps; s++) {
        cuda_synchronize();
        double t0 = now();
        for (int l = 0; l < L; l++) {
            cuda_ops_rmsnorm_forward(xn, rs, x, P[l].attn_norm, M, C, 1e-5f);
            cuda_ops_matmul_rows_t(q, xn, K[l].wq, M, C, QD);
            cuda_ops_matmul_rows_t(k, xn, K[l].wk, M, C, KVD);
            cuda_ops_matmul_rows_t(v, xn, K[l].wv, M, C, KVD);
            cuda_ops_rope_rows(q, rope_cos, rope_sin, pos, M, NH, HS);
            cuda_ops_rope_rows(k, rope_cos, rope_sin, pos, M, NKV, HS);
            cuda_ops_attention_decode(ao, q, kc + l * kvl, vc + l * kvl, slot, n_ctx, M, T, NH, NKV,
                                      HS, scr);
            cuda_ops_matmul_rows_t(tmp, ao, K[l].wo, M, QD, C);
            cuda_ops_rmsnorm_forward(xn, rs, tmp, P[l].ffn_norm, M, C, 1e-5f);
            cuda_ops_matmul_rows_t(g, xn, K[l].w_gate, M, C, F);
            cuda_ops_matmul_rows_t(u, xn, K[l].w_up, M, C, F);
            cuda_ops_swiglu_forward(hh, g, u, M, F);
            cuda_ops_matmul_rows_t(x, hh, K[l].w_down, M, F, C);
        }
        cuda_ops_rmsnorm_forward(xn, rs, x, final_norm, M, C, 1e-5f);
        cuda_ops_matmul_rows_t(lg, xn, head, M, C, V);
        cuda_synchronize();
        double dt = now() - t0;
        if (s > 0 && dt < best) best = dt; /* step 0 warms up */
    }
    check_or_die("decode steps");
    free(hpos), free(K);
    cuda_free(kc), cuda_free(vc), cuda_free(wt), cuda_free(dpos);
    float *bufs[] = {x, xn, rs, q, k, v, ao, tmp, g, u, hh, lg, scr};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) cuda_free(bufs[i]);
    return best;
}

int main(int argc, char **argv) {
    int d[9] = {768, 12, 12, 12, 2048, 50304, 1024, 8, 64};
    for (int i = 1; i < argc && i <= 9; i++) d[i - 1] = atoi(argv[i]);
    C = d[0], L = d[1], NH = d[2], NKV = d[3], F = d[4], V = d[5], T = d[6], B = d[7];
    int M = d[8];
    HS = C / NH, QD = NH * HS, KVD = NKV * HS, N = B * T;
    char msg[512];
    if (cuda_init(msg, sizeof msg)) {
        fprintf(stderr, "bench_train: %s\n", msg);
        return 1;
    }
    /* parameters, gradients, moments: four flat buffers with one layout */
    P = (layer_w *)calloc(L, sizeof(layer_w)), G = (layer_w *)calloc(L, sizeof(layer_w));
    A = (layer_a *)calloc(L, sizeof(layer_a));
    n_params = count_params();
    params = dalloc(n_params), grads = dalloc(n_params), adam_m = dalloc(n_params), adam_v = dalloc(n_params);
    bind(params, P, &embed, &final_norm);
    bind(grads, G, &g_embed, &g_final_norm);
    float *h = (float *)malloc(sizeof(float) * n_params);
    fill_host_rand(h, n_params, 0.035f, 1); /* ~ std 0.02 */
    cuda_to_device(params, h, sizeof(float) * n_params);
    cuda_zero(adam_m, sizeof(float) * n_params), cuda_zero(adam_v, sizeof(float) * n_params);
    printf("bench_train: %s; dim %d, %d layers, %d/%d heads, ffn %d, vocab %d (tied), seq %d, batch %d: %.1fM parameters\n",
           cuda_describe(), C, L, NH, NKV, F, V, T, B, n_params / 1e6);
    for (int l = 0; l < L; l++) {
        layer_a *a = &A[l];
        a->norm1 = dalloc((size_t)N * C), a->rstd1 = dalloc(N), a->q = dalloc((size_t)N * QD);
        a->k = dalloc((size_t)N * KVD), a->v = dalloc((size_t)N * KVD);
        a->att = dalloc((size_t)B * NH * T * T), a->attn_out = dalloc((size_t)N * QD);
        a->x_mid = dalloc((size_t)N * C), a->norm2 = dalloc((size_t)N * C), a->rstd2 = dalloc(N);
        a->gate = dalloc((size_t)N * F), a->up = dalloc((size_t)N * F), a->h = dalloc((size_t)N * F);
    }
    resid = dalloc((size_t)(L + 1) * N * C), norm_f = dalloc((size_t)N * C), rstdf = dalloc(N);
    logits = dalloc((size_t)N * V), lse = dalloc(N), logprob = dalloc(N), entropy = dalloc(N);
    dlogprob = dalloc(N), dentropy = dalloc(N);
    dx = dalloc((size_t)N * C), dnorm = dalloc((size_t)N * C), dq = dalloc((size_t)N * QD);
    dk = dalloc((size_t)N * KVD), dv = dalloc((size_t)N * KVD), dattn = dalloc((size_t)N * QD);
    d_gate = dalloc((size_t)N * F), d_up = dalloc((size_t)N * F), d_h = dalloc((size_t)N * F);
    dlogits = dalloc((size_t)N * V), att_scratch = dalloc((size_t)B * T * T);
    rope_cos = dalloc((size_t)T * HS / 2), rope_sin = dalloc((size_t)T * HS / 2);
    cuda_ops_rope_tables(rope_cos, rope_sin, T, HS, 10000.0f);
    /* tokens, next-token targets (-1 at the end), GRPO-like per-token weights */
    int *ht = (int *)malloc(sizeof(int) * N * 2);
    for (int i = 0; i < N; i++) ht[i] = (int)((i * 2654435761u) % (unsigned)V);
    for (int i = 0; i < N; i++) ht[N + i] = i % T + 1 < T ? ht[i + 1] : -1;
    tokens = (int *)cuda_alloc(sizeof(int) * N * 2), targets = tokens + N;
    cuda_to_device(tokens, ht, sizeof(int) * N * 2);
    fill_host_rand(h, N, 1.0f / N, 2);
    cuda_to_device(dlogprob, h, sizeof(float) * N);
    fill_host_rand(h, N, 0.01f / N, 3);
    cuda_to_device(dentropy, h, sizeof(float) * N);
    free(h), free(ht);
    check_or_die("setup");

    /* model FLOPs per token (PaLM): 6 x matrix parameters (head included,
     * embedding lookup and norms not) + 12 L dim T for attention */
    double mat = (double)L * (QD * C + 2.0 * KVD * C + C * QD + 3.0 * F * C) + (double)V * C;
    double flops = (6.0 * mat + 12.0 * L * QD * T) * N;
    const char *e32 = getenv("CUDA_PEAK_FP32"), *etf = getenv("CUDA_PEAK_TF32");
    double peak32 = (e32 ? atof(e32) : 67.0) * 1e12, peaktf = (etf ? atof(etf) : 494.7) * 1e12;
    if (!strstr(cuda_describe(), "H200") && !e32)
        printf("bench_train: not an H200: MFU below is against the H200's peaks\n");
    const int steps = 3;
    double f, b, o;
    cuda_set_tf32(0);
    double dt = time_train(steps, &f, &b, &o);
    printf("bench_train: fp32 step %.1f ms (forward %.1f, backward %.1f, clip+AdamW %.1f), %.2f TFLOP/step\n",
           dt * 1e3, f * 1e3, b * 1e3, o * 1e3, flops / 1e12);
    printf("bench: cuda_train_tokens_per_s %.0f tok/s\n", N / dt);
    printf("bench: cuda_train_tflops %.1f TFLOP/s\n", flops / dt / 1e12);
    printf("bench: cuda_train_mfu %.1f %% (fp32 exact, peak %.1f TFLOP/s)\n", 100.0 * flops / dt / peak32,
           peak32 / 1e12);
    cuda_set_tf32(1);
    dt = time_train(steps, &f, &b, &o);
    printf("bench_train: tf32 step %.1f ms (forward %.1f, backward %.1f, clip+AdamW %.1f)\n", dt * 1e3,
           f * 1e3, b * 1e3, o * 1e3);
    printf("bench: cuda_train_tokens_per_s_tf32 %.0f tok/s\n", N / dt);
    printf("bench: cuda_train_mfu_tf32 %.1f %% (TF32 tensor cores, peak %.1f TFLOP/s)\n",
           100.0 * flops / dt / peaktf, peaktf / 1e12);
    cuda_set_tf32(0);
    fflush(stdout);

    /* free the training activations before the decode bench's KV cache */
    for (int l = 0; l < L; l++) {
        float **fs = (float **)&A[l];
        for (size_t i = 0; i < sizeof(layer_a) / sizeof(float *); i++) cuda_free(fs[i]);
    }
    cuda_free(logits), cuda_free(dlogits);
    if (M > 0) {
        int ctx = T / 2;
        double ds = time_decode(M, ctx, 5);
        printf("bench_train: decode step of %d rows at context %d: %.2f ms\n", M, ctx, ds * 1e3);
        printf("bench: cuda_decode_tokens_per_s %.0f tok/s\n", M / ds);
    }
    char m2[512];
    if (cuda_check(m2, sizeof m2)) {
        fprintf(stderr, "bench_train: %s\n", m2);
        return 1;
    }
    cuda_shutdown();
    return 0;
}
