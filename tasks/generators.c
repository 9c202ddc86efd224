/*
 * Seeded generators of math problems with exact answers, and the exact
 * expression evaluator behind the countdown verifier.
 *
 *   arith      sums of several numbers; difficulty d: d+1 to d+2 terms of
 *              1 + (d+2)/3 digits (d=2, the demo: 3-4 two-digit numbers)
 *   countdown  reach a target from given numbers, each used once, with
 *              + - * / (TinyZero); the gold is one solving expression
 *   lineq      a*x+b=c for an integer x; ranges grow with d
 *   code       see code_gen.c
 *
 * Each generator draws only from the caller's rng, so the same rng state
 * gives the same item on any machine.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/internal.h"
#include "tasks/tasks.h"

char *tasks_strf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

long tasks_rand_range(core_rng *rng, long lo, long hi) {
    return lo + (long)core_rng_below(rng, (uint64_t)(hi - lo + 1));
}

static long pow10l_(int digits) {
    long p = 1;
    while (digits-- > 0) p *= 10;
    return p;
}

/* The id is the generator name and the question's hash, so the same
 * question always has the same id. */
static void set_id(task_item *t) {
    uint64_t h = 1469598103934665603ull;
    for (const char *s = t->question; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    snprintf(t->id, sizeof t->id, "%s-%016llx", t->gen, (unsigned long long)h);
}

static int finish_item(task_item *t, const char *gen, int difficulty, char *question,
                       char *gold, core_error *err) {
    snprintf(t->gen, sizeof t->gen, "%s", gen);
    t->kind = TASK_MATH;
    t->difficulty = difficulty;
    t->question = question;
    t->gold = gold;
    t->meta = tasks_strf("{\"gen\":\"%s\",\"difficulty\":%d}", gen, difficulty);
    if (!question || !gold || !t->meta) {
        task_item_free(t);
        return core_fail(err, CORE_ERUNTIME, "tasks: out of memory");
    }
    set_id(t);
    return 0;
}

/* ------------------------------------------------------------------ arith */

static int generate_arith(int d, core_rng *rng, task_item *t, core_error *err) {
    int digits = 1 + (d + 2) / 3;
    int n = (int)tasks_rand_range(rng, d + 1, d + 2);
    if (n > TASK_MAX_OPERANDS) n = TASK_MAX_OPERANDS;
    long lo = digits == 1 ? 1 : pow10l_(digits - 1), hi = pow10l_(digits) - 1;
    char q[256];
    int len = 0;
    long sum = 0;
    for (int i = 0; i < n; i++) {
        t->operands[i] = tasks_rand_range(rng, lo, hi);
        sum += t->operands[i];
        len += snprintf(q + len, sizeof q - (size_t)len, "%s%ld", i ? "+" : "", t->operands[i]);
    }
    t->n_operands = n;
    t->target = sum;
    return finish_item(t, "arith", d, strdup(q), tasks_strf("%ld", sum), err);
}

/* -------------------------------------------------------------- countdown */

/* Left-deep expression over operands in order: ((a op b) op c) ...
 * Parentheses only where precedence needs them. */
static void countdown_expr(char *out, size_t cap, const long *nums, const char *ops, int n) {
    char buf[256];
    snprintf(out, cap, "%ld", nums[0]);
    int top_additive = 0; /* the expression so far ends in a + or - at its top */
    for (int i = 1; i < n; i++) {
        int mul = ops[i - 1] == '*' || ops[i - 1] == '/';
        if (mul && top_additive) snprintf(buf, sizeof buf, "(%s)%c%ld", out, ops[i - 1], nums[i]);
        else snprintf(buf, sizeof buf, "%s%c%ld", out, ops[i - 1], nums[i]);
        snprintf(out, cap, "%s", buf);
        top_additive = !mul;
    }
}

static long apply_op(long a, char op, long b) {
    switch (op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    default: return b && a % b == 0 ? a / b : -1;
    }
}

static int generate_countdown(int d, core_rng *rng, task_item *t, core_error *err) {
    int n = d <= 2 ? 3 : d <= 5 ? 4 : 5;
    long max_num = 10 + 10L * d;
    long nums[TASK_MAX_OPERANDS];
    char ops[TASK_MAX_OPERANDS];
    long value;
    for (;;) { /* redraw until every step stays a positive integer */
        for (int i = 0; i < n; i++) nums[i] = tasks_rand_range(rng, 1, max_num);
        value = nums[0];
        int ok = 1;
        for (int i = 1; i < n && ok; i++) {
            ops[i - 1] = "+-*/"[core_rng_below(rng, 4)];
            value = apply_op(value, ops[i - 1], nums[i]);
            ok = value > 0 && value <= 999;
        }
        if (ok) break;
    }
    /* The question lists the numbers sorted, so the order gives nothing away. */
    long shown[TASK_MAX_OPERANDS];
    memcpy(shown, nums, (size_t)n * sizeof *nums);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && shown[j - 1] > shown[j]; j--) {
            long tmp = shown[j]; shown[j] = shown[j - 1]; shown[j - 1] = tmp;
        }
    char q[128], expr[256];
    int len = snprintf(q, sizeof q, "make %ld from", value);
    for (int i = 0; i < n; i++) len += snprintf(q + len, sizeof q - (size_t)len, " %ld", shown[i]);
    countdown_expr(expr, sizeof expr, nums, ops, n);
    memcpy(t->operands, nums, (size_t)n * sizeof *nums);
    t->n_operands = n;
    t->target = value;
    return finish_item(t, "countdown", d, strdup(q), strdup(expr), err);
}

/* ------------------------------------------------------------------ lineq */

/* a*x+b=c.  operands: a, b, c; target: x. */
static int generate_lineq(int d, core_rng *rng, task_item *t, core_error *err) {
    long a = tasks_rand_range(rng, 2, 3 + 2L * d);
    if (d >= 5 && core_rng_below(rng, 2)) a = -a;
    long x = tasks_rand_range(rng, -(5 + 5L * d), 5 + 5L * d);
    long b;
    do b = tasks_rand_range(rng, -(10 + 10L * d), 10 + 10L * d); while (b == 0);
    long c = a * x + b;
    t->operands[0] = a; t->operands[1] = b; t->operands[2] = c;
    t->n_operands = 3;
    t->target = x;
    char *q = tasks_strf("%ldx%c%ld=%ld", a, b < 0 ? '-' : '+', labs(b), c);
    return finish_item(t, "lineq", d, q, tasks_strf("%ld", x), err);
}

int tasks_generate(const char *gen, int difficulty, core_rng *rng, task_item *out,
                   core_error *err) {
    memset(out, 0, sizeof *out);
    if (difficulty < 0 || difficulty > 10)
        return core_fail(err, CORE_EINPUT, "tasks.difficulty: %d is outside 0..10", difficulty);
    if (!strcmp(gen, "arith")) return generate_arith(difficulty, rng, out, err);
    if (!strcmp(gen, "countdown")) return generate_countdown(difficulty, rng, out, err);
    if (!strcmp(gen, "lineq")) return generate_lineq(difficulty, rng, out, err);
    if (!strcmp(gen, "code")) return tasks_generate_code(difficulty, rng, out, err);
    return core_fail(err, CORE_EINPUT,
                     "tasks.kind: '%s' is not a generator (arith, countdown, lineq, code)", gen);
}

/* ------------------------------------------------- exact expression values */

/* Recursive descent over  expr := term (('+'|'-') term)*,
 * term := factor (('*'|'/') factor)*,  factor := INT | '(' expr ')' | '-' factor.
 * Values are fractions num/den kept reduced; overflow beyond 1e15 fails. */
typedef struct expr_parser {
    const char *p;
    long *used;
    int max_used, n_used, failed;
} expr_parser;

static long gcd_(long a, long b) {
    a = labs(a); b = labs(b);
    while (b) { long r = a % b; a = b; b = r; }
    return a ? a : 1;
}

static void frac_set(long *num, long *den, long n, long d, expr_parser *ps) {
    if (d == 0 || labs(n) > 1000000000000000L || labs(d) > 1000000000000000L) {
        ps->failed = 1;
        *num = 0; *den = 1;
        return;
    }
    if (d < 0) { n = -n; d = -d; }
    long g = gcd_(n, d);
    *num = n / g; *den = d / g;
}

static void skip_space(expr_parser *ps) { while (isspace((unsigned char)*ps->p)) ps->p++; }

static void parse_expr(expr_parser *ps, long *num, long *den);

static void parse_factor(expr_parser *ps, long *num, long *den) {
    skip_space(ps);
    if (*ps->p == '(') {
        ps->p++;
        parse_expr(ps, num, den);
        skip_space(ps);
        if (*ps->p != ')') ps->failed = 1; else ps->p++;
    } else if (*ps->p == '-') {
        ps->p++;
        parse_factor(ps, num, den);
        *num = -*num;
    } else if (isdigit((unsigned char)*ps->p)) {
        long v = 0;
        while (isdigit((unsigned char)*ps->p) && v < 1000000000000L) v = v * 10 + (*ps->p++ - '0');
        if (isdigit((unsigned char)*ps->p)) ps->failed = 1;
        if (ps->n_used < ps->max_used) ps->used[ps->n_used] = v;
        ps->n_used++;
        *num = v; *den = 1;
    } else {
        ps->failed = 1;
        *num = 0; *den = 1;
    }
}

static void parse_term(expr_parser *ps, long *num, long *den) {
    parse_factor(ps, num, den);
    for (;;) {
        skip_space(ps);
        char op = *ps->p;
        if (ps->failed || (op != '*' && op != '/')) return;
        ps->p++;
        long n2, d2;
        parse_factor(ps, &n2, &d2);
        if (op == '*') frac_set(num, den, *num * n2, *den * d2, ps);
        else frac_set(num, den, *num * d2, *den * n2, ps);
    }
}

static void parse_expr(expr_parser *ps, long *num, long *den) {
    parse_term(ps, num, den);
    for (;;) {
        skip_space(ps);
        char op = *ps->p;
        if (ps->failed || (op != '+' && op != '-')) return;
        ps->p++;
        long n2, d2;
        parse_term(ps, &n2, &d2);
        long n = op == '+' ? *num * d2 + n2 * *den : *num * d2 - n2 * *den;
        frac_set(num, den, n, *den * d2, ps);
    }
}

int tasks_expr_eval(const char *expr, long *num, long *den, long *used, int max_used,
                    int *n_used) {
    expr_parser ps = {.p = expr, .used = used, .max_used = used ? max_used : 0};
    parse_expr(&ps, num, den);
    skip_space(&ps);
    if (n_used) *n_used = ps.n_used;
    return ps.failed || *ps.p ? -1 : 0;
}

static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

int tasks_countdown_check(const char *expr, const long *nums, int n_nums, long target) {
    long used[TASK_MAX_OPERANDS + 1], want[TASK_MAX_OPERANDS], num, den;
    int n_used;
    if (!expr || n_nums > TASK_MAX_OPERANDS) return 0;
    if (tasks_expr_eval(expr, &num, &den, used, TASK_MAX_OPERANDS + 1, &n_used)) return 0;
    if (n_used != n_nums || den != 1 || num != target) return 0;
    memcpy(want, nums, (size_t)n_nums * sizeof *nums);
    qsort(used, (size_t)n_used, sizeof *used, cmp_long);
    qsort(want, (size_t)n_nums, sizeof *want, cmp_long);
    return !memcmp(used, want, (size_t)n_nums * sizeof *want);
}
