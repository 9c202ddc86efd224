/*
 * learner/eval.h — how good is a model on the fixed held-out items.
 *
 * For each of the first eval.items held-out items: eval.k samples at
 * eval.temperature (top_p 1, rollout.max_new_tokens, stop at rollout.stop)
 * and one greedy completion, each graded by the reward functions.  Sampling
 * streams are keyed by (tasks.heldout_seed, item, sample), so every eval of
 * every run draws the same random numbers: differences between checkpoints
 * are the model's, not the dice's.
 *
 *   pass@1     mean over items of (correct samples / k)
 *   pass@k     unbiased estimator 1 - C(n-c, k)/C(n, k) with n = k samples
 *   maj@k      the most frequent extracted answer (after normalisation) is right
 *   greedy     the temperature-0 completion is right
 *   format     fraction of samples that follow the template
 *   response_len  mean sampled completion length in tokens
 *   recheck    fraction of samples that contain "wait"
 *
 * A completion the rewards could not grade (the sandbox itself failed:
 * reward_result.infra_fail) has no verdict and counts neither way, as in
 * training: an item's pass@1, pass@k and maj@k are over its graded samples
 * (n of them: pass@k's estimator with n samples), the means over the items
 * with at least one, greedy over the items whose greedy completion was
 * graded.  They are counted (infra_failures; an evals row of that name when
 * not 0), and an eval that could grade nothing fails.
 *
 * The GRPO trainer calls eval_run every eval.every steps on its policy.
 */
#ifndef GRPO_LEARNER_EVAL_H
#define GRPO_LEARNER_EVAL_H

#include <stdint.h>
#include <stdio.h>

#include "core/core.h"
#include "db/db.h"
#include "model/model.h"
#include "reward/reward.h"
#include "tasks/tasks.h"

/* One graded completion of one held-out item. */
typedef struct eval_row {
    int item;          /* index into eval_result.evaluated */
    int sample;        /* 0..k-1 sampled, -1 the greedy completion */
    char *completion;  /* as the rewards read it (malloc'd) */
    char answer[128];  /* extracted and normalised ("" if none) */
    int correct, format_ok, n_tokens;
    int infra_fail;    /* not graded (the sandbox failed): no verdict */
} eval_row;

typedef struct eval_result {
    int items, k;
    double pass1, pass_k, maj_k, greedy, format_rate, response_len, recheck_rate;
    int infra_failures;     /* completions not graded (sampled and greedy) */
    int scored_items;       /* items with at least one graded sample: pass@'s denominator */
    char infra_why[256];    /* the first ungraded completion's reason */
    double seconds;
    task_item *evaluated;   /* copies of the `items` items evaluated */
    eval_row *rows;         /* items * (k + 1) graded completions */
    int n_rows;
    char checkpoint[1024];  /* set by the caller before eval_log: the file evaluated ("": none) */
} eval_result;

/* Free the rows and item copies (the figures stay). */
void eval_result_free(eval_result *res);

/* Evaluate m on items (NULL: the held-out split of cfg's tasks).  Needs
 * model_max_batch(m) >= 1; prompts are batched up to max_batch / eval.k at a
 * time.  Overwrites the state model_forward kept for backward. */
int eval_run(model *m, const reward_fn *r, const core_config *cfg, const task_set *items,
             eval_result *out, core_error *err);

/* Unbiased pass@k from n samples of which c are correct (Chen et al. 2021). */
double eval_pass_at_k(int n, int c, int k);

/* One row per metric in evals(run_id, step, split, metric, value); metric
 * names "pass@1", "pass@K", "maj@K", "greedy", "format", "response_len",
 * "recheck" (K = eval.k); one row in eval_runs (with res->checkpoint) and
 * one per graded completion in eval_samples (item, sample, completion,
 * extracted answer, correct).  Inside the caller's transaction, if any. */
int eval_log(db *d, int64_t run_id, int64_t step, const char *split, const eval_result *res,
             core_error *err);

/* `grpo eval`: a run of kind 'eval' named run.name in cfg->db.path with
 * the result at `step` (eval_log), marked done. */
int eval_log_run(const core_config *cfg, int64_t step, const eval_result *res, core_error *err);

/* The result as one JSON object on one line. */
void eval_print_json(FILE *out, const eval_result *res);
/* The result as a short human-readable table. */
void eval_print_table(FILE *out, const eval_result *res);

#endif
