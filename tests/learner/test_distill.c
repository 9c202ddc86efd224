/* Distillation: the KL terms' gradients against PyTorch autograd
 * (tests/learner/ref_distill.py); model_backward_logits against
 * model_backward; the dataset selection returns exactly the rows its
 * condition names (distinct traces, capped per prompt), and bad conditions
 * are refused with SQLite's message and nothing written. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "db/db.h"
#include "learner/distill.h"
#include "model/model.h"

/* ------------------------------------------------------------ KL vs torch */

static void kl_oracle_case(int reverse) {
    enum { P = 4, V = 11 };
    float zs[P][V], zt[P][V], grad[P][V] = {{0}};
    double w[P] = {0.25, 0.5, 1.0, 0.125}, loss = 0;
    core_rng rng = core_rng_stream(5, CORE_RNG_TEST, (uint64_t)reverse, 0);
    char in_path[64], out_path[64], cmd[512];
    snprintf(in_path, sizeof in_path, "/tmp/grpo-distill-%d.in", getpid());
    snprintf(out_path, sizeof out_path, "/tmp/grpo-distill-%d.out", getpid());
    FILE *f = fopen(in_path, "w");
    fprintf(f, "%s %d\n", reverse ? "reverse" : "forward", V);
    for (int p = 0; p < P; p++) {
        for (int j = 0; j < V; j++) zs[p][j] = (float)(2 * core_rng_normal(&rng));
        for (int j = 0; j < V; j++) zt[p][j] = (float)(2 * core_rng_normal(&rng));
        loss += w[p] * (reverse ? distill_reverse_kl(zs[p], zt[p], V, (float)w[p], grad[p])
                                : distill_forward_kl(zs[p], zt[p], V, (float)w[p], grad[p]));
        fprintf(f, "%.17g", w[p]);
        for (int j = 0; j < V; j++) fprintf(f, " %.9g", zs[p][j]);
        for (int j = 0; j < V; j++) fprintf(f, " %.9g", zt[p][j]);
        fputc('\n', f);
    }
    fclose(f);
    const char *py = getenv("PYTHON") ? getenv("PYTHON") : ".venv/bin/python3";
    snprintf(cmd, sizeof cmd, "%s tests/learner/ref_distill.py < %s > %s", py, in_path, out_path);
    cr_assert_eq(system(cmd), 0, "the PyTorch oracle failed: %s", cmd);
    f = fopen(out_path, "r");
    double ref;
    cr_assert_eq(fscanf(f, "%lf", &ref), 1);
    cr_assert(ref > 0.1, "the case should have a sizeable KL, got %g", ref);
    cr_assert(fabs(loss - ref) < 1e-9 * (1 + ref), "loss %.12f vs torch %.12f", loss, ref);
    for (int p = 0; p < P; p++)
        for (int j = 0; j < V; j++) {
            double g;
            cr_assert_eq(fscanf(f, "%lf", &g), 1);
            /* our gradient is stored in float */
            cr_assert(fabs(g - grad[p][j]) < 1e-6, "grad[%d][%d] %.9f vs torch %.9f", p, j, grad[p][j], g);
        }
    fclose(f);
    unlink(in_path);
    unlink(out_path);
}

Test(distill_kl, forward_matches_torch) { kl_oracle_case(0); }
Test(distill_kl, reverse_matches_torch) { kl_oracle_case(1); }

Test(distill_kl, zero_for_equal_distributions) {
    float z[5] = {0.3f, -1, 2, 0, 0.5f}, shifted[5], g[5] = {0};
    for (int j = 0; j < 5; j++) shifted[j] = z[j] + 3; /* same softmax */
    cr_assert(fabs(distill_forward_kl(z, shifted, 5, 1, g)) < 1e-12);
    cr_assert(fabs(distill_reverse_kl(z, shifted, 5, 1, g)) < 1e-12);
    for (int j = 0; j < 5; j++) cr_assert(fabs(g[j]) < 1e-6);
    cr_assert_eq(distill_objective_kind("forward_kl"), DISTILL_FORWARD_KL);
    cr_assert_eq(distill_objective_kind("kl"), -1);
}

/* ---------------------------------------------- model_backward_logits */

/* The gradient of sum w * log p(target) given as d/d logits
 * (w (1[j = target] - p_j)) must equal model_backward's from d/d logprob. */
Test(distill_model, backward_logits_equals_backward) {
    model_config mc = {.dim = 16, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .ffn_dim = 24,
                       .vocab = 263, .max_seq = 12, .rope_theta = 10000, .norm_eps = 1e-5f};
    core_error err = {0};
    model *m;
    cr_assert_eq(model_create(&m, &mc, 2, &err), 0, "%s", err.msg);
    model_init(m, 7, 0.2f);
    enum { B = 2, T = 6 };
    int tokens[B * T];
    float lp[B * T], dlp[B * T];
    core_rng rng = core_rng_stream(9, CORE_RNG_TEST, 0, 0);
    for (int i = 0; i < B * T; i++) {
        tokens[i] = (int)(core_rng_uniform(&rng) * 256);
        dlp[i] = (i % T == T - 1) ? 0 : (float)core_rng_normal(&rng);
    }
    cr_assert_eq(model_forward(m, tokens, B, T, lp, NULL, &err), 0);
    model_zero_grad(m);
    model_backward(m, dlp, NULL);
    size_t n = model_n_params(m);
    float *want = malloc(n * sizeof *want), *dz = calloc((size_t)B * T * mc.vocab, sizeof *dz);
    memcpy(want, model_grads(m), n * sizeof *want);
    const float *z = model_last_logits(m);
    for (int i = 0; i < B * T; i++) {
        if (i % T == T - 1) continue;
        const float *row = z + (size_t)i * mc.vocab;
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j < mc.vocab; j++) mx = fmax(mx, row[j]);
        for (int j = 0; j < mc.vocab; j++) sum += exp(row[j] - mx);
        for (int j = 0; j < mc.vocab; j++)
            dz[(size_t)i * mc.vocab + j] = (float)(dlp[i] * ((j == tokens[i + 1]) - exp(row[j] - mx) / sum));
    }
    model_zero_grad(m);
    model_backward_logits(m, dz);
    const float *got = model_grads(m);
    double max_diff = 0, max_abs = 0;
    for (size_t i = 0; i < n; i++) {
        max_diff = fmax(max_diff, fabs(got[i] - want[i]));
        max_abs = fmax(max_abs, fabs(want[i]));
    }
    cr_assert(max_abs > 1e-3, "the gradient should not vanish");
    cr_assert(max_diff < 1e-5 * (1 + max_abs), "max |diff| %g (max |grad| %g)", max_diff, max_abs);
    free(want), free(dz);
    model_free(m);
}

/* ------------------------------------------------------------ selection */

static int64_t scalar(db *d, const char *sql) {
    char buf[64] = "";
    FILE *f = fmemopen(buf, sizeof buf, "w");
    core_error err = {0};
    db_query_print(db_sqlite(d), sql, DB_FORMAT_CSV, f, &err);
    fclose(f);
    char *nl = strchr(buf, '\n'); /* skip the header */
    return nl ? atoll(nl + 1) : -1;
}

/* Run 1 ("teacher"): prompts A, B, C; per prompt some duplicated completions. */
static db *make_db(char *path) {
    snprintf(path, 64, "/tmp/grpo-distill-sel-%d.db", getpid());
    unlink(path);
    db *d;
    core_error err = {0};
    cr_assert_eq(db_open(&d, path, 1000, &err), 0, "%s", err.msg);
    int64_t run, pa[3], g;
    cr_assert_eq(db_run_start(d, "teacher", "train", "", 1, 1, &run, &err), 0);
    const char *q[3] = {"A", "B", "C"};
    /* completions per prompt and whether each is correct */
    const char *text[3][4] = {{"x", "x", "y", "z"}, {"u", "v", "w", "u"}, {"p", "q", "r", "s"}};
    int correct[3][4] = {{1, 1, 1, 0}, {1, 1, 0, 1}, {0, 0, 0, 0}};
    for (int p = 0; p < 3; p++) {
        cr_assert_eq(db_prompt_id(d, "arith", q[p], "1", NULL, &pa[p], &err), 0);
        cr_assert_eq(db_insert_group(d, run, 1 + p, pa[p], 0, 0, 0, &g, &err), 0);
        for (int s = 0; s < 4; s++) {
            db_episode e = {run, 1 + p, g, pa[p], s, 0, 0, 3, text[p][s], "stop", correct[p][s],
                            NAN, NAN, NAN, NAN, correct[p][s], 1, 0};
            cr_assert_eq(db_insert_episode(d, &e, NULL, &err), 0, "%s", err.msg);
        }
    }
    return d;
}

Test(distill_select, exactly_the_rows_the_condition_names) {
    char path[64];
    db *d = make_db(path);
    core_error err = {0};
    int64_t n;
    /* correct: A has x, x, y (distinct x, y), B has u, v, u (distinct u, v); C none */
    cr_assert_eq(db_distill_count(d, "correct = 1", 0, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 4);
    cr_assert_eq(db_distill_count(d, "correct = 1", 1, &n, &err), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(db_distill_count(d, "step >= 2", 0, &n, &err), 0);
    cr_assert_eq(n, 7); /* B: u v w; C: p q r s */
    int64_t student;
    cr_assert_eq(db_run_start(d, "student", "distill", "", 1, 1, &student, &err), 0);
    cr_assert_eq(db_distill_record(d, student, "correct = 1", 0, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 4);
    /* the first of each duplicate, in id order: A/x (id 1), A/y (3), B/u (5), B/v (6) */
    db_distill_row *rows;
    int nr;
    cr_assert_eq(db_distill_rows(d, student, &rows, &nr, &err), 0, "%s", err.msg);
    cr_assert_eq(nr, 4);
    const int64_t want_ids[4] = {1, 3, 5, 6};
    const char *want_text[4] = {"x", "y", "u", "v"}, *want_q[4] = {"A", "A", "B", "B"};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(rows[i].episode_id, want_ids[i]);
        cr_assert_str_eq(rows[i].completion, want_text[i]);
        cr_assert_str_eq(rows[i].question, want_q[i]);
    }
    db_distill_rows_free(rows, nr);
    /* the one query of the issue */
    cr_assert_eq(scalar(d, "SELECT count(*) FROM distill_traces WHERE student_run = 2 AND teacher_run = 1 "
                           "AND correct = 1"), 4);
    db_close(d);
    unlink(path);
}

Test(distill_select, bad_conditions_are_refused) {
    char path[64];
    db *d = make_db(path);
    core_error err = {0};
    int64_t n;
    cr_assert_eq(db_distill_count(d, "no_such_column = 1", 0, &n, &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, "no such column"), "%s", err.msg);
    cr_assert_eq(db_distill_count(d, "1) ; DELETE FROM runs; SELECT (1", 0, &n, &err), CORE_EINPUT);
    cr_assert_eq(db_distill_count(d, "   ", 0, &n, &err), CORE_EINPUT);
    int64_t student;
    cr_assert_eq(db_run_start(d, "student", "distill", "", 1, 1, &student, &err), 0);
    cr_assert_eq(db_distill_record(d, student, "reward = ", 0, &n, &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, "syntax error") || strstr(err.msg, "incomplete"), "%s", err.msg);
    cr_assert_eq(scalar(d, "SELECT count(*) FROM runs"), 2);
    cr_assert_eq(scalar(d, "SELECT count(*) FROM distill_examples"), 0);
    db_close(d);
    unlink(path);
}
