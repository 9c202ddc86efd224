/* GRPO arithmetic against hand-computed values; the aggregated objective's
 * gradient against PyTorch autograd (tests/learner/ref_objective.py). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

Test(advantages, reinforce_plus_plus_by_hand) {
    /* two groups of 2: REINFORCE++ keeps r, then whitens over the 4 */
    double r[4] = {1, 0, 1, 1}, adv[4];
    cr_assert_eq(learner_advantages(r, 2, ADV_REINFORCE_PP, 0, adv), 0);
    cr_assert_eq(learner_advantages(r + 2, 2, ADV_REINFORCE_PP, 0, adv + 2), 1, "equal group flagged");
    cr_assert(adv[0] == 1 && adv[1] == 0 && adv[2] == 1 && adv[3] == 1, "equal rewards keep their value");
    learner_whiten_advantages(ADV_REINFORCE_PP, adv, 4, 0);
    double mean = 0.75, std = sqrt((3 * 0.0625 + 0.5625) / 3); /* unbiased */
    cr_assert(NEAR(adv[0], 0.25 / std) && NEAR(adv[1], -0.75 / std), "%f %f", adv[0], adv[1]);
    cr_assert(NEAR(adv[2], (1 - mean) / std));
    /* the baseline variant centres each group first: {0.5, -0.5} and {0, 0} */
    learner_advantages(r, 2, ADV_REINFORCE_PP_BASELINE, 0, adv);
    learner_advantages(r + 2, 2, ADV_REINFORCE_PP_BASELINE, 0, adv + 2);
    cr_assert(NEAR(adv[0], 0.5) && NEAR(adv[1], -0.5) && adv[2] == 0 && adv[3] == 0);
    learner_whiten_advantages(ADV_REINFORCE_PP_BASELINE, adv, 4, 0);
    std = sqrt(0.5 / 3);
    cr_assert(NEAR(adv[0], 0.5 / std) && NEAR(adv[1], -0.5 / std) && NEAR(adv[2], 0));
    /* the group estimators have no batch step */
    double g[2] = {3, -1};
    learner_whiten_advantages(ADV_GRPO, g, 2, 0);
    cr_assert(g[0] == 3 && g[1] == -1);
}

Test(advantages, groups_in_runs_by_hand) {
    /* learner.kl_reward's path: groups {1, 0, 0, 1} and {0.5, 0.25} as runs of equal ids */
    double r[6] = {1, 0, 0, 1, 0.5, 0.25}, adv[6];
    int group[6] = {3, 3, 3, 3, 7, 7};
    learner_group_advantages(r, group, 6, ADV_DRGRPO, 0, adv);
    cr_assert(NEAR(adv[0], 0.5) && NEAR(adv[1], -0.5) && NEAR(adv[4], 0.125) && NEAR(adv[5], -0.125));
    learner_group_advantages(r, group, 6, ADV_GRPO, 0, adv);
    double std1 = sqrt(1.0 / 3), std2 = sqrt(2 * 0.125 * 0.125);
    cr_assert(NEAR(adv[3], 0.5 / std1) && NEAR(adv[4], 0.125 / std2), "%f %f", adv[3], adv[4]);
    /* REINFORCE++: the raw rewards whitened over all six */
    learner_group_advantages(r, group, 6, ADV_REINFORCE_PP, 0, adv);
    double mean = 2.75 / 6, var = 0;
    for (int i = 0; i < 6; i++) var += (r[i] - mean) * (r[i] - mean) / 5;
    for (int i = 0; i < 6; i++) cr_assert(NEAR(adv[i], (r[i] - mean) / sqrt(var)));
}

Test(objective, gspo_cispo_tis_by_hand) {
    double lp[2] = {log(1.2), log(1.5)}, old[2] = {0, 0}, ref[2] = {0, 0}, sample[2] = {log(0.5), 0};
    double loss[2], dlp[2], kl[2];
    int clipped[2];
    grpo_objective o = {.clip_low = 0.2, .clip_high = 0.2, .kl = KL_K1, .loss = LOSS_GSPO, .tis_cap = 1.5};
    /* GSPO: s = exp(mean(log 1.2, log 1.5)) = sqrt(1.8) = 1.342 > 1.2: with A = 1
     * every token is clipped high (loss -1.2, no gradient); with A = -1 the
     * unclipped term is the min: loss s, gradient s on every token */
    grpo_seq_loss(&o, 2, lp, old, ref, NULL, 1, loss, dlp, kl, clipped);
    cr_assert(NEAR(loss[0], -1.2) && NEAR(loss[1], -1.2) && dlp[0] == 0 && clipped[0] == 1 && clipped[1] == 1);
    grpo_seq_loss(&o, 2, lp, old, ref, NULL, -1, loss, dlp, kl, clipped);
    cr_assert(NEAR(loss[0], sqrt(1.8)) && NEAR(dlp[0], sqrt(1.8)) && NEAR(dlp[1], sqrt(1.8)) && clipped[1] == 0);
    /* CISPO: w = clip(r) = {1.2, 1.2}, loss = -w A lp, gradient -w A even when clipped */
    o.loss = LOSS_CISPO;
    grpo_seq_loss(&o, 2, lp, old, ref, NULL, 2, loss, dlp, kl, clipped);
    cr_assert(NEAR(loss[0], -1.2 * 2 * log(1.2)) && NEAR(dlp[0], -2.4) && clipped[0] == 0);
    cr_assert(NEAR(loss[1], -1.2 * 2 * log(1.5)) && NEAR(dlp[1], -2.4) && clipped[1] == 1);
    /* TIS per token: w = min(exp(old - sample), 1.5) = {1.5 (2 truncated), 1} */
    o.loss = LOSS_GRPO;
    o.tis = TIS_TOKEN;
    o.clip_high = 1;
    grpo_seq_loss(&o, 2, lp, old, ref, sample, 1, loss, dlp, kl, clipped);
    cr_assert(NEAR(loss[0], -1.5 * 1.2) && NEAR(dlp[0], -1.5 * 1.2) && NEAR(loss[1], -1.5) && NEAR(dlp[1], -1.5));
    /* per sequence: w = min(exp(log 2 + 0), 1.5) = 1.5 on both */
    o.tis = TIS_SEQUENCE;
    grpo_seq_loss(&o, 2, lp, old, ref, sample, 1, loss, dlp, kl, clipped);
    cr_assert(NEAR(loss[1], -1.5 * 1.5) && NEAR(dlp[1], -1.5 * 1.5));
    /* a KL term is never weighted: beta * k1 */
    o.beta = 0.5;
    grpo_seq_loss(&o, 2, lp, old, ref, sample, 0, loss, dlp, kl, clipped);
    cr_assert(NEAR(loss[1], 0.5 * log(1.5)) && NEAR(dlp[1], 0.5) && NEAR(kl[1], log(1.5)));
}

Test(advantages, zero_variance_is_flagged_and_zero) {
    double r[3] = {0.7, 0.7, 0.7}, adv[3] = {9, 9, 9};
    cr_assert_eq(learner_advantages(r, 3, ADV_GRPO, 1e-4, adv), 1);
    for (int i = 0; i < 3; i++) cr_assert_eq(adv[i], 0);
}

/* Completions the sandbox could not grade are left out of their group's
 * statistics: the others get exactly the advantages of the smaller group,
 * the masked ones 0; a group with nothing graded is all zeros. */
Test(advantages, masked_members_leave_the_group) {
    const enum learner_adv_mode modes[] = {ADV_GRPO, ADV_DRGRPO, ADV_RLOO, ADV_REINFORCE_PP,
                                           ADV_REINFORCE_PP_BASELINE};
    double r[5] = {1, 0.25, 7, 0, 0.5}, kept[3] = {1, 0.25, 0.5}, want[3], adv[5];
    int graded[5] = {1, 1, 0, 0, 1};
    for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
        int flat = learner_advantages(kept, 3, modes[m], 1e-4, want);
        for (int i = 0; i < 5; i++) adv[i] = 99;
        cr_assert_eq(learner_advantages_masked(r, graded, 5, modes[m], 1e-4, adv), flat);
        cr_assert(adv[0] == want[0] && adv[1] == want[1] && adv[4] == want[2], "mode %zu: %g %g %g", m,
                  adv[0], adv[1], adv[4]);
        cr_assert(adv[2] == 0 && adv[3] == 0, "masked members get 0, mode %zu", m);
    }
    /* the failed ones' rewards (7 and 0) would have moved the mean */
    learner_advantages(r, 5, ADV_GRPO, 1e-4, adv);
    double full_mean_adv0 = adv[0];
    learner_advantages(kept, 3, ADV_GRPO, 1e-4, want);
    cr_assert(!NEAR(full_mean_adv0, want[0]), "masking must change the statistics here");
    int none[4] = {0, 0, 0, 0}, one[4] = {0, 1, 0, 0};
    double r4[4] = {1, 2, 3, 4}, a4[4] = {9, 9, 9, 9};
    cr_assert_eq(learner_advantages_masked(r4, none, 4, ADV_GRPO, 1e-4, a4), 1, "fully failed group is flat");
    for (int i = 0; i < 4; i++) cr_assert_eq(a4[i], 0);
    cr_assert_eq(learner_advantages_masked(r4, one, 4, ADV_RLOO, 1e-4, a4), 1, "one graded: nothing to compare");
    for (int i = 0; i < 4; i++) cr_assert_eq(a4[i], 0);
    /* whitening over the batch skips the masked entries and leaves them 0 */
    double b[5] = {1, -1, 0, 0, 3}, bk[3] = {1, -1, 3};
    int bg[5] = {1, 1, 0, 0, 1};
    learner_whiten_advantages_masked(ADV_REINFORCE_PP, b, bg, 5, 1e-4);
    learner_whiten_advantages(ADV_REINFORCE_PP, bk, 3, 1e-4);
    cr_assert(b[0] == bk[0] && b[1] == bk[1] && b[4] == bk[2] && b[2] == 0 && b[3] == 0);
}

Test(advantages, names) {
    cr_assert_eq(learner_adv_mode("rloo"), ADV_RLOO);
    cr_assert_eq(learner_adv_mode("ppo"), -1);
    cr_assert_eq(learner_kl_kind("k3"), KL_K3);
    cr_assert_eq(learner_agg_kind("constant"), AGG_CONSTANT);
    cr_assert_eq(learner_agg_kind("sum"), -1);
    cr_assert_eq(learner_adv_mode("reinforce_plus_plus_baseline"), ADV_REINFORCE_PP_BASELINE);
    cr_assert_eq(learner_kl_kind("k2"), KL_K2);
    cr_assert_eq(learner_loss_kind("gspo"), LOSS_GSPO);
    cr_assert_eq(learner_loss_kind("cispo"), LOSS_CISPO);
    cr_assert_eq(learner_loss_kind("ppo"), -1);
    cr_assert_eq(learner_tis_kind("sequence"), TIS_SEQUENCE);
    /* every choice the config offers is in the tables */
    core_config cfg;
    core_error err = {0};
    grpo_objective o;
    const char *sets[] = {"learner.advantage=reinforce_plus_plus", "learner.loss=cispo", "learner.kl_estimator=k2",
                          "learner.loss_agg=constant", "rollout.temperature=0.7", "learner.tis=sequence"};
    core_config_defaults(&cfg);
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(core_config_set(&cfg, sets[i], &err), 0, "%s", err.msg);
        cr_assert_eq(learner_objective_from_config(&cfg, &o, &err), 0, "%s: %s", sets[i], err.msg);
    }
    cr_assert(o.loss == LOSS_CISPO && o.kl == KL_K2 && o.tis == TIS_SEQUENCE && o.tis_cap == 2.0);
    /* TIS with the policy itself as the sampler would weigh every token by 1 */
    core_config_set(&cfg, "rollout.temperature=1", &err);
    cr_assert_neq(learner_objective_from_config(&cfg, &o, &err), 0);
    cr_assert(strstr(err.msg, "learner.tis"), "%s", err.msg);
}

Test(objective, clipping_cases_by_hand) {
    grpo_objective o = {.clip_low = 0.2, .clip_high = 0.28, .kl = KL_K3};
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
    grpo_objective o = {.clip_low = 0.2, .clip_high = 0.2, .beta = 0.5, .kl = KL_K3};
    double dlp, kl;
    int clipped;
    /* lp = -1, ref = -2: k3 = e^-1 + 1 - 1, d/dlp = 1 - e^-1; A = 0 */
    double l = grpo_token_loss(&o, -1, -1, -2, 0, &dlp, &kl, &clipped);
    cr_assert(NEAR(kl, exp(-1)) && NEAR(l, 0.5 * exp(-1)) && NEAR(dlp, 0.5 * (1 - exp(-1))));
    o.kl = KL_K1;
    l = grpo_token_loss(&o, -1, -1, -2, 0, &dlp, &kl, &clipped);
    cr_assert(NEAR(kl, 1) && NEAR(l, 0.5) && NEAR(dlp, 0.5));
    /* k2 = (lp - ref)^2 / 2 = 0.5, d/dlp = lp - ref = 1 */
    o.kl = KL_K2;
    l = grpo_token_loss(&o, -1, -1, -2, 0, &dlp, &kl, &clipped);
    cr_assert(NEAR(kl, 0.5) && NEAR(l, 0.25) && NEAR(dlp, 0.5));
    o.kl = KL_K2;
    l = grpo_token_loss(&o, -2, -2, -1.5, 0, &dlp, &kl, &clipped);
    cr_assert(NEAR(kl, 0.125) && NEAR(dlp, 0.5 * -0.5));
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
typedef struct oracle_spec {
    enum learner_kl kl;
    enum learner_agg agg;
    enum learner_loss loss;
    enum learner_tis tis;
} oracle_spec;

static const char *kl_name[] = {"k1", "k2", "k3"};
static const char *agg_name[] = {"token_mean", "seq_mean_token_mean", "constant"};
static const char *loss_name[] = {"grpo", "gspo", "cispo"};
static const char *tis_name[] = {"off", "token", "sequence"};

static void oracle_case(oracle_spec c) {
    enum { S = 5, MAXN = 7 };
    int n[S] = {3, 7, 1, 5, 4};
    double lp[S][MAXN], old[S][MAXN], ref[S][MAXN], sample[S][MAXN], adv[S], w[S], dlp[S][MAXN];
    double tok_loss[MAXN], kl[MAXN];
    int clipped[MAXN];
    core_rng rng = core_rng_stream(3, CORE_RNG_TEST, c.kl * 100 + c.agg * 10 + c.loss, c.tis);
    /* GSPO clips a sequence ratio that sits much nearer 1: a tighter range makes some clip */
    double cl = c.loss == LOSS_GSPO ? 0.02 : 0.2, ch = c.loss == LOSS_GSPO ? 0.03 : 0.28;
    grpo_objective o = {.clip_low = cl, .clip_high = ch, .beta = 0.04, .kl = c.kl, .loss = c.loss,
                        .tis = c.tis, .tis_cap = 1.1};
    for (int s = 0; s < S; s++) {
        adv[s] = core_rng_normal(&rng);
        for (int t = 0; t < n[s]; t++) {
            old[s][t] = -3 * core_rng_uniform(&rng);
            lp[s][t] = old[s][t] + 0.6 * (core_rng_uniform(&rng) - 0.5); /* some clip */
            ref[s][t] = old[s][t] + 0.3 * core_rng_normal(&rng);
            sample[s][t] = old[s][t] + 0.4 * (core_rng_uniform(&rng) - 0.5); /* some truncate */
        }
    }
    grpo_token_weights(n, S, c.agg, 8, w);
    double loss = 0;
    int n_clipped = 0, n_tokens = 0;
    char in_path[64], out_path[64], cmd[512];
    snprintf(in_path, sizeof in_path, "/tmp/grpo-obj-%d.in", getpid());
    snprintf(out_path, sizeof out_path, "/tmp/grpo-obj-%d.out", getpid());
    FILE *f = fopen(in_path, "w");
    fprintf(f, "%s %s %.17g %.17g 0.04 8 %s %s 1.1\n", kl_name[c.kl], agg_name[c.agg], cl, ch,
            loss_name[c.loss], tis_name[c.tis]);
    for (int s = 0; s < S; s++) {
        grpo_seq_loss(&o, n[s], lp[s], old[s], ref[s], sample[s], adv[s], tok_loss, dlp[s], kl, clipped);
        fprintf(f, "%d %.17g", n[s], adv[s]);
        for (int t = 0; t < n[s]; t++) {
            loss += w[s] * tok_loss[t];
            n_clipped += clipped[t] != 0;
            n_tokens++;
            dlp[s][t] *= w[s];
            fprintf(f, " %.17g %.17g %.17g %.17g", lp[s][t], old[s][t], ref[s][t], sample[s][t]);
        }
        fputc('\n', f);
    }
    fclose(f);
    /* the batch must exercise both branches of the clip */
    cr_assert(n_clipped > 0 && n_clipped < n_tokens, "%d of %d tokens clipped", n_clipped, n_tokens);
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

Test(oracle, k3_token_mean) { oracle_case((oracle_spec){KL_K3, AGG_TOKEN_MEAN, LOSS_GRPO, TIS_OFF}); }
Test(oracle, k1_seq_mean_token_mean) { oracle_case((oracle_spec){KL_K1, AGG_SEQ_MEAN_TOKEN_MEAN, LOSS_GRPO, TIS_OFF}); }
Test(oracle, k3_constant) { oracle_case((oracle_spec){KL_K3, AGG_CONSTANT, LOSS_GRPO, TIS_OFF}); }
Test(oracle, k2_token_mean) { oracle_case((oracle_spec){KL_K2, AGG_TOKEN_MEAN, LOSS_GRPO, TIS_OFF}); }
Test(oracle, gspo_seq_mean_token_mean) { oracle_case((oracle_spec){KL_K3, AGG_SEQ_MEAN_TOKEN_MEAN, LOSS_GSPO, TIS_OFF}); }
Test(oracle, gspo_token_mean_k2) { oracle_case((oracle_spec){KL_K2, AGG_TOKEN_MEAN, LOSS_GSPO, TIS_OFF}); }
Test(oracle, cispo_token_mean) { oracle_case((oracle_spec){KL_K3, AGG_TOKEN_MEAN, LOSS_CISPO, TIS_OFF}); }
Test(oracle, grpo_token_tis) { oracle_case((oracle_spec){KL_K3, AGG_TOKEN_MEAN, LOSS_GRPO, TIS_TOKEN}); }
Test(oracle, grpo_sequence_tis) { oracle_case((oracle_spec){KL_K1, AGG_SEQ_MEAN_TOKEN_MEAN, LOSS_GRPO, TIS_SEQUENCE}); }
Test(oracle, cispo_sequence_tis) { oracle_case((oracle_spec){KL_K3, AGG_CONSTANT, LOSS_CISPO, TIS_SEQUENCE}); }
Test(oracle, gspo_token_tis) { oracle_case((oracle_spec){KL_K3, AGG_TOKEN_MEAN, LOSS_GSPO, TIS_TOKEN}); }
