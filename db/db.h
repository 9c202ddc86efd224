/*
 * db/ — the SQLite store: every run, step, prompt, group, episode, reward
 * part, sandbox run, eval and checkpoint.  Rank 0 is the only writer.
 *
 * The schema (schema.sql) is compiled in; db_open creates or migrates the
 * file (PRAGMA user_version) and refuses one written by a newer binary.
 * WAL mode and a busy timeout let readers query while a run writes.  A step
 * is written inside db_begin/db_commit, so a crash leaves it all or absent.
 */
#ifndef GRPO_DB_H
#define GRPO_DB_H

#include <stdint.h>
#include <stdio.h>

#include "core/core.h"

#define DB_SCHEMA_VERSION 9

typedef struct db db;
typedef struct sqlite3 sqlite3;

int  db_open(db **out, const char *path, int busy_timeout_ms, core_error *err);
void db_close(db *d);
/* How long a statement waits for another process's lock before it fails
 * (default: the busy timeout given to db_open, which stays the point where
 * the wait is reported).  Writers that must not fail on a reader's long
 * lock (train, pretrain) set db.lock_wait_s here. */
void db_set_lock_wait(db *d, double seconds);
sqlite3 *db_sqlite(db *d);

int  db_begin(db *d, core_error *err);
int  db_commit(db *d, core_error *err);
void db_rollback(db *d);

/* runs */
int db_run_start(db *d, const char *name, const char *kind, const char *config_ini,
                 int64_t seed, int n_ranks, int64_t *run_id, core_error *err);
/* Set a run's status ("done", "failed", "stopped"; "running" again on resume). */
int db_run_finish(db *d, int64_t run_id, const char *status, core_error *err);
/* The newest run of this name and kind (for --resume); 0 if none. */
int64_t db_run_latest(db *d, const char *name, const char *kind);
/* The last step stored for a run, or -1. */
int64_t db_last_step(db *d, int64_t run_id);
/* The run's resolved config (INI text); malloc'd, NULL if none. */
char *db_run_config(db *d, int64_t run_id);
/* Replace the run's config (resume with --allow-changed; the change itself
 * goes to run_events). */
int db_run_set_config(db *d, int64_t run_id, const char *config_ini, core_error *err);
/* One row of run_events: kind "resumed", "config_changed", "checkpoint_fallback",
 * "stopped", ... with a free-text detail. */
int db_run_event(db *d, int64_t run_id, const char *kind, const char *detail, core_error *err);
/* Remove everything a run wrote after `step` (resume from a checkpoint). */
int db_truncate_after(db *d, int64_t run_id, int64_t step, core_error *err);

/* steps: every metric is a double; NAN is stored as NULL. */
typedef struct db_step {
    int64_t step;
    double loss, heldout_loss, reward_mean, reward_std, accuracy, format_rate, recheck_rate,
        response_len_mean, response_len_max, kl, clip_frac, clip_frac_low, clip_frac_high,
        entropy, grad_norm, lr, zero_var_frac, tokens_per_s, t_rollout, t_reward, t_learn, t_db,
        lp_mismatch; /* mean |old - sampler| token log-prob (NULL when old is the sampler's) */
    int skipped;
    int policy_version; /* of the weights this step's update started from (-1: unknown) */
    int infra_failures; /* completions the sandbox failed on (masked out of the update) */
    double t_collect;   /* wall seconds from the step's prompts to its graded groups: sampling
                           and grading, minus what overlapped (NAN: unknown) */
} db_step;
void db_step_init(db_step *s, int64_t step); /* every metric NAN */
int db_insert_step(db *d, int64_t run_id, const db_step *s, core_error *err);

/* prompts are shared by runs: the same (task, text) gives the same id. */
int db_prompt_id(db *d, const char *task, const char *text, const char *gold,
                 const char *tests, int64_t *id, core_error *err);

int db_insert_group(db *d, int64_t run_id, int64_t step, int64_t prompt_id, double reward_mean,
                    double reward_std, int filtered, int64_t *group_id, core_error *err);

typedef struct db_episode {
    int64_t run_id, step, group_id, prompt_id;
    int sample, worker, policy_version, n_tokens;
    const char *completion, *finish_reason;
    double reward, advantage, logprob_mean, t_sample, t_reward;
    int correct, format_ok;
    int infra_fail;     /* 1: the sandbox failed, no verdict (advantage NULL) */
} db_episode;
int db_insert_episode(db *d, const db_episode *e, int64_t *episode_id, core_error *err);
int db_insert_reward_part(db *d, int64_t episode_id, const char *name, double value,
                          const char *detail, core_error *err);

typedef struct db_sandbox_run {
    int test, exit_code, signal;
    const char *verdict, *output;
    double cpu_ms, wall_ms;
    int64_t rss_kb;
    const char *message; /* why the test failed, in one line (the AssertionError); NULL when it passed */
} db_sandbox_run;
int db_insert_sandbox_run(db *d, int64_t episode_id, const db_sandbox_run *r, core_error *err);

int db_insert_eval(db *d, int64_t run_id, int64_t step, const char *split, const char *metric,
                   double value, core_error *err);
int db_insert_checkpoint(db *d, int64_t run_id, int64_t step, const char *path,
                         const char *sha256, core_error *err);
/* One evaluation (eval_runs) and its per-item, per-sample rows (eval_samples). */
int db_insert_eval_run(db *d, int64_t run_id, int64_t step, const char *split,
                       const char *checkpoint, int items, int k, core_error *err);
typedef struct db_eval_sample {
    int64_t prompt_id;
    int sample;                 /* 0..k-1, -1 greedy */
    const char *completion, *answer;
    int correct, format_ok, n_tokens;
    int infra_fail;             /* not graded: the sandbox failed (correct is then 0, no verdict) */
} db_eval_sample;
int db_insert_eval_sample(db *d, int64_t run_id, int64_t step, const char *split,
                          const db_eval_sample *e, core_error *err);
/* The run's checkpoints not removed by retention, oldest first (*out malloc'd). */
typedef struct db_checkpoint {
    int64_t step;
    char path[1024], sha256[65];
} db_checkpoint;
int db_checkpoint_list(db *d, int64_t run_id, db_checkpoint **out, int *n, core_error *err);
/* Retention removed the files of this checkpoint: the row stays, with the time. */
int db_checkpoint_pruned(db *d, int64_t run_id, int64_t step, core_error *err);
/* evals.value of (run, step, split, metric), NAN if absent. */
double db_eval_value(db *d, int64_t run_id, int64_t step, const char *split, const char *metric);

/* sweeps (`grpo ablate`): a sweep is found by name; its arms and varied
 * values are written once when it is created; each run joins it by arm and
 * seed index (runs.sweep_id, runs.arm, runs.seed_index). */
typedef struct db_sweep_info {
    int64_t id;        /* 0: no sweep of that name */
    char *config;      /* malloc'd; the base config as INI */
    char *vary;        /* malloc'd; the axes, one "key=v1|v2" a line */
    int seeds;
} db_sweep_info;
int db_sweep_find(db *d, const char *name, db_sweep_info *out, core_error *err);
void db_sweep_info_free(db_sweep_info *s);
int db_sweep_create(db *d, const char *name, const char *config_ini, const char *vary, int seeds,
                    int64_t *sweep_id, core_error *err);
int db_sweep_add_arm(db *d, int64_t sweep_id, int arm, const char *name, int n_values,
                     const char *const *keys, const char *const *values, core_error *err);
int db_sweep_set_status(db *d, int64_t sweep_id, const char *status, core_error *err);
int db_run_join_sweep(db *d, int64_t run_id, int64_t sweep_id, int arm, int seed_index,
                      core_error *err);
/* A run's status into out ("" if no such run). */
void db_run_status(db *d, int64_t run_id, char *out, size_t cap);

/* distillation datasets (db/distill.c).  where: an SQL condition on the
 * columns of episodes; the selection is the distinct (prompt, completion)
 * traces that match, the first of each, at most per_prompt per prompt
 * (0: all), in episode id order.  An SQL error in where is CORE_EINPUT
 * with SQLite's message. */
int db_distill_count(db *d, const char *where, int per_prompt, int64_t *n, core_error *err);
/* Record the selection as run_id's dataset (distill_examples); *n rows. */
int db_distill_record(db *d, int64_t run_id, const char *where, int per_prompt, int64_t *n,
                      core_error *err);
typedef struct db_distill_row {
    int64_t episode_id;
    char *task, *question, *gold, *completion;
} db_distill_row;
/* A run's dataset in order (malloc'd; free with db_distill_rows_free). */
int db_distill_rows(db *d, int64_t run_id, db_distill_row **rows, int *n, core_error *err);
void db_distill_rows_free(db_distill_row *rows, int n);

/* `grpo query`: run SQL and print every result set. */
enum db_format { DB_FORMAT_TABLE, DB_FORMAT_CSV, DB_FORMAT_JSON };
int db_query_print(sqlite3 *s, const char *sql, enum db_format fmt, FILE *out, core_error *err);
/* `grpo report`: one self-contained HTML page (inline SVG, no script, no
 * network) comparing arms: the arms of a sweep (each a set of seeds), or
 * the runs given (each its own arm), or every train run.  One chart per
 * metric, a line per arm (the mean over its seeds) and a band (± one sd);
 * then the final held-out scores per arm, mean ± sd over seeds, with
 * Welch's t-test against the baseline arm. */
typedef struct db_report_opts {
    const int64_t *run_ids;   /* --runs (n_ids of them) */
    int n_ids;
    int64_t sweep_id;         /* --sweep (0: none) */
    int baseline;             /* the baseline arm: a sweep's arm number, or the index of a run */
} db_report_opts;
int db_report_page(sqlite3 *s, const db_report_opts *o, FILE *out, core_error *err);
/* The page for the given runs (every train run when n_ids = 0). */
int db_report_html(sqlite3 *s, const int64_t *run_ids, int n_ids, FILE *out, core_error *err);

/* Welch's unequal-variance t-test (stats.c); -1 when undefined (a sample
 * of fewer than 2, or no spread in either). */
typedef struct db_welch { double t, df, p; } db_welch; /* p two-sided */
int db_welch_test(const double *a, int na, const double *b, int nb, db_welch *out);
double db_student_t_p(double t, double df);               /* P(|T_df| >= |t|) */
double db_incomplete_beta(double a, double b, double x);  /* regularised I_x(a, b) */
/* Open an existing database for queries (never creates, never migrates),
 * read-only: a query cannot change what a live run relies on. */
int db_open_existing(sqlite3 **out, const char *path, core_error *err);
/* The same, writable when asked (`grpo query --write`). */
int db_open_existing_mode(sqlite3 **out, const char *path, int writable, core_error *err);
/* Close what db_open_existing opened (NULL is fine): cmd/ never calls SQLite. */
void db_close_existing(sqlite3 *s);
/* The held-out figures of the newest train run named run_name, at its first
 * evaluation and its last, with the change, as a table (`grpo demo`). */
int db_print_eval_change(sqlite3 *s, const char *run_name, FILE *out, core_error *err);

#endif
