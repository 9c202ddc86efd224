/*
 * bench/hf_bench.c — model/ on a Hugging Face model directory (issue 12's
 * Qwen2.5-0.5B shape), printed as "key value" lines for bench_hf.sh.
 *
 *   hf_bench DIR train STEPS B T      forward + backward + AdamW on (B,T)
 *   hf_bench DIR sample G NEW          a group of G rows, NEW tokens after a
 *                                      16-token prompt, KV cache, T = 1
 *
 * train_tokens_per_s is the fastest timed step after one warm-up step;
 * sample_tokens_per_s counts G*NEW tokens over the whole group's decode.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/core.h"
#include "model/model.h"

static void die(const core_error *e) {
    fprintf(stderr, "hf_bench: %s\n", e->msg);
    exit(1);
}

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

static void bench_train(model *m, int steps, int B, int T) {
    const model_config *mc = model_get_config(m);
    int *tokens = malloc(sizeof(int) * B * T);
    float *lp = malloc(sizeof(float) * B * T), *dlp = malloc(sizeof(float) * B * T);
    core_rng r = core_rng_stream(1, CORE_RNG_INIT, 99, 0);
    for (int i = 0; i < B * T; i++) tokens[i] = (int)core_rng_below(&r, (uint64_t)mc->vocab);
    for (int i = 0; i < B * T; i++) dlp[i] = -1.0f / (B * T); /* loss = -mean log-prob */
    model_adamw hp = {1e-5f, 0.9f, 0.999f, 1e-8f, 0.01f};
    core_error err = {0};
    double best = 1e30;
    for (int s = 0; s <= steps; s++) {
        double t0 = core_now();
        if (model_forward(m, tokens, B, T, lp, NULL, &err)) die(&err);
        model_zero_grad(m);
        model_backward(m, dlp, NULL);
        model_adamw_step(m, &hp, s + 1);
        double dt = core_now() - t0;
        if (s > 0 && dt < best) best = dt;
        fprintf(stderr, "hf_bench: train step %d: %.2f s\n", s, dt);
    }
    printf("train_tokens_per_s %.2f\n", B * T / best);
    free(tokens), free(lp), free(dlp);
}

static void bench_sample(model *m, int G, int new_tokens) {
    int prompt[16];
    for (int i = 0; i < 16; i++) prompt[i] = 100 + 7 * i;
    int *tok = malloc(sizeof(int) * G * new_tokens);
    float *lp = malloc(sizeof(float) * G * new_tokens);
    model_sample *out = calloc(G, sizeof *out);
    core_rng *rng = malloc(sizeof(core_rng) * G);
    for (int g = 0; g < G; g++) {
        out[g] = (model_sample){0, tok + g * new_tokens, lp + g * new_tokens, 0};
        rng[g] = core_rng_stream(1, CORE_RNG_SAMPLE, 0, (uint64_t)g);
    }
    /* no eos can end a row early: the bench decodes exactly G * new tokens */
    model_sample_params sp = {.temperature = 1.0f, .top_p = 1.0f, .max_new_tokens = new_tokens};
    core_error err = {0};
    double t0 = core_now();
    if (model_sample_group(m, prompt, 16, G, &sp, rng, out, &err)) die(&err);
    double dt = core_now() - t0;
    long total = 0;
    for (int g = 0; g < G; g++) total += out[g].n_tokens;
    printf("sample_tokens %ld\nsample_tokens_per_s %.2f\n", total, total / dt);
    free(tok), free(lp), free(out), free(rng);
}

int main(int argc, char **argv) {
    if (argc != 6 && argc != 5) {
        fprintf(stderr, "usage: hf_bench DIR train STEPS B T | hf_bench DIR sample G NEW\n");
        return 2;
    }
    model_blas_setup(argv);
    int train = !strcmp(argv[2], "train");
    int a = atoi(argv[3]), b = atoi(argv[4]), T = argc == 6 ? atoi(argv[5]) : 0;
    model *m;
    core_error err = {0};
    double t0 = core_now();
    if (model_open(&m, argv[1], train ? b : a, train ? T : 16 + b, &err)) die(&err);
    printf("load_s %.2f\nparams %zu\n", core_now() - t0, model_n_params(m));
    if (train) bench_train(m, a, b, T);
    else bench_sample(m, a, b);
    printf("peak_rss_mb %.0f\n", peak_rss_mb());
    model_free(m);
    return 0;
}
