/*
 * sweep.c — the rows of a sweep (`grpo ablate`): the sweep itself, its arms
 * with their varied values, and the arm and seed index on each of its runs.
 * The tables come with schema version 2 (db.c's migrations).
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db/db.h"

static int prepare(sqlite3 *s, const char *sql, sqlite3_stmt **st, core_error *err) {
    if (sqlite3_prepare_v2(s, sql, -1, st, NULL) == SQLITE_OK) return 0;
    return core_fail(err, CORE_ERUNTIME, "preparing '%.60s...': %s", sql, sqlite3_errmsg(s));
}

/* Step a statement that returns no rows, then finalize it. */
static int finish(sqlite3 *s, sqlite3_stmt *st, const char *what, core_error *err) {
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) return 0;
    return core_fail(err, CORE_ERUNTIME, "%s: %s", what, sqlite3_errmsg(s));
}

static char *dup_column(sqlite3_stmt *st, int col) {
    const char *t = (const char *)sqlite3_column_text(st, col);
    return strdup(t ? t : "");
}

int db_sweep_find(db *d, const char *name, db_sweep_info *out, core_error *err) {
    sqlite3 *s = db_sqlite(d);
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    if (prepare(s, "SELECT id, config, vary, seeds FROM sweeps WHERE name = ?", &st, err)) return err->code;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->id = sqlite3_column_int64(st, 0);
        out->config = dup_column(st, 1);
        out->vary = dup_column(st, 2);
        out->seeds = sqlite3_column_int(st, 3);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return core_fail(err, CORE_ERUNTIME, "finding sweep '%s': %s", name, sqlite3_errmsg(s));
    return 0;
}

void db_sweep_info_free(db_sweep_info *s) {
    free(s->config);
    free(s->vary);
    memset(s, 0, sizeof *s);
}

int db_sweep_create(db *d, const char *name, const char *config_ini, const char *vary, int seeds,
                    int64_t *sweep_id, core_error *err) {
    sqlite3 *s = db_sqlite(d);
    sqlite3_stmt *st;
    if (prepare(s, "INSERT INTO sweeps(name, config, vary, seeds) VALUES(?,?,?,?)", &st, err))
        return err->code;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, config_ini, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, vary, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 4, seeds);
    if (finish(s, st, "inserting sweep", err)) return err->code;
    *sweep_id = sqlite3_last_insert_rowid(s);
    return 0;
}

int db_sweep_add_arm(db *d, int64_t sweep_id, int arm, const char *name, int n_values,
                     const char *const *keys, const char *const *values, core_error *err) {
    sqlite3 *s = db_sqlite(d);
    sqlite3_stmt *st;
    if (prepare(s, "INSERT INTO sweep_arms(sweep_id, arm, name) VALUES(?,?,?)", &st, err)) return err->code;
    sqlite3_bind_int64(st, 1, sweep_id);
    sqlite3_bind_int(st, 2, arm);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
    if (finish(s, st, "inserting sweep arm", err)) return err->code;
    for (int i = 0; i < n_values; i++) {
        if (prepare(s, "INSERT INTO sweep_values(sweep_id, arm, key, value) VALUES(?,?,?,?)", &st, err))
            return err->code;
        sqlite3_bind_int64(st, 1, sweep_id);
        sqlite3_bind_int(st, 2, arm);
        sqlite3_bind_text(st, 3, keys[i], -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, values[i], -1, SQLITE_TRANSIENT);
        if (finish(s, st, "inserting sweep value", err)) return err->code;
    }
    return 0;
}

int db_sweep_set_status(db *d, int64_t sweep_id, const char *status, core_error *err) {
    sqlite3 *s = db_sqlite(d);
    sqlite3_stmt *st;
    if (prepare(s, "UPDATE sweeps SET status = ? WHERE id = ?", &st, err)) return err->code;
    sqlite3_bind_text(st, 1, status, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, sweep_id);
    return finish(s, st, "updating sweep status", err);
}

int db_run_join_sweep(db *d, int64_t run_id, int64_t sweep_id, int arm, int seed_index,
                      core_error *err) {
    sqlite3 *s = db_sqlite(d);
    sqlite3_stmt *st;
    if (prepare(s, "UPDATE runs SET sweep_id = ?, arm = ?, seed_index = ? WHERE id = ?", &st, err))
        return err->code;
    sqlite3_bind_int64(st, 1, sweep_id);
    sqlite3_bind_int(st, 2, arm);
    sqlite3_bind_int(st, 3, seed_index);
    sqlite3_bind_int64(st, 4, run_id);
    return finish(s, st, "joining a run to its sweep", err);
}

void db_run_status(db *d, int64_t run_id, char *out, size_t cap) {
    sqlite3_stmt *st;
    out[0] = 0;
    if (sqlite3_prepare_v2(db_sqlite(d), "SELECT status FROM runs WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, run_id);
    if (sqlite3_step(st) == SQLITE_ROW) snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}
