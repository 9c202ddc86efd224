/*
 * bench/model_bench.c — throughput of model/ on the shapes of issue 3,
 * printed as "key value" lines that bench_model.sh turns into bench: lines.
 *
 *   model_bench small|medium [train_steps]
 *
 * training: forward + backward + AdamW on a (16, 256) batch, tokens/s of
 * the fastest of the timed steps (after one warm-up step) and
 * achieved GFLOP/s (matmul + causal attention FLOPs actually needed);
 * sampling: 128 new tokens after a 16-token prompt, one sequence and a
 * group of 8 (temperature 1, no stop), tokens/s; peak RSS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <immintrin.h>
#include <omp.h>

#include "core/core.h"
#include "model/model.h"
#include "model/ops.h"

static model_config shape(const char *name) {
    model_config mc = {.dim = 256, .n_layers = 4, .n_heads = 8, .n_kv_heads = 8, .ffn_dim = 688,
                       .vocab = 264, .max_seq = 256, .rope_theta = 10000, .norm_eps = 1e-5f,
                       .tie_embeddings = 0};
    if (!strcmp(name, "medium")) mc.dim = 512, mc.n_layers = 8, mc.ffn_dim = 1376;
    if (!strcmp(name, "demo")) /* configs/r1zero-arith.ini's policy */
        mc.dim = 96, mc.n_layers = 3, mc.n_heads = 4, mc.n_kv_heads = 4, mc.ffn_dim = 256,
        mc.max_seq = 128, mc.tie_embeddings = 1;
    return mc;
}

/* FLOPs of one training token: 6 per matmul weight (fwd 2, bwd 4) plus
 * causal attention (QK^T and AV: 2*2*T/2*dim per layer forward, x3). */
static double train_flops_per_token(const model_config *mc, int T) {
    double C = mc->dim, F = mc->ffn_dim, hs = C / mc->n_heads, kv = hs * mc->n_kv_heads;
    double per_layer = C * C * 2 + 2 * kv * C + 3 * F * C;
    double matmul = mc->n_layers * per_layer + (double)mc->vocab * C;
    return 6 * matmul + 3 * mc->n_layers * 2.0 * T * C;
}

/* BENCH_CPU=1: time by process CPU seconds (with OMP_NUM_THREADS=1 this
 * measures the kernels even while other jobs load the machine). */
static double cpu_or_wall(void) {
    if (!getenv("BENCH_CPU")) return core_now();
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void die(const core_error *e) {
    fprintf(stderr, "model_bench: %s\n", e->msg);
    exit(1);
}

static double bench_train(const model_config *mc, int steps) {
    enum { B = 16 };
    int T = mc->max_seq < 256 ? mc->max_seq : 256;
    model *m;
    core_error err;
    if (model_create(&m, mc, B, &err)) die(&err);
    model_init(m, 1, 0.02f);
    int *tok = malloc(sizeof(int) * B * T);
    float *lp = malloc(sizeof(float) * B * T), *dl = malloc(sizeof(float) * B * T);
    core_rng r = core_rng_stream(1, CORE_RNG_TEST, 0, 0);
    for (int i = 0; i < B * T; i++) tok[i] = (int)core_rng_below(&r, 256), dl[i] = -1.0f / (B * T);
    model_adamw hp = {.lr = 1e-4f, .beta1 = 0.9f, .beta2 = 0.99f, .eps = 1e-8f, .weight_decay = 0.01f};
    double best = 1e30; /* the fastest step: robust to other jobs' bursts */
    for (int s = 0; s <= steps; s++) {
        double t0 = cpu_or_wall();
        if (model_forward(m, tok, B, T, lp, NULL, &err)) die(&err);
        model_zero_grad(m);
        model_backward(m, dl, NULL);
        model_adamw_step(m, &hp, s + 1);
        double dt = cpu_or_wall() - t0;
        if (s > 0 && dt < best) best = dt; /* step 0 warms caches and pages */
    }
    double tps = (double)B * T / best;
    printf("train_tokens_per_s %.1f\n", tps);
    printf("train_gflops %.1f\n", tps * train_flops_per_token(mc, T) / 1e9);
    free(tok), free(lp), free(dl);
    model_free(m);
    return tps;
}

static void bench_sample(const model_config *mc, int G, const char *key) {
    enum { P = 16, NEW = 128 };
    model *m;
    core_error err;
    if (model_create(&m, mc, G, &err)) die(&err);
    model_init(m, 1, 0.02f);
    int prompt[P];
    for (int i = 0; i < P; i++) prompt[i] = 'a' + i;
    int *tokens = malloc(sizeof(int) * G * NEW);
    float *lps = malloc(sizeof(float) * G * NEW);
    model_sample *out = calloc(G, sizeof *out);
    core_rng *rng = malloc(sizeof(core_rng) * G);
    model_sample_params sp = {.temperature = 1, .top_p = 1, .max_new_tokens = NEW};
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        for (int g = 0; g < G; g++) {
            out[g] = (model_sample){0, tokens + g * NEW, lps + g * NEW, 0};
            rng[g] = core_rng_stream(rep, CORE_RNG_SAMPLE, 0, g);
        }
        /* EOS would end a sample early; with random weights it is rare, and
         * we count the tokens actually produced */
        double t0 = cpu_or_wall();
        if (model_sample_group(m, prompt, P, G, &sp, rng, out, &err)) die(&err);
        double dt = cpu_or_wall() - t0;
        long n = 0;
        for (int g = 0; g < G; g++) n += out[g].n_tokens;
        if (n / dt > best) best = n / dt;
    }
    printf("%s %.1f\n", key, best);
    free(tokens), free(lps), free(out), free(rng);
    model_free(m);
}

/* The machine's fp32 FMA peak with all OpenMP threads, wall clock, best of
 * 3, with the widest FMA this CPU has (checked at run time, so a binary
 * built elsewhere measures what it runs on): 12 independent FMA chains per
 * thread, enough to cover the FMA latency on both ports.  With AVX2, 12
 * accumulators plus the two operands fit the 16 ymm registers (16 would
 * spill and measure loads instead).  The "% of peak" of the training step
 * is against this figure. */
enum { PEAK_CHAINS = 12 };
static const long PEAK_ITERS = 20000000;

__attribute__((target("avx512f"))) static float fma_chains_avx512(long iters) {
    __m512 a[PEAK_CHAINS], x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < PEAK_CHAINS; i++) a[i] = _mm512_set1_ps(1.0f + i * 1e-3f);
    for (long k = 0; k < iters; k++)
        for (int i = 0; i < PEAK_CHAINS; i++) a[i] = _mm512_fmadd_ps(a[i], x, y);
    for (int i = 1; i < PEAK_CHAINS; i++) a[0] = _mm512_add_ps(a[0], a[i]);
    return _mm512_reduce_add_ps(a[0]);
}

__attribute__((target("avx2,fma"))) static float fma_chains_avx2(long iters) {
    __m256 a[PEAK_CHAINS], x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < PEAK_CHAINS; i++) a[i] = _mm256_set1_ps(1.0f + i * 1e-3f);
    for (long k = 0; k < iters; k++)
        for (int i = 0; i < PEAK_CHAINS; i++) a[i] = _mm256_fmadd_ps(a[i], x, y);
    for (int i = 1; i < PEAK_CHAINS; i++) a[0] = _mm256_add_ps(a[0], a[i]);
    float lane[8];
    _mm256_storeu_ps(lane, a[0]);
    return lane[0] + lane[1] + lane[2] + lane[3] + lane[4] + lane[5] + lane[6] + lane[7];
}

static void bench_fma_peak(void) {
    __builtin_cpu_init();
    int width = __builtin_cpu_supports("avx512f") ? 16
                : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 8 : 0;
    const char *force = getenv("BENCH_PEAK_ISA"); /* avx2: measure the narrower unit here too */
    if (force && !strcmp(force, "avx2") && width) width = 8;
    if (!width) {
        printf("fma_peak_isa none\n"); /* no FMA vector unit: no peak, no "% of peak" */
        return;
    }
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        float sink = 0;
        double t0 = core_now();
#pragma omp parallel reduction(+ : sink)
        sink += width == 16 ? fma_chains_avx512(PEAK_ITERS) : fma_chains_avx2(PEAK_ITERS);
        double gf = 2.0 * width * PEAK_CHAINS * PEAK_ITERS * omp_get_max_threads() / (core_now() - t0) / 1e9;
        if (gf > best) best = gf;
        if (sink == 0.5f) puts(""); /* keep the loop */
    }
    printf("fma_peak_isa %s\n", width == 16 ? "avx512" : "avx2");
    printf("fma_peak_threads %d\n", omp_get_max_threads());
    printf("fma_peak_gflops %.1f\n", best);
}

/* The GRPO rollout of the demo: 16 prompts x 8 samples, 40 new tokens,
 * all 128 rows decoded as one batch (model_sample_prompts). */
static void bench_rollout(const model_config *mc) {
    enum { P = 16, G = 8, LEN = 12, NEW = 40 };
    model *m;
    core_error err;
    if (model_create(&m, mc, P * G, &err)) die(&err);
    model_init(m, 1, 0.02f);
    int prompts[P][LEN], lens[P];
    const int *pp[P];
    for (int p = 0; p < P; p++) {
        for (int i = 0; i < LEN; i++) prompts[p][i] = '0' + (p * 7 + i) % 10;
        pp[p] = prompts[p], lens[p] = LEN;
    }
    static int tokens[P * G][NEW];
    static float lps[P * G][NEW];
    model_sample out[P * G];
    core_rng rng[P * G];
    model_sample_params sp = {.temperature = 1, .top_p = 1, .max_new_tokens = NEW};
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        for (int r = 0; r < P * G; r++) {
            out[r] = (model_sample){0, tokens[r], lps[r], 0};
            rng[r] = core_rng_stream(rep, CORE_RNG_SAMPLE, 0, r);
        }
        double t0 = cpu_or_wall();
        if (model_sample_prompts(m, pp, lens, P, G, &sp, rng, out, &err)) die(&err);
        double dt = cpu_or_wall() - t0;
        long n = 0;
        for (int r = 0; r < P * G; r++) n += out[r].n_tokens;
        if (n / dt > best) best = n / dt;
    }
    printf("rollout_tokens_per_s %.1f\n", best);
    model_free(m);
}

int main(int argc, char **argv) {
    ops_blas_setup(argv);
    if (argc < 2) {
        fprintf(stderr, "usage: model_bench small|medium|demo [train_steps] [all|train|sample|rollout|peak]\n");
        return 2;
    }
    model_config mc = shape(argv[1]);
    int steps = argc > 2 ? atoi(argv[2]) : 3;
    const char *what = argc > 3 ? argv[3] : "all";
    fprintf(stderr, "model_bench: %s, %zu parameters, %s\n", argv[1], model_config_n_params(&mc),
            ops_blas_describe());
    if (!strcmp(what, "peak")) {
        bench_fma_peak();
        return 0;
    }
    if (!strcmp(what, "rollout")) {
        bench_rollout(&mc);
        return 0;
    }
    if (strcmp(what, "sample")) bench_train(&mc, steps);
    if (strcmp(what, "train")) {
        bench_sample(&mc, 1, "sample1_tokens_per_s");
        bench_sample(&mc, 8, "sample8_tokens_per_s");
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak_rss_mb %.1f\n", ru.ru_maxrss / 1024.0);
    return 0;
}
