/*
 * distill.c — the datasets of `grpo distill`: which episodes taught which
 * student.
 *
 * A distillation's dataset is a set of episodes (a teacher run's traces, or
 * the completions `grpo distill --teacher --samples` wrote as a run of kind
 * 'samples'), recorded in distill_examples (student run, episode, position),
 * so the traces behind any student and their rewards are one join away
 * (the distill_traces view).
 *
 * The selection is a caller's SQL condition on episodes, spliced into a
 * fixed statement: it must compile as one expression (a second statement
 * after it is refused), and SQLite's own message reports any error in it.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db/db.h"

/* Schema version 4 (migration 3 -> 4). */
const char db_migration_distill_sql[] =
    "CREATE TABLE distill_examples (\n"
    "    run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, -- the student's run\n"
    "    episode_id INTEGER NOT NULL REFERENCES episodes(id),               -- a trace it learned from\n"
    "    position   INTEGER NOT NULL,                                       -- order in the dataset\n"
    "    PRIMARY KEY (run_id, episode_id)\n"
    ");\n"
    "CREATE INDEX distill_examples_episode ON distill_examples(episode_id);\n"
    "CREATE VIEW distill_traces AS\n"
    "    SELECT d.run_id AS student_run, s.name AS student, e.run_id AS teacher_run,\n"
    "           t.name AS teacher, t.kind AS teacher_kind, e.id AS episode_id, e.step,\n"
    "           e.prompt_id, p.text AS question, p.gold, e.completion, e.n_tokens, e.reward,\n"
    "           e.correct, e.format_ok\n"
    "    FROM distill_examples d JOIN runs s ON s.id = d.run_id\n"
    "    JOIN episodes e ON e.id = d.episode_id JOIN runs t ON t.id = e.run_id\n"
    "    JOIN prompts p ON p.id = e.prompt_id;\n";

/* Distinct (prompt, completion) traces matching the condition, the first
 * (lowest id) of each, then at most ?2 per prompt (?2 <= 0: all), in id
 * order.  %s is the caller's condition. */
static const char selection_sql[] =
    "SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY prompt_id ORDER BY id) AS k "
    "FROM episodes WHERE id IN (SELECT min(id) FROM episodes "
    "WHERE completion IS NOT NULL AND (%s) GROUP BY prompt_id, completion)) "
    "WHERE ?2 <= 0 OR k <= ?2 ORDER BY id";

static int prepare_selection(sqlite3 *s, const char *head, const char *where, sqlite3_stmt **st,
                             core_error *err) {
    if (!where || !where[strspn(where, " \t\n")])
        return core_fail(err, CORE_EINPUT, "--where: an empty condition (say which episodes, e.g. "
                                           "\"run_id = 1 AND correct = 1\")");
    size_t cap = strlen(head) + sizeof selection_sql + strlen(where) + 64;
    char *sql = malloc(cap), *body = malloc(cap);
    if (!sql || !body) return free(sql), free(body), core_fail(err, CORE_ERUNTIME, "out of memory");
    snprintf(body, cap, selection_sql, where);
    snprintf(sql, cap, "%s%s%s", head, body, head[0] ? ")" : "");
    const char *tail = NULL;
    int rc = sqlite3_prepare_v2(s, sql, -1, st, &tail);
    if (rc != SQLITE_OK) {
        core_fail(err, CORE_EINPUT, "--where \"%s\": %s", where, sqlite3_errmsg(s));
    } else if (tail && tail[strspn(tail, " \t\n;")]) {
        sqlite3_finalize(*st);
        *st = NULL;
        core_fail(err, CORE_EINPUT, "--where \"%s\": must be one condition, not several statements", where);
    }
    free(sql);
    free(body);
    return *st ? 0 : err->code;
}

int db_distill_count(db *d, const char *where, int per_prompt, int64_t *n, core_error *err) {
    sqlite3_stmt *st = NULL;
    if (prepare_selection(db_sqlite(d), "SELECT count(*) FROM (", where, &st, err)) return err->code;
    sqlite3_bind_int(st, 2, per_prompt);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *n = sqlite3_column_int64(st, 0);
    else core_fail(err, CORE_EINPUT, "--where \"%s\": %s", where, sqlite3_errmsg(db_sqlite(d)));
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : err->code;
}

int db_distill_record(db *d, int64_t run_id, const char *where, int per_prompt, int64_t *n,
                      core_error *err) {
    sqlite3_stmt *st = NULL;
    const char *head = "INSERT INTO distill_examples(run_id, episode_id, position) "
                       "SELECT ?1, id, row_number() OVER (ORDER BY id) - 1 FROM (";
    if (prepare_selection(db_sqlite(d), head, where, &st, err)) return err->code;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int(st, 2, per_prompt);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return core_fail(err, CORE_ERUNTIME, "recording the dataset of run %lld: %s",
                         (long long)run_id, sqlite3_errmsg(db_sqlite(d)));
    *n = sqlite3_changes(db_sqlite(d));
    return 0;
}

static char *dup_column(sqlite3_stmt *st, int i) {
    const unsigned char *t = sqlite3_column_text(st, i);
    return strdup(t ? (const char *)t : "");
}

void db_distill_rows_free(db_distill_row *rows, int n) {
    for (int i = 0; rows && i < n; i++) {
        free(rows[i].task);
        free(rows[i].question);
        free(rows[i].gold);
        free(rows[i].completion);
    }
    free(rows);
}

int db_distill_rows(db *d, int64_t run_id, db_distill_row **out, int *n_out, core_error *err) {
    sqlite3 *s = db_sqlite(d);
    sqlite3_stmt *st;
    const char *sql = "SELECT e.id, p.task, p.text, p.gold, e.completion FROM distill_examples x "
                      "JOIN episodes e ON e.id = x.episode_id JOIN prompts p ON p.id = e.prompt_id "
                      "WHERE x.run_id = ? ORDER BY x.position";
    if (sqlite3_prepare_v2(s, sql, -1, &st, NULL) != SQLITE_OK)
        return core_fail(err, CORE_ERUNTIME, "reading the dataset: %s", sqlite3_errmsg(s));
    sqlite3_bind_int64(st, 1, run_id);
    db_distill_row *rows = NULL;
    int n = 0, cap = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            db_distill_row *grown = realloc(rows, sizeof *rows * (size_t)cap);
            if (!grown) break;
            rows = grown;
        }
        rows[n++] = (db_distill_row){sqlite3_column_int64(st, 0), dup_column(st, 1),
                                     dup_column(st, 2), dup_column(st, 3), dup_column(st, 4)};
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        db_distill_rows_free(rows, n);
        return core_fail(err, CORE_ERUNTIME, "reading the dataset of run %lld: %s",
                         (long long)run_id, rc == SQLITE_ROW ? "out of memory" : sqlite3_errmsg(s));
    }
    *out = rows;
    *n_out = n;
    return 0;
}
