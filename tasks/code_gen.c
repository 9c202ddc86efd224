/*
 * The code generator: small Python functions from a description and two
 * examples, with hidden tests.  Each item's `tests` is a JSON array of
 * Python assert lines (MBPP's test_list layout, what the code reward runs
 * in the sandbox after the model's code) and `gold` is a reference solution
 * that passes them.  Expected values are computed here in C, so the tests
 * do not trust the reference solution.
 *
 * Every template has one constant K (some a second, M) and is written
 * several ways: version 0 is right, the others are the slips a hurried
 * programmer makes (an off-by-one, a wrong operator, a wrong base case).
 * The corpus (corpus.c) writes them; each version has a short plan for the
 * <think> part and the body of the function.
 *
 * The held-out split is by construction, not by hash: an item is held out
 * exactly when K = 3 (mod 7) (K is 3, 10, 17, 24), so no training item ever
 * has a held-out item's constant: the model has to read K from the question.
 *
 * Difficulty d: templates 0..min(7, 3+d) may be drawn, and 3 + d/5 hidden
 * tests.  operands[] holds K, M and the template's index.
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
    int n;            /* list length */
    char text[96];
} code_input;

/* One way to write a template: the plan (think) and the function body, both
 * printf formats over (K, M) as %1$ld and %2$ld.  slip: NULL when right. */
typedef struct code_version { const char *slip, *think, *body; } code_version;

#define CODE_MAX_VERSIONS 4
#define CODE_MAX_TESTS 5 /* 3 + difficulty/5, difficulty <= 10 */

typedef struct code_template {
    const char *name, *arg;
    const char *what;        /* the description after "returns"; (K, M) as above */
    /* Inputs: 'i' an int in -9..20, 'n' a count 1..6, 'z' a count 0..5,
     * 'l' a list of 3-5 ints within 3 of K, 'm' a multiple of K or one
     * more, 'b' an int within 9 of K.  The boundary input (below) is a
     * list holding K, a multiple of K, an int below K. */
    char input_kind;
    long k_lo, k_hi;         /* the range K is drawn from; M is 1..9 */
    long (*expect)(const code_input *in, long k, long m); /* booleans: 0/1 */
    int boolean;             /* expect() is a truth value: True/False */
    code_version v[CODE_MAX_VERSIONS];
} code_template;

static long ex_scale_add(const code_input *in, long k, long m) { return in->x * k + m; }
static long ex_is_multiple(const code_input *in, long k, long m) { (void)m; return in->x % k == 0; }
static long ex_count_over(const code_input *in, long k, long m) {
    (void)m;
    long c = 0;
    for (int i = 0; i < in->n; i++) c += in->xs[i] > k;
    return c;
}
static long ex_sum_to(const code_input *in, long k, long m) { (void)m; return k * in->x * (in->x + 1) / 2; }
static long ex_power(const code_input *in, long k, long m) {
    (void)m;
    long p = 1;
    for (long i = 0; i < in->x; i++) p *= k;
    return p;
}
static long ex_at_least(const code_input *in, long k, long m) { (void)m; return in->x < k ? k : in->x; }
static long ex_nth_term(const code_input *in, long k, long m) { return k + (in->x - 1) * m; }
static long ex_tri_from(const code_input *in, long k, long m) { (void)m; return k + in->x * (in->x + 1) / 2; }

static const code_template code_templates[] = {
    {"scale_add", "x", "x times %1$ld plus %2$ld", 'i', 2, 30, ex_scale_add, 0,
     {{NULL, "x*%1$ld+%2$ld", "    return x*%1$ld+%2$ld\n"},
      {"operator", "x*%1$ld-%2$ld", "    return x*%1$ld-%2$ld\n"},
      {"operator", "x+%1$ld+%2$ld", "    return x+%1$ld+%2$ld\n"},
      {"off_by_one", "(x+1)*%1$ld+%2$ld", "    return (x+1)*%1$ld+%2$ld\n"}}},
    {"is_multiple", "n", "True if n is divisible by %1$ld, else False", 'm', 2, 30, ex_is_multiple, 1,
     {{NULL, "n %% %1$ld == 0", "    return n %% %1$ld == 0\n"},
      {"operator", "n // %1$ld == 0", "    return n // %1$ld == 0\n"},
      {"operator", "n %% %1$ld != 0", "    return n %% %1$ld != 0\n"},
      {"off_by_one", "(n+1) %% %1$ld == 0", "    return (n+1) %% %1$ld == 0\n"}}},
    {"count_over", "xs", "how many elements of xs are greater than %1$ld", 'l', 2, 30, ex_count_over, 0,
     {{NULL, "count v > %1$ld", "    return len([v for v in xs if v > %1$ld])\n"},
      {"off_by_one", "count v >= %1$ld", "    return len([v for v in xs if v >= %1$ld])\n"},
      {"operator", "count v < %1$ld", "    return len([v for v in xs if v < %1$ld])\n"}}},
    {"sum_to", "n", "the sum of i*%1$ld for i from 1 to n", 'n', 2, 30, ex_sum_to, 0,
     {{NULL, "i*%1$ld for i in 1..n",
       "    total = 0\n    for i in range(1, n+1):\n        total += i*%1$ld\n    return total\n"},
      {"off_by_one", "i*%1$ld for i in 1..n-1",
       "    total = 0\n    for i in range(1, n):\n        total += i*%1$ld\n    return total\n"},
      {"operator", "i+%1$ld for i in 1..n",
       "    total = 0\n    for i in range(1, n+1):\n        total += i+%1$ld\n    return total\n"}}},
    {"power", "n", "%1$ld to the power n, computed recursively", 'z', 2, 30, ex_power, 0,
     {{NULL, "base 1, then %1$ld*power(n-1)",
       "    if n == 0:\n        return 1\n    return %1$ld*power(n-1)\n"},
      {"base_case", "base 0, then %1$ld*power(n-1)",
       "    if n == 0:\n        return 0\n    return %1$ld*power(n-1)\n"},
      {"base_case", "base %1$ld, then %1$ld*power(n-1)",
       "    if n == 0:\n        return %1$ld\n    return %1$ld*power(n-1)\n"},
      {"operator", "base 1, then %1$ld+power(n-1)",
       "    if n == 0:\n        return 1\n    return %1$ld+power(n-1)\n"}}},
    {"at_least", "x", "x, but never less than %1$ld", 'b', 2, 30, ex_at_least, 0,
     {{NULL, "max(x, %1$ld)", "    return max(x, %1$ld)\n"},
      {"operator", "min(x, %1$ld)", "    return min(x, %1$ld)\n"},
      {"off_by_one", "max(x, %1$ld+1)", "    return max(x, %1$ld+1)\n"}}},
    {"nth_term", "n", "term n (n from 1) of %1$ld, %1$ld+%2$ld, %1$ld+2*%2$ld and so on", 'n', 2, 30,
     ex_nth_term, 0,
     {{NULL, "%1$ld+(n-1)*%2$ld", "    return %1$ld+(n-1)*%2$ld\n"},
      {"off_by_one", "%1$ld+n*%2$ld", "    return %1$ld+n*%2$ld\n"},
      {"operator", "%1$ld-(n-1)*%2$ld", "    return %1$ld-(n-1)*%2$ld\n"}}},
    {"tri_from", "n", "%1$ld plus 1+2+...+n, computed recursively", 'z', 2, 30, ex_tri_from, 0,
     {{NULL, "base %1$ld, then n+tri_from(n-1)",
       "    if n == 0:\n        return %1$ld\n    return n+tri_from(n-1)\n"},
      {"base_case", "base 0, then n+tri_from(n-1)",
       "    if n == 0:\n        return 0\n    return n+tri_from(n-1)\n"},
      {"operator", "base %1$ld, then n*tri_from(n-1)",
       "    if n == 0:\n        return %1$ld\n    return n*tri_from(n-1)\n"}}},
};
#define N_CODE_TEMPLATES (int)(sizeof code_templates / sizeof code_templates[0])

/* The held-out constants: K = 3 (mod 7). */
static int code_k_heldout(long k) { return k % 7 == 3; }

int tasks_code_is_heldout(const task_item *t) {
    return t->n_operands >= 1 && code_k_heldout(t->operands[0]);
}

/* One input (examples and tests draw alike); the first test's is the
 * boundary input, where most slips show. */
static void draw_input(const code_template *ct, long k, int boundary, core_rng *rng, code_input *in) {
    memset(in, 0, sizeof *in);
    if (ct->input_kind == 'l') {
        in->n = (int)tasks_rand_range(rng, 3, 5);
        int len = snprintf(in->text, sizeof in->text, "[");
        int at = (int)core_rng_below(rng, (uint64_t)in->n);
        for (int i = 0; i < in->n; i++) {
            in->xs[i] = boundary && i == at ? k : tasks_rand_range(rng, k - 3, k + 3);
            len += snprintf(in->text + len, sizeof in->text - (size_t)len, "%s%ld", i ? ", " : "",
                            in->xs[i]);
        }
        snprintf(in->text + len, sizeof in->text - (size_t)len, "]");
        return;
    }
    switch (ct->input_kind) {
    case 'n': in->x = tasks_rand_range(rng, 1, 6); break;
    case 'z': in->x = tasks_rand_range(rng, 0, 5); break;
    case 'm': in->x = k * tasks_rand_range(rng, -4, 4) + (boundary ? 0 : tasks_rand_range(rng, 0, 1)); break;
    case 'b': in->x = k + (boundary ? tasks_rand_range(rng, -9, -1) : tasks_rand_range(rng, -6, 9)); break;
    default: in->x = tasks_rand_range(rng, -9, 20);
    }
    snprintf(in->text, sizeof in->text, "%ld", in->x);
}

/* The two examples, then the tests (the first on the boundary): all
 * different inputs where the template's input space allows. */
static void draw_inputs(const code_template *ct, long k, code_input *in, int n, core_rng *rng) {
    for (int i = 0; i < n; i++)
        for (int attempt = 0; attempt < 20; attempt++) {
            draw_input(ct, k, i == 2, rng, &in[i]);
            int dup = 0;
            for (int j = 0; j < i; j++) dup |= !strcmp(in[i].text, in[j].text);
            if (!dup) break;
        }
}

static void expect_text(char *out, size_t cap, const code_template *ct, const code_input *in, long k, long m) {
    long v = ct->expect(in, k, m);
    if (ct->boolean) snprintf(out, cap, "%s", v ? "True" : "False");
    else snprintf(out, cap, "%ld", v);
}

/* ------------------------------------------------------------- versions */

static const code_template *template_of(const task_item *t) {
    long i = t->n_operands >= 3 ? t->operands[2] : -1;
    return i >= 0 && i < N_CODE_TEMPLATES ? &code_templates[i] : NULL;
}

int tasks_code_versions(const task_item *t) {
    const code_template *ct = strcmp(t->gen, "code") ? NULL : template_of(t);
    int n = 0;
    while (ct && n < CODE_MAX_VERSIONS && ct->v[n].body) n++;
    return n;
}

const char *tasks_code_slip(const task_item *t, int version) {
    return version > 0 && version < tasks_code_versions(t) ? template_of(t)->v[version].slip : NULL;
}

int tasks_code_write(const task_item *t, int version, char *think, size_t think_cap, char *code,
                     size_t code_cap) {
    if (version < 0 || version >= tasks_code_versions(t)) return -1;
    const code_template *ct = template_of(t);
    long k = t->operands[0], m = t->operands[1];
    char body[400];
    snprintf(think, think_cap, ct->v[version].think, k, m);
    snprintf(body, sizeof body, ct->v[version].body, k, m);
    snprintf(code, code_cap, "def %s(%s):\n%s", ct->name, ct->arg, body);
    return 0;
}

/* ----------------------------------------------------------------- items */

static int build_item(const code_template *ct, int index, long k, long m, int difficulty, core_rng *rng,
                      task_item *t, core_error *err) {
    char what[160], want[64], q[640], tests[2048], think[256], gold[512];
    code_input in[2 + CODE_MAX_TESTS];
    int n_tests = 3 + difficulty / 5;
    draw_inputs(ct, k, in, 2 + n_tests, rng);
    snprintf(what, sizeof what, ct->what, k, m);
    int ql = snprintf(q, sizeof q, "Write a Python function %s(%s) that returns %s.\nExamples:",
                      ct->name, ct->arg, what);
    for (int i = 0; i < 2; i++) {
        expect_text(want, sizeof want, ct, &in[i], k, m);
        ql += snprintf(q + ql, sizeof q - (size_t)ql, "%s %s(%s) == %s", i ? "," : "", ct->name,
                       in[i].text, want);
    }
    int tl = snprintf(tests, sizeof tests, "[");
    for (int i = 0; i < n_tests; i++) {
        expect_text(want, sizeof want, ct, &in[2 + i], k, m);
        /* JSON string of a Python line: the literals hold no '"' or '\\'. */
        tl += snprintf(tests + tl, sizeof tests - (size_t)tl, "%s\"assert %s(%s) == %s\"",
                       i ? ", " : "", ct->name, in[2 + i].text, want);
    }
    snprintf(tests + tl, sizeof tests - (size_t)tl, "]");

    memset(t, 0, sizeof *t);
    snprintf(t->gen, sizeof t->gen, "code");
    t->kind = TASK_CODE;
    t->difficulty = difficulty;
    t->operands[0] = k;
    t->operands[1] = m;
    t->operands[2] = index;
    t->n_operands = 3;
    tasks_code_write(t, 0, think, sizeof think, gold, sizeof gold);
    t->question = strdup(q);
    t->gold = strdup(gold);
    t->tests = strdup(tests);
    t->meta = tasks_strf("{\"gen\":\"code\",\"difficulty\":%d,\"function\":\"%s\",\"k\":%ld,\"m\":%ld}",
                         difficulty, ct->name, k, m);
    if (!t->question || !t->gold || !t->tests || !t->meta) {
        task_item_free(t);
        return core_fail(err, CORE_ERUNTIME, "tasks: out of memory");
    }
    uint64_t h = 1469598103934665603ull;
    for (const char *s = t->question; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    snprintf(t->id, sizeof t->id, "code-%016llx", (unsigned long long)h);
    return 0;
}

int tasks_generate_code(int difficulty, core_rng *rng, task_item *t, core_error *err) {
    int n_templates = 4 + difficulty < N_CODE_TEMPLATES ? 4 + difficulty : N_CODE_TEMPLATES;
    int index = (int)core_rng_below(rng, (uint64_t)n_templates);
    const code_template *ct = &code_templates[index];
    long k = tasks_rand_range(rng, ct->k_lo, ct->k_hi);
    long m = tasks_rand_range(rng, 1, 9);
    return build_item(ct, index, k, m, difficulty, rng, t, err);
}
