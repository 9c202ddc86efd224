/*
 * objective.c — the arithmetic of GRPO and its variants: advantage
 * estimators, policy losses, KL estimators, truncated importance sampling
 * and loss-aggregation weights.  As in verl's core_algos.py, each variant is
 * a pure function registered by name in a table; a new one is one function
 * and one row (plus its choice in core/config_keys.def).  The PyTorch lines
 * each function implements are in the comments; tests/learner checks them
 * against hand-computed values and autograd (ref_objective.py).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learner/internal.h"

/* ------------------------------------------------------------ advantages */

/* A group's advantages from its rewards r (G,), mean and unbiased std. */
typedef void (*adv_group_fn)(const double *r, int G, double mean, double std, double eps, double *adv);

static void adv_grpo(const double *r, int G, double mean, double std, double eps, double *adv) {
    for (int i = 0; i < G; i++) adv[i] = (r[i] - mean) / (std + eps); /* (r - r.mean()) / (r.std() + eps) */
}

static void adv_centred(const double *r, int G, double mean, double std, double eps, double *adv) {
    (void)std, (void)eps;
    for (int i = 0; i < G; i++) adv[i] = r[i] - mean; /* r - r.mean() */
}

static void adv_rloo(const double *r, int G, double mean, double std, double eps, double *adv) {
    (void)std, (void)eps;
    /* r_i - (sum - r_i) / (G - 1) = (r_i - mean) * G / (G - 1) */
    for (int i = 0; i < G; i++) adv[i] = G > 1 ? (r[i] - mean) * G / (G - 1) : 0;
}

static void adv_raw(const double *r, int G, double mean, double std, double eps, double *adv) {
    (void)mean, (void)std, (void)eps;
    memcpy(adv, r, sizeof *adv * G); /* REINFORCE++: the return itself, whitened later */
}

static const struct adv_estimator {
    const char *name;
    adv_group_fn group;
    int centred; /* subtracts the group mean: a group of equal rewards gets exactly 0 */
    int whiten;  /* then (a - mean) / (std + eps) over the step's batch */
} adv_table[] = {
    [ADV_GRPO] = {"grpo", adv_grpo, 1, 0},
    [ADV_DRGRPO] = {"drgrpo", adv_centred, 1, 0},
    [ADV_RLOO] = {"rloo", adv_rloo, 1, 0},
    [ADV_REINFORCE_PP] = {"reinforce_plus_plus", adv_raw, 0, 1},
    [ADV_REINFORCE_PP_BASELINE] = {"reinforce_plus_plus_baseline", adv_centred, 1, 1},
};
enum { N_ADV = sizeof adv_table / sizeof adv_table[0] };

int learner_adv_mode(const char *name) {
    for (int i = 0; i < N_ADV; i++)
        if (!strcmp(name, adv_table[i].name)) return i;
    return -1;
}

static void mean_std(const double *x, int n, double *mean, double *std) {
    double m = 0, var = 0;
    for (int i = 0; i < n; i++) m += x[i];
    m /= n;
    for (int i = 0; i < n; i++) var += (x[i] - m) * (x[i] - m);
    *mean = m;
    *std = n > 1 ? sqrt(var / (n - 1)) : 0; /* torch.std: unbiased */
}

int learner_advantages(const double *r, int G, enum learner_adv_mode mode, double eps, double *adv) {
    int all_equal = 1;
    for (int i = 1; i < G; i++) all_equal &= r[i] == r[0];
    if (all_equal && adv_table[mode].centred) {
        memset(adv, 0, sizeof *adv * G); /* r - mean may round to ±1 ulp instead of 0 */
        return 1;
    }
    double mean, std;
    mean_std(r, G, &mean, &std);
    adv_table[mode].group(r, G, mean, std, eps, adv);
    return all_equal;
}

void learner_whiten_advantages(enum learner_adv_mode mode, double *adv, int n, double eps) {
    if (!adv_table[mode].whiten || n == 0) return;
    double mean, std;
    mean_std(adv, n, &mean, &std);
    for (int i = 0; i < n; i++) adv[i] = (adv[i] - mean) / (std + eps); /* masked_whiten */
}

int learner_advantages_masked(const double *r, const int *graded, int G, enum learner_adv_mode mode, double eps,
                               double *adv) {
    double *kept_r = malloc(sizeof(double) * 2 * (size_t)(G > 0 ? G : 1)), *kept_adv = kept_r ? kept_r + G : NULL;
    int n = 0, flat = 1;
    for (int i = 0; i < G; i++)
        if (graded[i]) kept_r[n++] = r[i];
    memset(adv, 0, sizeof *adv * G);
    /* one graded sample has no group to be compared with (rloo's "others" is empty) */
    if (kept_r && (n > 1 || (n == 1 && !adv_table[mode].centred))) {
        flat = learner_advantages(kept_r, n, mode, eps, kept_adv);
        for (int i = 0, k = 0; i < G; i++)
            if (graded[i]) adv[i] = kept_adv[k++];
    }
    free(kept_r);
    return flat;
}

void learner_whiten_advantages_masked(enum learner_adv_mode mode, double *adv, const int *graded, int n,
                                      double eps) {
    double *kept = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    int m = 0;
    for (int i = 0; kept && i < n; i++)
        if (graded[i]) kept[m++] = adv[i];
    learner_whiten_advantages(mode, kept, m, eps);
    for (int i = 0, k = 0; kept && i < n; i++)
        if (graded[i]) adv[i] = kept[k++];
    free(kept);
}

void learner_group_advantages(const double *r, const int *group, int n, enum learner_adv_mode mode,
                              double eps, double *adv) {
    for (int start = 0, end; start < n; start = end) {
        for (end = start + 1; end < n && group[end] == group[start]; end++) {}
        learner_advantages(r + start, end - start, mode, eps, adv + start);
    }
    learner_whiten_advantages(mode, adv, n, eps);
}

/* ------------------------------------------------------- KL estimators */

/* kl(lp, ref) and d kl / d lp, with d = lp - ref. */
typedef double (*kl_fn)(double d, double *dkl);

static double kl_k1(double d, double *dkl) { return *dkl = 1, d; }
static double kl_k2(double d, double *dkl) { return *dkl = d, 0.5 * d * d; } /* 0.5 * (lp - ref) ** 2 */
static double kl_k3(double d, double *dkl) {
    double e = exp(-d); /* (ref - lp).exp() - (ref - lp) - 1 */
    *dkl = 1 - e;
    return e + d - 1;
}

static const struct { const char *name; kl_fn fn; } kl_table[] = {
    [KL_K1] = {"k1", kl_k1}, [KL_K2] = {"k2", kl_k2}, [KL_K3] = {"k3", kl_k3},
};

/* -------------------------------------------------------- policy losses */

/* pg (n,) and d pg_t / d lp_t of one completion, before TIS and KL. */
typedef void (*pg_fn)(const grpo_objective *o, int n, const double *lp, const double *old, double adv,
                      double *pg, double *dpg, int *clipped);

static double clamp(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

/* -min(ratio * A, clip(ratio) * A) for a ratio whose d ratio / d lp is
 * dratio: the clipped branch is constant. */
static void clipped_term(const grpo_objective *o, double ratio, double dratio, double adv, double *pg,
                         double *dpg, int *clipped) {
    double lo = 1 - o->clip_low, hi = 1 + o->clip_high;
    double unclipped = ratio * adv, clipped_obj = clamp(ratio, lo, hi) * adv;
    if (unclipped <= clipped_obj) { /* the min picks the unclipped term */
        *pg = -unclipped;
        *dpg = -adv * dratio;
        *clipped = 0;
    } else {
        *pg = -clipped_obj;
        *dpg = 0;
        *clipped = ratio < lo ? -1 : 1;
    }
}

static void pg_grpo(const grpo_objective *o, int n, const double *lp, const double *old, double adv,
                    double *pg, double *dpg, int *clipped) {
    /* ratio = (lp - old).exp(); pg = -torch.min(ratio * A, ratio.clamp(1 - cl, 1 + ch) * A) */
    for (int t = 0; t < n; t++) {
        double ratio = exp(lp[t] - old[t]);
        clipped_term(o, ratio, ratio, adv, &pg[t], &dpg[t], &clipped[t]);
    }
}

static void pg_gspo(const grpo_objective *o, int n, const double *lp, const double *old, double adv,
                    double *pg, double *dpg, int *clipped) {
    /* s = (lp - old).mean().exp()
     * s_t = s.detach() * (lp - lp.detach()).exp()     value s, d s_t / d lp_t = s
     * pg = -torch.min(s_t * A, s_t.clamp(1 - cl, 1 + ch) * A) */
    double mean = 0;
    for (int t = 0; t < n; t++) mean += lp[t] - old[t];
    double s = n ? exp(mean / n) : 1;
    for (int t = 0; t < n; t++) clipped_term(o, s, s, adv, &pg[t], &dpg[t], &clipped[t]);
}

static void pg_cispo(const grpo_objective *o, int n, const double *lp, const double *old, double adv,
                     double *pg, double *dpg, int *clipped) {
    /* w = (lp - old).exp().clamp(1 - cl, 1 + ch).detach(); pg = -w * A * lp */
    double lo = 1 - o->clip_low, hi = 1 + o->clip_high;
    for (int t = 0; t < n; t++) {
        double ratio = exp(lp[t] - old[t]), w = clamp(ratio, lo, hi);
        pg[t] = -w * adv * lp[t];
        dpg[t] = -w * adv;
        clipped[t] = ratio < lo ? -1 : ratio > hi ? 1 : 0;
    }
}

static const struct { const char *name; pg_fn fn; } loss_table[] = {
    [LOSS_GRPO] = {"grpo", pg_grpo}, [LOSS_GSPO] = {"gspo", pg_gspo}, [LOSS_CISPO] = {"cispo", pg_cispo},
};

static const char *const tis_names[] = {[TIS_OFF] = "off", [TIS_TOKEN] = "token", [TIS_SEQUENCE] = "sequence"};
static const char *const agg_names[] = {"token_mean", "seq_mean_token_mean", "constant"};

static int index_of(const char *name, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (!strcmp(name, names[i])) return i;
    return -1;
}

int learner_kl_kind(const char *name) {
    for (int i = 0; i < (int)(sizeof kl_table / sizeof kl_table[0]); i++)
        if (!strcmp(name, kl_table[i].name)) return i;
    return -1;
}

int learner_loss_kind(const char *name) {
    for (int i = 0; i < (int)(sizeof loss_table / sizeof loss_table[0]); i++)
        if (!strcmp(name, loss_table[i].name)) return i;
    return -1;
}

int learner_tis_kind(const char *name) { return index_of(name, tis_names, 3); }
int learner_agg_kind(const char *name) { return index_of(name, agg_names, 3); }

int learner_objective_from_config(const core_config *cfg, grpo_objective *o, core_error *err) {
    const char *names[] = {cfg->learner.kl_estimator, cfg->learner.loss, cfg->learner.tis,
                           cfg->learner.loss_agg, cfg->learner.advantage};
    const char *keys[] = {"kl_estimator", "loss", "tis", "loss_agg", "advantage"};
    int found[5] = {learner_kl_kind(names[0]), learner_loss_kind(names[1]), learner_tis_kind(names[2]),
                    learner_agg_kind(names[3]), learner_adv_mode(names[4])};
    for (int i = 0; i < 5; i++)
        if (found[i] < 0) return core_fail(err, CORE_EINPUT, "learner.%s: unknown '%s'", keys[i], names[i]);
    *o = (grpo_objective){cfg->learner.clip_low, cfg->learner.clip_high, cfg->learner.beta,
                          (enum learner_kl)found[0], cfg->learner.entropy_coef,
                          (enum learner_loss)found[1], (enum learner_tis)found[2], cfg->learner.tis_cap};
    if (o->tis != TIS_OFF && learner_sampler_is_policy(cfg))
        return core_fail(err, CORE_EINPUT, "learner.tis = %s: the sampler is the policy itself "
                         "(temperature 1, no top-k or top-p), so every weight would be 1; set "
                         "learner.tis = off", cfg->learner.tis);
    return 0;
}

/* ------------------------------------------------------------- together */

double grpo_token_loss(const grpo_objective *o, double lp, double old_lp, double ref_lp, double adv,
                       double *dlp, double *kl_out, int *clipped) {
    double pg, dpg, dkl;
    pg_grpo(o, 1, &lp, &old_lp, adv, &pg, &dpg, clipped);
    *kl_out = kl_table[o->kl].fn(lp - ref_lp, &dkl);
    *dlp = dpg + o->beta * dkl;
    return pg + o->beta * *kl_out;
}

/* The truncated importance weight of token t: min(w, cap), stop-gradient;
 * w = exp(old - sample) per token, exp(sum(old - sample)) per sequence
 * (seq_log_w, computed once). */
static double tis_weight(const grpo_objective *o, int t, const double *old, const double *sample,
                         double seq_log_w) {
    if (o->tis == TIS_OFF || !sample) return 1;
    return fmin(exp(o->tis == TIS_TOKEN ? old[t] - sample[t] : seq_log_w), o->tis_cap);
}

void grpo_seq_loss(const grpo_objective *o, int n, const double *lp, const double *old_lp,
                   const double *ref_lp, const double *sample_lp, double adv, double *loss,
                   double *dlp, double *kl, int *clipped) {
    /* loss[] holds pg and dlp[] d pg until the TIS weight and KL join them */
    loss_table[o->loss].fn(o, n, lp, old_lp, adv, loss, dlp, clipped);
    double seq_log_w = 0;
    for (int t = 0; sample_lp && t < n; t++) seq_log_w += old_lp[t] - sample_lp[t];
    for (int t = 0; t < n; t++) {
        double w = tis_weight(o, t, old_lp, sample_lp, seq_log_w), dkl;
        kl[t] = kl_table[o->kl].fn(lp[t] - ref_lp[t], &dkl);
        loss[t] = w * loss[t] + o->beta * kl[t];
        dlp[t] = w * dlp[t] + o->beta * dkl;
    }
}

void grpo_token_weights(const int *n_tokens, int n_seq, enum learner_agg agg, int max_new_tokens,
                        double *weight) {
    long total = 0;
    for (int i = 0; i < n_seq; i++) total += n_tokens[i];
    for (int i = 0; i < n_seq; i++) {
        if (n_tokens[i] == 0) {
            weight[i] = 0;
            continue;
        }
        switch (agg) {
        case AGG_TOKEN_MEAN: weight[i] = 1.0 / total; break;
        case AGG_SEQ_MEAN_TOKEN_MEAN: weight[i] = 1.0 / ((double)n_seq * n_tokens[i]); break;
        case AGG_CONSTANT: weight[i] = 1.0 / ((double)n_seq * max_new_tokens); break;
        }
    }
}
