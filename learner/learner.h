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

enum learner_adv_mode { ADV_GRPO, ADV_DRGRPO, ADV_RLOO };
int learner_adv_mode(const char *name); /* -1 if unknown */

/* Advantages of a group of G rewards:
 *   grpo   (r - mean) / (std + eps), std the unbiased sample std (torch.std)
 *   drgrpo r - mean                                  (Dr. GRPO: no std)
 *   rloo   r - mean of the other G-1                 (leave-one-out)
 * Returns 1 when every reward in the group is equal (zero variance; the
 * advantages are then all 0), else 0. */
int learner_advantages(const double *rewards, int G, enum learner_adv_mode mode, double eps,
                       double *adv);

/* -------------------------------------------------------------- objective */

enum learner_kl { KL_K1, KL_K3 };
enum learner_agg { AGG_TOKEN_MEAN, AGG_SEQ_MEAN_TOKEN_MEAN, AGG_CONSTANT };
int learner_kl_kind(const char *name);  /* -1 if unknown */
int learner_agg_kind(const char *name); /* -1 if unknown */

typedef struct grpo_objective {
    double clip_low, clip_high; /* ratio clipped to [1 - clip_low, 1 + clip_high] */
    double beta;                /* KL coefficient */
    enum learner_kl kl;
    double entropy_coef;        /* loss -= entropy_coef * entropy */
} grpo_objective;

/* Per-token loss of GRPO for one completion token:
 *   ratio = exp(lp - old_lp)
 *   pg    = -min(ratio * A, clip(ratio, 1 - cl, 1 + ch) * A)
 *   kl    = k1: lp - ref_lp ;  k3: exp(ref_lp - lp) - (ref_lp - lp) - 1
 *   loss  = pg + beta * kl
 * Returns loss; *dlp = d loss / d lp; *kl_out the KL estimate; *clipped
 * -1 when the low clip is active, +1 the high clip, 0 neither. */
double grpo_token_loss(const grpo_objective *o, double lp, double old_lp, double ref_lp, double adv,
                       double *dlp, double *kl_out, int *clipped);

/* The weight of each token of sequence i in the aggregated loss:
 *   token_mean            1 / (tokens in the batch)
 *   seq_mean_token_mean   1 / (n_seq * tokens in sequence i)
 *   constant              1 / (n_seq * max_new_tokens)       (Dr. GRPO)
 * Sequences with 0 tokens get 0. */
void grpo_token_weights(const int *n_tokens, int n_seq, enum learner_agg agg, int max_new_tokens,
                        double *weight);

/* --------------------------------------------------------------- training */

/* `grpo train`: the whole run on this rank (learner on rank 0, a rollout
 * worker elsewhere).  resume: continue the run of this name from its last
 * checkpoint.  Returns 0 or a CORE_E* code with err filled. */
int learner_train(const core_config *cfg, int resume, int *argc,
                  char ***argv, core_error *err);

#endif
