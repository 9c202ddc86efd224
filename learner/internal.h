/* learner/internal.h — what the learner's own files share. */
#ifndef GRPO_LEARNER_INTERNAL_H
#define GRPO_LEARNER_INTERNAL_H

#include "db/db.h"
#include "learner/learner.h"
#include "model/model.h"
#include "reward/reward.h"
#include "rollout/rollout.h"
#include "tasks/tasks.h"

struct step_batch;

/* Everything a run holds on rank 0 (learners 1..L-1 fill cfg, policy, ref,
 * max_batch, comm and the objective only). */
typedef struct learner_ctx {
    const core_config *cfg;
    model *policy, *ref;
    int max_batch;              /* sequences per forward: max(LEARN_CHUNK, G) */
    reward_fn *reward;
    task_source *tasks;
    rollout_comm *comm;
    db *db;
    int64_t run_id;
    grpo_objective obj;
    enum learner_adv_mode adv;
    enum learner_agg agg;
    int policy_version;
    int nonfinite_streak;
    int infra_failures, graded_total; /* the last step: completions not graded, and all */
    char infra_why[200];        /* the last step's first infrastructure failure, in words */
    char run_dir[1024];         /* <out_dir>/<name>/run-<id> (checkpoints.h) */
    int lock_fd;                /* the run's lock, -1 before it is taken */
    char resumed_from[1200];    /* checkpoint the run resumed from ("" if none) */
    struct step_batch *ahead;   /* rollout.async: launched steps, slot step % (staleness + 1) */
    int64_t launched;           /* rollout.async: the last step launched */
} learner_ctx;

/* Items that carry tests are graded by running them: a reward without
 * accuracy_code would score them on something else (a math reward compares
 * the answer with the reference program's text), silently.  CORE_EINPUT
 * naming reward.components and the first such item (eval.c; train, eval). */
int learner_check_reward_fits(const core_config *cfg, const task_set *items, core_error *err);

/* Sequences per forward/backward in the update (see update.c). */
enum { LEARN_CHUNK = 32 };

/* One completion as the update sees it. */
typedef struct learn_seq {
    const int *prompt, *completion;
    int prompt_len, n_tok;
    const float *sample_lp;     /* the sampler's log-prob of each completion token */
    double adv;
    double reward;              /* its reward, and its group's index in the step, for */
    int group;                  /* learner.kl_reward, which recomputes the advantages */
    double *adv_log;            /* where the advantage the update used is logged */
} learn_seq;

typedef struct update_stats {
    double loss, kl, entropy, grad_norm, lr;
    double lp_mismatch;         /* mean |old - sampler| log-prob over tokens (NAN: not computed) */
    double clip_low, clip_high; /* counts, then fractions */
    long n_tokens, n_clip_tokens;
    int n_minibatches, n_updates, skipped;
} update_stats;

/* 1 when the sampler draws from the policy itself (temperature 1, no top-k,
 * no top-p, synchronous rollouts), so its log-probs are the old policy's. */
int learner_sampler_is_policy(const core_config *cfg);
/* base.c: the model a run starts from, with fresh optimizer moments (a base saved
 * by pretraining carries its own): model.path (a Hugging Face directory,
 * whose config.json gives the shape; [model] shape keys set are refused),
 * model.checkpoint, or the base `grpo pretrain` wrote. */
int learner_load_base(const core_config *cfg, int max_batch, model **out, core_error *err);
/* Where that model is (base.c, as learner_load_base reads it), into out. */
int learner_base_source(const core_config *cfg, char *out, size_t cap, core_error *err);

/* resume.c: 1 when changing section.key ("learner.lr") on --resume alters
 * what the run computes (pretrain: of a pretraining run). */
int learner_key_alters_run(const char *key, int pretrain);
/* The run-altering settings that differ between two resolved configs (INI
 * text from core_config_to_ini), as "key: old -> new; ..." in out; keys
 * only one of them has are skipped.  Returns how many differ. */
int learner_config_changes(const char *old_ini, const char *new_ini, int pretrain, char *out,
                           size_t cap);

/* One graded group as rows: its prompt (shared by runs), the group, and
 * per completion an episode (texts[g] its decoded text, stored when
 * log_text), its reward parts and sandbox runs.  adv: G advantages, or NULL
 * (stored as NULL).  Inside the caller's transaction. */
int learner_log_group(db *d, int64_t run_id, int64_t step, const task_item *item,
                      const rollout_group *grp, char *const *texts, const double *adv,
                      int filtered, int log_text, core_error *err);

/* On every learner rank: the same update from the same sequences (learner
 * 0 first hands them to the others).  Gradients are summed exactly across
 * learners (parallel.c), so the weights stay identical on all of them. */
int learner_update(learner_ctx *L, const learn_seq *seqs, int n, int64_t step, update_stats *st,
                   core_error *err);

/* ------------------------------------------- data parallel (parallel.c) */

/* An exact, order-independent sum of float gradient vectors (fixed point),
 * or (learner.grad_sum = float) none: acc NULL, the model's gradient buffer
 * then accumulates the chunks itself, in chunk order, and every grad_sum_*
 * call but grad_sum_exact is a no-op. */
typedef struct grad_sum {
    __int128 *acc; /* n + 1: the last counts values out of range */
    size_t n;
} grad_sum;
int grad_sum_init(grad_sum *s, size_t n, int exact, core_error *err);
int grad_sum_exact(const grad_sum *s);
void grad_sum_free(grad_sum *s);
void grad_sum_zero(grad_sum *s);
void grad_sum_add(grad_sum *s, const float *g);
/* Sum over the learners of c (NULL: this one only) into out (n floats);
 * 1 when a value was out of range. */
int grad_sum_finish(grad_sum *s, rollout_comm *c, float *out);

/* Settings of run.learners and rollout.async that cannot work together
 * with others: an error naming the keys. */
int learner_check_parallel(const core_config *cfg, core_error *err);
/* Rollouts of step s are sampled with the weights after step s - 1 - this. */
int learner_staleness(const core_config *cfg);

/* Learner 0 → the others, once before the first step: ok = 0 tells them to
 * exit; resumed_from (may be "") is the checkpoint they load.  The others
 * return 1 to go on (after loading it), 0 to exit (always when err is NULL:
 * this learner's own set-up failed), -1 on error. */
void learner_send_start(learner_ctx *L, int ok);
int learner_recv_start(learner_ctx *L, core_error *err);

/* Chunk j of an update belongs to learner j mod L. */
int learner_owns_chunk(const learner_ctx *L, int chunk);
/* Learner 0: send the step's sequences to the other learners (no-op at L = 1). */
int learner_share_batch(learner_ctx *L, const learn_seq *seqs, int n, int64_t step, core_error *err);
/* Learner 0: tell the other learners to exit. */
void learner_stop_followers(learner_ctx *L);
/* Learners 1..L-1: run the updates learner 0 sends until it says stop. */
int learner_follow(learner_ctx *L, core_error *err);

#endif
