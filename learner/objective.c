/*
 * objective.c — the arithmetic of GRPO: advantages, the clipped per-token
 * objective with the KL penalty, and loss-aggregation weights.  The PyTorch
 * lines each function implements are in the comments; tests/learner checks
 * both against hand-computed values and autograd.
 */
#include <math.h>
#include <string.h>

#include "learner/learner.h"

static int index_of(const char *name, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (!strcmp(name, names[i])) return i;
    return -1;
}

int learner_adv_mode(const char *name) {
    static const char *const names[] = {"grpo", "drgrpo", "rloo"};
    return index_of(name, names, 3);
}

int learner_kl_kind(const char *name) {
    static const char *const names[] = {"k1", "k3"};
    return index_of(name, names, 2);
}

int learner_agg_kind(const char *name) {
    static const char *const names[] = {"token_mean", "seq_mean_token_mean", "constant"};
    return index_of(name, names, 3);
}

int learner_advantages(const double *r, int G, enum learner_adv_mode mode, double eps, double *adv) {
    double mean = 0;
    for (int i = 0; i < G; i++) mean += r[i];
    mean /= G;
    int all_equal = 1;
    for (int i = 1; i < G; i++) all_equal &= r[i] == r[0];
    if (all_equal) {
        memset(adv, 0, sizeof *adv * G);
        return 1;
    }
    double var = 0;
    for (int i = 0; i < G; i++) var += (r[i] - mean) * (r[i] - mean);
    double std = G > 1 ? sqrt(var / (G - 1)) : 0; /* torch.std: unbiased */
    for (int i = 0; i < G; i++) {
        switch (mode) {
        case ADV_GRPO: adv[i] = (r[i] - mean) / (std + eps); break;
        case ADV_DRGRPO: adv[i] = r[i] - mean; break;
        case ADV_RLOO: adv[i] = G > 1 ? (r[i] - mean) * G / (G - 1) : 0; break;
        }
    }
    return 0;
}

double grpo_token_loss(const grpo_objective *o, double lp, double old_lp, double ref_lp, double adv,
                       double *dlp, double *kl_out, int *clipped) {
    /* ratio = (lp - old_lp).exp()
     * pg = -torch.min(ratio * A, ratio.clamp(1 - cl, 1 + ch) * A) */
    double ratio = exp(lp - old_lp);
    double lo = 1 - o->clip_low, hi = 1 + o->clip_high;
    double clamped = ratio < lo ? lo : ratio > hi ? hi : ratio;
    double unclipped_obj = ratio * adv, clipped_obj = clamped * adv;
    double pg, dpg;
    if (unclipped_obj <= clipped_obj) { /* the min picks the unclipped term */
        pg = -unclipped_obj;
        dpg = -adv * ratio;
        *clipped = 0;
    } else { /* the clipped term is constant in lp */
        pg = -clipped_obj;
        dpg = 0;
        *clipped = ratio < lo ? -1 : 1;
    }
    /* k1: lp - ref_lp ; k3: (ref_lp - lp).exp() - (ref_lp - lp) - 1 */
    double kl, dkl;
    if (o->kl == KL_K1) {
        kl = lp - ref_lp;
        dkl = 1;
    } else {
        double d = ref_lp - lp, e = exp(d);
        kl = e - d - 1;
        dkl = 1 - e;
    }
    *kl_out = kl;
    *dlp = dpg + o->beta * dkl;
    return pg + o->beta * kl;
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
