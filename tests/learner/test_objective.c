/* GRPO arithmetic against hand-computed values; the aggregated objective's
 * gradient against PyTorch autograd (tests/learner/ref_objective.py). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/core.h"
#include "learner/learner.h"

#define NEAR(a, b) (fabs((a) - (b)) < 1e-9)

Test(advantages, grpo_drgrpo_rloo_by_hand) {
    double r[4] = {1, 0, 0, 1}, adv[4];
    cr_assert_eq(learner_advantages(r, 4, ADV_GRPO, 0, adv), 0);
    double std = sqrt(1.0 / 3.0); /* unbiased: sum sq dev 1, / (G-1) */
    cr_assert(NEAR(adv[0], 0.5 / std) && NEAR(adv[1], -0.5 / std), "%f %f", adv[0], adv[1]);
    learner_advantages(r, 4, ADV_GRPO, 0.1, adv);
    cr_assert(NEAR(adv[0], 0.5 / (std + 0.1)));
    learner_advantages(r, 4, ADV_DRGRPO, 0.1, adv);
    cr_assert(NEAR(adv[0], 0.5) && NEAR(adv[2], -0.5));
    learner_advantages(r, 4, ADV_RLOO, 0, adv);
    cr_assert(NEAR(adv[0], 1 - 1.0 / 3) && NEAR(adv[1], 0 - 2.0 / 3), "%f %f", adv[0], adv[1]);
}

Test(advantages, zero_variance_is_flagged_and_zero) {
    double r[3] = {0.7, 0.7, 0.7}, adv[3] = {9, 9, 9};
    cr_assert_eq(learner_advantages(r, 3, ADV_GRPO, 1e-4, adv), 1);
    for (int i = 0; i < 3; i++) cr_assert_eq(adv[i], 0);
}

Test(advantages, names) {
    cr_assert_eq(learner_adv_mode("rloo"), ADV_RLOO);
    cr_assert_eq(learner_adv_mode("ppo"), -1);
    cr_assert_eq(learner_kl_kind("k3"), KL_K3);
    cr_assert_eq(learner_agg_kind("constant"), AGG_CONSTANT);
    cr_assert_eq(learner_agg_kind("sum"), -1);
}

Test(objective, clipping_cases_by_hand) {
    grpo_objective o = {0.2, 0.28, 0, KL_K3, 0};
    double dlp, kl;
    int clipped;
    /* ratio 1, A = 1: loss -1, gradient -A * ratio */
    double l = grpo_token_loss(&o, -1, -1, -1, 1, &dlp, &kl, &clipped);
    cr_assert(NEAR(l, -1) && NEAR(dlp, -1) && clipped == 0 && NEAR(kl, 0));
    /* ratio 1.5 > 1.28 with A = 1: clipped high, no gradient */
    l = grpo_token_loss(&o, log(1.5), 0, 0, 1, &dlp, &kl, &clipped);
    cr_assert(NEAR(l, -1.28) && dlp == 0 && clipped == 1, "%f %f %d", l, dlp, clipped);
    /* ratio 0.5 < 0.8 with A = -1: clipped low */
    l = grpo_token_loss(&o, log(0.5), 0, 0, -1, &dlp, &kl, &clipped);
    cr_assert(NEAR(l, 0.8) && dlp == 0 && clipped == -1);
    /* ratio 1.5 with A = -1: the unclipped term is the min, gradient flows */
    l = grpo_token_loss(&o, log(1.5), 0, 0, -1, &dlp, &kl, &clipped);
    cr_assert(NEAR(l, 1.5) && NEAR(dlp, 1.5) && clipped == 0);
    /* ratio 0.5 with A = +1: unclipped min, gradient -0.5 */
    l = grpo_token_loss(&o, log(0.5), 0, 0, 1, &dlp, &kl, &clipped);
    cr_assert(NEAR(l, -0.5) && NEAR(dlp, -0.5) && clipped == 0);
}

Test(objective, kl_estimators_by_hand) {
    grpo_objective o = {0.2, 0.2, 0.5, KL_K3, 0};
    double dlp, kl;
    int clipped;
    /* lp = -1, ref = -2: k3 = e^-1 + 1 - 1, d/dlp = 1 - e^-1; A = 0 */
    double l = grpo_token_loss(&o, -1, -1, -2, 0, &dlp, &kl, &clipped);
    cr_assert(NEAR(kl, exp(-1)) && NEAR(l, 0.5 * exp(-1)) && NEAR(dlp, 0.5 * (1 - exp(-1))));
    o.kl = KL_K1;
    l = grpo_token_loss(&o, -1, -1, -2, 0, &dlp, &kl, &clipped);
    cr_assert(NEAR(kl, 1) && NEAR(l, 0.5) && NEAR(dlp, 0.5));
}

Test(objective, aggregation_weights) {
    int n[3] = {2, 6, 0};
    double w[3];
    grpo_token_weights(n, 3, AGG_TOKEN_MEAN, 10, w);
    cr_assert(NEAR(w[0], 1.0 / 8) && NEAR(w[1], 1.0 / 8) && w[2] == 0);
    grpo_token_weights(n, 3, AGG_SEQ_MEAN_TOKEN_MEAN, 10, w);
    cr_assert(NEAR(w[0], 1.0 / 6) && NEAR(w[1], 1.0 / 18));
    grpo_token_weights(n, 3, AGG_CONSTANT, 10, w);
    cr_assert(NEAR(w[0], 1.0 / 30) && NEAR(w[1], 1.0 / 30));
}

/* The aggregated loss over a random batch and its gradient per token, against
 * the same objective written in PyTorch and differentiated by autograd. */
static void oracle_case(enum learner_kl kl_kind, enum learner_agg agg) {
    enum { S = 5, MAXN = 7 };
    int n[S] = {3, 7, 1, 5, 4};
    double lp[S][MAXN], old[S][MAXN], ref[S][MAXN], adv[S], w[S], dlp[S][MAXN];
    core_rng rng = core_rng_stream(3, CORE_RNG_TEST, kl_kind, agg);
    grpo_objective o = {0.2, 0.28, 0.04, kl_kind, 0};
    for (int s = 0; s < S; s++) {
        adv[s] = core_rng_normal(&rng);
        for (int t = 0; t < n[s]; t++) {
            old[s][t] = -3 * core_rng_uniform(&rng);
            lp[s][t] = old[s][t] + 0.6 * (core_rng_uniform(&rng) - 0.5); /* some clip */
            ref[s][t] = old[s][t] + 0.3 * core_rng_normal(&rng);
        }
    }
    grpo_token_weights(n, S, agg, 8, w);
    double loss = 0, kl;
    int clipped;
    char in_path[64], out_path[64], cmd[512];
    snprintf(in_path, sizeof in_path, "/tmp/grpo-obj-%d.in", getpid());
    snprintf(out_path, sizeof out_path, "/tmp/grpo-obj-%d.out", getpid());
    FILE *f = fopen(in_path, "w");
    fprintf(f, "%s %s 0.2 0.28 0.04 8\n", kl_kind == KL_K1 ? "k1" : "k3",
            agg == AGG_TOKEN_MEAN ? "token_mean" : agg == AGG_CONSTANT ? "constant" : "seq_mean_token_mean");
    for (int s = 0; s < S; s++) {
        fprintf(f, "%d %.17g", n[s], adv[s]);
        for (int t = 0; t < n[s]; t++) {
            loss += w[s] * grpo_token_loss(&o, lp[s][t], old[s][t], ref[s][t], adv[s], &dlp[s][t], &kl, &clipped);
            dlp[s][t] *= w[s];
            fprintf(f, " %.17g %.17g %.17g", lp[s][t], old[s][t], ref[s][t]);
        }
        fputc('\n', f);
    }
    fclose(f);
    const char *py = getenv("PYTHON") ? getenv("PYTHON") : ".venv/bin/python3";
    snprintf(cmd, sizeof cmd, "%s tests/learner/ref_objective.py < %s > %s", py, in_path, out_path);
    cr_assert_eq(system(cmd), 0, "the PyTorch oracle failed: %s", cmd);
    f = fopen(out_path, "r");
    double ref_loss;
    cr_assert_eq(fscanf(f, "%lf", &ref_loss), 1);
    cr_assert(fabs(loss - ref_loss) < 1e-10, "loss %.12f vs torch %.12f", loss, ref_loss);
    for (int s = 0; s < S; s++)
        for (int t = 0; t < n[s]; t++) {
            double g;
            cr_assert_eq(fscanf(f, "%lf", &g), 1);
            cr_assert(fabs(g - dlp[s][t]) < 1e-10, "grad[%d][%d] %.12f vs torch %.12f", s, t, dlp[s][t], g);
        }
    fclose(f);
    unlink(in_path);
    unlink(out_path);
}

Test(oracle, k3_token_mean) { oracle_case(KL_K3, AGG_TOKEN_MEAN); }
Test(oracle, k1_seq_mean_token_mean) { oracle_case(KL_K1, AGG_SEQ_MEAN_TOKEN_MEAN); }
Test(oracle, k3_constant) { oracle_case(KL_K3, AGG_CONSTANT); }
