/*
 * tasks/: generators are deterministic per seed and exact, the countdown
 * verifier accepts solutions and rejects cheats, JSONL import reads real
 * layouts and names file, line and field for broken lines, splits are
 * disjoint, templates render.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tasks/tasks.h"

static const char *gens[] = {"arith", "countdown", "lineq", "code"};

Test(generators, deterministic_per_seed) {
    for (int g = 0; g < 4; g++) {
        for (int i = 0; i < 50; i++) {
            core_rng r1 = core_rng_stream(42, CORE_RNG_TEST, (uint64_t)g, (uint64_t)i);
            core_rng r2 = core_rng_stream(42, CORE_RNG_TEST, (uint64_t)g, (uint64_t)i);
            task_item a, b;
            core_error err = {0};
            cr_assert_eq(tasks_generate(gens[g], 2, &r1, &a, &err), 0, "%s", err.msg);
            cr_assert_eq(tasks_generate(gens[g], 2, &r2, &b, &err), 0, "%s", err.msg);
            cr_assert_str_eq(a.question, b.question);
            cr_assert_str_eq(a.gold, b.gold);
            cr_assert_str_eq(a.id, b.id);
            task_item_free(&a);
            task_item_free(&b);
        }
    }
}

Test(generators, different_seeds_give_different_items) {
    for (int g = 0; g < 4; g++) {
        int same = 0;
        for (int i = 0; i < 50; i++) {
            core_rng r1 = core_rng_stream(1, CORE_RNG_TEST, 0, (uint64_t)i);
            core_rng r2 = core_rng_stream(2, CORE_RNG_TEST, 0, (uint64_t)i);
            task_item a, b;
            cr_assert_eq(tasks_generate(gens[g], 2, &r1, &a, NULL), 0);
            cr_assert_eq(tasks_generate(gens[g], 2, &r2, &b, NULL), 0);
            same += !strcmp(a.question, b.question);
            task_item_free(&a);
            task_item_free(&b);
        }
        cr_assert_lt(same, 10, "%s: %d of 50 questions equal across seeds", gens[g], same);
    }
}

Test(generators, arith_demo_difficulty_is_3_to_4_two_digit_terms) {
    int seen3 = 0, seen4 = 0;
    for (int i = 0; i < 300; i++) {
        core_rng r = core_rng_stream(7, CORE_RNG_TEST, 0, (uint64_t)i);
        task_item t;
        cr_assert_eq(tasks_generate("arith", 2, &r, &t, NULL), 0);
        cr_assert(t.n_operands == 3 || t.n_operands == 4);
        seen3 += t.n_operands == 3;
        seen4 += t.n_operands == 4;
        long num, den, sum = 0;
        for (int k = 0; k < t.n_operands; k++) {
            cr_assert(t.operands[k] >= 10 && t.operands[k] <= 99);
            sum += t.operands[k];
        }
        cr_assert_eq(tasks_expr_eval(t.question, &num, &den, NULL, 0, NULL), 0, "%s", t.question);
        cr_assert_eq(num, sum);
        cr_assert_eq(atol(t.gold), sum);
        task_item_free(&t);
    }
    cr_assert(seen3 > 100 && seen4 > 100);
}

Test(generators, countdown_gold_verifies) {
    for (int d = 0; d <= 8; d += 2)
        for (int i = 0; i < 200; i++) {
            core_rng r = core_rng_stream(3, CORE_RNG_TEST, (uint64_t)d, (uint64_t)i);
            task_item t;
            cr_assert_eq(tasks_generate("countdown", d, &r, &t, NULL), 0);
            cr_assert(tasks_countdown_check(t.gold, t.operands, t.n_operands, t.target),
                      "%s -> %s", t.question, t.gold);
            char target[32];
            snprintf(target, sizeof target, "make %ld from", t.target);
            cr_assert(!strncmp(t.question, target, strlen(target)), "%s", t.question);
            task_item_free(&t);
        }
}

Test(generators, lineq_gold_solves_the_equation) {
    for (int d = 0; d <= 10; d += 5)
        for (int i = 0; i < 200; i++) {
            core_rng r = core_rng_stream(5, CORE_RNG_TEST, (uint64_t)d, (uint64_t)i);
            task_item t;
            cr_assert_eq(tasks_generate("lineq", d, &r, &t, NULL), 0);
            long a = t.operands[0], b = t.operands[1], c = t.operands[2], x = atol(t.gold);
            cr_assert_eq(a * x + b, c, "%s gold %s", t.question, t.gold);
            /* The question states the same equation. */
            char want[96];
            snprintf(want, sizeof want, "%ldx%c%ld=%ld", a, b < 0 ? '-' : '+', labs(b), c);
            cr_assert_str_eq(t.question, want);
            task_item_free(&t);
        }
}

Test(generators, unknown_generator_and_difficulty_are_input_errors) {
    core_rng r = core_rng_stream(1, CORE_RNG_TEST, 0, 0);
    task_item t;
    core_error err = {0};
    cr_assert_eq(tasks_generate("poetry", 2, &r, &t, &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, "tasks.kind") && strstr(err.msg, "poetry"), "%s", err.msg);
    cr_assert_eq(tasks_generate("arith", 11, &r, &t, &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, "tasks.difficulty"), "%s", err.msg);
}

/* ---------------------------------------------------------------- verifier */

Test(countdown, verifier_accepts_solutions_and_rejects_cheats) {
    long nums[] = {3, 5, 7};
    cr_assert(tasks_countdown_check("(3+5)*7", nums, 3, 56));
    cr_assert(tasks_countdown_check("7*(5+3)", nums, 3, 56));
    cr_assert(tasks_countdown_check(" 7 * ( 3 + 5 ) ", nums, 3, 56));
    cr_assert(tasks_countdown_check("7*5/5*3-3", (long[]){3, 3, 5, 5, 7}, 5, 18));
    cr_assert(!tasks_countdown_check("3+5*7", nums, 3, 56), "wrong value");
    cr_assert(!tasks_countdown_check("(3+5)*8", nums, 3, 64), "8 is not given");
    cr_assert(!tasks_countdown_check("(3+3)*7", nums, 3, 42), "3 used twice, 5 unused");
    cr_assert(!tasks_countdown_check("7*8", nums, 3, 56), "numbers missing");
    cr_assert(!tasks_countdown_check("(3+5)*7*1", nums, 3, 56), "extra number");
    cr_assert(!tasks_countdown_check("(3+5)*7)", nums, 3, 56), "unbalanced");
    cr_assert(!tasks_countdown_check("56", nums, 3, 56));
    cr_assert(!tasks_countdown_check("3+5+7=15", nums, 3, 15), "trailing text");
    cr_assert(!tasks_countdown_check("7/(5-5)+3", (long[]){3, 5, 5, 7}, 4, 3), "division by 0");
    cr_assert(!tasks_countdown_check("", nums, 3, 0));
    cr_assert(!tasks_countdown_check(NULL, nums, 3, 0));
    /* Fractions are exact: 7/3*3 is 7, 7/2 is not 3. */
    cr_assert(tasks_countdown_check("7/3*3", (long[]){3, 3, 7}, 3, 7));
    cr_assert(!tasks_countdown_check("7/2+0", (long[]){0, 2, 7}, 3, 3));
}

/* ------------------------------------------------------------------ jsonl */

static char *write_temp(const char *text) {
    char *path = strdup("/tmp/grpo-test-tasks-XXXXXX.jsonl");
    int fd = mkstemps(path, 6);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

Test(jsonl, reads_gsm8k_math_mbpp_and_humaneval_layouts) {
    char *path = write_temp(
        "{\"question\": \"Tom has 3 apples and buys 4. How many?\", \"answer\": \"3+4=7\\n#### 7\"}\n"
        "\n"
        "{\"question\": \"Big\", \"answer\": \"so\\n#### 1,234\"}\n"
        "{\"problem\": \"What is $\\\\frac{1}{2}+\\\\frac{1}{2}$?\", \"level\": \"Level 1\", "
        "\"solution\": \"It is $\\\\boxed{\\\\frac{2}{2}}$ or \\\\boxed{1}.\"}\n"
        "{\"task_id\": 11, \"text\": \"Write a function to add.\", \"code\": \"def add(a,b): return a+b\", "
        "\"test_list\": [\"assert add(1,2)==3\", \"assert add(0,0)==0\"]}\n"
        "{\"task_id\": \"HumanEval/0\", \"prompt\": \"def f(x):\\n\", \"canonical_solution\": "
        "\"    return x\\n\", \"test\": \"def check(c): assert c(1)==1\", \"entry_point\": \"f\"}\n"
        "{\"id\": \"n1\", \"question\": \"2+2\", \"answer\": 4}\n");
    task_set s = {0};
    core_error err = {0};
    cr_assert_eq(tasks_load_jsonl(path, &s, &err), 0, "%s", err.msg);
    cr_assert_eq(s.n, 6);
    cr_assert_str_eq(s.items[0].gold, "7");
    cr_assert_eq(s.items[0].kind, TASK_MATH);
    cr_assert(strstr(s.items[0].id, ":1"), "id %s names line 1", s.items[0].id);
    cr_assert_str_eq(s.items[1].gold, "1234");
    cr_assert(strstr(s.items[1].id, ":3"), "blank line 2 still counts: %s", s.items[1].id);
    cr_assert_str_eq(s.items[2].gold, "1", "last \\boxed{} wins");
    cr_assert_eq(s.items[3].kind, TASK_CODE);
    cr_assert_str_eq(s.items[3].id, "11");
    cr_assert_str_eq(s.items[3].tests, "[\"assert add(1,2)==3\",\"assert add(0,0)==0\"]");
    cr_assert_str_eq(s.items[3].gold, "def add(a,b): return a+b");
    cr_assert_eq(s.items[4].kind, TASK_CODE);
    cr_assert_str_eq(s.items[4].id, "HumanEval/0");
    cr_assert_str_eq(s.items[4].tests, "[\"def check(c): assert c(1)==1\\n\\ncheck(f)\\n\"]",
                     "the check(candidate) the test defines is called: %s", s.items[4].tests);
    cr_assert_str_eq(s.items[4].gold, "    return x\n");
    cr_assert_str_eq(s.items[5].gold, "4");
    cr_assert_str_eq(s.items[5].id, "n1");
    task_set_free(&s);
    unlink(path);
    free(path);
}

/* Each broken file must fail with "PATH:LINE: FIELD". */
static void expect_broken(const char *text, int line, const char *field) {
    char *path = write_temp(text);
    task_set s = {0};
    core_error err = {0};
    cr_assert_eq(tasks_load_jsonl(path, &s, &err), CORE_EINPUT, "accepted: %s", text);
    char want[512];
    snprintf(want, sizeof want, "%s:%d: %s", path, line, field);
    cr_assert(strstr(err.msg, want), "message '%s' lacks '%s'", err.msg, want);
    task_set_free(&s);
    unlink(path);
    free(path);
}

/* Code layouts: MBPP with test_setup_code, "tests" as assert lines or
 * {input, output} pairs, APPS' input_output (object or JSON string, with
 * its "solutions" string), CodeContests' test sets; all normalised to the
 * code reward's array of assert lines and {"stdin", "stdout"} pairs. */
Test(jsonl, reads_code_layouts_mbpp_stdio_apps_codecontests) {
    char *path = write_temp(
        "{\"task_id\": 2, \"text\": \"Write a function to sort.\", \"code\": \"def s(x): return sorted(x)\", "
        "\"test_setup_code\": \"import math\", \"test_list\": [\"assert s([2,1])==[1,2]\"], \"challenge_test_list\": []}\n"
        "{\"task_id\": 3, \"text\": \"Add.\", \"code\": \"def add(a,b): return a+b\", \"test_setup_code\": \"\", "
        "\"test_list\": [\"assert add(1,1)==2\"]}\n"
        "{\"question\": \"Read two ints, print their sum.\", \"tests\": [{\"input\": \"1 2\\n\", \"output\": \"3\\n\"}, "
        "{\"stdin\": \"5 5\", \"stdout\": \"10\"}]}\n"
        "{\"problem_id\": 7, \"question\": \"Print n squared.\", \"solutions\": \"[\\\"print(int(input())**2)\\\"]\", "
        "\"input_output\": \"{\\\"inputs\\\": [\\\"3\\\\n\\\", \\\"4\\\\n\\\"], \\\"outputs\\\": [\\\"9\\\\n\\\", \\\"16\\\\n\\\"]}\"}\n"
        "{\"question\": \"Echo.\", \"input_output\": {\"inputs\": [\"x\"], \"outputs\": [\"x\"]}}\n"
        "{\"name\": \"cc-1\", \"description\": \"Double it.\", \"public_tests\": {\"input\": [\"2\\n\"], \"output\": [\"4\\n\"]}, "
        "\"private_tests\": {\"input\": [\"5\\n\"], \"output\": [\"10\\n\"]}, \"generated_tests\": {\"input\": [], \"output\": []}}\n");
    task_set s = {0};
    core_error err = {0};
    cr_assert_eq(tasks_load_jsonl(path, &s, &err), 0, "%s", err.msg);
    cr_assert_eq(s.n, 6);
    for (int i = 0; i < 6; i++) cr_assert_eq(s.items[i].kind, TASK_CODE, "item %d", i);
    cr_assert_str_eq(s.items[0].tests, "[\"import math\\nassert s([2,1])==[1,2]\"]");
    cr_assert_str_eq(s.items[0].gold, "def s(x): return sorted(x)");
    cr_assert_str_eq(s.items[1].tests, "[\"assert add(1,1)==2\"]", "an empty setup adds nothing");
    cr_assert_str_eq(s.items[2].tests, "[{\"stdin\":\"1 2\\n\",\"stdout\":\"3\\n\"},{\"stdin\":\"5 5\",\"stdout\":\"10\"}]");
    cr_assert_str_eq(s.items[2].gold, "", "a code item needs no reference solution");
    cr_assert_str_eq(s.items[3].tests, "[{\"stdin\":\"3\\n\",\"stdout\":\"9\\n\"},{\"stdin\":\"4\\n\",\"stdout\":\"16\\n\"}]");
    cr_assert_str_eq(s.items[3].gold, "print(int(input())**2)");
    cr_assert_str_eq(s.items[4].tests, "[{\"stdin\":\"x\",\"stdout\":\"x\"}]");
    cr_assert_str_eq(s.items[5].tests, "[{\"stdin\":\"2\\n\",\"stdout\":\"4\\n\"},{\"stdin\":\"5\\n\",\"stdout\":\"10\\n\"}]");
    cr_assert_str_eq(s.items[5].id, "cc-1");
    cr_assert_str_eq(s.items[5].question, "Double it.");
    task_set_free(&s);
    unlink(path);
    free(path);
}

/* Bad code lines name the file, the line and the field at fault. */
Test(jsonl, bad_code_lines_name_file_line_and_field) {
    expect_broken("{\"text\": \"t\", \"code\": \"c\", \"test_list\": [\"assert 1\", 7]}\n", 1, "test_list[1]: expected");
    expect_broken("{\"text\": \"t\", \"code\": \"c\", \"test_list\": \"assert 1\"}\n", 1, "test_list: expected a list");
    expect_broken("{\"text\": \"t\", \"code\": \"c\", \"test_list\": []}\n", 1, "test_list: empty list");
    expect_broken("{\"text\": \"t\", \"test_setup_code\": 3, \"test_list\": [\"assert 1\"]}\n", 1,
                  "test_setup_code: expected a string");
    expect_broken("{\"q\": 1}\n{\"question\": \"q\", \"tests\": [{\"input\": \"1\"}]}\n", 1, "question:");
    expect_broken("{\"question\": \"q\", \"answer\": \"1\"}\n{\"question\": \"q\", \"tests\": [{\"input\": \"1\"}]}\n",
                  2, "tests[0]: expected an assert string or {\"input\": string, \"output\": string}");
    expect_broken("{\"question\": \"q\", \"input_output\": \"{not json\"}\n", 1, "input_output: a string that is not valid JSON");
    expect_broken("{\"question\": \"q\", \"input_output\": {\"inputs\": [\"1\", \"2\"], \"outputs\": [\"1\"]}}\n", 1,
                  "input_output: 2 inputs but 1 outputs");
    expect_broken("{\"question\": \"q\", \"input_output\": {\"inputs\": [\"1\"], \"outputs\": [[1]]}}\n", 1,
                  "input_output.outputs[0]: expected a string");
    expect_broken("{\"question\": \"q\", \"input_output\": {\"fn_name\": \"f\", \"inputs\": [[1]], \"outputs\": [[1]]}}\n",
                  1, "input_output: fn_name (call-based) tests are not supported");
    expect_broken("{\"question\": \"q\", \"input_output\": {\"inputs\": [], \"outputs\": []}}\n", 1,
                  "tests: the item has an empty set of tests");
    expect_broken("{\"description\": \"q\", \"public_tests\": [\"1\"]}\n", 1, "public_tests: expected {\"input\"");
    expect_broken("{\"question\": \"q\", \"solutions\": \"[1]\", \"tests\": [\"assert 1\"]}\n", 1,
                  "solutions: expected a list of program strings");
    char many[8192] = "{\"question\": \"q\", \"tests\": [";
    for (int i = 0; i < 65; i++) strcat(many, i ? ", \"assert 1\"" : "\"assert 1\"");
    strcat(many, "]}\n");
    expect_broken(many, 1, "tests: 65 tests, at most 64");
}

/* A HumanEval test defines check(candidate); run with a candidate, the
 * program must call it, so `pass` fails and a right solution passes.
 * tests_json is the item's ["program"]: Python decodes it itself. */
static int run_python(const char *candidate, const char *tests_json) {
    char dir[] = "/tmp/grpo-test-humaneval-XXXXXX", path[128], cmd[256];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/tests.json", dir);
    FILE *f = fopen(path, "w");
    fputs(tests_json, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/run.py", dir);
    f = fopen(path, "w");
    fprintf(f, "import json, os\n%s\nexec(json.load(open(os.path.join(os.path.dirname(__file__), "
               "'tests.json')))[0])\n", candidate);
    fclose(f);
    snprintf(cmd, sizeof cmd, "python3 %s 2>/dev/null; rc=$?; rm -rf %s; exit $rc", path, dir);
    return system(cmd);
}

Test(jsonl, humaneval_check_is_called_with_the_entry_point) {
    char *path = write_temp(
        "{\"task_id\": \"HumanEval/1\", \"prompt\": \"def add(a, b):\\n\", \"canonical_solution\": "
        "\"    return a + b\\n\", \"test\": \"METADATA = {}\\n\\ndef check(candidate):\\n"
        "    assert candidate(2, 3) == 5\\n\", \"entry_point\": \"add\"}\n");
    task_set s = {0};
    core_error err = {0};
    cr_assert_eq(tasks_load_jsonl(path, &s, &err), 0, "%s", err.msg);
    cr_assert_neq(run_python("def add(a, b):\n    pass", s.items[0].tests), 0, "`pass` passed the tests");
    cr_assert_eq(run_python("def add(a, b):\n    return a + b", s.items[0].tests), 0,
                 "a right solution failed");
    task_set_free(&s);
    unlink(path);
    free(path);
    expect_broken("{\"prompt\": \"def g():\\n\", \"canonical_solution\": \"  return 1\\n\", "
                  "\"test\": \"def check(candidate):\\n    assert candidate() == 1\\n\"}\n",
                  1, "test: defines check(candidate) but the item has no entry_point");
}


Test(jsonl, rejects_broken_lines_naming_file_line_and_field) {
    const char *ok = "{\"question\": \"1+1\", \"answer\": \"2\"}\n";
    char buf[512];
    snprintf(buf, sizeof buf, "%s%s{\"question\": \"1+1\", \"answer\": \"2\"\n", ok, ok);
    expect_broken(buf, 3, "line");                                  /* truncated JSON */
    expect_broken("[1, 2]\n", 1, "line");                           /* not an object */
    snprintf(buf, sizeof buf, "%s{\"answer\": \"2\"}\n", ok);
    expect_broken(buf, 2, "question");                              /* no question */
    expect_broken("{\"question\": \"x\"}\n", 1, "answer");         /* no answer */
    expect_broken("{\"question\": [1], \"answer\": \"2\"}\n", 1, "question");
    expect_broken("{\"question\": \"x\", \"answer\": {\"v\": 2}}\n", 1, "answer");
    expect_broken("{\"question\": \"\", \"answer\": \"2\"}\n", 1, "question");
    expect_broken("{\"text\": \"f\", \"code\": \"def f(): pass\", \"test_list\": [1]}\n", 1,
                  "test_list[0]");
    expect_broken("{\"text\": \"f\", \"code\": \"def f(): pass\", \"test_list\": []}\n", 1,
                  "test_list");
    expect_broken("{\"text\": \"f\", \"code\": \"x\", \"tests\": 5}\n", 1, "tests");
}

Test(jsonl, missing_or_empty_file_is_an_input_error) {
    task_set s = {0};
    core_error err = {0};
    cr_assert_eq(tasks_load_jsonl("/nonexistent/x.jsonl", &s, &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, "/nonexistent/x.jsonl"), "%s", err.msg);
    char *path = write_temp("\n\n");
    cr_assert_eq(tasks_load_jsonl(path, &s, &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, "no items"), "%s", err.msg);
    unlink(path);
    free(path);
}

/* ------------------------------------------------------------------ split */

static void config_for(core_config *cfg, const char *kind, int heldout_items) {
    core_config_defaults(cfg);
    snprintf(cfg->tasks.kind, sizeof cfg->tasks.kind, "%s", kind);
    cfg->tasks.heldout_items = heldout_items;
}

Test(split, generator_heldout_is_fixed_distinct_and_disjoint_from_training) {
    for (int g = 0; g < 4; g++) {
        core_config cfg;
        config_for(&cfg, gens[g], 100);
        task_source *ts, *ts2;
        core_error err = {0};
        cr_assert_eq(tasks_open(&cfg, &ts, &err), 0, "%s", err.msg);
        cfg.run.seed = 999; /* a different run: the same held-out items */
        cr_assert_eq(tasks_open(&cfg, &ts2, &err), 0, "%s", err.msg);
        const task_set *h = tasks_heldout(ts), *h2 = tasks_heldout(ts2);
        cr_assert_eq(h->n, 100);
        cr_assert_eq(h2->n, 100);
        for (int i = 0; i < h->n; i++) {
            cr_assert(tasks_item_is_heldout(&h->items[i]));
            cr_assert_str_eq(h->items[i].question, h2->items[i].question);
            for (int j = 0; j < i; j++)
                cr_assert_str_neq(h->items[i].question, h->items[j].question);
        }
        for (int step = 0; step < 200; step++)
            for (int k = 0; k < 8; k++) {
                task_item t;
                cr_assert_eq(tasks_draw(ts, (uint64_t)step, k, &t, &err), 0, "%s", err.msg);
                cr_assert(!tasks_item_is_heldout(&t));
                for (int i = 0; i < h->n; i++)
                    cr_assert_str_neq(t.question, h->items[i].question);
                task_item_free(&t);
            }
        tasks_close(ts);
        tasks_close(ts2);
    }
}

Test(split, heldout_changes_with_heldout_seed_and_draws_are_deterministic) {
    core_config cfg;
    config_for(&cfg, "arith", 20);
    task_source *a, *b;
    cr_assert_eq(tasks_open(&cfg, &a, NULL), 0);
    cfg.tasks.heldout_seed = 778;
    cr_assert_eq(tasks_open(&cfg, &b, NULL), 0);
    int same = 0;
    for (int i = 0; i < 20; i++)
        same += !strcmp(tasks_heldout(a)->items[i].question, tasks_heldout(b)->items[i].question);
    cr_assert_lt(same, 3);
    task_item x, y;
    cr_assert_eq(tasks_draw(a, 17, 3, &x, NULL), 0);
    cr_assert_eq(tasks_draw(b, 17, 3, &y, NULL), 0);
    cr_assert_str_eq(x.question, y.question, "same run.seed, step and index: same item");
    task_item_free(&x);
    task_item_free(&y);
    tasks_close(a);
    tasks_close(b);
}

Test(split, jsonl_training_excludes_heldout_questions) {
    /* 200 questions; the held-out file repeats 5 of them and adds one. */
    char *train_text = malloc(200 * 64), *held_text = malloc(8 * 64);
    int n = 0, m = 0;
    for (int i = 0; i < 200; i++)
        n += sprintf(train_text + n, "{\"question\": \"%d+%d\", \"answer\": \"%d\"}\n", i, i, 2 * i);
    for (int i = 0; i < 5; i++)
        m += sprintf(held_text + m, "{\"question\": \"%d+%d\", \"answer\": \"%d\"}\n", i * 7, i * 7,
                     14 * i);
    sprintf(held_text + m, "{\"question\": \"new\", \"answer\": \"1\"}\n");
    char *train = write_temp(train_text), *held = write_temp(held_text);
    core_config cfg;
    config_for(&cfg, "jsonl", 200);
    snprintf(cfg.tasks.train, sizeof cfg.tasks.train, "%s", train);
    snprintf(cfg.tasks.heldout, sizeof cfg.tasks.heldout, "%s", held);
    task_source *ts;
    core_error err = {0};
    cr_assert_eq(tasks_open(&cfg, &ts, &err), 0, "%s", err.msg);
    cr_assert_eq(tasks_heldout(ts)->n, 6);
    for (int k = 0; k < 2000; k++) {
        task_item t;
        cr_assert_eq(tasks_draw(ts, 0, k, &t, NULL), 0);
        for (int i = 0; i < 5; i++) {
            char q[32];
            sprintf(q, "%d+%d", i * 7, i * 7);
            cr_assert_str_neq(t.question, q);
        }
        task_item_free(&t);
    }
    tasks_close(ts);
    /* Without a held-out file the hash decides, and training skips that side. */
    cfg.tasks.heldout[0] = 0;
    cr_assert_eq(tasks_open(&cfg, &ts, &err), 0, "%s", err.msg);
    const task_set *h = tasks_heldout(ts);
    cr_assert(h->n > 5 && h->n < 45, "about 1 in 10 held out: %d", h->n);
    for (int k = 0; k < 2000; k++) {
        task_item t;
        cr_assert_eq(tasks_draw(ts, 1, k, &t, NULL), 0);
        cr_assert(!tasks_is_heldout(t.question));
        task_item_free(&t);
    }
    tasks_close(ts);
    unlink(train); unlink(held);
    free(train); free(held); free(train_text); free(held_text);
}

Test(split, jsonl_without_train_file_is_an_input_error) {
    core_config cfg;
    config_for(&cfg, "jsonl", 10);
    task_source *ts;
    core_error err = {0};
    cr_assert_eq(tasks_open(&cfg, &ts, &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, "tasks.train"), "%s", err.msg);
}

/* --------------------------------------------------------------- template */

Test(template, renders_named_and_custom_templates) {
    core_error err = {0};
    char *p = tasks_render_prompt("r1zero", "23+45+12", &err);
    cr_assert_str_eq(p, "Q:23+45+12\n");
    free(p);
    p = tasks_render_prompt("Solve: {question} ->", "1+1", &err);
    cr_assert_str_eq(p, "Solve: 1+1 ->");
    free(p);
    p = tasks_render_prompt("chat", "1+1", &err);
    cr_assert(strstr(p, "User: 1+1\nAssistant: ") && strstr(p, "<think>"));
    free(p);
    cr_assert_null(tasks_render_prompt("nope", "1+1", &err));
    cr_assert(strstr(err.msg, "tasks.template") && strstr(err.msg, "nope"), "%s", err.msg);
}
