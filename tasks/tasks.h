/*
 * tasks/ — problems with exact answers: items, where they come from, how
 * they are split, how a prompt is written, and the base-model corpus.
 *
 *   item       one problem: question, gold answer, hidden tests (code),
 *              operands the generator used, metadata as JSON
 *   generators arith (sums with worked steps), countdown, lineq, code;
 *              seeded by the caller's core_rng, difficulty knob 0..10
 *   jsonl      GSM8K / MATH / MBPP / HumanEval style exports
 *   split      a hash of the question decides train or held-out, so the
 *              two are disjoint by construction; the held-out items are
 *              drawn from tasks.heldout_seed and are the same in every run
 *   template   the prompt around a question (r1zero, plain, chat, or a
 *              text containing {question})
 *   corpus     worked solutions in the template with controlled slips,
 *              template breaks and "wait" re-checks (tasks.*_rate)
 *
 * Everything returns 0 or a CORE_E* code with err filled (file, line and
 * field for bad input).
 */
#ifndef GRPO_TASKS_H
#define GRPO_TASKS_H

#include <stdint.h>

#include "core/core.h"

/* ------------------------------------------------------------------ items */

enum task_kind { TASK_MATH = 0, TASK_CODE = 1 };

#define TASK_MAX_OPERANDS 8

typedef struct task_item {
    char id[64];        /* "arith-1f3a..." (hash of the question) or "FILE:LINE" */
    int kind;           /* TASK_MATH or TASK_CODE */
    char gen[16];       /* "arith" "countdown" "lineq" "code" "jsonl" */
    char *question;     /* the problem, before the template */
    char *gold;         /* the exact answer; countdown: one solving expression;
                           code: a reference solution */
    char *tests;        /* code: JSON array of Python assert lines and/or {"stdin", "stdout"}
                           pairs (at most TASKS_MAX_TESTS); else NULL */
    char *meta;         /* JSON object (generator, difficulty, ...) or NULL */
    /* What the generator drew (arith: the terms; countdown: the numbers;
     * lineq: a, b, c[, d]); target: countdown's goal, lineq's x. */
    long operands[TASK_MAX_OPERANDS];
    int n_operands;
    long target;
    int difficulty;
} task_item;

void task_item_free(task_item *t);
int task_item_copy(task_item *dst, const task_item *src, core_error *err);

typedef struct task_set {
    task_item *items;
    int n, cap;
} task_set;

/* Append *item, taking ownership of its strings (item is zeroed). */
int task_set_push(task_set *s, task_item *item, core_error *err);
void task_set_free(task_set *s);

/* ------------------------------------------------------------- generators */

/* Generator names: "arith" "countdown" "lineq" "code".  Fills *out from rng
 * (deterministic: same rng state, same item).  Difficulty 2 of arith is the
 * demo: sums of 3-4 two-digit numbers. */
int tasks_generate(const char *gen, int difficulty, core_rng *rng, task_item *out,
                   core_error *err);

/* TinyZero's countdown verifier: 1 if expr is an arithmetic expression
 * (+ - * / and parentheses, integers) that uses exactly the given numbers,
 * each once, and equals target exactly; else 0. */
int tasks_countdown_check(const char *expr, const long *nums, int n_nums, long target);
/* Exact value of an arithmetic expression as num/den (den > 0).  Returns 0
 * on success, -1 on a syntax error or a division by zero.  The integers it
 * read go into used[] (up to max_used; *n_used counts them all). */
int tasks_expr_eval(const char *expr, long *num, long *den, long *used, int max_used,
                    int *n_used);

/* ------------------------------------------------------------------ jsonl */

/* The most tests one code item may carry (the code reward runs them all;
 * reward.h's REWARD_CODE_MAX_TESTS is the same bound). */
#define TASKS_MAX_TESTS 64

/* Read a JSONL file: one JSON object per line, blank lines skipped.
 * Field names accepted: question | problem | prompt | text | description;
 * answer | solution | final_answer | gold | canonical_solution | code |
 * solutions (GSM8K "... #### 72" keeps 72; a MATH solution keeps its last
 * \boxed{}; optional for code items); tests in the MBPP (test_list,
 * test_setup_code), HumanEval (test, entry_point), "tests" (assert lines or
 * {input, output}), APPS (input_output) and CodeContests (public_tests,
 * private_tests, generated_tests) layouts (jsonl.c); id | task_id | idx | name.
 * A line that is not JSON, or lacks a usable field: CORE_EINPUT with
 * "FILE:LINE: FIELD: what is wrong". */
int tasks_load_jsonl(const char *path, task_set *out, core_error *err);

/* ------------------------------------------------------------------ split */

/* 1 if this question belongs to the held-out side (about 1 in 10), by a
 * hash of its text: a question is on one side in every run and every file. */
int tasks_is_heldout(const char *question);
/* The side of a generator's item: the code generator holds out by its
 * constant (K = 3 mod 7: by construction, no training item shares one);
 * the others by tasks_is_heldout(question). */
int tasks_item_is_heldout(const task_item *t);

/* A source of problems for a run, built from the config: generator or JSONL
 * files, the fixed held-out set, and the prompt template. */
typedef struct task_source task_source;

int tasks_open(const core_config *cfg, task_source **out, core_error *err);
void tasks_close(task_source *ts);
/* The held-out items (tasks.heldout_items of them, fixed by tasks.heldout_seed). */
const task_set *tasks_heldout(const task_source *ts);
/* The training items of a JSONL source (empty for a generator, which draws
 * them as it goes). */
const task_set *tasks_train(const task_source *ts);
/* Where an item came from, for messages: "FILE:LINE" for JSONL, else its id. */
void tasks_item_origin(const task_item *t, char *out, size_t cap);
/* Training item `index` of `step`, drawn from run.seed: deterministic for
 * (seed, step, index) on any rank, never a held-out question.  *out is the
 * caller's (free with task_item_free). */
int tasks_draw(const task_source *ts, uint64_t step, int index, task_item *out,
               core_error *err);

/* --------------------------------------------------------------- template */

/* The prompt for question q under template (the name "r1zero", "plain",
 * "chat", or a text containing {question}).  The response the model writes
 * follows it and starts with <think>.  Returns a malloc'd string, or NULL
 * with err filled for an unknown template. */
char *tasks_render_prompt(const char *template_, const char *question, core_error *err);
/* 0 if the template is usable, else CORE_EINPUT naming tasks.template. */
int tasks_check_template(const char *template_, core_error *err);

/* ----------------------------------------------------------------- corpus */

/* How a worked solution was written (for tests and statistics). */
enum corpus_style {
    CORPUS_CLEAN = 0,   /* right steps, right answer */
    CORPUS_SLIP = 1,    /* one step off by a little; the answer follows it */
    CORPUS_RECHECK = 2, /* one step off, then "wait a+b=c" and the right rest */
    CORPUS_CONFIRM = 3  /* right steps, one of them re-checked: "wait a+b=c" */
};

typedef struct corpus_example {
    char *prompt;    /* the templated question (malloc'd) */
    char *response;  /* the worked solution, "<think>...</think><answer>..</answer>" */
    int style;       /* enum corpus_style */
    int broken;      /* 1 if the template was broken on purpose */
} corpus_example;

/* One worked solution for item t, its imperfections drawn from rng with
 * the rates in cfg->tasks (slip_rate, format_break_rate, recheck_rate,
 * confirm_rate).
 * Generators' items: arith/countdown/lineq slip a step; code slips its
 * function (an off-by-one, a wrong operator or a wrong base case) with the
 * plan in <think>; other code items get their reference solution. */
int tasks_corpus_example(const core_config *cfg, const task_item *t, core_rng *rng,
                         corpus_example *out, core_error *err);
/* The clean solution of t (no slip, no break): what a perfect model writes. */
char *tasks_worked_solution(const task_item *t);
void corpus_example_free(corpus_example *e);

#endif
