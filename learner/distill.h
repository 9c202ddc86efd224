/*
 * learner/distill.h — `grpo distill`: train a student from a teacher's
 * traces (R1's distillation, in miniature).
 *
 * Where the traces come from:
 *   --where COND      episodes already in the database (COND: SQL on the
 *                     columns of episodes), distinct (prompt, completion)
 *                     pairs, at most distill.per_prompt per prompt;
 *   --teacher --samples N   rejection sampling: the teacher answers
 *                     distill.prompts training prompts N times each through
 *                     the rollout path, every sample is stored as a run of
 *                     kind 'samples' (named <run.name>-teacher), and the
 *                     correct ones (AND COND, if given) are the traces.
 * The chosen episodes are the distill run's dataset (distill_examples), so
 *   SELECT * FROM distill_traces WHERE student_run = ID
 * lists the traces that taught a student, with their rewards.
 *
 * Objectives (distill.objective), per position t of a trace's response that
 * predicts token t+1, averaged over those positions:
 *   sft         -log p_S(y_t+1)                       (the trace's tokens)
 *   forward_kl  KL(p_T || p_S) = sum_v p_T (log p_T - log p_S)   on the trace
 *   on_policy   KL(p_S || p_T) = sum_v p_S (log p_S - log p_T)   on the
 *               student's own sample for the trace's prompt (GKD with
 *               lambda = 1: every sequence on-policy, full-vocabulary KL)
 * Teacher and student must share the tokenizer (same vocab) for the KL
 * objectives.
 *
 * The student starts from [model] (model.checkpoint, or the pretrained base
 * in run.out_dir); steps, evals (to `evals`) and checkpoints
 * (<run.out_dir>/<run.name>/run-<id>/distill-stepNNNNNN.safetensors, the
 * folder locked while the run trains) are recorded like train's, and --resume continues from the newest checkpoint, bit for
 * bit the same as an uninterrupted run.
 */
#ifndef GRPO_LEARNER_DISTILL_H
#define GRPO_LEARNER_DISTILL_H

#include <stdint.h>
#include <stdio.h>

#include "core/core.h"

enum distill_objective { DISTILL_SFT, DISTILL_FORWARD_KL, DISTILL_ON_POLICY };
int distill_objective_kind(const char *name); /* -1 if unknown */

/* One position's KL between the student's and the teacher's next-token
 * distributions, from their logits (V each).  Returns the KL; adds
 * weight * d KL / d student_logits into dlogits (V):
 *   forward  KL(T||S):  d/dz_j = p_S,j - p_T,j
 *   reverse  KL(S||T):  d/dz_j = p_S,j (log p_S,j - log p_T,j - KL)      */
double distill_forward_kl(const float *student_logits, const float *teacher_logits, int V,
                          float weight, float *dlogits);
double distill_reverse_kl(const float *student_logits, const float *teacher_logits, int V,
                          float weight, float *dlogits);

typedef struct distill_result {
    int64_t run_id, samples_run_id;  /* samples_run_id: the teacher's samples (0: none) */
    int64_t n_traces;                /* rows in the dataset */
    int steps_done;
    double first_loss, last_loss;    /* objective on the first and last step's batch */
    double seconds;
    char checkpoint[1024];           /* the final student */
} distill_result;

/* The whole distillation (see above); progress display to `progress`
 * (NULL: none).  Bad input (empty selection, SQL error in the condition,
 * a teacher that does not load or whose vocab differs in a KL mode, a
 * setting the objective does not use) is CORE_EINPUT with nothing written. */
int distill_run(const core_config *cfg, int resume, FILE *progress, distill_result *out,
                core_error *err);

#endif
