/*
 * tests/reward/test_reward.c — the registry, composition from the config,
 * the format checker, config errors, and concurrent scoring.
 */
#include <criterion/criterion.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reward/reward.h"

/* CPU time of this thread: bounds on work must not fail because the machine is busy. */
static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static reward_fn *make(const char **sets, int n_sets) {
    core_config cfg;
    core_error err = {0};
    core_config_defaults(&cfg);
    for (int i = 0; i < n_sets; i++) cr_assert_eq(core_config_set(&cfg, sets[i], &err), 0, "%s", err.msg);
    reward_fn *r = NULL;
    cr_assert_eq(reward_create(&r, &cfg, &err), 0, "%s", err.msg);
    return r;
}

/* reward_create's error for one bad setting. */
static int create_error(const char *set, core_error *err) {
    core_config cfg;
    core_config_defaults(&cfg);
    cr_assert_eq(core_config_set(&cfg, set, err), 0, "%s", err->msg);
    reward_fn *r = NULL;
    int rc = reward_create(&r, &cfg, err);
    cr_expect_null(r);
    return rc;
}

static reward_input input(const char *response, const char *gold) {
    reward_input in = {response, strlen(response), gold, 20, 64, 0, NULL, NULL};
    return in;
}

static const reward_part *part(const reward_result *res, const char *name) {
    for (int i = 0; i < res->n_parts; i++)
        if (!strcmp(res->parts[i].name, name)) return &res->parts[i];
    return NULL;
}

/* -------------------------------------------------------------- format */

typedef struct format_case {
    const char *response;
    int ok;
} format_case;

static const format_case format_cases[] = {
    {"<think>23+45=68 68+12=80</think><answer>80</answer>", 1},
    {"<think>a\nb\nc</think>\n<answer>80</answer>\n", 1},
    {"  <think></think> <answer></answer>  ", 1},
    {"<answer>80</answer>", 0},
    {"<think>x</think>", 0},
    {"<answer>80</answer><think>x</think>", 0},
    {"<think>x</think><answer>80</answer> trailing text", 0},
    {"preamble <think>x</think><answer>80</answer>", 0},
    {"<think>x<answer>80</answer>", 0},
    {"<think>x</think><answer>80", 0},
    {"<think>\xff\xfe</think><answer>\xc3</answer>", 1},
    {"", 0},
};

Test(format, default_template) {
    reward_fn *r = make(NULL, 0);
    for (size_t i = 0; i < sizeof format_cases / sizeof format_cases[0]; i++) {
        const format_case *c = &format_cases[i];
        cr_expect_eq(reward_format_ok(r, c->response, strlen(c->response)), c->ok, "format case %zu: %s", i,
                     c->response);
    }
    reward_free(r);
}

Test(format, not_strict_finds_the_template_anywhere) {
    const char *sets[] = {"reward.format_strict=0", "reward.format_pattern=<answer>\\d+</answer>"};
    reward_fn *r = make(sets, 2);
    const char *s = "blah <answer>80</answer> blah";
    cr_expect_eq(reward_format_ok(r, s, strlen(s)), 1);
    reward_free(r);
    const char *strict[] = {"reward.format_pattern=<answer>\\d+</answer>"};
    r = make(strict, 1);
    cr_expect_eq(reward_format_ok(r, s, strlen(s)), 0);
    cr_expect_eq(reward_format_ok(r, "<answer>80</answer>", 19), 1);
    reward_free(r);
}

Test(format, partial_credit) {
    const char *sets[] = {"reward.format_partial=1"};
    reward_fn *r = make(sets, 1);
    struct { const char *s; double want; } cases[] = {
        {"<think>x</think><answer>1</answer>", 1.0},
        {"<think>x</think><answer>1</answer> junk", 0.75},
        {"<think>x</think> 1", 0.5},
        {"</think><think>", 0.25},
        {"nothing", 0.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_float_eq(reward_format_score(r, cases[i].s, strlen(cases[i].s)), cases[i].want, 1e-12,
                           "partial case %zu", i);
    reward_free(r);
    r = make(NULL, 0);
    cr_expect_float_eq(reward_format_score(r, "<think>x</think> 1", 18), 0.0, 1e-12, "partial credit is off by default");
    reward_free(r);
}

Test(format, megabyte_response_is_bounded) {
    size_t n = 1 << 20;
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++) s[i] = "<think></think><answer>"[i % 23];
    s[n] = 0;
    reward_fn *r = make(NULL, 0);
    double t0 = cpu_seconds();
    cr_expect_eq(reward_format_ok(r, s, n), 0);
    reward_result res;
    reward_input in = input(s, "1");
    reward_score(r, &in, &res);
    cr_expect_lt(cpu_seconds() - t0, 2.0, "a megabyte response took %.2f s", cpu_seconds() - t0);
    reward_free(r);
    free(s);
}

/* -------------------------------------------------------- config errors */

Test(config, errors_name_the_key) {
    core_error err = {0};
    cr_expect_eq(create_error("reward.components=format,bogus", &err), CORE_EINPUT);
    cr_expect(strstr(err.msg, "reward.components") && strstr(err.msg, "bogus"), "%s", err.msg);
    cr_expect_eq(create_error("reward.components=format,format", &err), CORE_EINPUT);
    cr_expect(strstr(err.msg, "twice"), "%s", err.msg);
    cr_expect_eq(create_error("reward.components=", &err), CORE_EINPUT);
    cr_expect_eq(create_error("reward.weights=1,2,3", &err), CORE_EINPUT);
    cr_expect(strstr(err.msg, "reward.weights"), "%s", err.msg);
    cr_expect_eq(create_error("reward.weights=1,abc", &err), CORE_EINPUT);
    cr_expect(strstr(err.msg, "abc"), "%s", err.msg);
    cr_expect_eq(create_error("reward.math_extract=boxed,nope", &err), CORE_EINPUT);
    cr_expect(strstr(err.msg, "reward.math_extract") && strstr(err.msg, "nope"), "%s", err.msg);
}

Test(config, bad_pattern_gives_pcre2_message_and_offset) {
    core_error err = {0};
    cr_expect_eq(create_error("reward.format_pattern=<think>(.*</think>", &err), CORE_EINPUT);
    cr_expect(strstr(err.msg, "reward.format_pattern") && strstr(err.msg, "offset 18") &&
                  strstr(err.msg, "missing closing parenthesis"),
              "%s", err.msg);
}

/* --------------------------------------------------------- composition */

Test(compose, default_is_format_plus_accuracy) {
    reward_fn *r = make(NULL, 0);
    reward_result res;
    reward_input in = input("<think>23+45=68 68+12=80</think><answer>80</answer>", "80");
    cr_assert_eq(reward_score(r, &in, &res), 0);
    cr_expect_eq(res.n_parts, 2);
    cr_expect_str_eq(res.parts[0].name, "format");
    cr_expect_str_eq(res.parts[1].name, "accuracy_math");
    cr_expect_float_eq(res.total, 2.0, 1e-12);
    cr_expect(res.format_ok && res.correct);
    cr_expect(strstr(res.parts[1].detail, "answer_tag"), "%s", res.parts[1].detail);

    in = input("<think>23+45=68 68+12=81</think><answer>81</answer>", "80");
    reward_score(r, &in, &res);
    cr_expect_float_eq(res.total, 1.0, 1e-12);
    cr_expect(res.format_ok && !res.correct);
    cr_expect(strstr(res.parts[1].detail, "81 != 80"), "%s", res.parts[1].detail);

    in = input("80", "80");
    reward_score(r, &in, &res);
    cr_expect_float_eq(res.total, 1.0, 1e-12);
    cr_expect(!res.format_ok && res.correct);
    reward_free(r);
}

Test(compose, weights_and_gating) {
    const char *sets[] = {"reward.weights=0.5,2", "reward.combine=gated"};
    reward_fn *r = make(sets, 2);
    reward_result res;
    reward_input in = input("<think>x</think><answer>80</answer>", "80");
    reward_score(r, &in, &res);
    cr_expect_float_eq(res.total, 2.5, 1e-12);
    in = input("the answer is 80", "80"); /* right answer, broken template: gated away */
    reward_score(r, &in, &res);
    cr_expect_float_eq(res.total, 0.0, 1e-12);
    cr_expect_float_eq(part(&res, "accuracy_math")->value, 1.0, 1e-12, "the raw value is still reported");
    cr_expect(res.correct && !res.format_ok);
    reward_free(r);
}

Test(compose, gold_goes_through_extraction) {
    reward_fn *r = make(NULL, 0);
    reward_result res;
    const char *golds[] = {"80", "$80$", "\\boxed{80}", "Natalia sold 48 clips.\n#### 80", "80.0", "\\frac{160}{2}",
                           "The answer is 80.", "Altogether 80 apples"};
    for (size_t i = 0; i < sizeof golds / sizeof golds[0]; i++) {
        reward_input in = input("<think>x</think><answer>80</answer>", golds[i]);
        reward_score(r, &in, &res);
        cr_expect(res.correct, "gold '%s': %s", golds[i], res.parts[1].detail);
    }
    /* a bare gold only the last-number rule could read is meant whole */
    struct { const char *resp, *gold; int correct; } bare[] = {
        {"<answer>12:30</answer>", "12:30", 1}, {"<answer>30</answer>", "12:30", 0},
        {"<answer>\\{1,-1\\}</answer>", "\\pm 1", 1}, {"<answer>1</answer>", "\\pm 1", 0},
    };
    for (size_t i = 0; i < sizeof bare / sizeof bare[0]; i++) {
        reward_input b = input(bare[i].resp, bare[i].gold);
        reward_score(r, &b, &res);
        cr_expect_eq(res.correct, bare[i].correct, "bare gold '%s' vs %s: %s", bare[i].gold, bare[i].resp,
                     res.parts[1].detail);
    }
    reward_input in = input("<think>x</think><answer>80</answer>", NULL);
    reward_score(r, &in, &res);
    cr_expect(!res.correct && strstr(res.parts[1].detail, "no gold"), "%s", res.parts[1].detail);
    reward_free(r);
}

Test(compose, literal_only_config) {
    const char *sets[] = {"reward.math_literal_only=1"};
    reward_fn *r = make(sets, 1);
    reward_result res;
    reward_input in = input("<think>x</think><answer>23+45+12</answer>", "80");
    reward_score(r, &in, &res);
    cr_expect(!res.correct, "%s", res.parts[1].detail);
    reward_free(r);
}

Test(compose, length_penalty_and_overlong) {
    const char *sets[] = {"reward.components=length_penalty,overlong", "reward.length_penalty=0.01",
                          "reward.overlong_buffer=16"};
    reward_fn *r = make(sets, 3);
    struct { int n_tokens, truncated; double lp, ol; } cases[] = {
        {10, 0, 0.0, 0.0},       {32, 0, 0.0, 0.0},     {42, 0, -0.10, 0.0},  {48, 0, -0.16, 0.0},
        {56, 0, -0.24, -0.5},    {64, 0, -0.32, -1.0},  {60, 1, -0.28, -1.0}, {70, 0, -0.38, -1.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reward_input in = input("x", "1");
        in.n_tokens = cases[i].n_tokens;
        in.truncated = cases[i].truncated;
        reward_result res;
        reward_score(r, &in, &res);
        cr_expect_float_eq(part(&res, "length_penalty")->value, cases[i].lp, 1e-12, "lp case %zu", i);
        cr_expect_float_eq(part(&res, "overlong")->value, cases[i].ol, 1e-12, "overlong case %zu", i);
        cr_expect_float_eq(res.total, cases[i].lp + cases[i].ol, 1e-12, "total case %zu", i);
    }
    reward_free(r);
}

Test(registry, lookup) {
    cr_expect_not_null(reward_component_find("format"));
    cr_expect_not_null(reward_component_find("accuracy_math"));
    cr_expect_not_null(reward_component_find("overlong"));
    cr_expect_null(reward_component_find("nope"));
    cr_expect_not_null(reward_component_find("accuracy_code"));
    cr_expect(reward_component_find("accuracy_code")->is_accuracy);
    cr_expect(reward_component_find("accuracy_math")->is_accuracy);
    cr_expect(!reward_component_find("format")->is_accuracy);
}

/* ---------------------------------------------------------- concurrency */

Test(threads, concurrent_scoring_matches_serial) {
    reward_fn *r = make(NULL, 0);
    enum { N = 2000 };
    static const char *responses[] = {
        "<think>23+45=68 68+12=80</think><answer>80</answer>", "<think>x</think><answer>\\frac{1}{2}</answer>",
        "the answer is 0.5", "<answer>(1,2)</answer>", "\\boxed{\\{1,2\\}}", "garbage \xff\xfe",
    };
    static const char *golds[] = {"80", "0.5", "1/2", "(1,2)", "\\{2,1\\}", "3"};
    double serial[N], parallel[N];
    for (int i = 0; i < N; i++) {
        reward_input in = input(responses[i % 6], golds[(i / 6) % 6]);
        reward_result res;
        reward_score(r, &in, &res);
        serial[i] = res.total;
    }
#pragma omp parallel for num_threads(2)
    for (int i = 0; i < N; i++) {
        reward_input in = input(responses[i % 6], golds[(i / 6) % 6]);
        reward_result res;
        reward_score(r, &in, &res);
        parallel[i] = res.total;
    }
    for (int i = 0; i < N; i++) cr_expect_float_eq(parallel[i], serial[i], 0, "item %d", i);
    reward_free(r);
}

Test(compose, details_are_printable_ascii) {
    reward_fn *r = make(NULL, 0);
    reward_result res;
    reward_input in = input("<think>\xff</think><answer>\xff\xfe\x01 x</answer>", "y\xc3\xa9");
    reward_score(r, &in, &res);
    for (int i = 0; i < res.n_parts; i++)
        for (const char *p = res.parts[i].detail; *p; p++)
            cr_expect((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f, "part %s: byte 0x%02x in '%s'",
                      res.parts[i].name, (unsigned char)*p, res.parts[i].detail);
    reward_free(r);
}

Test(compose, truncated_answers_are_never_compared) {
    reward_fn *r = make(NULL, 0);
    size_t n = 3 * REWARD_ANSWER_MAX;
    char *resp = malloc(n + 64), *gold = malloc(n + 1);
    memset(gold, '7', n);
    gold[n] = 0;
    snprintf(resp, n + 64, "<think>x</think><answer>%s</answer>", gold);
    reward_result res;
    reward_input in = input(resp, gold);
    reward_score(r, &in, &res);
    cr_expect(!res.correct && strstr(res.parts[1].detail, "longer than"), "%s", res.parts[1].detail);
    free(resp);
    free(gold);
    reward_free(r);
}
