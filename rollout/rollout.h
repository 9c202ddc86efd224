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
 * Ranks: world ranks 0..L-1 learn (run.learners = L), L..N-1 are the W
 * rollout workers.  Three communicators: `learners` (0..L-1), `workers`
 * (L..N-1) and `rollout` (world rank 0 with the workers; in it the learner
 * is rank 0 and the workers 1..W).  Worker ranks in messages and in the
 * episodes log are world ranks.
 *
 * MPI protocol on `rollout`, per launched step:
 *   rank 0 → all   MPI_Bcast  step header: command, step, policy version,
 *                             whether weights follow
 *   rank 0 → all   MPI_Bcast  the weights, only when they changed
 *   rank 0 → all   MPI_Bcast  the batch: prompt texts and gold answers
 *   worker → 0     MPI_Isend  one packed group per prompt it owns
 *                             (prompt i belongs to worker 1 + i mod W),
 *                             or an error message; the tag carries the step
 * Several steps may be launched before the first is collected (asynchronous
 * rollouts): each is sampled with the weights of its launch, and groups
 * that arrive for a later step wait in its launch until it is collected.
 */
#ifndef GRPO_ROLLOUT_H
#define GRPO_ROLLOUT_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "model/model.h"
#include "reward/reward.h"

#define ROLLOUT_MAGIC 0x47525030u /* "GRP0" */
#define ROLLOUT_VERSION 3 /* 2: infra_fail per completion; 3: a failed test's message */

/* One prompt of a step, as the learner hands it out. */
typedef struct rollout_prompt {
    int index;          /* position in the step's batch (keys the RNG streams) */
    const char *text;   /* templated prompt */
    const char *gold;   /* gold answer; may be NULL */
    const char *tests;  /* code tests (JSON); may be NULL */
} rollout_prompt;

typedef struct rollout_completion {
    int n_tokens;
    int *tokens;        /* n_tokens ids (owned by the group) */
    float *logprob;     /* sampling log-prob of each token */
    int finish;         /* enum model_finish */
    reward_result reward;
    double t_sample, t_reward; /* seconds: this sample's share of the group's decode, its grading */
    int n_code_runs;           /* the code reward's test runs (sandbox_runs rows) */
    reward_code_run *code_runs; /* as the reward returned them (reward.h) */
} rollout_completion;

typedef struct rollout_group {
    int prompt_index, G, worker, policy_version;
    rollout_completion *c;   /* G completions */
    int *token_store;        /* backing store for every c[i].tokens */
    float *logprob_store;    /* backing store for every c[i].logprob */
} rollout_group;

void rollout_group_free(rollout_group *g);

/* Encode a prompt with the model's tokenizer, the way the base model was
 * trained to read it (as learner/sft.c encodes a training prompt): no
 * special tokens added beyond those written in the template.
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
 * batch; every sample is the same as if its group were decoded alone.
 * A batch's completions are graded sandbox.workers at a time, and with
 * rollout.overlap_grading (read from the reward's config) while the next
 * batch decodes; the groups are bitwise the same either way.  A completion
 * the sandbox failed on is kept, flagged reward.infra_fail. */
int rollout_generate_groups(model *m, const reward_fn *r, const rollout_prompt *prompts, int n,
                            const rollout_params *rp, rollout_group *groups, core_error *err);

/* Pack a group into one malloc'd buffer; unpack validates it (magic, version,
 * every length and token id) and fills a group that owns its memory. */
int rollout_pack(const rollout_group *g, void **buf, size_t *len, core_error *err);
int rollout_unpack(const void *buf, size_t len, int vocab, rollout_group *out, core_error *err);

/* ------------------------------------------------------------------- MPI */

typedef struct rollout_comm rollout_comm;

/* Set up MPI (singleton when started without mpirun) and the communicators
 * for run.learners = n_learners.  *rank and *n_ranks (world) are filled.
 * CORE_EINPUT when the job has fewer ranks than learners.  With one rank no
 * message is ever sent. */
int rollout_comm_init(rollout_comm **out, int *argc, char ***argv, int n_learners, int *rank,
                      int *n_ranks, core_error *err);
void rollout_comm_finalize(rollout_comm *c);
int rollout_comm_workers(const rollout_comm *c);  /* W, 0 when every rank learns */
int rollout_comm_learners(const rollout_comm *c); /* L */
int rollout_learner_rank(const rollout_comm *c);  /* 0..L-1, or -1 on a worker */
/* Abort every rank (after a worker error the run cannot go on). */
void rollout_comm_abort(rollout_comm *c, int code);

/* Learner side (world rank 0).  rollout_launch starts a step's rollouts
 * with the policy's weights as they are now: broadcast to the workers, or,
 * when there are none, sampled here at once.  Weights travel only when
 * weights_changed or rp->policy_version differs from the last sent.  The
 * prompts' indices are consecutive.  rollout_collect waits for the oldest
 * launched step (it must be `step`, with n prompts) and moves its groups
 * into groups[0..n), groups[i] for the launch's prompts[i]; a worker error
 * stops with a message naming its rank.  rollout_step is both at once. */
int rollout_launch(rollout_comm *c, model *policy, const reward_fn *r, const rollout_prompt *prompts,
                   int n, const rollout_params *rp, int weights_changed, core_error *err);
int rollout_collect(rollout_comm *c, int64_t step, rollout_group *groups, int n, core_error *err);
int rollout_in_flight(const rollout_comm *c); /* launched, not yet collected */
int rollout_step(rollout_comm *c, model *policy, const reward_fn *r, const rollout_prompt *prompts,
                 int n_prompts, const rollout_params *rp, int weights_changed,
                 rollout_group *groups, core_error *err);
/* Learner side: drain the steps still in flight, then tell the workers to exit. */
void rollout_stop_workers(rollout_comm *c);
/* 1 after rollout_step found a worker that stopped answering (it waited
 * rollout.worker_timeout_s): the job can then only end by
 * rollout_comm_abort, and rollout_stop_workers does nothing. */
int rollout_comm_broken(const rollout_comm *c);

/* Worker side: serve steps until the learner says stop. */
int rollout_worker_loop(rollout_comm *c, model *policy, const reward_fn *r, core_error *err);

/* The learner group (no-ops with one learner).  bcast: from learner 0.
 * allgather: learner r contributes lens[r] bytes; `all` receives them in
 * rank order.  sum_i128: elementwise sum over the learners, in place;
 * integer addition, so the result does not depend on the reduction order.
 * sum_doubles: MPI_SUM, for vectors where every element is non-zero on at
 * most one learner (then the order cannot matter either). */
void rollout_learners_bcast(rollout_comm *c, void *buf, size_t len);
/* The same for a short message the others may wait long for: they sleep
 * while they wait instead of spinning (every learner calls this one). */
void rollout_learners_bcast_idle(rollout_comm *c, void *buf, size_t len);
int rollout_learners_allgather(rollout_comm *c, const void *mine, const size_t *lens, void *all,
                               core_error *err);
void rollout_learners_sum_i128(rollout_comm *c, __int128 *v, size_t n);
void rollout_learners_sum_doubles(rollout_comm *c, double *v, size_t n);

#endif
