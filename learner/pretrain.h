/*
 * learner/pretrain.h — the base model: next-token training on the tasks
 * corpus, the loss on the response tokens only.
 *
 * A training sequence is  encode(prompt) ++ encode(response) ++ EOS with the
 * model's tokenizer (learner/sft.c); rollout and eval encode a prompt the
 * same way (rollout_encode_prompt), so the base model sees at sampling time
 * exactly what it was trained on.
 *
 * The base model: <run.out_dir>/<run.name>/base.safetensors (with
 * config.json beside it and the AdamW state in base.optim.safetensors),
 * written once, when the last step is done; it is never overwritten (a
 * second pretraining of the name is refused).  Until then the run keeps
 * partial checkpoints in its own folder (<run.out_dir>/<run.name>/run-<id>/
 * base-stepN, every pretrain.checkpoint_every steps and when stopped by
 * pretrain.stop_at, max_seconds or a signal); --resume continues the newest
 * pretraining of run.name from them, bit for bit the same as an
 * uninterrupted run.  So an interrupted pretraining never leaves a
 * half-trained base for `grpo train` (model.checkpoint = "") or `grpo demo`
 * to pick up.  One pretraining of a name at a time (a lock in its folder).
 */
#ifndef GRPO_LEARNER_PRETRAIN_H
#define GRPO_LEARNER_PRETRAIN_H

#include "core/core.h"
#include "learner/learner.h"
#include "model/model.h"
#include "tasks/tasks.h"

typedef struct pretrain_result {
    int steps_done;             /* optimizer steps taken in total (incl. before resume) */
    double first_heldout_loss;  /* held-out loss at the first evaluation of this call */
    double heldout_loss;        /* held-out loss at the end */
    double train_loss;          /* mean training loss over the last 50 steps */
    double seconds;             /* wall time of this call */
    double tokens_per_s;        /* tokens (prompt + response) through forward+backward */
    char checkpoint[1024];      /* the base model, or the partial checkpoint when not completed */
    int completed;              /* all pretrain.steps done: the base model is written */
} pretrain_result;

/* Train (or, with flags LEARNER_RESUME, continue; learner.h) the base
 * model from cfg; log steps to cfg->db.path ("" for none); write the
 * checkpoint.  A stop (pretrain.stop_at, max_seconds, a signal) returns 0
 * with out->completed = 0.  progress: where the progress display goes
 * (NULL: none). */
int pretrain_run(const core_config *cfg, int flags, FILE *progress, pretrain_result *out,
                 core_error *err);

/* <run.out_dir>/<run.name>/base.safetensors into out. */
void pretrain_checkpoint_path(const core_config *cfg, char *out, size_t cap);

/* Mean per-token loss on the response tokens of a fixed held-out corpus:
 * one example per held-out item, imperfections drawn from
 * tasks.heldout_seed, so the figure is comparable across runs and steps. */
int pretrain_heldout_loss(model *m, const core_config *cfg, const task_set *heldout,
                          double *loss, core_error *err);

#endif
