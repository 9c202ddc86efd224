/*
 * Pretraining lowers the held-out loss, logs its steps, resumes exactly;
 * eval measures what the model does (a model trained on well-formed right
 * answers scores high, an untrained one and one trained on broken templates
 * do not) and is deterministic; pass@k is the unbiased estimator.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "learner/eval.h"
#include "learner/pretrain.h"

/* Toy models are far too small to gain from threads, and OpenMP barriers
 * with a busy second core (other tests, other users) cost more than the
 * work: one thread keeps these tests fast and their timing steady. */
static void one_thread(void) { omp_set_num_threads(1); }
TestSuite(pretrain, .init = one_thread);
TestSuite(eval, .init = one_thread);

/* A toy config in a fresh temporary folder (tiny model, seconds to train). */
static void toy_config(core_config *cfg, char *dir, size_t cap) {
    snprintf(dir, cap, "/tmp/grpo-test-pretrain-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    core_config_defaults(cfg);
    const char *sets[] = {
        "model.dim=32", "model.n_layers=1", "model.n_heads=2", "model.n_kv_heads=2",
        "model.ffn_dim=64", "model.max_seq=64", "pretrain.batch=8", "pretrain.warmup=5",
        "pretrain.eval_every=20", "pretrain.checkpoint_every=0", "tasks.heldout_items=16",
        "eval.k=4", "eval.items=16", "db.path=", "run.name=toy"};
    core_error err = {0};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        cr_assert_eq(core_config_set(cfg, sets[i], &err), 0, "%s", err.msg);
    snprintf(cfg->run.out_dir, sizeof cfg->run.out_dir, "%s", dir);
}

static void set(core_config *cfg, const char *assignment) {
    core_error err = {0};
    cr_assert_eq(core_config_set(cfg, assignment, &err), 0, "%s", err.msg);
}

static void remove_dir(const char *dir) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static long count_rows(const char *db_path, const char *sql) {
    sqlite3 *s;
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_open(db_path, &s), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(s, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(s));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    long n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(s);
    return n;
}

Test(pretrain, lowers_heldout_loss_logs_steps_and_checkpoints) {
    core_config cfg;
    char dir[256], db_path[300];
    toy_config(&cfg, dir, sizeof dir);
    snprintf(db_path, sizeof db_path, "%s/runs.db", dir);
    snprintf(cfg.db.path, sizeof cfg.db.path, "%s", db_path);
    set(&cfg, "pretrain.steps=60");
    pretrain_result res;
    core_error err = {0};
    cr_assert_eq(pretrain_run(&cfg, 0, NULL, &res, &err), 0, "%s", err.msg);
    cr_assert_eq(res.steps_done, 60);
    cr_assert(res.heldout_loss < res.first_heldout_loss - 1.0, "held-out loss %.3f -> %.3f",
              res.first_heldout_loss, res.heldout_loss);
    cr_assert(access(res.checkpoint, R_OK) == 0, "%s", res.checkpoint);
    cr_assert_eq(count_rows(db_path, "SELECT count(*) FROM steps"), 60);
    cr_assert_eq(count_rows(db_path, "SELECT count(*) FROM steps WHERE heldout_loss IS NOT NULL"),
                 3);
    cr_assert_eq(count_rows(db_path, "SELECT count(*) FROM runs WHERE status = 'done'"), 1);
    cr_assert_eq(count_rows(db_path, "SELECT count(*) FROM checkpoints"), 1);
    remove_dir(dir);
}

static model *load(const char *path) {
    model *m;
    core_error err = {0};
    cr_assert_eq(model_load(&m, path, 8, &err), 0, "%s", err.msg);
    return m;
}

Test(pretrain, resume_continues_exactly) {
    core_config full, part;
    char dir_full[256], dir_part[256];
    toy_config(&full, dir_full, sizeof dir_full);
    toy_config(&part, dir_part, sizeof dir_part);
    set(&full, "pretrain.steps=40");
    set(&part, "pretrain.steps=40");
    set(&part, "pretrain.stop_at=20");
    pretrain_result a, b;
    core_error err = {0};
    cr_assert_eq(pretrain_run(&full, 0, NULL, &a, &err), 0, "%s", err.msg);
    cr_assert_eq(pretrain_run(&part, 0, NULL, &b, &err), 0, "%s", err.msg);
    cr_assert_eq(b.steps_done, 20);
    set(&part, "pretrain.stop_at=0");
    cr_assert_eq(pretrain_run(&part, 1, NULL, &b, &err), 0, "%s", err.msg);
    cr_assert_eq(b.steps_done, 40);
    model *ma = load(a.checkpoint), *mb = load(b.checkpoint);
    cr_assert_eq(model_adamw_t(mb), 40);
    cr_assert_eq(memcmp(model_params(ma), model_params(mb), model_n_params(ma) * sizeof(float)),
                 0, "resumed weights differ from the uninterrupted run's");
    model_free(ma);
    model_free(mb);
    remove_dir(dir_full);
    remove_dir(dir_part);
}

/* An interrupted pretraining leaves no base model (only its own partial
 * checkpoints) and says so in runs.status; a second pretraining of the name
 * never overwrites a finished base; --resume finishes it. */
Test(pretrain, interrupted_leaves_no_base_and_resumes) {
    core_config cfg;
    char dir[256], db_path[300];
    toy_config(&cfg, dir, sizeof dir);
    snprintf(db_path, sizeof db_path, "%s/runs.db", dir);
    snprintf(cfg.db.path, sizeof cfg.db.path, "%s", db_path);
    set(&cfg, "pretrain.steps=30");
    set(&cfg, "pretrain.checkpoint_every=10");
    set(&cfg, "pretrain.stop_at=20");
    pretrain_result r;
    core_error err = {0};
    char base[400];
    pretrain_checkpoint_path(&cfg, base, sizeof base);
    cr_assert_eq(pretrain_run(&cfg, 0, NULL, &r, &err), 0, "%s", err.msg);
    cr_assert(!r.completed && r.steps_done == 20);
    cr_assert_neq(access(base, F_OK), 0, "a half-trained %s was written", base);
    cr_assert(strstr(r.checkpoint, "/run-1/base-step000020.safetensors"), "%s", r.checkpoint);
    cr_assert_eq(count_rows(db_path, "SELECT count(*) FROM runs WHERE status = 'stopped'"), 1);
    set(&cfg, "pretrain.stop_at=0");
    set(&cfg, "pretrain.lr=1e-3");
    cr_assert_eq(pretrain_run(&cfg, LEARNER_RESUME, NULL, &r, &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, "pretrain.lr: 0.003 -> 0.001"), "%s", err.msg);
    set(&cfg, "pretrain.lr=3e-3");
    cr_assert_eq(pretrain_run(&cfg, LEARNER_RESUME, NULL, &r, &err), 0, "%s", err.msg);
    cr_assert(r.completed && r.steps_done == 30);
    cr_assert_str_eq(r.checkpoint, base);
    cr_assert_eq(access(base, R_OK), 0);
    cr_assert_eq(count_rows(db_path, "SELECT count(*) FROM runs WHERE status = 'done'"), 1);
    cr_assert_eq(count_rows(db_path, "SELECT count(*) FROM checkpoints WHERE pruned IS NULL"), 1,
                 "the partial checkpoints are removed once the base is written");
    /* a finished base is never overwritten */
    cr_assert_eq(pretrain_run(&cfg, 0, NULL, &r, &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, "already pretrained"), "%s", err.msg);
    remove_dir(dir);
}

/* ------------------------------------------------------------------ eval */

Test(eval, pass_at_k_is_the_unbiased_estimator) {
    cr_assert_float_eq(eval_pass_at_k(8, 0, 8), 0.0, 1e-12);
    cr_assert_float_eq(eval_pass_at_k(8, 1, 8), 1.0, 1e-12);
    cr_assert_float_eq(eval_pass_at_k(8, 1, 1), 0.125, 1e-12);
    cr_assert_float_eq(eval_pass_at_k(8, 3, 1), 0.375, 1e-12);
    cr_assert_float_eq(eval_pass_at_k(5, 2, 2), 0.7, 1e-12);  /* 1 - C(3,2)/C(5,2) */
    cr_assert_float_eq(eval_pass_at_k(10, 2, 5), 1.0 - 56.0 / 252.0, 1e-12);
    cr_assert_float_eq(eval_pass_at_k(4, 4, 2), 1.0, 1e-12);
}

static eval_result evaluate(const core_config *cfg, const char *checkpoint, model *given) {
    model *m = given;
    reward_fn *r;
    core_error err = {0};
    if (!m) cr_assert_eq(model_load(&m, checkpoint, 32, &err), 0, "%s", err.msg);
    cr_assert_eq(reward_create(&r, cfg, &err), 0, "%s", err.msg);
    eval_result res;
    cr_assert_eq(eval_run(m, r, cfg, NULL, &res, &err), 0, "%s", err.msg);
    reward_free(r);
    if (!given) model_free(m);
    cr_assert(res.pass1 <= res.pass_k + 1e-12 && res.pass_k <= 1.0);
    cr_assert(res.maj_k >= 0 && res.maj_k <= 1 && res.format_rate >= 0 && res.format_rate <= 1);
    return res;
}

/* Difficulty 0 (sums of 1-2 one-digit numbers) on a clean corpus: a toy
 * model learns it in seconds. */
static void easy_clean(core_config *cfg, int steps, double break_rate) {
    char s[64];
    set(cfg, "tasks.difficulty=0");
    set(cfg, "tasks.slip_rate=0");
    set(cfg, "tasks.recheck_rate=0");
    snprintf(s, sizeof s, "tasks.format_break_rate=%g", break_rate);
    set(cfg, s);
    snprintf(s, sizeof s, "pretrain.steps=%d", steps);
    set(cfg, s);
    set(cfg, "pretrain.batch=16");
    set(cfg, "pretrain.lr=1e-2");
}

Test(eval, scores_a_trained_model_high_and_an_untrained_one_zero) {
    core_config cfg;
    char dir[256];
    toy_config(&cfg, dir, sizeof dir);
    easy_clean(&cfg, 1500, 0.0);
    pretrain_result pr;
    core_error err = {0};
    cr_assert_eq(pretrain_run(&cfg, 0, NULL, &pr, &err), 0, "%s", err.msg);
    eval_result good = evaluate(&cfg, pr.checkpoint, NULL);
    cr_assert(good.items >= 5, "%d items", good.items);
    cr_assert(good.greedy >= 0.6 && good.pass1 >= 0.5 && good.format_rate >= 0.9,
              "trained: greedy %.2f pass@1 %.2f format %.2f", good.greedy, good.pass1,
              good.format_rate);
    cr_assert(good.response_len > 5 && good.response_len < 20, "%.1f", good.response_len);
    eval_result again = evaluate(&cfg, pr.checkpoint, NULL);
    cr_assert(!memcmp(&good.pass1, &again.pass1, 7 * sizeof(double)), "eval is not repeatable");

    model_config mc;
    model *fresh;
    cr_assert_eq(model_config_from(&mc, &cfg, &err), 0);
    cr_assert_eq(model_create(&fresh, &mc, 32, &err), 0);
    model_init(fresh, 5, 0.02f);
    eval_result bad = evaluate(&cfg, NULL, fresh);
    cr_assert(bad.pass1 < 0.05 && bad.format_rate < 0.05, "untrained: pass@1 %.2f format %.2f",
              bad.pass1, bad.format_rate);
    model_free(fresh);
    remove_dir(dir);
}

Test(eval, format_rate_follows_the_corpus_template) {
    core_config cfg;
    char dir[256];
    toy_config(&cfg, dir, sizeof dir);
    easy_clean(&cfg, 400, 1.0); /* every solution breaks the template */
    pretrain_result pr;
    core_error err = {0};
    cr_assert_eq(pretrain_run(&cfg, 0, NULL, &pr, &err), 0, "%s", err.msg);
    eval_result res = evaluate(&cfg, pr.checkpoint, NULL);
    cr_assert(res.format_rate < 0.15, "format %.2f from a corpus with no well-formed solution",
              res.format_rate);
    remove_dir(dir);
}

Test(eval, k_larger_than_the_model_batch_is_an_input_error) {
    core_config cfg;
    char dir[256];
    toy_config(&cfg, dir, sizeof dir);
    model_config mc;
    model *m;
    reward_fn *r;
    core_error err = {0};
    cr_assert_eq(model_config_from(&mc, &cfg, &err), 0);
    cr_assert_eq(model_create(&m, &mc, 2, &err), 0);
    cr_assert_eq(reward_create(&r, &cfg, &err), 0);
    eval_result res;
    cr_assert_eq(eval_run(m, r, &cfg, NULL, &res, &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, "eval.k"), "%s", err.msg);
    reward_free(r);
    model_free(m);
    remove_dir(dir);
}
