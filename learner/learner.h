/*
 * learner/ — GRPO: group-relative advantages, the clipped objective with a
 * KL penalty toward a frozen reference, loss aggregation, the update, and
 * the training loop with logging, eval, checkpoints and exact resume.
 *
 * The objective is built from per-token log-probs (model_forward) and its
 * gradient handed back per token (model_backward), so every choice here is
 * a few lines of arithmetic on arrays, tested against hand-computed values
 * and against PyTorch autograd.
 */
#ifndef GRPO_LEARNER_H
#define GRPO_LEARNER_H

#include <stdint.h>

#include "core/core.h"

/* ------------------------------------------------------------ advantages */

/* The advantage estimators, by name (learner.advantage), in one table
 * (objective.c), verl core_algos style.  Of the G rewards r of one group:
 *   grpo                          (r - mean) / (std + eps), std unbiased (torch.std)
 *   drgrpo                        r - mean                        (Dr. GRPO: no std)
 *   rloo                          r - mean of the other G-1       (leave-one-out)
 *   reinforce_plus_plus           r, then whitened over the step's batch:
 *                                 (a - batch mean) / (batch std + eps)  (REINFORCE++)
 *   reinforce_plus_plus_baseline  r - mean, then whitened over the batch
 *                                 (REINFORCE++-baseline)
 * The first three are complete per group; the last two need
 * learner_whiten_advantages over the whole step after the groups. */
enum learner_adv_mode { ADV_GRPO, ADV_DRGRPO, ADV_RLOO, ADV_REINFORCE_PP, ADV_REINFORCE_PP_BASELINE };
int learner_adv_mode(const char *name); /* -1 if unknown */

/* Advantages of a group of G rewards (before any batch whitening).
 * Returns 1 when every reward in the group is equal (zero variance; the
 * group-centred estimators then give exactly 0), else 0. */
int learner_advantages(const double *rewards, int G, enum learner_adv_mode mode, double eps,
                       double *adv);
/* The batch step of the estimators that have one (no-op for the others):
 * adv (n,) over every completion of the step, whitened in place
 *   adv = (adv - mean) / (std + eps), std unbiased. */
void learner_whiten_advantages(enum learner_adv_mode mode, double *adv, int n, double eps);
/* The same with some completions not graded (graded[i] = 0: the sandbox
 * failed on it): the group's (and the batch's) statistics are computed over
 * the graded ones alone, exactly as learner_advantages on that smaller
 * group; an ungraded one gets advantage 0 (and the caller leaves it out of
 * the update).  A group with no graded completion, or a group-centred
 * estimator with one, is all zeros and returns 1 (it carries no signal). */
int learner_advantages_masked(const double *rewards, const int *graded, int G, enum learner_adv_mode mode,
                              double eps, double *adv);
void learner_whiten_advantages_masked(enum learner_adv_mode mode, double *adv, const int *graded, int n,
                                      double eps);

/* Advantages of n completions in runs of equal group[i] (each run one
 * group, as a step lists them), then the batch step: what
 * learner.kl_reward uses once it has lowered each reward by its KL. */
void learner_group_advantages(const double *rewards, const int *group, int n, enum learner_adv_mode mode,
                              double eps, double *adv);

/* -------------------------------------------------------------- objective */

/* KL estimators toward the reference (learner.kl_estimator), per token with
 * d = lp - ref_lp:  k1 = d ;  k2 = d^2 / 2 ;  k3 = exp(-d) + d - 1. */
enum learner_kl { KL_K1, KL_K2, KL_K3 };
enum learner_agg { AGG_TOKEN_MEAN, AGG_SEQ_MEAN_TOKEN_MEAN, AGG_CONSTANT };
/* Policy losses (learner.loss); see grpo_seq_loss. */
enum learner_loss { LOSS_GRPO, LOSS_GSPO, LOSS_CISPO };
/* Truncated importance sampling toward the sampler (learner.tis). */
enum learner_tis { TIS_OFF, TIS_TOKEN, TIS_SEQUENCE };
int learner_kl_kind(const char *name);   /* -1 if unknown */
int learner_agg_kind(const char *name);  /* -1 if unknown */
int learner_loss_kind(const char *name); /* -1 if unknown */
int learner_tis_kind(const char *name);  /* -1 if unknown */

typedef struct grpo_objective {
    double clip_low, clip_high; /* ratio clipped to [1 - clip_low, 1 + clip_high] */
    double beta;                /* KL coefficient */
    enum learner_kl kl;
    double entropy_coef;        /* loss -= entropy_coef * entropy */
    enum learner_loss loss;
    enum learner_tis tis;
    double tis_cap;             /* truncated importance weights are min(w, tis_cap) */
} grpo_objective;

/* The objective of the config's [learner] keys; an unknown name is an error
 * naming the key. */
int learner_objective_from_config(const core_config *cfg, grpo_objective *o, core_error *err);

/* Per-token loss of GRPO for one completion token (loss = grpo, no TIS):
 *   ratio = exp(lp - old_lp)
 *   pg    = -min(ratio * A, clip(ratio, 1 - cl, 1 + ch) * A)
 *   loss  = pg + beta * kl(lp, ref_lp)
 * Returns loss; *dlp = d loss / d lp; *kl_out the KL estimate; *clipped
 * -1 when the low clip is active, +1 the high clip, 0 neither. */
double grpo_token_loss(const grpo_objective *o, double lp, double old_lp, double ref_lp, double adv,
                       double *dlp, double *kl_out, int *clipped);

/* The per-token losses of one completion of n tokens, every policy loss
 * and option in one place.  Inputs (n,): lp under the policy being learned,
 * old_lp under the policy before this update, ref_lp under the reference,
 * sample_lp under the sampler (may be NULL with tis off); adv the
 * completion's advantage.  sg() is stop-gradient.
 *   grpo   r_t = exp(lp_t - old_t)        pg_t = -min(r_t A, clip(r_t) A)
 *   gspo   s = exp(mean_t(lp_t - old_t))  (GSPO: sequence-level ratio)
 *          s_t = sg(s) exp(lp_t - sg(lp_t))  pg_t = -min(s_t A, clip(s_t) A)
 *          (value s, gradient d s_t / d lp_t = s; clipped per sequence)
 *   cispo  pg_t = -sg(clip(r_t)) A lp_t   (CISPO: clipped, stop-gradient
 *          importance weight; every token keeps its gradient)
 * with clip(x) = clamp(x, 1 - clip_low, 1 + clip_high).  TIS multiplies
 * pg_t by sg(min(w, tis_cap)), w = exp(old_t - sample_t) per token, or
 * exp(sum_t (old_t - sample_t)) per sequence.  Then
 *   loss_t = pg_t + beta * kl(lp_t, ref_t)
 * Out (n,): loss, dlp = d loss_t / d lp_t (loss_t depends on no other
 * token's lp once the stop-gradients are applied), kl, clipped (as above). */
void grpo_seq_loss(const grpo_objective *o, int n, const double *lp, const double *old_lp,
                   const double *ref_lp, const double *sample_lp, double adv, double *loss,
                   double *dlp, double *kl, int *clipped);

/* The weight of each token of sequence i in the aggregated loss:
 *   token_mean            1 / (tokens in the batch)
 *   seq_mean_token_mean   1 / (n_seq * tokens in sequence i)
 *   constant              1 / (n_seq * max_new_tokens)       (Dr. GRPO)
 * Sequences with 0 tokens get 0. */
void grpo_token_weights(const int *n_tokens, int n_seq, enum learner_agg agg, int max_new_tokens,
                        double *weight);

/* --------------------------------------------------------------- training */

/* How a run starts (flags, or-ed): LEARNER_RESUME continues the newest run
 * of run.name from its newest checkpoint that loads; LEARNER_ALLOW_CHANGED
 * lets a resume change settings that alter the run (recorded in run_events;
 * refused without it). */
enum { LEARNER_RESUME = 1, LEARNER_ALLOW_CHANGED = 2 };

/* `grpo train`: the whole run on this rank (learner on rank 0, a rollout
 * worker elsewhere).  Checkpoints go to <run.out_dir>/<run.name>/run-<id>,
 * locked while the run trains.  A run stopped by a signal (core_stop_install)
 * or run.max_minutes checkpoints its last step, sets runs.status to
 * "stopped" or "time_limit" and returns 0.  Returns 0 or a CORE_E* code
 * with err filled. */
int learner_train(const core_config *cfg, int flags, int *argc,
                  char ***argv, core_error *err);

#endif
