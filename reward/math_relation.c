/*
 * reward/math_relation.c — answers that are relations, numbers written the
 * European way, and multiple-choice letters.
 *
 * Relations.  "2x+4y-3=0" and "y=-x/2+3/4" are one line; "x < 1" and
 * "-x > -1" one half-line.  A relation L op R is read as f = L - R with op
 * one of =, \ne, <, \le (> and \ge are turned around: L > R is R < L).  Two
 * relations say the same thing when their ops agree and f_a = c * f_b for a
 * constant c != 0 (c > 0 for < and \le, where a negative factor would flip
 * the direction).  c is found by evaluating both f at RELATION_TRIALS
 * assignments of the variables (math_value.c: exact rationals where the
 * expressions are rational, so polynomial relations compare exactly); every
 * ratio must be the same.  Why it is safe: two relations that are not
 * proportional give different ratios at random points except on a set of
 * measure zero (Schwartz-Zippel for polynomials), and at least two points
 * must give a usable ratio.
 *
 * Decimal commas.  "3,5" is a list of two answers or 3.5 written the
 * European way; math_equal reads it as 3.5 only against a single value that
 * is not an integer (a list of two answers never equals one number, so no
 * pair that was unequal before becomes equal unless one side is a decimal
 * comma number and the other that exact decimal).
 *
 * Choice letters.  "(C)", "C" and a prose answer whose first stand-alone
 * letter A-E is C.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <math.h>
#include <string.h>

#include "reward/math_internal.h"
#include "reward/reward.h"

#define RELATION_TRIALS 4

enum rel_op { REL_EQ, REL_NE, REL_LT, REL_LE };

typedef struct relation {
    const char *lhs, *rhs;
    size_t nl, nr;
    enum rel_op op;
} relation;

/* The relation operator at s[i]: its length (0 when none), *op, and
 * *swap = 1 for > and \ge (the sides trade places). */
static size_t op_at(const char *s, size_t n, size_t i, enum rel_op *op, int *swap) {
    *swap = 0;
    if (s[i] == '=') return *op = REL_EQ, 1;
    if (s[i] == '<' || s[i] == '>') {
        int eq = i + 1 < n && s[i + 1] == '=';
        *swap = s[i] == '>';
        *op = eq ? REL_LE : REL_LT;
        return eq ? 2 : 1;
    }
    static const struct { const char *name; enum rel_op op; int swap; } cmds[] = {
        {"\\ne", REL_NE, 0}, {"\\le", REL_LE, 0}, {"\\ge", REL_LE, 1}, {"\\lt", REL_LT, 0}, {"\\gt", REL_LT, 1},
    };
    if (s[i] != '\\') return 0;
    for (size_t k = 0; k < sizeof cmds / sizeof cmds[0]; k++)
        if (n - i >= 3 && !memcmp(s + i, cmds[k].name, 3) && (i + 3 >= n || !isalpha((unsigned char)s[i + 3]))) {
            *op = cmds[k].op;
            *swap = cmds[k].swap;
            return 3;
        }
    return 0;
}

/* Exactly one top-level relation with two non-empty sides. */
static int read_relation(const char *s, size_t n, relation *r) {
    int depth = 0, count = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '(' || c == '[' || c == '{') depth++;
        else if (c == ')' || c == ']' || c == '}') depth--;
        else if (depth == 0 && c == ',') return -1;
        if (depth != 0) continue;
        enum rel_op op;
        int swap;
        size_t k = op_at(s, n, i, &op, &swap);
        if (!k) continue;
        if (++count > 1) return -1;
        const char *l = s, *rr = s + i + k;
        size_t nl = i, nr = n - i - k;
        r->op = op;
        r->lhs = swap ? rr : l, r->nl = swap ? nr : nl;
        r->rhs = swap ? l : rr, r->nr = swap ? nl : nr;
        i += k - 1;
    }
    if (count != 1) return -1;
    while (r->nl && r->lhs[0] == ' ') r->lhs++, r->nl--;
    while (r->nr && r->rhs[0] == ' ') r->rhs++, r->nr--;
    return r->nl && r->nr ? 0 : -1;
}

/* f = lhs - rhs at one trial; *vars counts the variables met. */
static int relation_value(const relation *r, int trial, math_num *f, int *vars) {
    math_num l, rr;
    int vl = 0, vr = 0;
    if (math_eval_at(r->lhs, r->nl, 0, trial, &l, NULL, &vl) || math_eval_at(r->rhs, r->nr, 0, trial, &rr, NULL, &vr))
        return -1;
    *f = math_num_sub(l, rr);
    *vars = vl + vr;
    return isfinite(f->approx) ? 0 : -1;
}

static int is_zero(const math_num *v) { return v->exact ? v->num == 0 : fabs(v->approx) < 1e-12; }

int math_relation_equal(const char *a, size_t na, const char *b, size_t nb, double rel_tol) {
    relation ra, rb;
    if (read_relation(a, na, &ra) || read_relation(b, nb, &rb)) return -1;
    if (ra.op != rb.op) return 0;
    double tol = rel_tol > 1e-9 ? rel_tol : 1e-9;
    math_num first = {0, 0, 1, 0}, first_fb = {0, 0, 1, 0};
    int usable = 0, varies = 0;
    for (int t = 0; t < RELATION_TRIALS; t++) {
        math_num fa, fb, ratio;
        int va, vb;
        if (relation_value(&ra, t, &fa, &va) || relation_value(&rb, t, &fb, &vb)) return t == 0 ? -1 : 0;
        if (t == 0 && (va == 0 || vb == 0)) return -1; /* "1 < 2": no variables, not a relation to compare */
        if (is_zero(&fa) || is_zero(&fb)) {
            if (!is_zero(&fa) || !is_zero(&fb)) return 0;
            continue;
        }
        if (math_num_div(fa, fb, &ratio)) return 0;
        if ((ra.op == REL_LT || ra.op == REL_LE) && ratio.approx <= 0) return 0;
        if (usable++ == 0) first = ratio, first_fb = fb;
        else if (!math_num_equal(&ratio, &first, tol)) return 0;
        else if (!math_num_equal(&fb, &first_fb, tol)) varies = 1;
    }
    /* "x = x + 1" has a constant f: no relation between variables at all */
    return usable >= 2 && varies;
}

/* ------------------------------------------------------ decimal commas */

/* -?(d{1,3}([ .]ddd)+ | d+) , d+  ->  the same with '.' for ',' and no group
 * separators. */
size_t math_decimal_comma(const char *s, size_t n, char *out, size_t cap) {
    size_t i = 0, k = 0;
    while (n && s[n - 1] == ' ') n--;
    while (i < n && s[i] == ' ') i++;
    if (cap < n + 2) return 0;
    if (i < n && s[i] == '-') out[k++] = '-', i++;
    size_t lead = i;
    while (i < n && isdigit((unsigned char)s[i])) out[k++] = s[i++];
    if (i == lead) return 0;
    char sep = i < n && (s[i] == ' ' || s[i] == '.') ? s[i] : 0;
    if (sep && i - lead <= 3) {
        while (i + 3 < n && s[i] == sep && isdigit((unsigned char)s[i + 1]) && isdigit((unsigned char)s[i + 2]) &&
               isdigit((unsigned char)s[i + 3])) {
            memcpy(out + k, s + i + 1, 3);
            k += 3;
            i += 4;
        }
    }
    if (i >= n || s[i] != ',') return 0;
    out[k++] = '.';
    i++;
    size_t frac = i;
    while (i < n && isdigit((unsigned char)s[i])) out[k++] = s[i++];
    if (i != n || i == frac) return 0;
    out[k] = 0;
    return k;
}

/* ------------------------------------------------------ choice letters */

static int is_choice(char c) { return c >= 'A' && c <= 'E'; }

int math_choice_letter(const char *s, size_t n) {
    while (n && s[n - 1] == ' ') n--;
    while (n && *s == ' ') s++, n--;
    if (n == 1 && is_choice(s[0])) return s[0];
    if (n == 3 && s[0] == '(' && s[2] == ')' && is_choice(s[1])) return s[1];
    if (n == 2 && s[1] == ')' && is_choice(s[0])) return s[0];
    return 0;
}

int math_first_choice(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (!is_choice(s[i])) continue;
        int alone_before = i == 0 || !isalnum((unsigned char)s[i - 1]);
        int alone_after = i + 1 == n || !isalnum((unsigned char)s[i + 1]);
        if (alone_before && alone_after && !(i > 0 && s[i - 1] == '\\')) return s[i];
    }
    return 0;
}
