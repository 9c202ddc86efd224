/* learner/distill_internal.h — what distill's files share. */
#ifndef GRPO_LEARNER_DISTILL_INTERNAL_H
#define GRPO_LEARNER_DISTILL_INTERNAL_H

#include "learner/distill.h"
#include "learner/internal.h"
#include "learner/sft.h"

typedef struct distill_ctx {
    const core_config *cfg;
    enum distill_objective obj;
    model *student, *teacher;   /* teacher: NULL unless sampling or a KL objective */
    reward_fn *reward;
    task_source *tasks;
    db *db;
    int64_t run_id;
    db_distill_row *rows;       /* the dataset, in order */
    int n_rows;
    char **prompts;             /* rows[i].question rendered with tasks.template */
    int *order, order_epoch;    /* row order of one pass over the dataset */
    int *batch_rows;            /* (distill.batch) the dataset rows of the step */
    sft_batch bt;
    float *dlogits;             /* (distill.batch * max_seq, V): KL objectives */
    char run_dir[1024];         /* learner/checkpoints.h: the run's own folder */
    int lock_fd;                /* its lock, -1 when not held */
    FILE *progress;
} distill_ctx;

/* What one optimizer step measured. */
typedef struct distill_step_stats {
    double loss, grad_norm, lr, accuracy; /* accuracy: on_policy samples' (else NAN) */
    long tokens;
} distill_step_stats;

/* The sampler settings of [rollout] (teacher samples, on-policy samples). */
model_sample_params distill_sample_params(const core_config *cfg);
/* distill_teacher.c: rejection sampling into a new run of kind 'samples'. */
int distill_sample_teacher(distill_ctx *D, int64_t *samples_run, core_error *err);
/* distill_step.c: one optimizer step (0-based step). */
int distill_step(distill_ctx *D, int step, distill_step_stats *st, core_error *err);

#endif
