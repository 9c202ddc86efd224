/*
 * reward/math_equal.c — are two answers the same?
 *
 * Both answers are normalised (math_normalize.c, keeping "x =" so that two
 * relations can be compared as relations first: math_relation.c), then
 * labels and chains are stripped ("(p,q) = (3,2)" -> "(3,2)",
 * "x = 6/2 = 3" -> "3"), and each is read as a shape:
 *   single   3, \frac{1}{2}, x+1
 *   tuple    (1, 2) or an interval [0, 1) — compared in order, brackets must match
 *   matrix   \mat((1,2),(3,4)) from pmatrix/bmatrix/array — rows in order
 *   set      \{1, 2\} — unordered
 *   list     1, 2 (several answers) — unordered, and the same as a set
 *   union    (-\infty, 0) \cup (1, \infty) — unordered pieces; a union of
 *            sets only is the set of all their elements
 * Elements are compared recursively; a single compares as text first (case
 * and spaces ignored), then as numbers (math_value.c): exact rationals
 * exactly, other values within rel_tol.  A % on one side may also be read as
 * a plain number (50% == 0.5 == 50 when one side wrote the sign).  A decimal
 * comma number ("3,5") is read as 3.5 against a single value that is not an
 * integer; a choice letter ("(C)") against prose takes the prose's first
 * stand-alone letter A-E.
 *
 * Bounded: shapes nest ≤ 8 levels, ≤ 64 elements each, and one comparison
 * spends at most a fixed budget of element comparisons.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "reward/math_internal.h"
#include "reward/reward.h"

#define MAX_ELEMENTS 64
#define MAX_SHAPE_DEPTH 8
#define COMPARE_BUDGET 20000

enum shape_kind { SHAPE_SINGLE, SHAPE_TUPLE, SHAPE_SET, SHAPE_LIST, SHAPE_UNION, SHAPE_MATRIX };
static const char *const shape_names[] = {"single", "tuple", "set", "list", "union", "matrix"};

typedef struct piece {
    const char *s;
    size_t n;
} piece;

typedef struct shape {
    enum shape_kind kind;
    char open, close; /* tuple brackets */
    int n;
    piece el[MAX_ELEMENTS];
} shape;

typedef struct cmp_ctx {
    double rel_tol;
    int flags;
    long budget;
    char *why;
    size_t why_cap;
} cmp_ctx;

static piece trim_piece(const char *s, size_t n) {
    while (n && *s == ' ') s++, n--;
    while (n && s[n - 1] == ' ') n--;
    piece p = {s, n};
    return p;
}

static int is_open(const char *s, size_t i) { return s[i] == '(' || s[i] == '[' || s[i] == '{'; }
static int is_close(const char *s, size_t i) { return s[i] == ')' || s[i] == ']' || s[i] == '}'; }

/* Index of the bracket that closes the one at 0, counting every bracket kind
 * alike (intervals mix them: [0, 1)); n when unbalanced. */
static size_t match_close(const char *s, size_t n) {
    int depth = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n && (s[i + 1] == '{' || s[i + 1] == '}')) {
            depth += s[i + 1] == '{' ? 1 : -1;
            i++;
        } else if (is_open(s, i)) depth++;
        else if (is_close(s, i)) depth--;
        if (depth == 0) return s[i] == '}' && i > 0 && s[i - 1] == '\\' ? i - 1 : i;
        if (depth < 0) return n;
    }
    return n;
}

/* Split s at top-level separators (',' or "\cup"); returns the piece count,
 * or -1 when there are more than MAX_ELEMENTS. */
static int split_top(const char *s, size_t n, int on_cup, piece *out) {
    int depth = 0, count = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        int sep_len = 0;
        if (i == n) sep_len = 1;
        else if (s[i] == '\\' && i + 1 < n && (s[i + 1] == '{' || s[i + 1] == '}')) {
            depth += s[i + 1] == '{' ? 1 : -1;
            i++;
            continue;
        } else if (is_open(s, i)) depth++;
        else if (is_close(s, i)) depth--;
        else if (depth == 0 && !on_cup && s[i] == ',') sep_len = 1;
        else if (depth == 0 && on_cup && n - i >= 4 && !memcmp(s + i, "\\cup", 4)) sep_len = 4;
        if (!sep_len) continue;
        if (count == MAX_ELEMENTS) return -1;
        out[count++] = trim_piece(s + start, i - start);
        start = i + (size_t)sep_len;
        i = start - 1;
    }
    return count;
}

/* "\mat((1,2),(3,4))" (math_normalize.c's spelling of pmatrix and its
 * kin), also inside \left[ \right] or ( ): its rows, in order. */
static int read_matrix(piece t, shape *sh) {
    if (t.n >= 2 && (t.s[0] == '[' || t.s[0] == '(') && match_close(t.s, t.n) == t.n - 1) {
        piece inner = trim_piece(t.s + 1, t.n - 2);
        if (inner.n >= 5 && !memcmp(inner.s, "\\mat(", 5)) t = inner;
    }
    if (t.n < 7 || memcmp(t.s, "\\mat(", 5) || t.s[t.n - 1] != ')' || match_close(t.s + 4, t.n - 4) != t.n - 5)
        return 0;
    sh->kind = SHAPE_MATRIX;
    sh->n = split_top(t.s + 5, t.n - 6, 0, sh->el);
    return sh->n < 0 ? -1 : 1;
}

/* \{1\} \cup \{2\} is the set \{1, 2\}: a union of sets only, flattened. */
static int flatten_union_of_sets(shape *sh) {
    piece all[MAX_ELEMENTS];
    int k = 0;
    for (int i = 0; i < sh->n; i++) {
        piece p = sh->el[i];
        if (p.n < 4 || memcmp(p.s, "\\{", 2) || memcmp(p.s + p.n - 2, "\\}", 2) || match_close(p.s, p.n) != p.n - 2)
            return 0;
        piece inner = trim_piece(p.s + 2, p.n - 4);
        int m = inner.n ? split_top(inner.s, inner.n, 0, all + k) : 0;
        if (m < 0 || k + m > MAX_ELEMENTS) return 0;
        k += m;
    }
    memcpy(sh->el, all, sizeof all[0] * (size_t)k);
    sh->n = k;
    sh->kind = SHAPE_SET;
    return 1;
}

static int read_shape(const char *s, size_t n, shape *sh) {
    piece t = trim_piece(s, n);
    s = t.s;
    n = t.n;
    sh->kind = SHAPE_SINGLE;
    sh->n = 1;
    sh->el[0] = t;
    int m = read_matrix(t, sh);
    if (m) return m < 0 ? -1 : 0;
    if (n >= 4 && !memcmp(s, "\\{", 2) && !memcmp(s + n - 2, "\\}", 2) && match_close(s, n) == n - 2) {
        sh->kind = SHAPE_SET;
        piece inner = trim_piece(s + 2, n - 4);
        sh->n = inner.n ? split_top(inner.s, inner.n, 0, sh->el) : 0;
        return sh->n < 0 ? -1 : 0;
    }
    if ((n == 9 && !memcmp(s, "\\emptyset", 9)) || (n == 11 && !memcmp(s, "\\varnothing", 11))) {
        sh->kind = SHAPE_SET;
        sh->n = 0;
        return 0;
    }
    int k = split_top(s, n, 1, sh->el);
    if (k < 0) return -1;
    if (k > 1) {
        sh->kind = SHAPE_UNION;
        sh->n = k;
        flatten_union_of_sets(sh);
        return 0;
    }
    k = split_top(s, n, 0, sh->el);
    if (k < 0) return -1;
    if (k > 1) {
        sh->kind = SHAPE_LIST;
        sh->n = k;
        return 0;
    }
    if (n >= 2 && (s[0] == '(' || s[0] == '[' || s[0] == '{') && (s[n - 1] == ')' || s[n - 1] == ']' || s[n - 1] == '}') &&
        match_close(s, n) == n - 1) {
        k = split_top(s + 1, n - 2, 0, sh->el);
        if (k < 0) return -1;
        if (k > 1 && s[0] == '{') { /* a set written with plain braces */
            sh->kind = SHAPE_SET;
            sh->n = k;
            return 0;
        }
        if (k > 1) {
            sh->kind = SHAPE_TUPLE;
            sh->open = s[0];
            sh->close = s[n - 1];
            sh->n = k;
            return 0;
        }
        sh->el[0] = t;
        sh->n = 1;
    }
    return 0;
}

static void say(cmp_ctx *c, const char *fmt, const char *a, const char *b) {
    if (c->why && c->why_cap) snprintf(c->why, c->why_cap, fmt, a, b);
}

/* The text used for comparison: ASCII lower case, and spaces dropped unless
 * they separate two letters or digits ("8 0" stays two tokens). */
static size_t canonical(piece p, char *out) {
    size_t n = 0;
    for (size_t i = 0; i < p.n; i++) {
        char ch = p.s[i];
        if (ch == ' ') {
            int keep = n > 0 && isalnum((unsigned char)out[n - 1]) && i + 1 < p.n &&
                       isalnum((unsigned char)p.s[i + 1]);
            if (!keep) continue;
        }
        out[n++] = (char)tolower((unsigned char)ch);
    }
    return n;
}

static int same_text(piece a, piece b) {
    char ca[2 * REWARD_ANSWER_MAX + 64], cb[2 * REWARD_ANSWER_MAX + 64];
    if (a.n > sizeof ca || b.n > sizeof cb) return 0;
    size_t na = canonical(a, ca), nb = canonical(b, cb);
    return na == nb && !memcmp(ca, cb, na);
}

static int compare(cmp_ctx *c, piece a, piece b, int level);

/* Up to 32 bytes of an answer for a detail message, printable ASCII only, so
 * details are always valid UTF-8 and JSON-safe text. */
static void excerpt(piece p, char *out, size_t cap) {
    size_t n = p.n < 32 ? p.n : 32;
    if (n >= cap) n = cap - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p.s[i];
        out[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    out[n] = 0;
}

/* Strip "x =" from an element of a list ("x=1, y=2"). */
static piece strip_element_lhs(piece p) {
    size_t r = reward_math_strip_lhs(p.s, p.n);
    return r ? trim_piece(p.s + r, p.n - r) : p;
}

/* An optionally signed run of digits. */
static int is_integer_literal(piece p) {
    size_t i = p.n && (p.s[0] == '-' || p.s[0] == '+') ? 1 : 0;
    if (i == p.n) return 0;
    for (; i < p.n; i++)
        if (!isdigit((unsigned char)p.s[i])) return 0;
    return 1;
}

/* Two integer literals with the same value: same sign, same digits after
 * leading zeros. */
static int same_digits(piece a, piece b) {
    int neg_a = a.s[0] == '-', neg_b = b.s[0] == '-';
    size_t i = a.s[0] == '-' || a.s[0] == '+', j = b.s[0] == '-' || b.s[0] == '+';
    while (i + 1 < a.n && a.s[i] == '0') i++;
    while (j + 1 < b.n && b.s[j] == '0') j++;
    int zero = a.n - i == 1 && a.s[i] == '0';
    if (neg_a != neg_b && !zero) return 0;
    return a.n - i == b.n - j && !memcmp(a.s + i, b.s + j, a.n - i);
}

/* Expressions with variables: equal when their values agree at every trial
 * (relative 1e-9 at least, since evaluation order differs; absolute 1e-12
 * near zero). */
static int compare_functions(cmp_ctx *c, piece a, piece b) {
    double tol = c->rel_tol > 1e-9 ? c->rel_tol : 1e-9;
    for (int t = 0; t < MATH_TRIALS; t++) {
        math_num x, y;
        if (math_eval_at(a.s, a.n, c->flags, t, &x, NULL, NULL) || math_eval_at(b.s, b.n, c->flags, t, &y, NULL, NULL))
            return 0;
        x.exact = y.exact = 0;
        if (!math_num_equal(&x, &y, tol) && fabs(x.approx - y.approx) > 1e-12) {
            say(c, "differ as functions%s%s", "", "");
            return 0;
        }
    }
    say(c, "equal as functions (%s trials)%s", "3", "");
    return 1;
}

/* A plain decimal literal with digits after the point: -0.3333333. */
static int is_decimal_literal(piece p) {
    size_t i = p.n && (p.s[0] == '-' || p.s[0] == '+') ? 1 : 0, dot = 0;
    for (; i < p.n; i++) {
        if (p.s[i] == '.' && !dot) dot = i;
        else if (!isdigit((unsigned char)p.s[i])) return 0;
    }
    return dot && dot + 1 < p.n;
}

/* A rational with no finite decimal expansion (1/3: a denominator with a
 * prime other than 2 and 5). */
static int repeats_forever(const math_num *v) {
    __int128 d = v->den;
    while (d % 2 == 0) d /= 2;
    while (d % 5 == 0) d /= 5;
    return d != 1;
}

/* 0.3333333 against 1/3: the decimal can only be an approximation, so it is
 * held to rel_tol like an irrational value (0.333 is not 1/3; 0.3333333 is).
 * A terminating rational keeps exact comparison (0.1 != 0.10000001). */
static int decimal_approximates(cmp_ctx *c, piece a, piece b, const math_num *x, const math_num *y) {
    if (!x->exact || !y->exact) return 0;
    if (!(is_decimal_literal(a) && repeats_forever(y)) && !(is_decimal_literal(b) && repeats_forever(x))) return 0;
    math_num ax = *x, ay = *y;
    ax.exact = ay.exact = 0;
    return math_num_equal(&ax, &ay, c->rel_tol);
}

static int compare_numbers(cmp_ctx *c, piece a, piece b) {
    math_num x, y;
    int pa = 0, pb = 0, va = 0, vb = 0;
    int ea = math_eval_at(a.s, a.n, c->flags, 0, &x, &pa, &va), eb = math_eval_at(b.s, b.n, c->flags, 0, &y, &pb, &vb);
    char ta[48] = "?", tb[48] = "?";
    if (ea || eb) {
        char sa[40], sb[40];
        excerpt(a, sa, sizeof sa);
        excerpt(b, sb, sizeof sb);
        say(c, ea && eb ? "text differs: '%s' vs '%s'" : "not both numbers: '%s' vs '%s'", sa, sb);
        return 0;
    }
    if (va || vb) return compare_functions(c, a, b);
    if (!x.exact && !y.exact && is_integer_literal(a) && is_integer_literal(b)) {
        /* integers too long for 128 bits: compare the digits, never "close enough" */
        int eq = same_digits(a, b);
        say(c, eq ? "same integer%s%s" : "integers differ%s%s", "", "");
        return eq;
    }
    int eq = math_num_equal(&x, &y, c->rel_tol) || decimal_approximates(c, a, b, &x, &y);
    /* one side wrote a % sign the other did not: also try it as a plain number */
    if (!eq && (pa != pb)) {
        math_num x2 = x, y2 = y;
        if (pa) math_eval(a.s, a.n, c->flags | MATH_IGNORE_PERCENT, &x2, NULL);
        if (pb) math_eval(b.s, b.n, c->flags | MATH_IGNORE_PERCENT, &y2, NULL);
        eq = math_num_equal(&x2, &y2, c->rel_tol);
    }
    math_num_format(&x, ta, sizeof ta);
    math_num_format(&y, tb, sizeof tb);
    say(c, eq ? "%s == %s" : "%s != %s", ta, tb);
    return eq;
}

/* Unordered: every element of a matches a distinct element of b. */
static int compare_unordered(cmp_ctx *c, const shape *sa, const shape *sb, int level) {
    unsigned char used[MAX_ELEMENTS] = {0};
    for (int i = 0; i < sa->n; i++) {
        int found = 0;
        for (int j = 0; j < sb->n && !found; j++)
            if (!used[j] && compare(c, sa->el[i], sb->el[j], level + 1)) used[j] = found = 1;
        if (!found) {
            char e[40];
            excerpt(sa->el[i], e, sizeof e);
            say(c, "no match for element '%s'%s", e, "");
            return 0;
        }
    }
    say(c, "%s elements all match%s", shape_names[sa->kind], "");
    return 1;
}

/* "a=2, b=3": a list whose every element names its value. */
static int all_labelled(const shape *sh) {
    for (int i = 0; i < sh->n; i++)
        if (!reward_math_strip_lhs(sh->el[i].s, sh->el[i].n)) return 0;
    return sh->n > 1;
}

/* "a=2, b=3" against the tuple (2, 3): the values in order. */
static int labelled_list_vs_tuple(const shape *sa, const shape *sb) {
    const shape *list = sa->kind == SHAPE_LIST ? sa : sb, *tuple = sa->kind == SHAPE_TUPLE ? sa : sb;
    return list != tuple && list->kind == SHAPE_LIST && tuple->kind == SHAPE_TUPLE && tuple->open == '(' &&
           tuple->close == ')' && all_labelled(list);
}

static int compare_shapes(cmp_ctx *c, const shape *sa, const shape *sb, int level) {
    if (labelled_list_vs_tuple(sa, sb)) {
        if (sa->n != sb->n) {
            say(c, "sizes differ%s%s", "", "");
            return 0;
        }
        for (int i = 0; i < sa->n; i++)
            if (!compare(c, sa->el[i], sb->el[i], level + 1)) return 0;
        say(c, "named values match the tuple%s%s", "", "");
        return 1;
    }
    /* a list is unordered: it may stand for a set, or ("x < 1 or x > 2") a union */
    int unordered_a = sa->kind == SHAPE_SET || sa->kind == SHAPE_LIST;
    int unordered_b = sb->kind == SHAPE_SET || sb->kind == SHAPE_LIST;
    int union_a = sa->kind == SHAPE_UNION || sa->kind == SHAPE_LIST;
    int union_b = sb->kind == SHAPE_UNION || sb->kind == SHAPE_LIST;
    if (sa->kind != sb->kind && !(unordered_a && unordered_b) && !(union_a && union_b)) {
        say(c, "%s vs %s", shape_names[sa->kind], shape_names[sb->kind]);
        return 0;
    }
    if (sa->n != sb->n) {
        say(c, "%s sizes differ%s", shape_names[sa->kind], "");
        return 0;
    }
    if (sa->kind == SHAPE_MATRIX) { /* rows in order, each row a tuple */
        for (int i = 0; i < sa->n; i++)
            if (!compare(c, sa->el[i], sb->el[i], level + 1)) return 0;
        say(c, "matrix elements match%s%s", "", "");
        return 1;
    }
    if (sa->kind == SHAPE_TUPLE) {
        if (sa->open != sb->open || sa->close != sb->close) {
            say(c, "brackets differ%s%s", "", "");
            return 0;
        }
        for (int i = 0; i < sa->n; i++)
            if (!compare(c, sa->el[i], sb->el[i], level + 1)) return 0;
        say(c, "tuple elements match%s%s", "", "");
        return 1;
    }
    return compare_unordered(c, sa, sb, level);
}

/* ------------------------------------------- inequalities read as intervals */

/* The comparison at s[i] (<, <=, >, >=, \le, \ge, \lt, \gt): its length, or 0. */
static size_t comparison_at(const char *s, size_t n, size_t i, int *less, int *inclusive) {
    if (s[i] == '<' || s[i] == '>') {
        *less = s[i] == '<';
        *inclusive = i + 1 < n && s[i + 1] == '=';
        return *inclusive ? 2 : 1;
    }
    if (s[i] != '\\' || n - i < 3 || (i + 3 < n && isalpha((unsigned char)s[i + 3]))) return 0;
    if (memcmp(s + i + 2, "e", 1) && memcmp(s + i + 2, "t", 1)) return 0;
    if (s[i + 1] != 'l' && s[i + 1] != 'g') return 0;
    *less = s[i + 1] == 'l';
    *inclusive = s[i + 2] == 'e';
    return 3;
}

static int is_variable_name(piece p) {
    if (p.n == 1) return isalpha((unsigned char)p.s[0]);
    if (p.n < 2 || p.n > 12 || p.s[0] != '\\') return 0;
    for (size_t i = 1; i < p.n; i++)
        if (!isalpha((unsigned char)p.s[i])) return 0;
    return 1;
}

/* "x > 3" -> "(3, \infty)", "-2 \le x < 3" -> "[-2, 3)": an inequality in one
 * variable as the interval it describes; any other piece is returned as is. */
static piece inequality_to_interval(piece p, char *buf, size_t cap) {
    piece seg[3];
    int less[2], incl[2], n_ops = 0, depth = 0;
    size_t start = 0;
    for (size_t i = 0; i < p.n; i++) {
        int l, inc;
        if (is_open(p.s, i)) depth++;
        else if (is_close(p.s, i)) depth--;
        size_t k = depth == 0 ? comparison_at(p.s, p.n, i, &l, &inc) : 0;
        if (!k) continue;
        if (n_ops == 2) return p;
        seg[n_ops] = trim_piece(p.s + start, i - start);
        less[n_ops] = l, incl[n_ops] = inc, n_ops++;
        start = i + k;
        i = start - 1;
    }
    if (!n_ops) return p;
    seg[n_ops] = trim_piece(p.s + start, p.n - start);
    piece lo = {"-\\infty", 7}, hi = {"\\infty", 6};
    int lo_incl = 0, hi_incl = 0;
    if (n_ops == 1) {
        int var_left = is_variable_name(seg[0]);
        if (var_left == is_variable_name(seg[1])) return p;
        piece bound = var_left ? seg[1] : seg[0];
        if (var_left ? less[0] : !less[0]) hi = bound, hi_incl = incl[0];
        else lo = bound, lo_incl = incl[0];
    } else {
        if (!is_variable_name(seg[1]) || less[0] != less[1]) return p;
        if (less[0]) lo = seg[0], lo_incl = incl[0], hi = seg[2], hi_incl = incl[1];
        else hi = seg[0], hi_incl = incl[0], lo = seg[2], lo_incl = incl[1];
    }
    if (!lo.n || !hi.n || lo.n + hi.n + 8 > cap) return p;
    int k = snprintf(buf, cap, "%c%.*s, %.*s%c", lo_incl ? '[' : '(', (int)lo.n, lo.s, (int)hi.n, hi.s,
                     hi_incl ? ']' : ')');
    piece r = {buf, (size_t)k};
    return r;
}

static int compare_pieces(cmp_ctx *c, piece a, piece b, int level);

#define INTERVAL_BUF (2 * REWARD_ANSWER_MAX + 96)

/* \{x \mid x > 1\} (also with '|' or ':') is its condition, x > 1, which
 * then reads as an interval. */
static piece set_builder_condition(piece p) {
    if (p.n < 6 || memcmp(p.s, "\\{", 2) || memcmp(p.s + p.n - 2, "\\}", 2) || match_close(p.s, p.n) != p.n - 2)
        return p;
    piece inner = trim_piece(p.s + 2, p.n - 4);
    for (size_t i = 0; i < inner.n; i++) {
        size_t k = inner.s[i] == '|' || inner.s[i] == ':' ? 1
                   : inner.n - i >= 4 && !memcmp(inner.s + i, "\\mid", 4) ? 4 : 0;
        if (!k) continue;
        piece var = trim_piece(inner.s, i);
        return is_variable_name(var) ? trim_piece(inner.s + i + k, inner.n - i - k) : p;
    }
    return p;
}

/* "(C)" against prose whose first stand-alone letter A-E is C. */
static int compare_choice(cmp_ctx *c, piece a, piece b) {
    int la = math_choice_letter(a.s, a.n), lb = math_choice_letter(b.s, b.n);
    if (!la == !lb) return -1;
    piece prose = la ? b : a;
    if (!reward_math_has_words(prose.s, prose.n)) return -1;
    int first = math_first_choice(prose.s, prose.n), eq = first && first == (la ? la : lb);
    say(c, eq ? "choice %s%s" : "choice differs%s%s", eq ? "matches" : "", "");
    return eq;
}

static int compare(cmp_ctx *c, piece a, piece b, int level) {
    if (--c->budget < 0 || level > MAX_SHAPE_DEPTH) {
        say(c, "too complex to compare%s%s", "", "");
        return 0;
    }
    if (a.n > 0 && same_text(a, b)) { /* the common case, before any reading */
        say(c, "same text%s%s", "", "");
        return 1;
    }
    /* two relations first, while both still have their sides */
    if (level <= 1 && math_relation_equal(a.s, a.n, b.s, b.n, c->rel_tol) == 1) {
        say(c, "same relation%s%s", "", "");
        return 1;
    }
    a = strip_element_lhs(a);
    b = strip_element_lhs(b);
    if (level == 0) {
        int ch = compare_choice(c, a, b);
        if (ch >= 0) return ch;
    }
    if (level > 1) return compare_pieces(c, a, b, level);
    a = set_builder_condition(a);
    b = set_builder_condition(b);
    /* the answer and the elements of a list may be inequalities */
    char ia[INTERVAL_BUF], ib[INTERVAL_BUF];
    return compare_pieces(c, inequality_to_interval(a, ia, sizeof ia), inequality_to_interval(b, ib, sizeof ib),
                          level);
}

/* "3,5" against a single value that is not an integer: the decimal comma
 * reading (math_relation.c says why this cannot turn a wrong pair right). */
static int compare_decimal_comma(cmp_ctx *c, piece a, piece b) {
    char buf[2 * REWARD_ANSWER_MAX + 64];
    for (int side = 0; side < 2; side++) {
        piece comma = side ? b : a, other = side ? a : b;
        size_t k = math_decimal_comma(comma.s, comma.n, buf, sizeof buf);
        if (!k) continue;
        math_num v;
        int vars = 0;
        if (math_eval_at(other.s, other.n, c->flags, 0, &v, NULL, &vars) || vars) return -1;
        if (v.exact ? v.den == 1 : v.approx == floor(v.approx)) return -1;
        piece dec = {buf, k};
        return compare_numbers(c, dec, other);
    }
    return -1;
}

static int compare_pieces(cmp_ctx *c, piece a, piece b, int level) {
    if (same_text(a, b) && a.n > 0) {
        say(c, "same text%s%s", "", "");
        return 1;
    }
    int dc = compare_decimal_comma(c, a, b);
    if (dc >= 0) return dc;
    shape sa, sb;
    if (read_shape(a.s, a.n, &sa) || read_shape(b.s, b.n, &sb)) {
        say(c, "too many elements%s%s", "", "");
        return 0;
    }
    if (sa.kind == SHAPE_SINGLE && sb.kind == SHAPE_SINGLE) return compare_numbers(c, sa.el[0], sb.el[0]);
    return compare_shapes(c, &sa, &sb, level);
}

/* "1 \pm \sqrt{2}" is two answers: "1 + \sqrt{2}, 1 - \sqrt{2}" (one \pm or
 * \mp, not inside a list).  Returns the expanded piece in buf, or s itself. */
static piece expand_plus_minus(const char *s, size_t n, char *buf, size_t cap) {
    piece same = {s, n};
    if (!memchr(s, '\\', n)) return same;
    const char *pm = memmem(s, n, "\\pm", 3), *mp = memmem(s, n, "\\mp", 3);
    const char *at = pm ? pm : mp;
    if (!at || (pm && mp) || memchr(s, ',', n) || 2 * n + 4 > cap) return same;
    if (at + 3 < s + n && isalpha((unsigned char)at[3])) return same; /* \pmod */
    size_t before = (size_t)(at - s), after = n - before - 3;
    if (memmem(at + 3, after, "\\pm", 3) || memmem(at + 3, after, "\\mp", 3)) return same;
    size_t k = 0;
    for (int sign = 0; sign < 2; sign++) {
        if (sign) buf[k++] = ',', buf[k++] = ' ';
        memcpy(buf + k, s, before), k += before;
        buf[k++] = sign ? '-' : '+';
        memcpy(buf + k, at + 3, after), k += after;
    }
    piece r = {buf, k};
    return r;
}

int reward_math_equal_ex(const char *a, const char *b, double rel_tol, int flags, char *why,
                         size_t why_cap) {
    char na[2 * REWARD_ANSWER_MAX + 64], nb[2 * REWARD_ANSWER_MAX + 64];
    cmp_ctx c = {rel_tol, flags, COMPARE_BUDGET, why, why_cap};
    if (why && why_cap) why[0] = 0;
    if (!a || !b) {
        say(&c, "missing answer%s%s", "", "");
        return 0;
    }
    int la = math_normalize(a, strlen(a), na, sizeof na, 1);
    int lb = math_normalize(b, strlen(b), nb, sizeof nb, 1);
    if (la < 0 || lb < 0) {
        say(&c, "answer too long or nested too deep%s%s", "", "");
        return 0;
    }
    if (la == 0 || lb == 0) {
        say(&c, "empty answer%s%s", "", "");
        return 0;
    }
    char ea[sizeof na * 2 + 4], eb[sizeof nb * 2 + 4];
    piece pa = expand_plus_minus(na, (size_t)la, ea, sizeof ea);
    piece pb = expand_plus_minus(nb, (size_t)lb, eb, sizeof eb);
    return compare(&c, pa, pb, 0);
}

int reward_math_equal(const char *a, const char *b, double rel_tol, char *why, size_t why_cap) {
    return reward_math_equal_ex(a, b, rel_tol, 0, why, why_cap);
}

int reward_math_canonical(const char *answer, char *out, size_t cap) {
    char norm[2 * REWARD_ANSWER_MAX + 64];
    if (!cap) return -1;
    out[0] = 0;
    int n = answer ? reward_math_normalize(answer, strlen(answer), norm, sizeof norm) : -1;
    if (n < 0) return -1;
    math_num v;
    int vars = 0;
    if (n > 0 && math_eval_at(norm, (size_t)n, 0, 0, &v, NULL, &vars) == 0 && !vars) {
        math_num_format(&v, out, cap);
        if (!v.exact) snprintf(out, cap, "%.9g", v.approx);
        return (int)strlen(out);
    }
    piece p = {norm, (size_t)n};
    char canon[sizeof norm];
    size_t k = canonical(p, canon);
    if (k >= cap) k = cap - 1;
    memcpy(out, canon, k);
    out[k] = 0;
    return (int)k;
}

static int is_short_word(const char *s, size_t n) {
    if (n == 0 || n > 32) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '\\') return 0;
    return 1;
}

static int element_is_value(piece p, int level) {
    math_num v;
    if (p.n == 0) return 0;
    size_t r = reward_math_strip_lhs(p.s, p.n);
    if (r) p = trim_piece(p.s + r, p.n - r);
    if (math_eval(p.s, p.n, 0, &v, NULL) == 0) return 1;
    if (level >= 2) return 0;
    shape sh;
    if (read_shape(p.s, p.n, &sh) || sh.kind == SHAPE_SINGLE) return 0;
    for (int i = 0; i < sh.n; i++)
        if (!element_is_value(sh.el[i], level + 1)) return 0;
    return 1;
}

int reward_math_is_value(const char *norm, size_t n) {
    piece p = trim_piece(norm, n);
    return is_short_word(p.s, p.n) || element_is_value(p, 0);
}
