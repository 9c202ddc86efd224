/*
 * db.c — open, migrate and write the run database.
 *
 * Writers go through prepared statements cached for the life of the handle;
 * the learner wraps each step in db_begin/db_commit so a step is written
 * whole or not at all.  The schema text is compiled in by schema.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db/db.h"

extern const char db_schema_sql[]; /* schema.c */
extern const char db_migration_distill_sql[]; /* distill.c */

enum stmt_id {
    ST_RUN_START, ST_RUN_FINISH, ST_STEP, ST_PROMPT_FIND, ST_PROMPT_ADD, ST_GROUP, ST_EPISODE,
    ST_REWARD_PART, ST_SANDBOX_RUN, ST_EVAL, ST_CHECKPOINT, ST_COUNT
};

static const char *stmt_sql[ST_COUNT] = {
    [ST_RUN_START] = "INSERT INTO runs(name, kind, config, seed, n_ranks, git_rev, host) "
                     "VALUES(?,?,?,?,?,?,?)",
    [ST_RUN_FINISH] = "UPDATE runs SET status = ?1, finished = CASE WHEN ?1 = 'running' THEN NULL "
                      "ELSE strftime('%Y-%m-%dT%H:%M:%fZ','now') END WHERE id = ?2",
    [ST_STEP] = "INSERT OR REPLACE INTO steps(run_id, step, loss, heldout_loss, reward_mean, "
                "reward_std, accuracy, format_rate, recheck_rate, response_len_mean, "
                "response_len_max, kl, clip_frac, clip_frac_low, clip_frac_high, entropy, "
                "grad_norm, lr, zero_var_frac, tokens_per_s, t_rollout, t_reward, t_learn, t_db, "
                "lp_mismatch, skipped, policy_version, infra_failures, t_collect) "
                "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ST_PROMPT_FIND] = "SELECT id FROM prompts WHERE task = ? AND text = ?",
    [ST_PROMPT_ADD] = "INSERT INTO prompts(task, text, gold, tests) VALUES(?,?,?,?)",
    [ST_GROUP] = "INSERT INTO groups(run_id, step, prompt_id, reward_mean, reward_std, filtered) "
                 "VALUES(?,?,?,?,?,?)",
    [ST_EPISODE] = "INSERT INTO episodes(run_id, step, group_id, prompt_id, sample, worker, "
                   "policy_version, completion, n_tokens, finish_reason, reward, advantage, "
                   "correct, format_ok, logprob_mean, t_sample, t_reward, infra_fail) "
                   "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ST_REWARD_PART] = "INSERT INTO reward_parts(episode_id, name, value, detail) VALUES(?,?,?,?)",
    [ST_SANDBOX_RUN] = "INSERT INTO sandbox_runs(episode_id, test, verdict, exit_code, signal, "
                       "cpu_ms, wall_ms, rss_kb, output, message) VALUES(?,?,?,?,?,?,?,?,?,?)",
    [ST_EVAL] = "INSERT OR REPLACE INTO evals(run_id, step, split, metric, value) VALUES(?,?,?,?,?)",
    [ST_CHECKPOINT] = "INSERT OR REPLACE INTO checkpoints(run_id, step, path, sha256) "
                      "VALUES(?,?,?,?)",
};

struct db {
    sqlite3 *sql;
    char path[512];
    sqlite3_stmt *stmt[ST_COUNT];
    int busy_timeout_ms;  /* waiting longer than this is reported */
    double lock_wait_s;   /* waiting longer than this fails the statement */
    double busy_since;    /* core_now() when the current wait began */
    int warned;           /* the current wait was reported */
    sqlite3_stmt *stmt_eval_sample; /* prepared on first use */
};

sqlite3 *db_sqlite(db *d) { return d->sql; }

static int sql_fail(db *d, core_error *err, const char *what) {
    return core_fail(err, CORE_ERUNTIME, "%s: %s: %s", d->path, what, sqlite3_errmsg(d->sql));
}

static int exec(db *d, const char *sql, core_error *err) {
    char *msg = NULL;
    if (sqlite3_exec(d->sql, sql, NULL, NULL, &msg) == SQLITE_OK) return 0;
    core_fail(err, CORE_ERUNTIME, "%s: %s", d->path, msg ? msg : sqlite3_errmsg(d->sql));
    sqlite3_free(msg);
    return CORE_ERUNTIME;
}

static int user_version(db *d) {
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(d->sql, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) return -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Version 3: what happened to a run besides its steps (resumed, settings
 * changed on resume, a corrupt checkpoint skipped, why it stopped), and
 * which checkpoints retention removed from disk. */
static const char migration_3[] =
    "CREATE TABLE run_events (\n"
    "    id     INTEGER PRIMARY KEY,\n"
    "    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "    time   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),\n"
    "    kind   TEXT NOT NULL,  -- resumed | config_changed | checkpoint_fallback | stopped\n"
    "    detail TEXT\n"
    ");\n"
    "CREATE INDEX run_events_run ON run_events(run_id);\n"
    "ALTER TABLE checkpoints ADD COLUMN pruned TEXT;  -- when retention removed its files\n";

/* Version 5: asynchronous rollouts.  Per step, the policy version its
 * update started from (an episode's staleness is that minus its own
 * policy_version: view episode_staleness) and the sampler/learner log-prob
 * mismatch (exactly 0 when the sampler was the policy being learned). */
static const char migration_5[] =
    "ALTER TABLE steps ADD COLUMN lp_mismatch REAL;\n"
    "ALTER TABLE steps ADD COLUMN policy_version INTEGER;\n"
    "CREATE VIEW episode_staleness AS\n"
    "  SELECT e.id AS episode_id, e.run_id, e.step, e.policy_version,\n"
    "         s.policy_version - e.policy_version AS staleness\n"
    "  FROM episodes e JOIN steps s ON s.run_id = e.run_id AND s.step = e.step;\n";

/* Version 6: what each evaluation read and wrote, per held-out item and
 * sample, and the checkpoint it evaluated, so "which items went from always
 * wrong to always right, and when" is one query. */
static const char migration_6[] =
    "CREATE TABLE eval_runs (\n"
    "    run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "    step       INTEGER NOT NULL,\n"
    "    split      TEXT NOT NULL,\n"
    "    checkpoint TEXT,      -- the weights evaluated, when they are in a file\n"
    "    items      INTEGER NOT NULL,\n"
    "    k          INTEGER NOT NULL,\n"
    "    PRIMARY KEY (run_id, step, split)\n"
    ");\n"
    "CREATE TABLE eval_samples (\n"
    "    run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "    step       INTEGER NOT NULL,\n"
    "    split      TEXT NOT NULL,\n"
    "    prompt_id  INTEGER NOT NULL REFERENCES prompts(id),\n"
    "    sample     INTEGER NOT NULL,  -- 0..k-1 sampled, -1 the greedy completion\n"
    "    completion TEXT,\n"
    "    answer     TEXT,             -- the extracted, normalised answer ('' if none)\n"
    "    correct    INTEGER NOT NULL,\n"
    "    format_ok  INTEGER NOT NULL,\n"
    "    n_tokens   INTEGER NOT NULL,\n"
    "    PRIMARY KEY (run_id, step, split, prompt_id, sample)\n"
    ");\n"
    "CREATE VIEW eval_items AS\n"
    "  SELECT e.run_id, e.step, e.split, e.prompt_id, p.text, p.gold,\n"
    "         sum(e.correct) AS correct, count(*) AS k\n"
    "  FROM eval_samples e JOIN prompts p ON p.id = e.prompt_id\n"
    "  WHERE e.sample >= 0 GROUP BY e.run_id, e.step, e.split, e.prompt_id;\n";

/* Version 7: the sandbox in the loop.  Per step, how many completions the
 * sandbox itself failed on (SANDBOX_ERROR: masked out of the advantages,
 * not scored 0); per episode, whether it was one; per test run, why it
 * failed in one line (the assertion message), so "why did this program
 * fail" is one query. */
static const char migration_7[] =
    "ALTER TABLE steps ADD COLUMN infra_failures INTEGER;\n"
    "ALTER TABLE episodes ADD COLUMN infra_fail INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE sandbox_runs ADD COLUMN message TEXT;\n";

/* Version 8: grading overlaps sampling, so the step's sampling-and-grading
 * wall time is no longer t_rollout + t_reward: t_collect is that wall time
 * (t_rollout the decoding in it, t_reward the grading). */
static const char migration_8[] = "ALTER TABLE steps ADD COLUMN t_collect REAL;\n";

/* Version 9: an eval sample the sandbox could not grade has no verdict
 * (learner/eval.h): flagged, and eval_items counts the graded ones. */
static const char migration_9[] =
    "ALTER TABLE eval_samples ADD COLUMN infra_fail INTEGER NOT NULL DEFAULT 0;\n"
    "DROP VIEW eval_items;\n"
    "CREATE VIEW eval_items AS\n"
    "  SELECT e.run_id, e.step, e.split, e.prompt_id, p.text, p.gold,\n"
    "         sum(e.correct) AS correct, count(*) AS k, sum(e.infra_fail = 0) AS graded\n"
    "  FROM eval_samples e JOIN prompts p ON p.id = e.prompt_id\n"
    "  WHERE e.sample >= 0 GROUP BY e.run_id, e.step, e.split, e.prompt_id;\n";

/* Migrations: migrations[v] takes a database from version v to v + 1.
 * Version 0 is an empty file; a later schema change appends an ALTER here. */
static const char *const migrations[DB_SCHEMA_VERSION] = {
    db_schema_sql,
    /* 1 -> 2: sweeps (`grpo ablate`): a sweep, its arms, each arm's varied
     * values, and on every run of a sweep its arm and seed index. */
    "CREATE TABLE sweeps ("
    "  id      INTEGER PRIMARY KEY,"
    "  name    TEXT NOT NULL UNIQUE,"
    "  config  TEXT NOT NULL,"                 /* the base config, resolved, as INI */
    "  vary    TEXT NOT NULL,"                 /* the --vary axes, one 'key=v1|v2' a line */
    "  seeds   INTEGER NOT NULL,"
    "  started TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),"
    "  status  TEXT NOT NULL DEFAULT 'running');"
    "CREATE TABLE sweep_arms ("
    "  sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,"
    "  arm      INTEGER NOT NULL,"
    "  name     TEXT NOT NULL,"                /* 'key=value key=value' */
    "  PRIMARY KEY (sweep_id, arm));"
    "CREATE TABLE sweep_values ("
    "  sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,"
    "  arm      INTEGER NOT NULL,"
    "  key      TEXT NOT NULL,"
    "  value    TEXT NOT NULL,"
    "  PRIMARY KEY (sweep_id, arm, key));"
    "ALTER TABLE runs ADD COLUMN sweep_id INTEGER REFERENCES sweeps(id);"
    "ALTER TABLE runs ADD COLUMN arm INTEGER;"
    "ALTER TABLE runs ADD COLUMN seed_index INTEGER;"
    "CREATE INDEX runs_sweep ON runs(sweep_id, arm);"
    "CREATE VIEW sweep_runs AS"
    "  SELECT r.sweep_id, s.name AS sweep, r.arm, a.name AS arm_name, r.seed_index, r.seed,"
    "         r.id AS run_id, r.name AS run, r.status"
    "  FROM runs r JOIN sweeps s ON s.id = r.sweep_id"
    "  JOIN sweep_arms a ON a.sweep_id = r.sweep_id AND a.arm = r.arm;",
    migration_3,
    db_migration_distill_sql, /* 3 -> 4: distillation datasets (db/distill.c) */
    migration_5,
    migration_6,
    migration_7,
    migration_8,
    migration_9,
};

static int newer_schema(db *d, int v, core_error *err) {
    return core_fail(err, CORE_EINPUT,
                     "%s: database schema version %d is newer than this grpo understands (%d); "
                     "use a newer grpo",
                     d->path, v, DB_SCHEMA_VERSION);
}

/* The version is read again under the write lock: processes that open a new
 * file at the same moment queue on BEGIN IMMEDIATE, and each one after the
 * first finds the schema already there (no "table runs already exists"). */
static int migrate(db *d, core_error *err) {
    int v = user_version(d);
    if (v < 0) return sql_fail(d, err, "reading user_version");
    if (v > DB_SCHEMA_VERSION) return newer_schema(d, v, err);
    if (v == DB_SCHEMA_VERSION) return 0;
    if (exec(d, "BEGIN IMMEDIATE", err)) return err->code;
    if ((v = user_version(d)) > DB_SCHEMA_VERSION) {
        exec(d, "ROLLBACK", NULL);
        return newer_schema(d, v, err);
    }
    for (; v < DB_SCHEMA_VERSION; v++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
        if (exec(d, migrations[v], err) || exec(d, bump, err)) {
            exec(d, "ROLLBACK", NULL);
            return core_fail_wrap(err, "migrating to schema version %d", v + 1);
        }
    }
    return exec(d, "COMMIT", err);
}

/* SQLite's busy handler: sleep with exponential backoff (1 ms doubling to
 * 100 ms) while another connection holds the lock; say so once the wait
 * passes busy_timeout_ms; give up (SQLITE_BUSY) after lock_wait_s. */
static int on_busy(void *arg, int n_calls) {
    db *d = arg;
    double now = core_now();
    if (n_calls == 0) d->busy_since = now, d->warned = 0;
    double waited = now - d->busy_since;
    if (waited >= d->lock_wait_s) return 0;
    if (!d->warned && waited * 1000 >= d->busy_timeout_ms && d->lock_wait_s * 1000 > d->busy_timeout_ms) {
        core_warn("%s is locked by another process; waiting for it (up to %.0f s, db.lock_wait_s)",
                  d->path, d->lock_wait_s);
        d->warned = 1;
    }
    int ms = n_calls < 7 ? 1 << n_calls : 100;
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
    return 1;
}

void db_set_lock_wait(db *d, double seconds) {
    double floor_s = d->busy_timeout_ms / 1000.0;
    d->lock_wait_s = seconds > floor_s ? seconds : floor_s;
}

/* journal_mode = WAL needs a moment alone with a new file; SQLite does not
 * call the busy handler for it, so retry here, with the same backoff. */
static int set_wal(db *d, core_error *err) {
    for (int n = 0;; n++) {
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(d->sql, "PRAGMA journal_mode = WAL", -1, &st, NULL);
        if (rc == SQLITE_OK) rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc == SQLITE_ROW || rc == SQLITE_DONE) return 0;
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) break;
        if (!on_busy(d, n)) break;
    }
    return sql_fail(d, err, "setting WAL mode");
}

int db_open(db **out, const char *path, int busy_timeout_ms, core_error *err) {
    db *d = calloc(1, sizeof *d);
    if (!d) return core_fail(err, CORE_ERUNTIME, "out of memory");
    snprintf(d->path, sizeof d->path, "%s", path);
    if (sqlite3_open_v2(path, &d->sql, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        sql_fail(d, err, "cannot open");
        db_close(d);
        return CORE_ERUNTIME;
    }
    d->busy_timeout_ms = busy_timeout_ms;
    d->lock_wait_s = busy_timeout_ms / 1000.0;
    sqlite3_busy_handler(d->sql, on_busy, d);
    if (exec(d, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;", err) ||
        set_wal(d, err) || migrate(d, err)) {
        db_close(d);
        return err->code;
    }
    for (int i = 0; i < ST_COUNT; i++)
        if (sqlite3_prepare_v3(d->sql, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &d->stmt[i],
                               NULL) != SQLITE_OK) {
            sql_fail(d, err, "preparing statements");
            db_close(d);
            return CORE_ERUNTIME;
        }
    *out = d;
    return 0;
}

void db_close(db *d) {
    if (!d) return;
    for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(d->stmt[i]);
    sqlite3_finalize(d->stmt_eval_sample);
    sqlite3_close(d->sql);
    free(d);
}

int db_begin(db *d, core_error *err) { return exec(d, "BEGIN IMMEDIATE", err); }
int db_commit(db *d, core_error *err) { return exec(d, "COMMIT", err); }
void db_rollback(db *d) { exec(d, "ROLLBACK", NULL); }

/* ------------------------------------------------------- binding helpers */

static void bind_real(sqlite3_stmt *st, int i, double v) {
    if (isnan(v)) sqlite3_bind_null(st, i);
    else sqlite3_bind_double(st, i, v);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s) {
    if (s) sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, i);
}

/* Run a bound statement that returns no rows; reset it for the next use. */
static int step_done(db *d, sqlite3_stmt *st, core_error *err, const char *what) {
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : sql_fail(d, err, what);
}

/* ------------------------------------------------------------------ runs */

static void git_revision(char *out, size_t cap) {
    out[0] = 0;
    FILE *p = popen("git rev-parse --short HEAD 2>/dev/null", "r");
    if (!p) return;
    if (fgets(out, cap, p)) out[strcspn(out, "\n")] = 0;
    pclose(p);
}

int db_run_start(db *d, const char *name, const char *kind, const char *config_ini, int64_t seed,
                 int n_ranks, int64_t *run_id, core_error *err) {
    char rev[64], host[256] = "";
    git_revision(rev, sizeof rev);
    gethostname(host, sizeof host - 1);
    sqlite3_stmt *st = d->stmt[ST_RUN_START];
    bind_text(st, 1, name);
    bind_text(st, 2, kind);
    bind_text(st, 3, config_ini);
    sqlite3_bind_int64(st, 4, seed);
    sqlite3_bind_int(st, 5, n_ranks);
    bind_text(st, 6, rev[0] ? rev : NULL);
    bind_text(st, 7, host);
    if (step_done(d, st, err, "inserting run")) return err->code;
    *run_id = sqlite3_last_insert_rowid(d->sql);
    return 0;
}

int db_run_finish(db *d, int64_t run_id, const char *status, core_error *err) {
    sqlite3_stmt *st = d->stmt[ST_RUN_FINISH];
    bind_text(st, 1, status);
    sqlite3_bind_int64(st, 2, run_id);
    return step_done(d, st, err, "finishing run");
}

static int64_t query_int64(db *d, const char *sql, int64_t a, const char *s1, const char *s2,
                           int64_t fallback) {
    sqlite3_stmt *st;
    int64_t v = fallback;
    if (sqlite3_prepare_v2(d->sql, sql, -1, &st, NULL) != SQLITE_OK) return fallback;
    if (s1) {
        bind_text(st, 1, s1);
        bind_text(st, 2, s2);
    } else sqlite3_bind_int64(st, 1, a);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

int64_t db_run_latest(db *d, const char *name, const char *kind) {
    return query_int64(d, "SELECT max(id) FROM runs WHERE name = ? AND kind = ?", 0, name, kind, 0);
}

int64_t db_last_step(db *d, int64_t run_id) {
    return query_int64(d, "SELECT max(step) FROM steps WHERE run_id = ?", run_id, NULL, NULL, -1);
}

/* A statement on one run: bind ?1 = run_id and the optional text/int. */
static int exec_run(db *d, const char *sql, int64_t run_id, const char *text, int64_t num,
                    core_error *err, const char *what) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(d->sql, sql, -1, &st, NULL) != SQLITE_OK) return sql_fail(d, err, what);
    sqlite3_bind_int64(st, 1, run_id);
    if (sqlite3_bind_parameter_count(st) >= 2) bind_text(st, 2, text);
    if (sqlite3_bind_parameter_count(st) >= 3) sqlite3_bind_int64(st, 3, num);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : sql_fail(d, err, what);
}

int db_run_event(db *d, int64_t run_id, const char *kind, const char *detail, core_error *err) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(d->sql, "INSERT INTO run_events(run_id, kind, detail) VALUES(?,?,?)", -1,
                           &st, NULL) != SQLITE_OK)
        return sql_fail(d, err, "recording a run event");
    sqlite3_bind_int64(st, 1, run_id);
    bind_text(st, 2, kind);
    bind_text(st, 3, detail);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : sql_fail(d, err, "recording a run event");
}

int db_run_set_config(db *d, int64_t run_id, const char *config_ini, core_error *err) {
    return exec_run(d, "UPDATE runs SET config = ?2 WHERE id = ?1", run_id, config_ini, 0, err,
                    "updating the run's config");
}

static char *query_text(db *d, const char *sql, int64_t run_id) {
    sqlite3_stmt *st;
    char *out = NULL;
    if (sqlite3_prepare_v2(d->sql, sql, -1, &st, NULL) != SQLITE_OK) return NULL;
    sqlite3_bind_int64(st, 1, run_id);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        out = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

char *db_run_config(db *d, int64_t run_id) {
    return query_text(d, "SELECT config FROM runs WHERE id = ?", run_id);
}

int db_checkpoint_pruned(db *d, int64_t run_id, int64_t step, core_error *err) {
    return exec_run(d, "UPDATE checkpoints SET pruned = strftime('%Y-%m-%dT%H:%M:%fZ','now') "
                       "WHERE run_id = ?1 AND step = ?3",
                    run_id, NULL, step, err, "marking a checkpoint pruned");
}

double db_eval_value(db *d, int64_t run_id, int64_t step, const char *split, const char *metric) {
    sqlite3_stmt *st;
    double v = NAN;
    if (sqlite3_prepare_v2(d->sql, "SELECT value FROM evals WHERE run_id = ? AND step = ? AND "
                                   "split = ? AND metric = ?", -1, &st, NULL) != SQLITE_OK)
        return NAN;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, step);
    bind_text(st, 3, split);
    bind_text(st, 4, metric);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

int db_checkpoint_list(db *d, int64_t run_id, db_checkpoint **out, int *n, core_error *err) {
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(d->sql, "SELECT step, path, sha256 FROM checkpoints WHERE run_id = ? AND "
                                   "pruned IS NULL ORDER BY step", -1, &st, NULL) != SQLITE_OK)
        return sql_fail(d, err, "listing checkpoints");
    sqlite3_bind_int64(st, 1, run_id);
    int rc, cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            db_checkpoint *grown = realloc(*out, sizeof **out * (size_t)cap);
            if (!grown) break;
            *out = grown;
        }
        db_checkpoint *c = &(*out)[(*n)++];
        c->step = sqlite3_column_int64(st, 0);
        snprintf(c->path, sizeof c->path, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(c->sha256, sizeof c->sha256, "%s", (const char *)sqlite3_column_text(st, 2));
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : sql_fail(d, err, "listing checkpoints");
}

int db_truncate_after(db *d, int64_t run_id, int64_t step, core_error *err) {
    static const char *tables[] = {"steps", "episodes", "groups", "evals", "checkpoints",
                                   "eval_runs", "eval_samples"};
    for (int i = 0; i < (int)(sizeof tables / sizeof *tables); i++) {
        char sql[128];
        sqlite3_stmt *st;
        snprintf(sql, sizeof sql, "DELETE FROM %s WHERE run_id = ? AND step > ?", tables[i]);
        if (sqlite3_prepare_v2(d->sql, sql, -1, &st, NULL) != SQLITE_OK)
            return sql_fail(d, err, "truncating run");
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_int64(st, 2, step);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) return sql_fail(d, err, "truncating run");
    }
    return 0;
}

/* ----------------------------------------------------------------- steps */

void db_step_init(db_step *s, int64_t step) {
    double *metrics = &s->loss;
    int n = (int)((&s->lp_mismatch - metrics) + 1);
    for (int i = 0; i < n; i++) metrics[i] = NAN;
    s->step = step;
    s->skipped = 0;
    s->policy_version = -1;
    s->infra_failures = 0;
    s->t_collect = NAN;
}

int db_insert_step(db *d, int64_t run_id, const db_step *s, core_error *err) {
    sqlite3_stmt *st = d->stmt[ST_STEP];
    const double *metrics = &s->loss;
    int n = (int)((&s->lp_mismatch - metrics) + 1);
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, s->step);
    for (int i = 0; i < n; i++) bind_real(st, 3 + i, metrics[i]);
    sqlite3_bind_int(st, 3 + n, s->skipped);
    if (s->policy_version >= 0) sqlite3_bind_int(st, 4 + n, s->policy_version);
    else sqlite3_bind_null(st, 4 + n);
    sqlite3_bind_int(st, 5 + n, s->infra_failures);
    bind_real(st, 6 + n, s->t_collect);
    return step_done(d, st, err, "inserting step");
}

/* --------------------------------------------- prompts, groups, episodes */

int db_prompt_id(db *d, const char *task, const char *text, const char *gold, const char *tests,
                 int64_t *id, core_error *err) {
    sqlite3_stmt *find = d->stmt[ST_PROMPT_FIND];
    bind_text(find, 1, task);
    bind_text(find, 2, text);
    int rc = sqlite3_step(find);
    if (rc == SQLITE_ROW) *id = sqlite3_column_int64(find, 0);
    sqlite3_reset(find);
    sqlite3_clear_bindings(find);
    if (rc == SQLITE_ROW) return 0;
    if (rc != SQLITE_DONE) return sql_fail(d, err, "finding prompt");
    sqlite3_stmt *add = d->stmt[ST_PROMPT_ADD];
    bind_text(add, 1, task);
    bind_text(add, 2, text);
    bind_text(add, 3, gold);
    bind_text(add, 4, tests);
    if (step_done(d, add, err, "inserting prompt")) return err->code;
    *id = sqlite3_last_insert_rowid(d->sql);
    return 0;
}

int db_insert_group(db *d, int64_t run_id, int64_t step, int64_t prompt_id, double reward_mean,
                    double reward_std, int filtered, int64_t *group_id, core_error *err) {
    sqlite3_stmt *st = d->stmt[ST_GROUP];
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, step);
    sqlite3_bind_int64(st, 3, prompt_id);
    bind_real(st, 4, reward_mean);
    bind_real(st, 5, reward_std);
    sqlite3_bind_int(st, 6, filtered);
    if (step_done(d, st, err, "inserting group")) return err->code;
    *group_id = sqlite3_last_insert_rowid(d->sql);
    return 0;
}

int db_insert_episode(db *d, const db_episode *e, int64_t *episode_id, core_error *err) {
    sqlite3_stmt *st = d->stmt[ST_EPISODE];
    sqlite3_bind_int64(st, 1, e->run_id);
    sqlite3_bind_int64(st, 2, e->step);
    sqlite3_bind_int64(st, 3, e->group_id);
    sqlite3_bind_int64(st, 4, e->prompt_id);
    sqlite3_bind_int(st, 5, e->sample);
    sqlite3_bind_int(st, 6, e->worker);
    sqlite3_bind_int(st, 7, e->policy_version);
    bind_text(st, 8, e->completion);
    sqlite3_bind_int(st, 9, e->n_tokens);
    bind_text(st, 10, e->finish_reason);
    sqlite3_bind_double(st, 11, e->reward);
    bind_real(st, 12, e->advantage);
    sqlite3_bind_int(st, 13, e->correct);
    sqlite3_bind_int(st, 14, e->format_ok);
    bind_real(st, 15, e->logprob_mean);
    bind_real(st, 16, e->t_sample);
    bind_real(st, 17, e->t_reward);
    sqlite3_bind_int(st, 18, e->infra_fail);
    if (step_done(d, st, err, "inserting episode")) return err->code;
    if (episode_id) *episode_id = sqlite3_last_insert_rowid(d->sql);
    return 0;
}

int db_insert_reward_part(db *d, int64_t episode_id, const char *name, double value,
                          const char *detail, core_error *err) {
    sqlite3_stmt *st = d->stmt[ST_REWARD_PART];
    sqlite3_bind_int64(st, 1, episode_id);
    bind_text(st, 2, name);
    sqlite3_bind_double(st, 3, value);
    bind_text(st, 4, detail);
    return step_done(d, st, err, "inserting reward part");
}

int db_insert_sandbox_run(db *d, int64_t episode_id, const db_sandbox_run *r, core_error *err) {
    sqlite3_stmt *st = d->stmt[ST_SANDBOX_RUN];
    sqlite3_bind_int64(st, 1, episode_id);
    sqlite3_bind_int(st, 2, r->test);
    bind_text(st, 3, r->verdict);
    sqlite3_bind_int(st, 4, r->exit_code);
    sqlite3_bind_int(st, 5, r->signal);
    bind_real(st, 6, r->cpu_ms);
    bind_real(st, 7, r->wall_ms);
    sqlite3_bind_int64(st, 8, r->rss_kb);
    bind_text(st, 9, r->output);
    bind_text(st, 10, r->message);
    return step_done(d, st, err, "inserting sandbox run");
}

int db_insert_eval(db *d, int64_t run_id, int64_t step, const char *split, const char *metric,
                   double value, core_error *err) {
    sqlite3_stmt *st = d->stmt[ST_EVAL];
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, step);
    bind_text(st, 3, split);
    bind_text(st, 4, metric);
    sqlite3_bind_double(st, 5, value);
    return step_done(d, st, err, "inserting eval");
}

int db_insert_eval_run(db *d, int64_t run_id, int64_t step, const char *split,
                       const char *checkpoint, int items, int k, core_error *err) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(d->sql, "INSERT OR REPLACE INTO eval_runs(run_id, step, split, checkpoint, "
                                   "items, k) VALUES(?,?,?,?,?,?)", -1, &st, NULL) != SQLITE_OK)
        return sql_fail(d, err, "inserting an eval run");
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, step);
    bind_text(st, 3, split);
    bind_text(st, 4, checkpoint && checkpoint[0] ? checkpoint : NULL);
    sqlite3_bind_int(st, 5, items);
    sqlite3_bind_int(st, 6, k);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : sql_fail(d, err, "inserting an eval run");
}

int db_insert_eval_sample(db *d, int64_t run_id, int64_t step, const char *split,
                          const db_eval_sample *e, core_error *err) {
    if (!d->stmt_eval_sample &&
        sqlite3_prepare_v3(d->sql, "INSERT OR REPLACE INTO eval_samples(run_id, step, split, prompt_id, "
                                   "sample, completion, answer, correct, format_ok, n_tokens, infra_fail) "
                                   "VALUES(?,?,?,?,?,?,?,?,?,?,?)", -1, SQLITE_PREPARE_PERSISTENT,
                           &d->stmt_eval_sample, NULL) != SQLITE_OK)
        return sql_fail(d, err, "preparing eval samples");
    sqlite3_stmt *st = d->stmt_eval_sample;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, step);
    bind_text(st, 3, split);
    sqlite3_bind_int64(st, 4, e->prompt_id);
    sqlite3_bind_int(st, 5, e->sample);
    bind_text(st, 6, e->completion);
    bind_text(st, 7, e->answer);
    sqlite3_bind_int(st, 8, e->correct);
    sqlite3_bind_int(st, 9, e->format_ok);
    sqlite3_bind_int(st, 10, e->n_tokens);
    sqlite3_bind_int(st, 11, e->infra_fail);
    return step_done(d, st, err, "inserting an eval sample");
}

int db_insert_checkpoint(db *d, int64_t run_id, int64_t step, const char *path,
                         const char *sha256, core_error *err) {
    sqlite3_stmt *st = d->stmt[ST_CHECKPOINT];
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, step);
    bind_text(st, 3, path);
    bind_text(st, 4, sha256);
    return step_done(d, st, err, "inserting checkpoint");
}
