/*
 * rollout/ — turn prompts into groups of scored completions, and carry them
 * between ranks.
 *
 * A group is G completions of one prompt, sampled from the policy with the
 * prompt's KV cache shared (model_sample_group) and graded by the reward
 * components.  Every sample draws from its own stream keyed by
 * (run.seed, step, prompt index, sample index), never by rank, so the same
 * seed gives the same groups on one rank or many.
 *
 * Between ranks a group travels as one contiguous buffer: a header (magic,
 * version, lengths), then per completion its token ids, sampling log-probs,
 * finish reason, reward parts, the code reward's sandbox runs, timings,
 * worker rank and policy version.  The
 * receiver validates every length before it uses the buffer.
 *
 * MPI protocol (rank 0 the learner, ranks 1..W the workers), per step:
 *   rank 0 → all   MPI_Bcast  step header: command, step, policy version,
 *                             whether weights follow
 *   rank 0 → all   MPI_Bcast  the weights, only when they changed
 *   rank 0 → all   MPI_Bcast  the batch: prompt texts and gold answers
 *   worker → 0     MPI_Send   one packed group per prompt it owns
 *                             (prompt i belongs to worker 1 + i mod W),
 *                             or an error message naming the rank
 */
#ifndef GRPO_ROLLOUT_H
#define GRPO_ROLLOUT_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "model/model.h"
#include "reward/code.h"
#include "reward/reward.h"

#define ROLLOUT_MAGIC 0x47525030u /* "GRP0" */
#define ROLLOUT_VERSION 1

/* One prompt of a step, as the learner hands it out. */
typedef struct rollout_prompt {
    int index;          /* position in the step's batch (keys the RNG streams) */
    const char *text;   /* templated prompt */
    const char *gold;   /* gold answer; may be NULL */
    const char *tests;  /* code tests (JSON); may be NULL */
} rollout_prompt;

/* One sandbox run of a code reward's test, as it travels and is logged. */
typedef struct rollout_code_run {
    int32_t test, passed, exit_code, signal;
    double cpu_ms, wall_ms;
    int64_t rss_kb;
    char verdict[24];
    char output[REWARD_CODE_EXCERPT];
} rollout_code_run;

typedef struct rollout_completion {
    int n_tokens;
    int *tokens;        /* n_tokens ids (owned by the group) */
    float *logprob;     /* sampling log-prob of each token */
    int finish;         /* enum model_finish */
    reward_result reward;
    double t_sample, t_reward; /* seconds: this sample's share of the group's decode, its grading */
    int n_code_runs;           /* the code reward's test runs (sandbox_runs rows) */
    rollout_code_run *code_runs;
} rollout_completion;

typedef struct rollout_group {
    int prompt_index, G, worker, policy_version;
    rollout_completion *c;   /* G completions */
    int *token_store;        /* backing store for every c[i].tokens */
    float *logprob_store;    /* backing store for every c[i].logprob */
} rollout_group;

void rollout_group_free(rollout_group *g);

/* Encode a prompt with the model's tokenizer, the way the base model was
 * trained to read it (as pretrain_encode_prompt does; a test checks the two
 * agree): no special tokens added beyond those written in the template.
 * Returns the number of ids, or -1 if it does not fit in max_ids. */
int rollout_encode_prompt(const tokenizer *tok, const char *text, int *ids, int max_ids);
/* A completion's text as the rewards read it: special tokens (eos, pad)
 * dropped.  malloc'd; NULL when out of memory. */
char *rollout_completion_text(const tokenizer *tok, const rollout_completion *c);

typedef struct rollout_params {
    uint64_t seed;
    int64_t step;
    int G;
    model_sample_params sample;
    int worker;            /* rank that produced the group (recorded) */
    int policy_version;
} rollout_params;

/* Sample and grade the groups of n prompts into groups[0..n).  As many
 * prompts as the model's max_batch holds (max_batch / G) decode as one
 * batch; every sample is the same as if its group were decoded alone. */
int rollout_generate_groups(model *m, const reward_fn *r, const rollout_prompt *prompts, int n,
                            const rollout_params *rp, rollout_group *groups, core_error *err);

/* Pack a group into one malloc'd buffer; unpack validates it (magic, version,
 * every length and token id) and fills a group that owns its memory. */
int rollout_pack(const rollout_group *g, void **buf, size_t *len, core_error *err);
int rollout_unpack(const void *buf, size_t len, int vocab, rollout_group *out, core_error *err);

/* ------------------------------------------------------------------- MPI */

typedef struct rollout_comm rollout_comm;

/* Set up MPI (singleton when started without mpirun) and the communicators:
 * learner group (rank 0) and rollout group (ranks 1..W).  *rank and *n_ranks
 * are filled.  With one rank no message is ever sent. */
int rollout_comm_init(rollout_comm **out, int *argc, char ***argv, int *rank, int *n_ranks,
                      core_error *err);
void rollout_comm_finalize(rollout_comm *c);
int rollout_comm_workers(const rollout_comm *c); /* W, 0 when single rank */
/* Abort every rank (after a worker error the run cannot go on). */
void rollout_comm_abort(rollout_comm *c, int code);

/* Learner side: run a step's rollouts on the workers (or locally when there
 * are none).  Weights are broadcast only when weights_changed.  The prompts'
 * indices are consecutive; groups[i] receives prompts[i]'s group.  A worker error stops with a message naming
 * its rank. */
int rollout_step(rollout_comm *c, model *policy, const reward_fn *r, const rollout_prompt *prompts,
                 int n_prompts, const rollout_params *rp, int weights_changed,
                 rollout_group *groups, core_error *err);
/* Learner side: tell the workers to exit. */
void rollout_stop_workers(rollout_comm *c);
/* 1 after rollout_step found a worker that stopped answering (it waited
 * rollout.worker_timeout_s): the job can then only end by
 * rollout_comm_abort, and rollout_stop_workers does nothing. */
int rollout_comm_broken(const rollout_comm *c);

/* Worker side: serve steps until the learner says stop. */
int rollout_worker_loop(rollout_comm *c, model *policy, const reward_fn *r, core_error *err);

#endif
