/* learner/internal.h — what the learner's own files share. */
#ifndef GRPO_LEARNER_INTERNAL_H
#define GRPO_LEARNER_INTERNAL_H

#include "db/db.h"
#include "learner/learner.h"
#include "model/model.h"
#include "reward/reward.h"
#include "rollout/rollout.h"
#include "tasks/tasks.h"

/* Everything a run holds on rank 0. */
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
    char run_dir[1024];         /* <out_dir>/<name>/run-<id> (checkpoints.h) */
    int lock_fd;                /* the run's lock, -1 before it is taken */
} learner_ctx;

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
    double clip_low, clip_high; /* counts, then fractions */
    long n_tokens, n_clip_tokens;
    int n_minibatches, n_updates, skipped;
} update_stats;

/* 1 when the sampler draws from the policy itself (temperature 1, no top-k,
 * no top-p), so its log-probs are the old policy's. */
int learner_sampler_is_policy(const core_config *cfg);

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

int learner_update(learner_ctx *L, const learn_seq *seqs, int n, int64_t step, update_stats *st,
                   core_error *err);

#endif
