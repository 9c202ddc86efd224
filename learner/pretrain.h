/*
 * learner/pretrain.h — the base model: next-token training on the tasks
 * corpus, the loss on the response tokens only.
 *
 * A training sequence is  tok_encode(prompt) ++ tok_encode(response) ++ EOS,
 * padded with TOK_PAD; rollout and eval encode a prompt the same way
 * (pretrain_encode_prompt), so the base model sees at sampling time exactly
 * what it was trained on.
 *
 * Checkpoint: <run.out_dir>/<run.name>/base.safetensors (with config.json
 * beside it and the AdamW state in base.optim.safetensors), written every
 * pretrain.checkpoint_every steps and at the end; --resume continues from it
 * with the optimizer state, bit for bit the same as an uninterrupted run.
 * model.checkpoint = "" makes the GRPO trainer start from this file.
 */
#ifndef GRPO_LEARNER_PRETRAIN_H
#define GRPO_LEARNER_PRETRAIN_H

#include "core/core.h"
#include "model/model.h"
#include "tasks/tasks.h"

typedef struct pretrain_result {
    int steps_done;             /* optimizer steps taken in total (incl. before resume) */
    double first_heldout_loss;  /* held-out loss at the first evaluation of this call */
    double heldout_loss;        /* held-out loss at the end */
    double train_loss;          /* mean training loss over the last 50 steps */
    double seconds;             /* wall time of this call */
    double tokens_per_s;        /* tokens (prompt + response) through forward+backward */
    char checkpoint[1024];      /* where the base model was written */
} pretrain_result;

/* Train (or, with resume, continue) the base model from cfg; log steps to
 * cfg->db.path ("" for none); write the checkpoint.  progress: where the
 * progress display goes (NULL: none). */
int pretrain_run(const core_config *cfg, int resume, FILE *progress, pretrain_result *out,
                 core_error *err);

/* <run.out_dir>/<run.name>/base.safetensors into out. */
void pretrain_checkpoint_path(const core_config *cfg, char *out, size_t cap);

/* Prompt text -> token ids as in training.  Returns the count, or -1 if it
 * does not fit in max_ids. */
int pretrain_encode_prompt(const char *prompt, int *ids, int max_ids);

/* Mean per-token loss on the response tokens of a fixed held-out corpus:
 * one example per held-out item, imperfections drawn from
 * tasks.heldout_seed, so the figure is comparable across runs and steps. */
int pretrain_heldout_loss(model *m, const core_config *cfg, const task_set *heldout,
                          double *loss, core_error *err);

#endif
