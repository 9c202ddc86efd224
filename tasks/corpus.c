/*
 * The base-model corpus: worked solutions in the template, with controlled
 * imperfection so that RL has something to fix and something to amplify.
 *
 *   clean    <think>23+45=68 68+12=80</think><answer>80</answer>
 *   slip     one step off by +-1 or +-10; later steps carry the slipped
 *            value, so the answer is wrong          (tasks.slip_rate)
 *   recheck  the same slip, then "wait 23+45=68" with the right value and
 *            the right rest                          (tasks.recheck_rate)
 *   confirm  right steps, one re-checked: "68+12=80 wait 68+12=80"
 *            (tasks.confirm_rate).  With it, "wait" no longer signals a slip
 *            already made: it is a second, independent look at a step, which
 *            is what RL can learn to use more often.
 *   broken   the template broken one of four ways   (tasks.format_break_rate,
 *            independent of the above)
 *
 * slip_rate, recheck_rate and confirm_rate are fractions of all solutions:
 * one uniform draw picks recheck, slip, confirm or clean in that order.  countdown
 * and lineq slip their last step.  The code generator's items slip their
 * function (one of its template's wrong versions: an off-by-one, a wrong
 * operator, a wrong base case); the plan in <think> shows the same slip,
 * and a re-check writes "wait" and the right plan before the right code:
 *   <think>x*7-3 wait x*7+3</think><answer>def f(x):\n    return x*7+3\n</answer>
 * Other code items (JSONL) are their reference solution.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/internal.h"
#include "tasks/tasks.h"

typedef struct text_buf { char s[2048]; int n; } text_buf;

static void put(text_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int room = (int)sizeof b->s - b->n;
    int w = vsnprintf(b->s + b->n, (size_t)room, fmt, ap);
    va_end(ap);
    b->n += w < room ? w : room - 1;
}

/* A slip: +-1 or +-10, keeping the value positive when it was. */
static long slip_delta(core_rng *rng, long value) {
    static const long deltas[] = {1, -1, 10, -10};
    long d = deltas[core_rng_below(rng, 4)];
    return value > 0 && value + d <= 0 ? -d : d;
}

/* The thinking and the final answer of one solution.  slip_at: the step
 * that slips (-1: none); recheck: write "wait" and the right value after it. */
typedef struct worked { text_buf think; char answer[512]; } worked;

static void work_arith(const task_item *t, int style, int at, core_rng *rng, worked *w) {
    long acc = t->operands[0];
    int slip = style == CORPUS_SLIP || style == CORPUS_RECHECK;
    if (t->n_operands == 1) put(&w->think, "%ld", acc);
    for (int i = 1; i < t->n_operands; i++) {
        long right = acc + t->operands[i];
        long written = right + (slip && i - 1 == at ? slip_delta(rng, right) : 0);
        put(&w->think, "%s%ld+%ld=%ld", i > 1 ? " " : "", acc, t->operands[i], written);
        if ((written != right && style == CORPUS_RECHECK) ||
            (style == CORPUS_CONFIRM && i - 1 == at)) {
            put(&w->think, " wait %ld+%ld=%ld", acc, t->operands[i], right);
            written = right;
        }
        acc = written;
    }
    snprintf(w->answer, sizeof w->answer, "%ld", acc);
}

static long countdown_apply(long a, char op, long b) {
    switch (op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    default: return a / b;
    }
}

/* Recover the operators from the gold expression (left-deep, operands in
 * order): the first operator character after each operand's digits. */
static void countdown_ops(const task_item *t, char *ops) {
    const char *p = t->gold;
    for (int i = 0; i < t->n_operands - 1; i++) {
        while (*p && !strchr("+-*/", *p)) p++;
        ops[i] = *p ? *p++ : '+';
    }
}

static void countdown_answer(char *out, size_t cap, const long *nums, const char *ops, int n) {
    char tmp[512];
    snprintf(out, cap, "%ld", nums[0]);
    int additive = 0;
    for (int i = 1; i < n; i++) {
        int mul = ops[i - 1] == '*' || ops[i - 1] == '/';
        if (mul && additive) snprintf(tmp, sizeof tmp, "(%s)%c%ld", out, ops[i - 1], nums[i]);
        else snprintf(tmp, sizeof tmp, "%s%c%ld", out, ops[i - 1], nums[i]);
        snprintf(out, cap, "%s", tmp);
        additive = !mul;
    }
}

/* A countdown slip takes a wrong operator at the last step (one that keeps
 * the value a positive integer), so the answer misses the target. */
static void work_countdown(const task_item *t, int style, core_rng *rng, worked *w) {
    int slip = style == CORPUS_SLIP || style == CORPUS_RECHECK, recheck = style == CORPUS_RECHECK;
    char ops[TASK_MAX_OPERANDS] = {0}, wrong[TASK_MAX_OPERANDS];
    int n = t->n_operands;
    countdown_ops(t, ops);
    memcpy(wrong, ops, sizeof ops);
    long acc = t->operands[0], before_last = acc;
    for (int i = 1; i < n - 1; i++) acc = countdown_apply(acc, ops[i - 1], t->operands[i]);
    before_last = acc;
    if (slip) {
        long last = t->operands[n - 1];
        for (int tries = 0; tries < 8; tries++) {
            char op = "+-*"[core_rng_below(rng, 3)];
            long v = countdown_apply(before_last, op, last);
            if (op != ops[n - 2] && v > 0 && v != t->target) { wrong[n - 2] = op; break; }
        }
    }
    acc = t->operands[0];
    for (int i = 1; i < n; i++) {
        long v = countdown_apply(acc, wrong[i - 1], t->operands[i]);
        put(&w->think, "%s%ld%c%ld=%ld", i > 1 ? " " : "", acc, wrong[i - 1], t->operands[i], v);
        acc = v;
    }
    int slipped = memcmp(ops, wrong, (size_t)(n - 1)) != 0;
    if ((slipped && recheck) || style == CORPUS_CONFIRM)
        put(&w->think, " wait %ld%c%ld=%ld", before_last, ops[n - 2], t->operands[n - 1],
            t->target);
    countdown_answer(w->answer, sizeof w->answer, t->operands, slipped && !recheck ? wrong : ops,
                     n);
}

/* a*x+b=c: "3x=20-5=15 x=15/3=5"; a slip is in the division's result. */
static void work_lineq(const task_item *t, int style, core_rng *rng, worked *w) {
    int slip = style == CORPUS_SLIP || style == CORPUS_RECHECK;
    long a = t->operands[0], b = t->operands[1], c = t->operands[2], x = t->target;
    long ax = c - b;
    put(&w->think, "%ldx=%ld%c%ld=%ld ", a, c, b > 0 ? '-' : '+', labs(b), ax);
    long written = x + (slip ? slip_delta(rng, 0) : 0);
    put(&w->think, "x=%ld/%ld=%ld", ax, a, written);
    if ((written != x && style == CORPUS_RECHECK) || style == CORPUS_CONFIRM) {
        put(&w->think, " wait %ld/%ld=%ld", ax, a, x);
        written = x;
    }
    snprintf(w->answer, sizeof w->answer, "%ld", written);
}

/* A code generator item: the plan and the function, right or slipped. */
static void work_code(const task_item *t, int style, core_rng *rng, worked *w) {
    int n = tasks_code_versions(t);
    int slipped = style == CORPUS_SLIP || style == CORPUS_RECHECK
                      ? 1 + (int)core_rng_below(rng, (uint64_t)(n - 1)) : 0;
    char plan[256], right_plan[256], code[512];
    tasks_code_write(t, 0, right_plan, sizeof right_plan, w->answer, sizeof w->answer);
    tasks_code_write(t, slipped, plan, sizeof plan, code, sizeof code);
    put(&w->think, "%s", plan);
    if (style == CORPUS_RECHECK || style == CORPUS_CONFIRM) put(&w->think, " wait %s", right_plan);
    else snprintf(w->answer, sizeof w->answer, "%s", code);
}

/* Which step of a solution can slip: arith has n-1 steps. */
static void work(const task_item *t, int style, core_rng *rng, worked *w) {
    memset(w, 0, sizeof *w);
    if (!strcmp(t->gen, "arith")) {
        int steps = t->n_operands - 1;
        int at = style != CORPUS_CLEAN && steps > 0 ? (int)core_rng_below(rng, (uint64_t)steps)
                                                    : -1;
        work_arith(t, style, at, rng, w);
    } else if (!strcmp(t->gen, "countdown")) {
        work_countdown(t, style, rng, w);
    } else if (!strcmp(t->gen, "lineq")) {
        work_lineq(t, style, rng, w);
    } else if (tasks_code_versions(t) > 1) {
        work_code(t, style, rng, w);
    } else { /* an imported item: no steps to show */
        snprintf(w->answer, sizeof w->answer, "%s", t->gold ? t->gold : "");
    }
}

/* The four ways the template breaks: no think tags, a bare answer, an
 * unclosed think, an answer with no thinking. */
static void write_response(text_buf *out, const worked *w, int broken_way) {
    switch (broken_way) {
    case 1: put(out, "%s<answer>%s</answer>", w->think.s, w->answer); break;
    case 2: put(out, "<think>%s</think>%s", w->think.s, w->answer); break;
    case 3: put(out, "<think>%s<answer>%s</answer>", w->think.s, w->answer); break;
    case 4: put(out, "<answer>%s</answer>", w->answer); break;
    default: put(out, "<think>%s</think><answer>%s</answer>", w->think.s, w->answer);
    }
}

char *tasks_worked_solution(const task_item *t) {
    worked w;
    core_rng unused = core_rng_stream(0, CORE_RNG_CORPUS, 0, 0);
    work(t, CORPUS_CLEAN, &unused, &w);
    text_buf out = {.n = 0};
    write_response(&out, &w, 0);
    return strdup(out.s);
}

int tasks_corpus_example(const core_config *cfg, const task_item *t, core_rng *rng,
                         corpus_example *out, core_error *err) {
    memset(out, 0, sizeof *out);
    int can_slip = !strcmp(t->gen, "arith") || !strcmp(t->gen, "countdown") ||
                   !strcmp(t->gen, "lineq") || tasks_code_versions(t) > 1;
    double u = core_rng_uniform(rng);
    if (can_slip && u < cfg->tasks.recheck_rate) out->style = CORPUS_RECHECK;
    else if (can_slip && u < cfg->tasks.recheck_rate + cfg->tasks.slip_rate) out->style = CORPUS_SLIP;
    else if (can_slip && u < cfg->tasks.recheck_rate + cfg->tasks.slip_rate + cfg->tasks.confirm_rate)
        out->style = CORPUS_CONFIRM;
    int broken_way = 0;
    if (core_rng_uniform(rng) < cfg->tasks.format_break_rate)
        broken_way = 1 + (int)core_rng_below(rng, 4);
    out->broken = broken_way != 0;

    worked w;
    work(t, out->style, rng, &w);
    text_buf resp = {.n = 0};
    write_response(&resp, &w, broken_way);
    out->prompt = tasks_render_prompt(cfg->tasks.template, t->question, err);
    if (!out->prompt) return err ? err->code : CORE_EINPUT;
    out->response = strdup(resp.s);
    if (!out->response) {
        corpus_example_free(out);
        return core_fail(err, CORE_ERUNTIME, "tasks: out of memory");
    }
    return 0;
}

void corpus_example_free(corpus_example *e) {
    if (!e) return;
    free(e->prompt);
    free(e->response);
    memset(e, 0, sizeof *e);
}
