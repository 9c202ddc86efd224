/*
 * reward/ — rule-based reward checkers and their composition.
 *
 * A reward_fn is built once from the [reward] section of the config
 * (reward_create) and is immutable afterwards: patterns are compiled once
 * (PCRE2, JIT where available) and every call allocates its own match data,
 * so any number of threads may call reward_score on the same reward_fn at
 * the same time.  No globals anywhere in reward/.
 *
 * Components are named pieces of the reward ("format", "accuracy_math",
 * "length_penalty", "overlong", later "accuracy_code").  The config chooses
 * which ones run, their weights and how they combine; every component's value
 * and a short detail (which extraction rule fired, why two answers differ) is
 * returned so the learner can log each part to reward_parts and an ablation
 * is only a config change.
 *
 * Bounds: every checker runs in time and memory bounded by the input length
 * (extracted answers longer than REWARD_ANSWER_MAX are "not equal"; nesting
 * deeper than REWARD_MAX_DEPTH is "not equal"); invalid UTF-8 is treated as
 * opaque bytes.
 */
#ifndef GRPO_REWARD_H
#define GRPO_REWARD_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

#define REWARD_MAX_PARTS 8
#define REWARD_ANSWER_MAX 1024 /* longest extracted answer compared, bytes */
#define REWARD_MAX_DEPTH 64    /* deepest bracket/brace nesting parsed */

typedef struct reward_part {
    char name[32];     /* component name, e.g. "accuracy_math" */
    double value;      /* unweighted component value */
    char detail[160];  /* short human-readable reason, e.g. "answer_tag: 80 == 80" */
} reward_part;

/* One run of one test of the code reward: a row of sandbox_runs.  Plain
 * fixed-size data, so the same row is what rollout workers send to the
 * learner and what the learner logs. */
#define REWARD_CODE_MAX_TESTS 64
#define REWARD_CODE_EXCERPT 256
#define REWARD_CODE_MESSAGE 200
typedef struct reward_code_run {
    int32_t test;             /* index in the tests array */
    int32_t passed;
    int32_t exit_code, signal;
    double cpu_ms, wall_ms;
    int64_t rss_kb;
    char verdict[24];         /* "OK" (passed), "WRONG_ANSWER", or a sandbox verdict name */
    char output[REWARD_CODE_EXCERPT]; /* start of stdout, or of stderr when it failed */
    char message[REWARD_CODE_MESSAGE]; /* why it failed, one line ("" when it passed):
                                          "AssertionError: ... at: assert f(1) == 2", "line 2:
                                          expected '5', got '6'", or the sandbox's detail */
} reward_code_run;

/* The caller's buffer for those rows (reward_input.runs_out): the code
 * reward writes up to max rows and sets n (0 when it ran no test). */
typedef struct reward_runs_out {
    reward_code_run *rows;
    int max, n;
} reward_runs_out;

typedef struct reward_input {
    const char *response;  /* decoded completion text (tags spelled out) */
    size_t response_len;
    const char *gold;      /* gold answer text (goes through the same extraction); may be NULL */
    int n_tokens;          /* completion length in tokens (length_penalty, overlong) */
    int max_new_tokens;    /* the sampling limit the completion ran under */
    int truncated;         /* 1 when sampling stopped at max_new_tokens */
    const char *tests;     /* code tests (JSON) for accuracy_code; may be NULL */
    reward_runs_out *runs_out; /* where accuracy_code puts its per-test rows; may be NULL */
} reward_input;

typedef struct reward_result {
    double total;          /* weighted combination of the parts */
    int n_parts;
    reward_part parts[REWARD_MAX_PARTS]; /* in the order of reward.components */
    int format_ok;         /* the template check passed (computed even when "format" is not a component) */
    int correct;           /* an accuracy component scored 1 */
    int infra_fail;        /* 0, or 1 + the index of the first part that could not run (the
                              sandbox failed): the completion was not graded, and its total
                              is no verdict on it */
} reward_result;

typedef struct reward_fn reward_fn;

/* Build from cfg->reward: components, weights, combine, format_pattern,
 * format_strict, format_partial, math_extract, math_rel_tol, length_penalty,
 * overlong_buffer.  Bad input (unknown component, weight count, a pattern
 * PCRE2 rejects, an unknown extraction rule) is CORE_EINPUT naming the key;
 * for a pattern, PCRE2's message and the offset.  The config is copied. */
int reward_create(reward_fn **out, const core_config *cfg, core_error *err);
void reward_free(reward_fn *r);

/* Score one completion; thread-safe.  Returns 0; CORE_ERUNTIME when a
 * component could not run (out->infra_fail = 1; out->parts still holds what
 * was computed, the failed part's detail says why); CORE_EINPUT when the
 * item itself is bad (code tests that are not valid JSON). */
int reward_score(const reward_fn *r, const reward_input *in, reward_result *out);

/* The config the reward_fn was built from (components read their keys here). */
const core_config *reward_config(const reward_fn *r);

/* ------------------------------------------------------- the pieces, directly */

/* 1 when the response matches the template (strict: the whole response). */
int reward_format_ok(const reward_fn *r, const char *response, size_t len);
/* Format credit in [0,1]: 1 on a match; else, with reward.format_partial,
 * 0.25 for each of <think> </think> <answer> </answer> found in order,
 * at most 0.75 (only a match earns 1). */
double reward_format_score(const reward_fn *r, const char *response, size_t len);

/* Extract the final answer from text, trying the rules of rule_order (a
 * comma-separated list of answer_tag, boxed, gsm8k, answer_is, latex_math,
 * whole, last_number) in order.  Writes the raw answer text (NUL-terminated,
 * truncated to cap-1) to out and the rule that fired to *rule_fired (a
 * static string; may be NULL).  Returns the answer's full length (like
 * snprintf: ≥ cap means it was truncated), or -1 when no rule fired
 * (out = "", *rule_fired = "none"). */
int reward_math_extract(const char *text, size_t len, const char *rule_order,
                        char *out, size_t cap, const char **rule_fired);

/* Check a rule_order list: 0, or CORE_EINPUT naming the unknown rule. */
int reward_math_check_rules(const char *rule_order, core_error *err);

/* Normalise one answer (LaTeX and plain text) into out: \dfrac -> \frac,
 * \left/\right and spacing commands dropped, \text{} unwrapped, units,
 * degrees, $, thousands separators, trailing punctuation, "x = 3" -> 3.
 * Returns the length, or -1 when the answer is too long or nested too deep. */
int reward_math_normalize(const char *in, size_t len, char *out, size_t cap);

/* Are two extracted answers equal?  Exact rational arithmetic where possible
 * (integers, decimals, fractions, mixed numbers, %, scientific notation,
 * repeating decimals, n!, \binom, thousands written 1,000 / 1 000 / 1{,}000,
 * decimal commas 3,5 / 3{,}5); numeric with rel_tol for irrational values
 * (\sqrt, \pi, e, trig, \ln, \log_b) and for a decimal against a fraction
 * with no finite decimal expansion (0.3333333 == 1/3); expressions in
 * variables (2ab, \tan^2 x + 1) as functions sampled at exact rational points;
 * relations (=, \ne, <, \le, >, \ge) equal up to a non-zero factor
 * (math_relation.c); labels and chains stripped ("(p,q) = (3,2)",
 * "x = 6/2 = 3"); tuples/intervals and matrices in order, sets, lists and
 * unions of sets unordered, inequalities in one variable as intervals, \pm
 * as two answers, a choice letter against prose naming it first; text after
 * normalisation.  Returns 1 equal, 0 not; why (may be NULL) gets a short
 * reason. */
int reward_math_equal(const char *a, const char *b, double rel_tol, char *why, size_t why_cap);

/* A canonical key for voting (maj@k): answers that are the same number get
 * the same key ("1/2" for 0.5, \frac{1}{2} and 50%; "%.9g" for irrational
 * values); anything else its normalised text, lower case, spaces dropped.
 * Returns the key length, or -1 (out = "") when the answer cannot be
 * normalised.  Keys are a cheap approximation of reward_math_equal (two
 * tuples that are equal element-wise but spelled differently get two keys). */
int reward_math_canonical(const char *answer, char *out, size_t cap);

/* ------------------------------------------------------- offline grading */

/* One graded JSONL line (grpo grade). */
typedef struct reward_graded {
    reward_result res;
    double seconds; /* time spent in reward_score alone */
    char *json;     /* malloc'd output object, one line without '\n'; caller frees */
} reward_graded;

/* Parse one JSON object {"response": str, "gold": str|number, optional
 * "id", "n_tokens", "max_new_tokens", "truncated", "tests" (code tests: a
 * JSON string, array or object)}, score it and build the
 * output line {"line", "id", "total", "format_ok", "correct", "parts":
 * {name: value}, "detail": {name: text}}.  n_tokens defaults to the response
 * length in bytes, max_new_tokens to rollout.max_new_tokens.  need_gold:
 * a missing gold is an error.  CORE_EINPUT with the reason (the caller adds
 * file and line) when the line is malformed; CORE_ERUNTIME when a component
 * could not run, with out->json still filled (its detail says why). */
int reward_grade_json(const reward_fn *r, const char *line, size_t len, long line_no, int need_gold,
                      reward_graded *out, core_error *err);

/* ------------------------------------------------------------- components */

/* One named component.  To add one, declare its functions in a reward/
 * header (reward/code.h does for "accuracy_code") and add one row to the
 * table in reward.c. */
typedef struct reward_component {
    const char *name;
    int is_accuracy; /* sets result.correct; gated by the format when combine=gated */
    /* Optional: build per-reward_fn state from the config (e.g. a sandbox
     * pool).  The state must be safe to use from many threads at once. */
    int (*init)(void **state, const core_config *cfg, core_error *err);
    void (*free)(void *state);
    /* Fill part->value and part->detail (the name is filled by the caller).
     * Returns 0; CORE_ERUNTIME when it could not run (infrastructure), or
     * CORE_EINPUT when the item is malformed, with the reason in part->detail. */
    int (*score)(const reward_fn *r, void *state, const reward_input *in, reward_part *part);
} reward_component;

/* The registry: every known component, and a lookup by name (NULL if none). */
const reward_component *reward_component_find(const char *name);
/* Comma-separated names of every registered component (static string). */
const char *reward_component_names(void);
/* 1 when cfg's reward.components has accuracy_code: the reward runs programs. */
int reward_components_grade_code(const core_config *cfg);

#endif
