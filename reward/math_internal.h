/*
 * reward/ math internals shared by math_*.c (not part of the public API).
 *
 * A math_num is an exact rational (two __int128, reduced, den > 0) when the
 * value is rational and fits, and always carries a double approximation.
 * Any overflow turns the value inexact (compared with a relative tolerance);
 * a non-finite approximation that is not an explicit \infty makes the value
 * unusable, so two huge numbers are never "equal" by both being inf.
 */
#ifndef GRPO_REWARD_MATH_INTERNAL_H
#define GRPO_REWARD_MATH_INTERNAL_H

#include <stddef.h>

typedef struct math_num {
    int exact;          /* num/den hold the value exactly */
    __int128 num, den;  /* reduced, den > 0 (valid when exact) */
    double approx;      /* the value as a double (±inf only for \infty) */
} math_num;

/* Evaluator flags. */
enum {
    MATH_LITERAL_ONLY = 1,  /* no binary + - * between operands (a/b, 2\sqrt{3}, 1.5\times10^{3} still fine) */
    MATH_IGNORE_PERCENT = 2 /* read "50%" as 50 (the answer that forgot or added the % sign) */
};

/* Evaluate a normalised expression.  Returns 0 and fills *out, or -1 when
 * the text is not a number we can evaluate (variables, bad syntax, division
 * by zero, nesting deeper than REWARD_MAX_DEPTH).  *had_percent (may be NULL)
 * is set when a % sign was applied. */
int math_eval(const char *s, size_t len, int flags, math_num *out, int *had_percent);

/* The same at one trial assignment of values to variables (a lone letter
 * or a Greek letter is a variable whose value depends only on its name and
 * the trial); *n_vars (may be NULL) counts the variables met, so a caller
 * can compare two expressions at MATH_TRIALS points. */
#define MATH_TRIALS 3
int math_eval_at(const char *s, size_t len, int flags, int trial, math_num *out, int *had_percent, int *n_vars);

/* a - b; a / b (-1 on division by zero). */
math_num math_num_sub(math_num a, math_num b);
int math_num_div(math_num a, math_num b, math_num *out);

/* Equal within rel_tol (exactly when both are exact rationals). */
int math_num_equal(const math_num *a, const math_num *b, double rel_tol);

/* reward_math_normalize; keep_lhs leaves "x = 3" whole (math_equal
 * compares relations before it strips labels). */
int math_normalize(const char *in, size_t len, char *out, size_t cap, int keep_lhs);

/* Where the value starts in "x = 3" / "\theta \in [0,1]" (a lone top-level
 * '=', \in or \approx after a short identifier, no top-level comma);
 * 0 when there is nothing to strip. */
size_t reward_math_strip_lhs(const char *s, size_t n);

/* reward_math_equal with evaluator flags (MATH_LITERAL_ONLY). */
int reward_math_equal_ex(const char *a, const char *b, double rel_tol, int flags, char *why,
                         size_t why_cap);

/* Does a normalised answer look like a value (a number, an expression we can
 * evaluate, a tuple/set of them, or one short word)?  Used by the "whole" rule. */
int reward_math_is_value(const char *norm, size_t n);

/* Does the text have a word (two or more letters that are not a LaTeX
 * command)?  Bare math ("12:30", "\pm 1", "\log_2 8") has none. */
int reward_math_has_words(const char *s, size_t n);

/* ---------------------------------------------- math_relation.c */

/* Two relations (=, \ne, <, \le, >, \ge; one each, with variables) that
 * state the same thing: f_a = c * f_b for f = lhs - rhs and a constant c
 * (c > 0 for inequalities once both are turned to "< 0" / "<= 0").
 * Returns 1 same, 0 different, -1 when the two are not both relations. */
int math_relation_equal(const char *a, size_t na, const char *b, size_t nb, double rel_tol);

/* A number written with a decimal comma ("3,5", "-0,125", "1 234,5",
 * "1.234,5"): writes its decimal-point spelling to out and returns its
 * length, or 0 when s is not such a number. */
size_t math_decimal_comma(const char *s, size_t n, char *out, size_t cap);

/* A multiple-choice letter standing alone ("C", "(C)", "C)"): the letter
 * A-E, else 0. */
int math_choice_letter(const char *s, size_t n);

/* The first choice letter A-E standing alone in prose ("for sure D, it
 * can't be A or B" -> 'D'), else 0. */
int math_first_choice(const char *s, size_t n);

/* Short text of a value for details ("3/4", "1.41421"). */
void math_num_format(const math_num *v, char *out, size_t cap);

#endif
