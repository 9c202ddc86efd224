/*
 * The corpus and the reward checkers agree: clean worked solutions are
 * correct and well formed, slips are wrong, re-checks are right and say
 * "wait", broken templates fail the format check, and the rates come out as
 * configured.  Code items' reference solutions pass their hidden tests in
 * Python, and a wrong solution fails them.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reward/reward.h"
#include "tasks/tasks.h"

static reward_fn *make_reward(core_config *cfg) {
    core_config_defaults(cfg);
    reward_fn *r;
    core_error err = {0};
    cr_assert_eq(reward_create(&r, cfg, &err), 0, "%s", err.msg);
    return r;
}

static reward_result score(const reward_fn *r, const char *response, const char *gold) {
    reward_input in = {.response = response, .response_len = strlen(response), .gold = gold,
                       .n_tokens = 30, .max_new_tokens = 64};
    reward_result res;
    cr_assert_eq(reward_score(r, &in, &res), 0);
    return res;
}

Test(corpus, clean_solutions_are_correct_and_well_formed) {
    core_config cfg;
    reward_fn *r = make_reward(&cfg);
    const char *math_gens[] = {"arith", "lineq"};
    for (int g = 0; g < 2; g++)
        for (int d = 0; d <= 6; d += 2)
            for (int i = 0; i < 100; i++) {
                core_rng rng = core_rng_stream(11, CORE_RNG_TEST, (uint64_t)d, (uint64_t)i);
                task_item t;
                cr_assert_eq(tasks_generate(math_gens[g], d, &rng, &t, NULL), 0);
                char *resp = tasks_worked_solution(&t);
                reward_result res = score(r, resp, t.gold);
                cr_assert(res.format_ok && res.correct, "%s: %s (gold %s)", t.question, resp,
                          t.gold);
                free(resp);
                task_item_free(&t);
            }
    reward_free(r);
}

Test(corpus, arith_worked_steps_are_exact) {
    core_rng rng = core_rng_stream(1, CORE_RNG_TEST, 0, 0);
    task_item t;
    cr_assert_eq(tasks_generate("arith", 2, &rng, &t, NULL), 0);
    t.operands[0] = 23; t.operands[1] = 45; t.operands[2] = 12; t.n_operands = 3;
    char *resp = tasks_worked_solution(&t);
    cr_assert_str_eq(resp, "<think>23+45=68 68+12=80</think><answer>80</answer>");
    free(resp);
    task_item_free(&t);
}

Test(corpus, countdown_clean_answers_verify) {
    core_config cfg;
    core_config_defaults(&cfg);
    for (int i = 0; i < 200; i++) {
        core_rng rng = core_rng_stream(12, CORE_RNG_TEST, 0, (uint64_t)i);
        task_item t;
        cr_assert_eq(tasks_generate("countdown", 2, &rng, &t, NULL), 0);
        char *resp = tasks_worked_solution(&t);
        char *a = strstr(resp, "<answer>"), *e = strstr(resp, "</answer>");
        cr_assert(a && e);
        *e = 0;
        cr_assert(tasks_countdown_check(a + 8, t.operands, t.n_operands, t.target), "%s: %s",
                  t.question, resp);
        free(resp);
        task_item_free(&t);
    }
}

/* Countdown and lineq: slipped answers fail their checkers, re-checked and
 * confirmed ones pass. */
Test(corpus, countdown_and_lineq_styles_agree_with_their_checkers) {
    core_config cfg;
    reward_fn *r = make_reward(&cfg);
    cfg.tasks.slip_rate = 0.3;
    cfg.tasks.recheck_rate = 0.3;
    cfg.tasks.confirm_rate = 0.2;
    cfg.tasks.format_break_rate = 0;
    int slipped_wrong = 0, slips = 0;
    for (int i = 0; i < 600; i++) {
        const char *gen = i % 2 ? "countdown" : "lineq";
        core_rng trng = core_rng_stream(16, CORE_RNG_TEST, 0, (uint64_t)i);
        core_rng crng = core_rng_stream(16, CORE_RNG_CORPUS, 0, (uint64_t)i);
        task_item t;
        corpus_example ex;
        cr_assert_eq(tasks_generate(gen, 3, &trng, &t, NULL), 0);
        cr_assert_eq(tasks_corpus_example(&cfg, &t, &crng, &ex, NULL), 0);
        int right;
        if (i % 2) {
            char *a = strstr(ex.response, "<answer>"), *e = strstr(ex.response, "</answer>");
            cr_assert(a && e, "%s", ex.response);
            *e = 0;
            right = tasks_countdown_check(a + 8, t.operands, t.n_operands, t.target);
            *e = '<';
        } else {
            right = score(r, ex.response, t.gold).correct;
        }
        if (ex.style == CORPUS_SLIP) {
            slips++;
            slipped_wrong += !right;
        } else {
            cr_assert(right, "style %d: %s %s", ex.style, t.question, ex.response);
        }
        cr_assert_eq(strstr(ex.response, "wait") != NULL,
                     ex.style == CORPUS_RECHECK || ex.style == CORPUS_CONFIRM, "%s", ex.response);
        corpus_example_free(&ex);
        task_item_free(&t);
    }
    /* A countdown slip needs a wrong operator that keeps the value positive;
     * nearly always there is one. */
    cr_assert(slips > 100 && slipped_wrong > 0.9 * slips, "%d of %d slips wrong", slipped_wrong,
              slips);
    reward_free(r);
}

/* Over many examples: each style's answer agrees with the reward, and the
 * fractions match the configured rates. */
Test(corpus, slips_rechecks_and_breaks_follow_the_rates) {
    core_config cfg;
    reward_fn *r = make_reward(&cfg);
    cfg.tasks.slip_rate = 0.2;
    cfg.tasks.recheck_rate = 0.1;
    cfg.tasks.format_break_rate = 0.15;
    cfg.tasks.confirm_rate = 0.1;
    int n = 4000, counts[4] = {0}, broken = 0;
    for (int i = 0; i < n; i++) {
        core_rng trng = core_rng_stream(13, CORE_RNG_TEST, 0, (uint64_t)i);
        core_rng crng = core_rng_stream(13, CORE_RNG_CORPUS, 0, (uint64_t)i);
        task_item t;
        corpus_example ex;
        cr_assert_eq(tasks_generate("arith", 2, &trng, &t, NULL), 0);
        cr_assert_eq(tasks_corpus_example(&cfg, &t, &crng, &ex, NULL), 0);
        cr_assert(!strncmp(ex.prompt, "Q:", 2) && strstr(ex.prompt, t.question));
        reward_result res = score(r, ex.response, t.gold);
        counts[ex.style]++;
        broken += ex.broken;
        cr_assert_eq(res.format_ok, !ex.broken, "%s", ex.response);
        int has_wait = strstr(ex.response, "wait") != NULL;
        int shows_steps = strchr(ex.response, '+') != NULL; /* break 4 drops the thinking */
        int rechecks = ex.style == CORPUS_RECHECK || ex.style == CORPUS_CONFIRM;
        cr_assert_eq(has_wait, rechecks && shows_steps, "%s", ex.response);
        if (ex.style == CORPUS_CONFIRM && shows_steps) {
            /* "wait a+b=c" repeats a step exactly as it was written. */
            const char *w = strstr(ex.response, " wait ") + 6;
            char step[32];
            int len = (int)strcspn(w, " <");
            snprintf(step, sizeof step, "%.*s", len, w);
            cr_assert(strstr(ex.response, step) < w - 6, "%s", ex.response);
        }
        /* A bare answer (break way 2) is still found by last_number; the
         * others keep the <answer> tag.  Either way correctness is the style's. */
        cr_assert_eq(res.correct, ex.style != CORPUS_SLIP, "style %d: %s (gold %s)", ex.style,
                     ex.response, t.gold);
        corpus_example_free(&ex);
        task_item_free(&t);
    }
    cr_assert(counts[CORPUS_SLIP] > 0.17 * n && counts[CORPUS_SLIP] < 0.23 * n, "%d", counts[1]);
    cr_assert(counts[CORPUS_RECHECK] > 0.08 * n && counts[CORPUS_RECHECK] < 0.12 * n, "%d",
              counts[2]);
    cr_assert(counts[CORPUS_CONFIRM] > 0.08 * n && counts[CORPUS_CONFIRM] < 0.12 * n, "%d",
              counts[3]);
    cr_assert(broken > 0.12 * n && broken < 0.18 * n, "%d", broken);
    reward_free(r);
}

Test(corpus, zero_rates_give_a_clean_corpus) {
    core_config cfg;
    core_config_defaults(&cfg);
    cfg.tasks.slip_rate = cfg.tasks.recheck_rate = cfg.tasks.format_break_rate = 0;
    for (int i = 0; i < 500; i++) {
        core_rng trng = core_rng_stream(14, CORE_RNG_TEST, 0, (uint64_t)i);
        core_rng crng = core_rng_stream(14, CORE_RNG_CORPUS, 0, (uint64_t)i);
        task_item t;
        corpus_example ex;
        cr_assert_eq(tasks_generate("arith", 2, &trng, &t, NULL), 0);
        cr_assert_eq(tasks_corpus_example(&cfg, &t, &crng, &ex, NULL), 0);
        char *clean = tasks_worked_solution(&t);
        cr_assert_str_eq(ex.response, clean);
        free(clean);
        corpus_example_free(&ex);
        task_item_free(&t);
    }
}

/* Runs gold + tests (and a wrong solution + tests) through python3. */
static int python_passes(const char *code, const char *tests_json) {
    char path[] = "/tmp/grpo-test-code-XXXXXX.py";
    int fd = mkstemps(path, 3);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "%s\nimport json\nfor line in json.loads(%s%s%s):\n    exec(line)\n", code,
            "r'''", tests_json, "'''");
    fclose(f);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "python3 %s >/dev/null 2>&1", path);
    int rc = system(cmd);
    unlink(path);
    return rc == 0;
}

Test(corpus, code_reference_solutions_pass_their_hidden_tests) {
    if (system("python3 -c pass >/dev/null 2>&1") != 0) cr_skip_test("no python3");
    for (int i = 0; i < 12; i++) {
        core_rng rng = core_rng_stream(15, CORE_RNG_TEST, 0, (uint64_t)i);
        task_item t;
        cr_assert_eq(tasks_generate("code", 6, &rng, &t, NULL), 0);
        cr_assert_eq(t.kind, TASK_CODE);
        cr_assert(python_passes(t.gold, t.tests), "%s\n%s\n%s", t.question, t.gold, t.tests);
        /* The same function returning a constant must fail. */
        char wrong[256];
        const char *paren = strchr(t.gold, ')');
        snprintf(wrong, sizeof wrong, "%.*s):\n    return 0\n", (int)(paren - t.gold), t.gold);
        cr_assert(!python_passes(wrong, t.tests), "constant passes: %s", t.tests);
        task_item_free(&t);
    }
}

/* How many of the n programs pass their tests, in one python3 run: each
 * program and its assert lines run in a fresh namespace. */
static int python_pass_count(char **codes, char **tests_json, int n) {
    char path[] = "/tmp/grpo-test-slips-XXXXXX.py";
    int fd = mkstemps(path, 3);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "import json\ncases = []\n");
    for (int i = 0; i < n; i++)
        fprintf(f, "cases.append((r'''%s''', json.loads(r'''%s''')))\n", codes[i], tests_json[i]);
    fprintf(f, "passed = 0\nfor code, tests in cases:\n    ns = {}\n    try:\n"
               "        exec(code, ns)\n        for line in tests:\n            exec(line, ns)\n"
               "        passed += 1\n    except Exception:\n        pass\nprint(passed)\n");
    fclose(f);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "python3 %s", path);
    FILE *p = popen(cmd, "r");
    int passed = -1;
    cr_assert(p && fscanf(p, "%d", &passed) == 1);
    pclose(p);
    unlink(path);
    return passed;
}

/* The program between <answer> and </answer> (malloc'd). */
static char *answer_of(const char *response) {
    const char *a = strstr(response, "<answer>"), *b = a ? strstr(a, "</answer>") : NULL;
    cr_assert(a && b, "no answer in %s", response);
    return strndup(a + 8, (size_t)(b - a - 8));
}

/* Code items' corpus: a clean solution is the reference; a slip is one of
 * the template's wrong versions, and its hidden tests catch it (the first
 * test sits where slips show; a few slips pass by chance, e.g. n // K == 0
 * on n = 0); a re-check says "wait" and ends with the reference. */
Test(corpus, code_slips_fail_their_tests_and_rechecks_end_right) {
    if (system("python3 -c pass >/dev/null 2>&1") != 0) cr_skip_test("no python3");
    enum { N = 120 };
    char *codes[2][N], *tests[N];
    core_config cfg;
    core_config_defaults(&cfg);
    snprintf(cfg.tasks.kind, sizeof cfg.tasks.kind, "code");
    cfg.tasks.format_break_rate = cfg.tasks.recheck_rate = cfg.tasks.confirm_rate = 0;
    for (int i = 0; i < N; i++) {
        core_rng trng = core_rng_stream(16, CORE_RNG_TEST, 0, (uint64_t)i);
        task_item t;
        cr_assert_eq(tasks_generate("code", 4, &trng, &t, NULL), 0);
        tests[i] = strdup(t.tests);
        for (int slip = 0; slip < 2; slip++) {
            cfg.tasks.slip_rate = slip;
            core_rng crng = core_rng_stream(16, CORE_RNG_CORPUS, 0, (uint64_t)i);
            corpus_example ex;
            cr_assert_eq(tasks_corpus_example(&cfg, &t, &crng, &ex, NULL), 0);
            cr_assert_eq(ex.style, slip ? CORPUS_SLIP : CORPUS_CLEAN);
            codes[slip][i] = answer_of(ex.response);
            cr_assert_eq(!strcmp(codes[slip][i], t.gold), !slip, "%s\n%s", ex.response, t.gold);
            corpus_example_free(&ex);
        }
        cfg.tasks.slip_rate = 0;
        cfg.tasks.recheck_rate = 1;
        core_rng crng = core_rng_stream(16, CORE_RNG_CORPUS, 1, (uint64_t)i);
        corpus_example ex;
        cr_assert_eq(tasks_corpus_example(&cfg, &t, &crng, &ex, NULL), 0);
        char *code = answer_of(ex.response);
        cr_assert(strstr(ex.response, " wait ") && !strcmp(code, t.gold), "%s", ex.response);
        free(code);
        corpus_example_free(&ex);
        cfg.tasks.recheck_rate = 0;
        task_item_free(&t);
    }
    int clean = python_pass_count(codes[0], tests, N), slipped = python_pass_count(codes[1], tests, N);
    cr_assert_eq(clean, N, "%d of %d reference solutions pass", clean, N);
    cr_assert_leq(slipped, N / 10, "%d of %d slipped solutions pass their tests", slipped, N);
    for (int i = 0; i < N; i++) free(codes[0][i]), free(codes[1][i]), free(tests[i]);
}

/* 1 if the number v is written in s (not as part of a longer one). */
static int has_number(const char *s, long v) {
    char k[24];
    int n = snprintf(k, sizeof k, "%ld", v);
    for (const char *p = s; (p = strstr(p, k)); p++)
        if ((p == s || p[-1] < '0' || p[-1] > '9') && (p[n] < '0' || p[n] > '9')) return 1;
    return 0;
}

/* The held-out split of the code generator is by its constant: every
 * held-out item has K = 3 (mod 7), no training draw does, so no training
 * item shares a held-out item's function. */
Test(corpus, code_heldout_constants_never_occur_in_training) {
    core_config cfg;
    core_config_defaults(&cfg);
    snprintf(cfg.tasks.kind, sizeof cfg.tasks.kind, "code");
    cfg.tasks.difficulty = 4;
    task_source *ts;
    core_error err = {0};
    cr_assert_eq(tasks_open(&cfg, &ts, &err), 0, "%s", err.msg);
    const task_set *h = tasks_heldout(ts);
    cr_assert_eq(h->n, cfg.tasks.heldout_items);
    int seen[31] = {0};
    for (int i = 0; i < h->n; i++) {
        cr_assert_eq(h->items[i].operands[0] % 7, 3, "%s", h->items[i].question);
        seen[h->items[i].operands[0]]++;
    }
    cr_assert(seen[3] && seen[10] && seen[17] && seen[24], "held-out K: not all of 3, 10, 17, 24");
    for (int step = 0; step < 300; step++)
        for (int b = 0; b < 8; b++) {
            task_item t;
            cr_assert_eq(tasks_draw(ts, (uint64_t)step, b, &t, &err), 0, "%s", err.msg);
            cr_assert_neq(t.operands[0] % 7, 3, "training item with a held-out K: %s", t.question);
            cr_assert(has_number(t.question, t.operands[0]), "K %ld is not in the question: %s",
                      t.operands[0], t.question);
            task_item_free(&t);
        }
    tasks_close(ts);
}
