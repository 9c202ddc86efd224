/*
 * The code generator: small Python functions from a description and two
 * examples, with hidden tests.  Each item's `tests` is a JSON array of
 * Python assert lines (MBPP's test_list layout, what the code reward runs
 * in the sandbox after the model's code) and `gold` is a reference solution
 * that passes them.  Expected values are computed here in C, so the tests
 * do not trust the reference solution.
 *
 * Difficulty d: templates 0..min(7, 3+d) may be drawn, and 3+d hidden tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/internal.h"
#include "tasks/tasks.h"

/* One drawn input, written as a Python literal in `text`. */
typedef struct code_input {
    long x;           /* int inputs */
    long xs[6];       /* list inputs */
    int n;            /* list length; string length */
    char s[16];       /* string inputs */
    char text[96];
} code_input;

typedef struct code_template {
    const char *name;
    const char *what;       /* description after "returns"; %ld is K, then M */
    const char *body;       /* reference body; %ld is K, then M */
    char input_kind;        /* 'i' int, 's' string over "abc", 'l' list of ints */
    /* The expected value as a Python literal. */
    void (*expect)(char *out, size_t cap, const code_input *in, long k, long m);
} code_template;

static void expect_scale_add(char *out, size_t cap, const code_input *in, long k, long m) {
    snprintf(out, cap, "%ld", in->x * k + m);
}
static void expect_count_char(char *out, size_t cap, const code_input *in, long k, long m) {
    (void)m;
    int c = 0;
    for (int i = 0; i < in->n; i++) c += in->s[i] == "abc"[k];
    snprintf(out, cap, "%d", c);
}
static void expect_sum_above(char *out, size_t cap, const code_input *in, long k, long m) {
    (void)m;
    long s = 0;
    for (int i = 0; i < in->n; i++) s += in->xs[i] > k ? in->xs[i] : 0;
    snprintf(out, cap, "%ld", s);
}
static void expect_is_multiple(char *out, size_t cap, const code_input *in, long k, long m) {
    (void)m;
    snprintf(out, cap, "%s", in->x % k == 0 ? "True" : "False");
}
static void expect_digit_sum(char *out, size_t cap, const code_input *in, long k, long m) {
    (void)k; (void)m;
    long s = 0;
    for (long v = labs(in->x); v; v /= 10) s += v % 10;
    snprintf(out, cap, "%ld", s);
}
static void expect_clamp(char *out, size_t cap, const code_input *in, long k, long m) {
    long v = in->x < k ? k : in->x > m ? m : in->x;
    snprintf(out, cap, "%ld", v);
}
static void expect_spread(char *out, size_t cap, const code_input *in, long k, long m) {
    (void)k; (void)m;
    long lo = in->xs[0], hi = in->xs[0];
    for (int i = 1; i < in->n; i++) {
        if (in->xs[i] < lo) lo = in->xs[i];
        if (in->xs[i] > hi) hi = in->xs[i];
    }
    snprintf(out, cap, "%ld", hi - lo);
}
static void expect_repeat(char *out, size_t cap, const code_input *in, long k, long m) {
    (void)m;
    size_t len = 0;
    out[len++] = '\'';
    for (long r = 0; r < k; r++)
        for (int i = 0; i < in->n && len + 2 < cap; i++) out[len++] = in->s[i];
    out[len++] = '\'';
    out[len] = 0;
}

/* K and M are drawn per item: K in 2..9 (count_char: 0..2 picks a letter), M in -9..9
 * (clamp: M = K + 10). */
static const code_template code_templates[] = {
    {"scale_add", "x*%ld%+ld", "    return x*%ld%+ld\n", 'i', expect_scale_add},
    {"is_multiple", "True if n is a multiple of %ld, else False",
     "    return n %% %ld == 0\n", 'i', expect_is_multiple},
    {"count_char", "how many times the letter '%c' occurs in s",
     "    return s.count('%c')\n", 's', expect_count_char},
    {"repeat_str", "s repeated %ld times", "    return s * %ld\n", 's', expect_repeat},
    {"sum_above", "the sum of the elements of xs greater than %ld",
     "    return sum(v for v in xs if v > %ld)\n", 'l', expect_sum_above},
    {"digit_sum", "the sum of the decimal digits of abs(n)",
     "    return sum(int(c) for c in str(abs(n)))\n", 'i', expect_digit_sum},
    {"clamp", "x limited to the range %ld..%ld", "    return min(max(x, %ld), %ld)\n", 'i',
     expect_clamp},
    {"spread", "the largest element of xs minus the smallest",
     "    return max(xs) - min(xs)\n", 'l', expect_spread},
};
#define N_CODE_TEMPLATES (int)(sizeof code_templates / sizeof code_templates[0])

static const char *arg_name(const code_template *ct) {
    if (ct->input_kind == 's') return "s";
    if (ct->input_kind == 'l') return "xs";
    return !strcmp(ct->name, "is_multiple") || !strcmp(ct->name, "digit_sum") ? "n" : "x";
}

static void draw_input(const code_template *ct, core_rng *rng, code_input *in) {
    memset(in, 0, sizeof *in);
    if (ct->input_kind == 'i') {
        in->x = tasks_rand_range(rng, -50, 99);
        snprintf(in->text, sizeof in->text, "%ld", in->x);
    } else if (ct->input_kind == 's') {
        in->n = (int)tasks_rand_range(rng, 0, 8);
        for (int i = 0; i < in->n; i++) in->s[i] = "abc"[core_rng_below(rng, 3)];
        snprintf(in->text, sizeof in->text, "'%s'", in->s);
    } else {
        in->n = (int)tasks_rand_range(rng, 1, 6);
        int len = snprintf(in->text, sizeof in->text, "[");
        for (int i = 0; i < in->n; i++) {
            in->xs[i] = tasks_rand_range(rng, -20, 20);
            len += snprintf(in->text + len, sizeof in->text - (size_t)len, "%s%ld", i ? ", " : "",
                            in->xs[i]);
        }
        snprintf(in->text + len, sizeof in->text - (size_t)len, "]");
    }
}

/* Format a template string that takes K (as a letter for count_char) and M. */
static void fill(char *out, size_t cap, const code_template *ct, const char *fmt, long k, long m) {
    if (ct->input_kind == 's' && !strcmp(ct->name, "count_char"))
        snprintf(out, cap, fmt, "abc"[k]);
    else
        snprintf(out, cap, fmt, k, m);
}

int tasks_generate_code(int difficulty, core_rng *rng, task_item *t, core_error *err) {
    int n_templates = 3 + difficulty < N_CODE_TEMPLATES ? 3 + difficulty + 1 : N_CODE_TEMPLATES;
    const code_template *ct = &code_templates[core_rng_below(rng, (uint64_t)n_templates)];
    long k = !strcmp(ct->name, "count_char") ? tasks_rand_range(rng, 0, 2)
                                             : tasks_rand_range(rng, 2, 9);
    long m = !strcmp(ct->name, "clamp") ? k + 10 : tasks_rand_range(rng, -9, 9);
    char what[128], body[128], want[128], q[640], tests[2048];
    fill(what, sizeof what, ct, ct->what, k, m);
    fill(body, sizeof body, ct, ct->body, k, m);
    const char *arg = arg_name(ct);

    int ql = snprintf(q, sizeof q, "Write a Python function %s(%s) that returns %s.\nExamples:",
                      ct->name, arg, what);
    for (int i = 0; i < 2; i++) {
        code_input in;
        draw_input(ct, rng, &in);
        ct->expect(want, sizeof want, &in, k, m);
        ql += snprintf(q + ql, sizeof q - (size_t)ql, "%s %s(%s) == %s", i ? "," : "", ct->name,
                       in.text, want);
    }
    int tl = snprintf(tests, sizeof tests, "[");
    for (int i = 0; i < 3 + difficulty; i++) {
        code_input in;
        draw_input(ct, rng, &in);
        ct->expect(want, sizeof want, &in, k, m);
        /* JSON string of a Python line: the literals hold no '"' or '\\'. */
        tl += snprintf(tests + tl, sizeof tests - (size_t)tl, "%s\"assert %s(%s) == %s\"",
                       i ? ", " : "", ct->name, in.text, want);
    }
    snprintf(tests + tl, sizeof tests - (size_t)tl, "]");

    snprintf(t->gen, sizeof t->gen, "code");
    t->kind = TASK_CODE;
    t->difficulty = difficulty;
    t->question = strdup(q);
    t->gold = tasks_strf("def %s(%s):\n%s", ct->name, arg, body);
    t->tests = strdup(tests);
    t->meta = tasks_strf("{\"gen\":\"code\",\"difficulty\":%d,\"function\":\"%s\"}", difficulty,
                         ct->name);
    t->operands[0] = k;
    t->operands[1] = m;
    t->n_operands = 2;
    if (!t->question || !t->gold || !t->tests || !t->meta) {
        task_item_free(t);
        return core_fail(err, CORE_ERUNTIME, "tasks: out of memory");
    }
    uint64_t h = 1469598103934665603ull;
    for (const char *s = t->question; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    snprintf(t->id, sizeof t->id, "code-%016llx", (unsigned long long)h);
    return 0;
}
