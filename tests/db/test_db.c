/* db: round trip of a run with steps and episodes, transactions, migrations,
 * and the query printer. */
#include <criterion/criterion.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db/db.h"

static char path[64];

static void fresh_path(void) {
    snprintf(path, sizeof path, "/tmp/grpo-test-db-%d.db", getpid());
    unlink(path);
}

static void cleanup(void) {
    char p[80];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

static db *open_fresh(void) {
    fresh_path();
    db *d = NULL;
    core_error err = {0};
    cr_assert_eq(db_open(&d, path, 1000, &err), 0, "%s", err.msg);
    return d;
}

static int64_t scalar(sqlite3 *s, const char *sql) {
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(s, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(s));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* One step as the learner writes it: a group of 2 episodes with parts. */
static void write_step(db *d, int64_t run, int64_t step) {
    core_error err = {0};
    int64_t prompt, group, ep;
    cr_assert_eq(db_begin(d, &err), 0, "%s", err.msg);
    cr_assert_eq(db_prompt_id(d, "arith", "Q:1+2=", "3", NULL, &prompt, &err), 0, "%s", err.msg);
    cr_assert_eq(db_insert_group(d, run, step, prompt, 0.5, 0.5, 0, &group, &err), 0);
    for (int s = 0; s < 2; s++) {
        db_episode e = {.run_id = run, .step = step, .group_id = group, .prompt_id = prompt,
                        .sample = s, .worker = 0, .policy_version = (int)step,
                        .completion = s ? "<think>1+2=3</think><answer>3</answer>" : "wait 4",
                        .n_tokens = 10 + s, .finish_reason = "stop", .reward = s,
                        .advantage = s ? 1 : -1, .correct = s, .format_ok = s,
                        .logprob_mean = -0.5, .t_sample = NAN, .t_reward = 0.001};
        cr_assert_eq(db_insert_episode(d, &e, &ep, &err), 0, "%s", err.msg);
        cr_assert_eq(db_insert_reward_part(d, ep, "accuracy_math", s, "rule=answer_tag", &err), 0);
        db_sandbox_run sr = {.test = 0, .verdict = "OK", .exit_code = 0, .cpu_ms = 1.5,
                             .wall_ms = 2, .rss_kb = 1000, .output = "3\n"};
        cr_assert_eq(db_insert_sandbox_run(d, ep, &sr, &err), 0, "%s", err.msg);
    }
    db_step st;
    db_step_init(&st, step);
    st.reward_mean = 0.5;
    st.accuracy = 0.5;
    st.kl = 0.01;
    cr_assert_eq(db_insert_step(d, run, &st, &err), 0, "%s", err.msg);
    cr_assert_eq(db_insert_eval(d, run, step, "heldout", "pass@1", 0.25, &err), 0);
    cr_assert_eq(db_commit(d, &err), 0, "%s", err.msg);
}

Test(db, round_trip, .fini = cleanup) {
    db *d = open_fresh();
    core_error err = {0};
    int64_t run;
    cr_assert_eq(db_run_start(d, "t", "train", "[run]\nname = t\n", 5, 1, &run, &err), 0, "%s", err.msg);
    write_step(d, run, 1);
    write_step(d, run, 2);
    cr_assert_eq(db_run_finish(d, run, "done", &err), 0);
    sqlite3 *s = db_sqlite(d);
    cr_assert_eq(scalar(s, "SELECT count(*) FROM episodes"), 4);
    cr_assert_eq(scalar(s, "SELECT count(*) FROM prompts"), 1, "prompts are shared");
    cr_assert_eq(scalar(s, "SELECT count(*) FROM reward_parts"), 4);
    cr_assert_eq(scalar(s, "SELECT count(*) FROM sandbox_runs"), 4);
    cr_assert_eq(scalar(s, "SELECT count(*) FROM steps WHERE kl IS NOT NULL AND loss IS NULL"), 2);
    cr_assert_eq(scalar(s, "SELECT count(*) FROM learning_curve WHERE run = 't'"), 2);
    cr_assert_eq(scalar(s, "SELECT count(*) FROM reward_parts_by_step"), 2);
    cr_assert_eq(scalar(s, "SELECT round(recheck_rate * 100) FROM recheck_by_step WHERE step = 1"), 50);
    cr_assert_eq(scalar(s, "SELECT n FROM worst_prompts"), 4);
    cr_assert_eq(scalar(s, "SELECT count(*) FROM group_pass WHERE k = 2 AND pass_at_k = 1 AND pass_at_1 = 0.5"), 2);
    cr_assert_eq(scalar(s, "SELECT seed FROM runs WHERE status = 'done' AND finished IS NOT NULL"), 5);
    cr_assert_eq(db_last_step(d, run), 2);
    char *html = NULL;
    size_t html_len = 0;
    FILE *f = open_memstream(&html, &html_len);
    cr_assert_eq(db_report_html(s, NULL, 0, f, &err), 0, "%s", err.msg);
    fclose(f);
    cr_assert(strstr(html, "run 1 t") && strstr(html, "mean reward") && strstr(html, "<polyline"));
    free(html);
    int64_t missing = 42;
    cr_assert_eq(db_report_html(s, &missing, 1, stderr, &err), CORE_EINPUT);
    cr_assert_eq(db_run_latest(d, "t", "train"), run);
    cr_assert_eq(db_run_latest(d, "t", "pretrain"), 0);
    db_close(d);
}

Test(db, foreign_keys_are_enforced, .fini = cleanup) {
    db *d = open_fresh();
    core_error err = {0};
    db_episode e = {.run_id = 99, .step = 1, .group_id = 99, .prompt_id = 99,
                    .finish_reason = "eos", .completion = "x"};
    cr_assert_neq(db_insert_episode(d, &e, NULL, &err), 0);
    cr_assert(strstr(err.msg, "FOREIGN KEY"), "%s", err.msg);
    db_close(d);
}

Test(db, rolled_back_step_is_absent, .fini = cleanup) {
    db *d = open_fresh();
    core_error err = {0};
    int64_t run, prompt, group;
    cr_assert_eq(db_run_start(d, "t", "train", "", 1, 1, &run, &err), 0);
    write_step(d, run, 1);
    cr_assert_eq(db_begin(d, &err), 0);
    cr_assert_eq(db_prompt_id(d, "arith", "Q:5+5=", "10", NULL, &prompt, &err), 0);
    cr_assert_eq(db_insert_group(d, run, 2, prompt, 0, 0, 0, &group, &err), 0);
    db_rollback(d); /* what a crash mid-step amounts to */
    cr_assert_eq(scalar(db_sqlite(d), "SELECT count(*) FROM groups"), 1);
    cr_assert_eq(scalar(db_sqlite(d), "SELECT count(*) FROM prompts"), 1);
    db_close(d);
}

Test(db, crash_mid_step_leaves_db_consistent, .fini = cleanup) {
    fresh_path();
    pid_t pid = fork();
    if (pid == 0) {
        db *d;
        core_error err;
        int64_t run, prompt, group;
        if (db_open(&d, path, 1000, &err) || db_run_start(d, "t", "train", "", 1, 1, &run, &err))
            _exit(3);
        write_step(d, run, 1);
        db_begin(d, &err);
        db_prompt_id(d, "arith", "Q:7+7=", "14", NULL, &prompt, &err);
        db_insert_group(d, run, 2, prompt, 0, 0, 0, &group, &err);
        _exit(0); /* dies with the transaction open */
    }
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    db *d;
    core_error err = {0};
    cr_assert_eq(db_open(&d, path, 1000, &err), 0, "%s", err.msg);
    cr_assert_eq(scalar(db_sqlite(d), "SELECT count(*) FROM groups"), 1);
    cr_assert_eq(scalar(db_sqlite(d), "SELECT max(step) FROM steps"), 1);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db_sqlite(d), "PRAGMA integrity_check", -1, &st, NULL);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    db_close(d);
}

Test(db, truncate_after_removes_later_steps, .fini = cleanup) {
    db *d = open_fresh();
    core_error err = {0};
    int64_t run;
    cr_assert_eq(db_run_start(d, "t", "train", "", 1, 1, &run, &err), 0);
    for (int s = 1; s <= 3; s++) write_step(d, run, s);
    cr_assert_eq(db_truncate_after(d, run, 1, &err), 0, "%s", err.msg);
    cr_assert_eq(db_last_step(d, run), 1);
    cr_assert_eq(scalar(db_sqlite(d), "SELECT count(*) FROM episodes"), 2);
    cr_assert_eq(scalar(db_sqlite(d), "SELECT count(*) FROM reward_parts"), 2, "cascade");
    db_close(d);
}

Test(db, migration_sets_version_and_refuses_newer, .fini = cleanup) {
    db *d = open_fresh();
    cr_assert_eq(scalar(db_sqlite(d), "PRAGMA user_version"), DB_SCHEMA_VERSION);
    cr_assert_eq(sqlite3_exec(db_sqlite(d), "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    db_close(d);
    core_error err = {0};
    cr_assert_eq(db_open(&d, path, 1000, &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, "schema version 99 is newer"), "%s", err.msg);
}

/* Student's t tail against table quantiles, Welch's test against a case
 * worked by hand (p from a numerical integral of the t density). */
Test(stats, student_t_and_welch) {
    cr_assert(fabs(db_student_t_p(2.228139, 10) - 0.05) < 1e-6, "%.9f", db_student_t_p(2.228139, 10));
    cr_assert(fabs(db_student_t_p(-2.570582, 5) - 0.05) < 1e-6);
    cr_assert(fabs(db_student_t_p(5.840909, 3) - 0.01) < 1e-6);
    cr_assert(fabs(db_student_t_p(12.7062, 1) - 0.05) < 1e-6);
    cr_assert(fabs(db_student_t_p(0, 7) - 1) < 1e-12);
    cr_assert(fabs(db_incomplete_beta(2, 3, 0.4) - 0.5248) < 1e-12); /* 1 - sum_{j<2} C(4,j) .4^j .6^(4-j) */
    double a[4] = {1, 2, 3, 4}, b[5] = {2, 4, 6, 8, 10};
    db_welch w;
    cr_assert_eq(db_welch_test(a, 4, b, 5, &w), 0);
    cr_assert(fabs(w.t - -2.2514363231593695) < 1e-12 && fabs(w.df - 5.520787746170677) < 1e-9, "%f %f", w.t, w.df);
    cr_assert(fabs(w.p - 0.069133593) < 1e-7, "p %.9f", w.p);
    double c[2] = {1, 1};
    cr_assert_eq(db_welch_test(c, 2, c, 2, &w), -1, "no spread: undefined");
    cr_assert_eq(db_welch_test(a, 1, b, 5, &w), -1, "one seed: undefined");
}

/* A database written by schema version 1 (before sweeps) opens, keeps its
 * runs and gains the sweep tables; a sweep's arms, values and runs join. */
extern const char db_schema_sql[];
Test(db, migration_from_v1_adds_sweeps, .fini = cleanup) {
    fresh_path();
    sqlite3 *raw;
    cr_assert_eq(sqlite3_open(path, &raw), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(raw, db_schema_sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(raw));
    cr_assert_eq(sqlite3_exec(raw, "PRAGMA user_version = 1; INSERT INTO runs(name, config, seed) "
                                   "VALUES('old', '', 7)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    db *d = NULL;
    core_error err = {0};
    cr_assert_eq(db_open(&d, path, 1000, &err), 0, "%s", err.msg);
    cr_assert_eq(scalar(db_sqlite(d), "PRAGMA user_version"), DB_SCHEMA_VERSION);
    cr_assert_eq(scalar(db_sqlite(d), "SELECT seed FROM runs WHERE name = 'old'"), 7);
    int64_t sweep, run;
    const char *keys[] = {"learner.loss"}, *vals[] = {"gspo"};
    cr_assert_eq(db_sweep_create(d, "sw", "[run]\n", "learner.loss=grpo|gspo\n", 3, &sweep, &err), 0, "%s", err.msg);
    cr_assert_eq(db_sweep_add_arm(d, sweep, 1, "learner.loss=gspo", 1, keys, vals, &err), 0, "%s", err.msg);
    cr_assert_eq(db_run_start(d, "sw-a1-s2", "train", "", 9, 1, &run, &err), 0);
    cr_assert_eq(db_run_join_sweep(d, run, sweep, 1, 2, &err), 0, "%s", err.msg);
    cr_assert_eq(scalar(db_sqlite(d), "SELECT seed_index FROM sweep_runs WHERE arm_name = 'learner.loss=gspo'"), 2);
    db_sweep_info info;
    cr_assert_eq(db_sweep_find(d, "sw", &info, &err), 0);
    cr_assert(info.id == sweep && info.seeds == 3 && !strcmp(info.vary, "learner.loss=grpo|gspo\n"));
    db_sweep_info_free(&info);
    cr_assert_eq(db_sweep_find(d, "none", &info, &err), 0);
    cr_assert_eq(info.id, 0);
    /* a second sweep of the same name is refused by the schema */
    cr_assert_neq(db_sweep_create(d, "sw", "", "", 1, &sweep, &err), 0);
    db_close(d);
}

Test(db, reopening_keeps_data_and_wal_mode, .fini = cleanup) {
    db *d = open_fresh();
    core_error err = {0};
    int64_t run;
    cr_assert_eq(db_run_start(d, "keep", "train", "", 1, 1, &run, &err), 0);
    db_close(d);
    cr_assert_eq(db_open(&d, path, 1000, &err), 0, "%s", err.msg);
    cr_assert_eq(db_run_latest(d, "keep", "train"), run);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db_sqlite(d), "PRAGMA journal_mode", -1, &st, NULL);
    sqlite3_step(st);
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    db_close(d);
}

static char *capture(sqlite3 *s, const char *sql, enum db_format fmt, int *rc) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    core_error err = {0};
    *rc = db_query_print(s, sql, fmt, f, &err);
    fclose(f);
    return buf;
}

Test(query, table_csv_json_and_errors, .fini = cleanup) {
    db *d = open_fresh();
    core_error err = {0};
    int64_t run;
    cr_assert_eq(db_run_start(d, "a,b \"q\"", "train", "", 3, 1, &run, &err), 0);
    sqlite3 *s = db_sqlite(d);
    int rc;
    char *out = capture(s, "SELECT id, name, finished FROM runs", DB_FORMAT_TABLE, &rc);
    cr_assert_eq(rc, 0);
    cr_assert_str_eq(out, "id  name     finished\n--  -------  --------\n1   a,b \"q\"  NULL\n(1 row)\n");
    free(out);
    out = capture(s, "SELECT id, name, finished FROM runs", DB_FORMAT_CSV, &rc);
    cr_assert_str_eq(out, "id,name,finished\n1,\"a,b \"\"q\"\"\",\n");
    free(out);
    out = capture(s, "SELECT id, name, 0.5 AS x FROM runs", DB_FORMAT_JSON, &rc);
    cr_assert_str_eq(out, "[{\"id\":1,\"name\":\"a,b \\\"q\\\"\",\"x\":0.5}]\n");
    free(out);
    out = capture(s, "SELECT * FROM no_such_table", DB_FORMAT_TABLE, &rc);
    cr_assert_eq(rc, CORE_EINPUT);
    free(out);
    out = capture(s, "SELECT id FROM runs WHERE 0", DB_FORMAT_TABLE, &rc);
    cr_assert_str_eq(out, "id\n--\n(0 rows)\n");
    free(out);
    db_close(d);
}

/* Many processes opening (creating) one new database at the same instant all
 * succeed, and the schema is created once. */
Test(db, concurrent_creation_all_succeed, .fini = cleanup) {
    enum { N = 12 };
    fresh_path();
    int go[2];
    cr_assert_eq(pipe(go), 0);
    pid_t pids[N];
    for (int i = 0; i < N; i++) {
        if ((pids[i] = fork()) == 0) {
            char c;
            close(go[1]);
            if (read(go[0], &c, 1) != 0) _exit(4); /* wait for the start: the pipe closing */
            db *d;
            core_error err = {0};
            int64_t run;
            if (db_open(&d, path, 200, &err) || db_run_start(d, "c", "train", "", 1, 1, &run, &err)) {
                fprintf(stderr, "child %d: %s\n", i, err.msg);
                _exit(3);
            }
            db_close(d);
            _exit(0);
        }
    }
    close(go[0]);
    close(go[1]); /* every child starts now */
    int ok = 0;
    for (int i = 0; i < N; i++) {
        int status;
        waitpid(pids[i], &status, 0);
        ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    cr_assert_eq(ok, N, "%d of %d processes failed to create the database", N - ok, N);
    db *d;
    core_error err = {0};
    cr_assert_eq(db_open(&d, path, 1000, &err), 0, "%s", err.msg);
    cr_assert_eq(scalar(db_sqlite(d), "SELECT count(*) FROM runs"), N);
    db_close(d);
}

/* Another process holding the write lock for longer than the busy timeout
 * (sqlite3's BEGIN IMMEDIATE, a long `grpo query --write`) delays a writer
 * but does not fail it: the writer waits, with backoff, up to its lock wait. */
Test(db, writer_outwaits_a_lock_longer_than_busy_timeout, .fini = cleanup) {
    fresh_path();
    db *d;
    core_error err = {0};
    int64_t run;
    cr_assert_eq(db_open(&d, path, 100, &err), 0, "%s", err.msg); /* busy timeout 100 ms */
    cr_assert_eq(db_run_start(d, "w", "train", "", 1, 1, &run, &err), 0, "%s", err.msg);
    int held[2];
    cr_assert_eq(pipe(held), 0);
    pid_t pid = fork();
    if (pid == 0) {
        sqlite3 *s;
        close(held[0]);
        if (sqlite3_open(path, &s) != SQLITE_OK ||
            sqlite3_exec(s, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
            _exit(3);
        close(held[1]); /* the lock is held */
        usleep(800 * 1000);
        sqlite3_exec(s, "COMMIT", NULL, NULL, NULL);
        sqlite3_close(s);
        _exit(0);
    }
    close(held[1]);
    char c;
    cr_assert_eq(read(held[0], &c, 1), 0);
    close(held[0]);
    db_set_lock_wait(d, 10.0);
    double t0 = core_now();
    write_step(d, run, 1); /* the lock is held 800 ms, 8 times the busy timeout */
    cr_assert_eq(db_run_finish(d, run, "done", &err), 0, "%s", err.msg);
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_assert(core_now() - t0 > 0.5, "the writer did not wait for the lock");
    db_close(d);
}
