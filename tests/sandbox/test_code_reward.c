/*
 * reward/code.c: extraction, assert and stdin/stdout tests, all-or-nothing
 * and fraction scoring, per-test rows, and the generator's own items (the
 * reference solution passes its tests; a broken one fails them).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reward/code.h"
#include "tasks/tasks.h"
#include "tests/sandbox/namespaces.h"

/* Warm Python by default, as the config has it; GRPO_TEST_COLD=1 in a
 * test switches it off (the cold path gets its own tests below). */
static reward_code_opts opts(int fraction) {
    reward_code_opts o;
    memset(&o, 0, sizeof o);
    sandbox_limits_default(&o.lim);
    o.lim.time_ms = 5000;
    o.fraction = fraction;
    o.workers = 2;
    o.warm = !getenv("GRPO_TEST_COLD");
    return o;
}

static double score_of(const char *completion, const char *tests, int fraction, reward_code_run *runs,
                       int *n_runs, char *detail) {
    reward_code_opts o = opts(fraction);
    double s = -1;
    core_error err = {0};
    int rc = reward_code_run_tests(completion, strlen(completion), tests, &o, &s, detail, 160, runs,
                                   REWARD_CODE_MAX_TESTS, n_runs, &err);
    if (rc == CORE_ERUNTIME) skip_without_namespaces(err.msg);
    cr_assert_eq(rc, 0, "%s", err.msg);
    return s;
}

/* ------------------------------------------------------------ extraction */

static void expect_extract(const char *completion, const char *program, const char *lang) {
    char out[1024];
    const char *got_lang = NULL;
    long n = reward_code_extract(completion, strlen(completion), out, sizeof out, &got_lang);
    if (!program) {
        cr_assert_eq(n, -1, "expected no program in %s, got %s", completion, out);
        return;
    }
    cr_assert_gt(n, 0, "no program found in %s", completion);
    cr_assert_str_eq(out, program);
    cr_assert_str_eq(got_lang, lang);
}

Test(code_reward, extraction) {
    expect_extract("<think>x</think><answer>```python\nprint(1)\n```</answer>", "print(1)\n", "python");
    expect_extract("text ```py\na=1\n``` more ```c\nint main(){}\n``` end", "int main(){}\n", "c");
    expect_extract("<answer>\ndef f(x):\n    return x\n</answer>", "def f(x):\n    return x\n", "python");
    expect_extract("```bash\necho hi\n", "echo hi\n", "sh"); /* cut before the closing fence */
    expect_extract("```Python \nx = 2\n```", "x = 2\n", "python");
    expect_extract("```\nprint(3)\n```\n<answer>```sh\necho 4\n```</answer>", "echo 4\n", "sh");
    expect_extract("no code at all", NULL, NULL);
    expect_extract("<answer>   </answer>", NULL, NULL);
}

/* ---------------------------------------------------------- assert tests */

static const char *ADD_TESTS = "[\"assert add(1, 2) == 3\", \"assert add(-1, 1) == 0\", \"assert add(5, 5) == 10\"]";

Test(code_reward, correct_solution_scores_one) {
    reward_code_run runs[REWARD_CODE_MAX_TESTS];
    int n = 0;
    char detail[160];
    double s = score_of("<answer>```python\ndef add(a, b):\n    return a + b\n```</answer>", ADD_TESTS, 0, runs, &n,
                        detail);
    cr_assert_float_eq(s, 1.0, 1e-12, "%s", detail);
    cr_assert_eq(n, 3);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(runs[i].test, i);
        cr_assert(runs[i].passed);
        cr_assert_str_eq(runs[i].verdict, "OK");
        cr_assert(runs[i].wall_ms > 0 && runs[i].rss_kb > 0);
    }
    cr_assert(strstr(detail, "3/3"), "%s", detail);
}

Test(code_reward, wrong_solution_scores_zero) {
    reward_code_run runs[REWARD_CODE_MAX_TESTS];
    int n = 0;
    char detail[160];
    double s = score_of("```python\ndef add(a, b):\n    return a * b\n```", ADD_TESTS, 0, runs, &n, detail);
    cr_assert_float_eq(s, 0.0, 1e-12);
    cr_assert_geq(n, 1);
    int wrong = 0;
    for (int i = 0; i < n; i++) wrong += !strcmp(runs[i].verdict, "WRONG_ANSWER");
    cr_assert_geq(wrong, 1, "%s", detail);
    cr_assert(strstr(runs[0].output, "AssertionError") || runs[0].passed, "%s", runs[0].output);
}

Test(code_reward, fraction_counts_tests_passed) {
    reward_code_run runs[REWARD_CODE_MAX_TESTS];
    int n = 0;
    char detail[160];
    /* right only when a == b: passes add(5, 5) alone */
    double s = score_of("```python\ndef add(a, b):\n    return 2 * a\n```", ADD_TESTS, 1, runs, &n, detail);
    cr_assert_float_eq(s, 1.0 / 3.0, 1e-12, "%s", detail);
    cr_assert_eq(n, 3);
    cr_assert(!runs[0].passed && !runs[1].passed && runs[2].passed);
}

Test(code_reward, all_or_nothing_stops_at_the_first_failing_batch) {
    reward_code_opts o = opts(0);
    o.workers = 1;
    o.warm = 0; /* warm runs every case in one instance */
    double s = -1;
    char detail[160];
    reward_code_run runs[REWARD_CODE_MAX_TESTS];
    int n = 0;
    core_error err = {0};
    const char *c = "```python\ndef add(a, b):\n    return 0\n```";
    cr_assert_eq(reward_code_run_tests(c, strlen(c), ADD_TESTS, &o, &s, detail, sizeof detail, runs,
                                       REWARD_CODE_MAX_TESTS, &n, &err), 0, "%s", err.msg);
    cr_assert_float_eq(s, 0.0, 1e-12);
    cr_assert_eq(n, 1, "ran %d tests after the first failure", n);
}

Test(code_reward, exiting_early_does_not_pass) {
    char detail[160];
    int n = 0;
    double s = score_of("```python\nimport os\nos._exit(0)\n```", ADD_TESTS, 1, NULL, &n, detail);
    cr_assert_float_eq(s, 0.0, 1e-12, "%s", detail);
    s = score_of("```python\nimport sys\nsys.exit(0)\n```", ADD_TESTS, 1, NULL, &n, detail);
    cr_assert_float_eq(s, 0.0, 1e-12, "%s", detail);
}

Test(code_reward, exit_builtin_in_a_passing_program) {
    char detail[160];
    int n = 0;
    const char *tests = "[{\"stdin\": \"4\", \"stdout\": \"16\"}, {\"stdin\": \"5\", \"stdout\": \"25\"}]";
    double s = score_of("```python\nn = int(input())\nprint(n * n)\nexit(0)\n```", tests, 0, NULL, &n, detail);
    cr_assert_float_eq(s, 1.0, 1e-12, "%s", detail);
}

Test(code_reward, infinite_loop_is_a_time_limit_row) {
    reward_code_opts o = opts(1);
    o.lim.time_ms = 300;
    double s = -1;
    char detail[160];
    reward_code_run runs[4];
    int n = 0;
    core_error err = {0};
    const char *c = "```python\nwhile True:\n    pass\n```";
    cr_assert_eq(reward_code_run_tests(c, strlen(c), "[\"assert True\"]", &o, &s, detail, sizeof detail, runs, 4,
                                       &n, &err), 0, "%s", err.msg);
    cr_assert_float_eq(s, 0.0, 1e-12);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(runs[0].verdict, "TIME_LIMIT");
}

/* Why a test failed is one line in the row (sandbox_runs.message): the
 * assertion's own text and the failing assert, from a cold run and from the
 * warm runner alike; an io test's first differing line; a limit's detail;
 * nothing for a test that passed. */
static void failure_messages(int warm) {
    reward_code_opts o = opts(1);
    o.warm = warm;
    o.lim.time_ms = 1500;
    reward_code_run runs[4];
    int n = 0;
    double s = -1;
    char detail[160];
    core_error err = {0};
    const char *tests = "[\"assert add(1, 2) == 3\", \"assert add(5, 5) == 10\", \"assert check(add)\"]";
    const char *c = "```python\ndef add(a, b):\n    return 2 * a\n"
                    "def check(f):\n    assert f(2, 3) == 5, f'add(2, 3) gave {f(2, 3)}'\n    return True\n```";
    cr_assert_eq(reward_code_run_tests(c, strlen(c), tests, &o, &s, detail, sizeof detail, runs, 4, &n, &err), 0,
                 "%s", err.msg);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(runs[0].message, "AssertionError at: assert add(1, 2) == 3", "warm %d", warm);
    cr_assert_str_eq(runs[1].message, "", "a passing test has no message");
    cr_assert_str_eq(runs[2].message, "AssertionError: add(2, 3) gave 4 at: assert f(2, 3) == 5, f'add(2, 3) gave {f(2, 3)}'",
                     "warm %d", warm);
    const char *crash = "```python\ndef add(a, b):\n    return a + undefined_name\n```";
    cr_assert_eq(reward_code_run_tests(crash, strlen(crash), tests, &o, &s, detail, sizeof detail, runs, 4, &n, &err),
                 0);
    cr_assert_str_eq(runs[0].verdict, "RUNTIME_ERROR");
    cr_assert_str_eq(runs[0].message, "NameError: name 'undefined_name' is not defined at: return a + undefined_name");
    const char *broken = "```python\ndef add(a, b:\n    return a\n```";
    cr_assert_eq(reward_code_run_tests(broken, strlen(broken), tests, &o, &s, detail, sizeof detail, runs, 4, &n,
                                       &err), 0);
    cr_assert_eq(n, 3, "every test ran (warm %d)", warm);
    for (int i = 0; i < 3; i++) cr_assert_str_eq(runs[i].message, "SyntaxError: '(' was never closed at: def add(a, b:");
    const char *loop = "```python\nwhile True:\n    pass\n```";
    cr_assert_eq(reward_code_run_tests(loop, strlen(loop), "[\"assert True\"]", &o, &s, detail, sizeof detail, runs, 4,
                                       &n, &err), 0);
    cr_assert_str_eq(runs[0].message, "wall clock 1500 ms", "%s", runs[0].message);
    const char *io = "[{\"stdin\": \"2 3\", \"stdout\": \"2\\n5\\n\"}]";
    const char *sum = "```python\na, b = map(int, input().split())\nprint(a)\nprint(a * b)\n```";
    cr_assert_eq(reward_code_run_tests(sum, strlen(sum), io, &o, &s, detail, sizeof detail, runs, 4, &n, &err), 0);
    cr_assert_str_eq(runs[0].message, "line 2: expected '5', got '6'");
}
Test(code_reward, failure_messages_warm, .timeout = 60) { failure_messages(1); }
Test(code_reward, failure_messages_cold, .timeout = 60) { failure_messages(0); }

/* -------------------------------------------------------------- io tests */

static const char *IO_TESTS = "[{\"stdin\": \"2 3\\n\", \"stdout\": \"5\\n\"},"
                              " {\"input\": \"10 -4\", \"output\": \"6\"}]";

Test(code_reward, stdin_stdout_pairs_python_and_c) {
    char detail[160];
    int n = 0;
    double s = score_of("```python\na, b = map(int, input().split())\nprint(a + b, ' ')\n```", IO_TESTS, 0, NULL,
                        &n, detail);
    cr_assert_float_eq(s, 1.0, 1e-12, "%s", detail);
    s = score_of("<answer>```c\n#include <stdio.h>\nint main(void){int a,b;scanf(\"%d %d\",&a,&b);"
                 "printf(\"%d\\n\",a+b);return 0;}\n```</answer>", IO_TESTS, 0, NULL, &n, detail);
    cr_assert_float_eq(s, 1.0, 1e-12, "%s", detail);
    cr_assert(strstr(detail, "(c)"), "%s", detail);
    reward_code_run runs[4];
    s = score_of("```python\na, b = map(int, input().split())\nprint(a - b)\n```", IO_TESTS, 1, runs, &n, detail);
    cr_assert_float_eq(s, 0.0, 1e-12, "%s", detail);
    cr_assert_str_eq(runs[0].verdict, "WRONG_ANSWER");
    cr_assert_str_eq(runs[0].output, "-1\n");
}

/* C with several tests is compiled once; a compile error fails every test
 * with the compiler's message. */
Test(code_reward, c_compiled_once_for_many_tests, .timeout = 60) {
    const char *tests = "[{\"stdin\": \"3\", \"stdout\": \"9\"}, {\"stdin\": \"-4\", \"stdout\": \"16\"},"
                        " {\"stdin\": \"0\", \"stdout\": \"0\"}]";
    reward_code_run runs[4];
    int n = 0;
    char detail[160];
    double s = score_of("```c\n#include <stdio.h>\nint main(void){long a; if (scanf(\"%ld\", &a) != 1) return 1;"
                        " printf(\"%ld\\n\", a * a); return 0;}\n```", tests, 1, runs, &n, detail);
    cr_assert_float_eq(s, 1.0, 1e-12, "%s", detail);
    cr_assert_eq(n, 3);
    s = score_of("```c\nint main(void) { return nope; }\n```", tests, 1, runs, &n, detail);
    cr_assert_float_eq(s, 0.0, 1e-12);
    cr_assert_eq(n, 3);
    for (int i = 0; i < 3; i++) {
        cr_assert_str_eq(runs[i].verdict, "RUNTIME_ERROR");
        cr_assert(strstr(runs[i].output, "nope"), "%s", runs[i].output);
    }
}

Test(code_reward, bad_tests_and_missing_program) {
    reward_code_opts o = opts(0);
    double s = -1;
    char detail[160];
    core_error err = {0};
    const char *c = "```python\nprint(1)\n```";
    cr_assert_eq(reward_code_run_tests(c, strlen(c), "[1, 2", &o, &s, detail, sizeof detail, NULL, 0, NULL, &err),
                 CORE_EINPUT);
    cr_assert_eq(reward_code_run_tests(c, strlen(c), "[{\"stdin\": \"x\"}]", &o, &s, detail, sizeof detail, NULL, 0,
                                       NULL, &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, "test 0"), "%s", err.msg);
    cr_assert_eq(reward_code_run_tests("nothing", 7, ADD_TESTS, &o, &s, detail, sizeof detail, NULL, 0, NULL, &err),
                 0);
    cr_assert_float_eq(s, 0.0, 1e-12);
    cr_assert(strstr(detail, "no program"), "%s", detail);
}

/* ------------------------------------------------- the generator's items */

static void generated_items(void) {
    core_rng rng = core_rng_stream(7, CORE_RNG_TEST, 5, 0);
    for (int k = 0; k < 3; k++) {
        task_item item;
        memset(&item, 0, sizeof item);
        core_error err = {0};
        cr_assert_eq(tasks_generate("code", 2, &rng, &item, &err), 0, "%s", err.msg);
        cr_assert(item.tests && item.gold);
        size_t cap = strlen(item.gold) + 128;
        char *completion = malloc(cap);
        snprintf(completion, cap, "<think>ok</think><answer>```python\n%s\n```</answer>", item.gold);
        char detail[160];
        int n = 0;
        double s = score_of(completion, item.tests, 0, NULL, &n, detail);
        cr_assert_float_eq(s, 1.0, 1e-12, "gold of %s failed: %s\n%s", item.id, detail, item.gold);
        /* the same function returning None instead */
        const char *def = strstr(item.gold, "def ");
        const char *colon = def ? strchr(def, ':') : NULL;
        cr_assert(colon, "no def in %s", item.gold);
        snprintf(completion, cap, "```python\n%.*s:\n    return None\n```", (int)(colon - def), def);
        s = score_of(completion, item.tests, 1, NULL, &n, detail);
        cr_assert_float_eq(s, 0.0, 1e-12, "a broken solution passed: %s", detail);
        free(completion);
        task_item_free(&item);
    }
}

Test(code_reward, generated_items_gold_passes_and_broken_gold_fails, .timeout = 60) { generated_items(); }

Test(code_reward, generated_items_cold, .timeout = 60) {
    setenv("GRPO_TEST_COLD", "1", 1);
    generated_items();
}

Test(code_reward, cold_runs_agree_with_warm_runs, .timeout = 60) {
    const char *c = "```python\ndef add(a, b):\n    return 2 * a\n```";
    for (int fraction = 0; fraction < 2; fraction++) {
        reward_code_opts warm = opts(fraction), cold = opts(fraction);
        warm.warm = 1;
        cold.warm = 0;
        double sw = -1, sc = -2;
        char dw[160], dc[160];
        reward_code_run rw[REWARD_CODE_MAX_TESTS], rc_[REWARD_CODE_MAX_TESTS];
        int nw = 0, nc = 0;
        core_error err = {0};
        cr_assert_eq(reward_code_run_tests(c, strlen(c), ADD_TESTS, &warm, &sw, dw, sizeof dw, rw,
                                           REWARD_CODE_MAX_TESTS, &nw, &err), 0, "%s", err.msg);
        cr_assert_eq(reward_code_run_tests(c, strlen(c), ADD_TESTS, &cold, &sc, dc, sizeof dc, rc_,
                                           REWARD_CODE_MAX_TESTS, &nc, &err), 0, "%s", err.msg);
        cr_assert_float_eq(sw, sc, 1e-12, "warm %s / cold %s", dw, dc);
        for (int i = 0; i < nw && i < nc; i++) cr_assert_str_eq(rw[i].verdict, rc_[i].verdict, "test %d", i);
    }
}

/* ------------------------------------------------- through reward_score */

Test(code_reward, component_scores_and_keeps_its_rows, .timeout = 60) {
    core_config cfg;
    core_config_defaults(&cfg);
    snprintf(cfg.reward.components, sizeof cfg.reward.components, "accuracy_code");
    snprintf(cfg.reward.code_score, sizeof cfg.reward.code_score, "fraction");
    reward_fn *r = NULL;
    core_error err = {0};
    cr_assert_eq(reward_create(&r, &cfg, &err), 0, "%s", err.msg);
    const char *resp = "<think>add</think><answer>```python\ndef add(a, b):\n    return 2 * a\n```</answer>";
    reward_code_run rows[REWARD_CODE_MAX_TESTS];
    reward_runs_out runs = {rows, REWARD_CODE_MAX_TESTS, -1};
    reward_input in = {.response = resp, .response_len = strlen(resp), .tests = ADD_TESTS,
                       .runs_out = &runs};
    reward_result out;
    int rc = reward_score(r, &in, &out);
    if (rc == CORE_ERUNTIME) skip_without_namespaces(out.parts[0].detail);
    cr_assert_eq(rc, 0, "%s", out.parts[0].detail);
    cr_assert_str_eq(out.parts[0].name, "accuracy_code");
    cr_assert_float_eq(out.parts[0].value, 1.0 / 3.0, 1e-12, "%s", out.parts[0].detail);
    cr_assert_eq(runs.n, 3, "the rows come back in the caller's buffer");
    cr_assert_str_eq(rows[0].verdict, "WRONG_ANSWER");
    cr_assert_str_eq(rows[2].verdict, "OK");
    cr_assert_eq(rows[2].test, 2);
    /* no tests: no rows */
    in.tests = NULL;
    cr_assert_eq(reward_score(r, &in, &out), 0);
    cr_assert_eq(runs.n, 0);
    reward_free(r);
}

/* A sandbox that fails (GRPO_FAULT_SANDBOX: the instance's setup fails, as a
 * refused mount would) is an infrastructure failure, not a 0: reward_score
 * says CORE_ERUNTIME and flags the result; bad tests are the item's fault
 * (CORE_EINPUT), not the sandbox's. */
Test(code_reward, sandbox_failure_is_flagged_not_scored, .timeout = 60) {
    setenv("GRPO_FAULT_SANDBOX", "grpo-fault", 1); /* before the helper starts: it reads its env once */
    core_config cfg;
    core_config_defaults(&cfg);
    snprintf(cfg.reward.components, sizeof cfg.reward.components, "format,accuracy_code");
    const char *good = "<think>add</think><answer>```python\ndef add(a, b):\n    return a + b\n```</answer>";
    const char *bad = "<think>add</think><answer>```python\ndef add(a, b):\n    return a + b  # grpo-fault\n```</answer>";
    for (int warm = 0; warm < 2; warm++) {
        cfg.sandbox.warm_python = warm;
        reward_fn *r = NULL;
        core_error err = {0};
        cr_assert_eq(reward_create(&r, &cfg, &err), 0, "%s", err.msg);
        reward_input in = {.response = good, .response_len = strlen(good), .tests = ADD_TESTS};
        reward_result out;
        int rc = reward_score(r, &in, &out);
        if (rc == CORE_ERUNTIME) skip_without_namespaces(out.parts[1].detail);
        cr_assert_eq(rc, 0, "%s", out.parts[1].detail);
        cr_assert_eq(out.infra_fail, 0);
        cr_assert_float_eq(out.parts[1].value, 1.0, 1e-12);
        in.response = bad;
        in.response_len = strlen(bad);
        rc = reward_score(r, &in, &out);
        cr_assert_eq(rc, CORE_ERUNTIME, "warm %d", warm);
        cr_assert_eq(out.infra_fail, 2, "the second part (accuracy_code) could not run");
        cr_assert_float_eq(out.parts[1].value, 0.0, 1e-12);
        cr_assert(strstr(out.parts[1].detail, "injected fault"), "%s", out.parts[1].detail);
        cr_assert_float_eq(out.parts[0].value, 1.0, 1e-12, "the format part still ran");
        in.tests = "[1, 2";
        cr_assert_eq(reward_score(r, &in, &out), CORE_EINPUT);
        cr_assert_eq(out.infra_fail, 0, "malformed tests are not an infrastructure failure");
        reward_free(r);
    }
    unsetenv("GRPO_FAULT_SANDBOX");
}
