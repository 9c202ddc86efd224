/*
 * reward/math_value.c — exact rationals and a small expression evaluator.
 *
 * Answers are compared as numbers whenever they are numbers: 1/2, 0.5,
 * \frac{1}{2}, 50% and 5\times10^{-1} are the same rational, found without
 * any float rounding.  Values that are not rational (\sqrt{2}, \pi, e,
 * 2^{1/2}) or that overflow 128 bits fall back to doubles compared with a
 * relative tolerance.
 *
 * Grammar (recursive descent over normalised text, spaces skipped):
 *   expr    := term (('+' | '-') term)*
 *   term    := unary (('*' | '/' | implicit) unary)*
 *   unary   := ('+' | '-') unary | power
 *   power   := postfix ('^' unary)?                  (right associative)
 *   postfix := primary '!'* '%'?                      (5! = 120)
 *   primary := number | mixed | '(' expr ')' | '{' expr '}' | '[' expr ']'
 *            | \frac A B | \sqrt[n]? A | \pi | e | \infty
 *            | '|' expr '|' | \binom A B | variable
 *            | (\sin | \cos | \tan | \ln | \exp) ('^' unary)? power | \log_A power
 * where A, B are a braced group or one character (\frac12).  A mixed number
 * is an integer followed by \frac{p}{q} or " p/q" (1\frac{1}{2} = 3/2).
 * A variable is a lone letter (x, but not a word like "xy" or "Monday") or a
 * Greek letter; it takes a value fixed by its name and the trial, so two
 * expressions compared at MATH_TRIALS trials are equal as functions with
 * overwhelming probability when their values all agree (2x+1 == 1+2x,
 * (x+1)^2 == x^2+2x+1).
 *
 * Bounds: recursion depth ≤ REWARD_MAX_DEPTH, integer powers ≤ 4096 by
 * squaring, number literals ≤ 400 characters.  No allocation.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reward/math_internal.h"
#include "reward/reward.h"

typedef __int128 i128;
typedef unsigned __int128 u128;
#define I128_MIN (-(i128)(((u128)1 << 127) - 1) - 1)

/* ------------------------------------------------------------ rationals */

static u128 u128_abs(i128 x) { return x < 0 ? (u128)0 - (u128)x : (u128)x; }

static u128 u128_gcd(u128 a, u128 b) {
    while (b) {
        u128 t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static double i128_to_double(i128 x) { return (double)x; }

static math_num num_inexact(double v) {
    math_num r = {0, 0, 1, v};
    return r;
}

/* num/den reduced with den > 0; den == 0 never reaches here. */
static math_num num_make(i128 num, i128 den) {
    if (den < 0) {
        if (num == I128_MIN || den == I128_MIN)
            return num_inexact((double)num / (double)den);
        num = -num;
        den = -den;
    }
    u128 g = u128_gcd(u128_abs(num), (u128)den);
    if (g > 1) {
        num /= (i128)g;
        den /= (i128)g;
    }
    math_num r = {1, num, den, i128_to_double(num) / i128_to_double(den)};
    return r;
}

static math_num num_int(long long v) { return num_make(v, 1); }

static math_num num_add(math_num a, math_num b, int negate_b) {
    if (negate_b) {
        b.approx = -b.approx;
        if (b.exact && b.num != I128_MIN) b.num = -b.num;
        else b.exact = 0;
    }
    if (a.exact && b.exact) {
        u128 g = u128_gcd((u128)a.den, (u128)b.den);
        i128 bd = b.den / (i128)g, ad = a.den / (i128)g, x, y, n, d;
        if (!__builtin_mul_overflow(a.num, bd, &x) && !__builtin_mul_overflow(b.num, ad, &y) &&
            !__builtin_add_overflow(x, y, &n) && !__builtin_mul_overflow(a.den, bd, &d))
            return num_make(n, d);
    }
    return num_inexact(a.approx + b.approx);
}

static math_num num_mul(math_num a, math_num b) {
    if (a.exact && b.exact) {
        /* cross-reduce first so products stay small */
        u128 g1 = u128_gcd(u128_abs(a.num), (u128)b.den), g2 = u128_gcd(u128_abs(b.num), (u128)a.den);
        if (g1 == 0) g1 = 1;
        if (g2 == 0) g2 = 1;
        i128 n, d;
        if (!__builtin_mul_overflow(a.num / (i128)g1, b.num / (i128)g2, &n) &&
            !__builtin_mul_overflow(a.den / (i128)g2, b.den / (i128)g1, &d))
            return num_make(n, d);
    }
    return num_inexact(a.approx * b.approx);
}

/* Returns -1 on division by zero. */
static int num_div(math_num a, math_num b, math_num *out) {
    if (b.exact ? b.num == 0 : b.approx == 0) return -1;
    if (b.exact) {
        math_num inv = num_make(b.den, b.num);
        *out = num_mul(a, inv);
        return 0;
    }
    *out = num_inexact(a.approx / b.approx);
    return 0;
}

/* Exact integer power by squaring; inexact when it overflows. */
static int num_pow_int(math_num base, long long e, math_num *out) {
    int neg = e < 0;
    unsigned long long k = neg ? (unsigned long long)(-e) : (unsigned long long)e;
    math_num acc = num_int(1), sq = base;
    while (k) {
        if (k & 1) acc = num_mul(acc, sq);
        k >>= 1;
        if (k) sq = num_mul(sq, sq);
        if (!acc.exact) break;
    }
    if (!acc.exact) acc = num_inexact(pow(base.approx, (double)e));
    else if (neg) return num_div(num_int(1), acc, out);
    *out = acc;
    return 0;
}

static int num_pow(math_num a, math_num b, math_num *out) {
    if (b.exact && b.den == 1 && b.num >= -4096 && b.num <= 4096) {
        if (a.exact && a.num == 0 && b.num < 0) return -1;
        return num_pow_int(a, (long long)b.num, out);
    }
    if (a.approx < 0) return -1; /* a real root of a negative base: not handled */
    *out = num_inexact(pow(a.approx, b.approx));
    return 0;
}

/* floor(sqrt(x)) for x ≥ 0, exact. */
static u128 u128_isqrt(u128 x) {
    u128 r = (u128)sqrtl((long double)x);
    while (r > 0 && r * r > x) r--;
    while ((r + 1) * (r + 1) <= x && (r + 1) * (r + 1) > r * r) r++;
    return r;
}

/* n-th root; exact when numerator and denominator are perfect powers. */
static int num_root(math_num a, int n, math_num *out) {
    if (n < 1) return -1;
    if (a.approx < 0 && n % 2 == 0) return -1;
    if (a.exact && n == 2 && a.num >= 0 && a.num < ((i128)1 << 120) && a.den < ((i128)1 << 120)) {
        u128 rn = u128_isqrt((u128)a.num), rd = u128_isqrt((u128)a.den);
        if (rn * rn == (u128)a.num && rd * rd == (u128)a.den) {
            *out = num_make((i128)rn, (i128)rd);
            return 0;
        }
    }
    double v = a.approx < 0 ? -pow(-a.approx, 1.0 / n) : pow(a.approx, 1.0 / n);
    if (a.exact && n > 2 && fabs(v) < 1e12) { /* perfect cube etc. of an integer ratio */
        math_num cand = num_make((i128)llround(v), 1), back;
        if (a.den == 1 && num_pow_int(cand, n, &back) == 0 && back.exact && back.num == a.num) {
            *out = cand;
            return 0;
        }
    }
    *out = num_inexact(v);
    return 0;
}

/* C(n, k) for integers 0 <= k <= n <= 100000, exact while it fits. */
static int num_binomial(math_num n, math_num k, math_num *out) {
    if (!n.exact || !k.exact || n.den != 1 || k.den != 1 || k.num < 0 || n.num < k.num || n.num > 100000) return -1;
    long long nn = (long long)n.num, kk = (long long)k.num;
    if (kk > nn - kk) kk = nn - kk;
    math_num acc = num_int(1);
    for (long long i = 1; i <= kk && acc.exact; i++) {
        /* acc * (n - k + i) / i stays an integer at every step */
        math_num step;
        num_div(num_mul(acc, num_int(nn - kk + i)), num_int(i), &step);
        acc = step;
    }
    if (!acc.exact) acc = num_inexact(exp(lgamma(nn + 1.0) - lgamma(kk + 1.0) - lgamma(nn - kk + 1.0)));
    *out = acc;
    return 0;
}

math_num math_num_sub(math_num a, math_num b) { return num_add(a, b, 1); }
int math_num_div(math_num a, math_num b, math_num *out) { return num_div(a, b, out); }

int math_num_equal(const math_num *a, const math_num *b, double rel_tol) {
    if (a->exact && b->exact) return a->num == b->num && a->den == b->den;
    double x = a->approx, y = b->approx;
    if (isnan(x) || isnan(y)) return 0;
    if (x == y) return 1; /* also ±inf from an explicit \infty */
    if (!isfinite(x) || !isfinite(y)) return 0;
    double scale = fmax(fabs(x), fabs(y));
    return fabs(x - y) <= rel_tol * scale;
}

static void u128_to_text(u128 x, char *buf, size_t cap) {
    char tmp[48];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(x % 10));
        x /= 10;
    } while (x && n < 47);
    size_t i = 0;
    while (n > 0 && i + 1 < cap) buf[i++] = tmp[--n];
    buf[i] = 0;
}

void math_num_format(const math_num *v, char *out, size_t cap) {
    if (!cap) return;
    if (!v->exact) {
        snprintf(out, cap, "%.10g", v->approx);
        return;
    }
    char n[48], d[48];
    u128_to_text(u128_abs(v->num), n, sizeof n);
    u128_to_text((u128)v->den, d, sizeof d);
    if (v->den == 1) snprintf(out, cap, "%s%s", v->num < 0 ? "-" : "", n);
    else snprintf(out, cap, "%s%s/%s", v->num < 0 ? "-" : "", n, d);
}

/* ------------------------------------------------------------ the parser */

typedef struct parser {
    const char *start, *p, *end;
    int depth;
    int flags;
    int had_percent;
    int trial;   /* which assignment of values to variables (0..MATH_TRIALS-1) */
    int n_vars;  /* variables met (x, \theta): the value is a function, sampled */
    int letter_products; /* short letter runs are products of variables */
} parser;

static int parse_expr(parser *ps, math_num *out);
static int parse_unary(parser *ps, math_num *out);
static int parse_group(parser *ps, char close, math_num *out);
static int parse_command(parser *ps, math_num *out);
static int parse_function_or_greek(parser *ps, math_num *out);
static int parse_power(parser *ps, math_num *out);
static int starts_variable(parser *ps);

static void skip_spaces(parser *ps) {
    while (ps->p < ps->end && *ps->p == ' ') ps->p++;
}

static int peek(parser *ps) {
    skip_spaces(ps);
    return ps->p < ps->end ? (unsigned char)*ps->p : 0;
}

/* Does the text at p start with the command cmd (e.g. "\\frac") not followed by a letter? */
static int at_command(parser *ps, const char *cmd) {
    size_t n = strlen(cmd);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, cmd, n)) return 0;
    return ps->p + n >= ps->end || !isalpha((unsigned char)ps->p[n]);
}

static int is_digit_at(parser *ps, const char *q) { return q < ps->end && isdigit((unsigned char)*q); }

/* 0.1\overline{6} = 1/6: after the digits (and an optional '.'), a repeating
 * block adds rep / ((10^r - 1) * 10^decimals).  Returns 1 when one was read. */
static int try_repeating(parser *ps, i128 mant, int decimals, math_num *out) {
    const char *q = ps->p;
    if (q < ps->end && *q == '.') q++;
    static const char cmd[] = "\\overline{";
    if ((size_t)(ps->end - q) < sizeof cmd - 1 || memcmp(q, cmd, sizeof cmd - 1)) return 0;
    q += sizeof cmd - 1;
    i128 rep = 0;
    int r = 0;
    while (q < ps->end && isdigit((unsigned char)*q) && r < 30) rep = rep * 10 + (*q++ - '0'), r++;
    if (r == 0 || q >= ps->end || *q != '}' || decimals > 30) return 0;
    math_num p10d, p10r, head, tail;
    num_pow_int(num_int(10), decimals, &p10d);
    num_pow_int(num_int(10), r, &p10r);
    if (num_div(num_make(mant, 1), p10d, &head) || num_div(num_make(rep, 1), num_mul(num_add(p10r, num_int(1), 1), p10d), &tail))
        return 0;
    *out = num_add(head, tail, 0);
    ps->p = q + 1;
    return 1;
}

/* A number literal: digits, optional fraction, optional e-exponent. */
static int parse_number(parser *ps, math_num *out, int *is_integer) {
    const char *start = ps->p, *q = ps->p;
    i128 mant = 0;
    int overflow = 0, decimals = 0, seen_dot = 0, digits = 0;
    for (; q < ps->end; q++) {
        if (isdigit((unsigned char)*q)) {
            digits++;
            if (!overflow && (__builtin_mul_overflow(mant, 10, &mant) ||
                              __builtin_add_overflow(mant, *q - '0', &mant)))
                overflow = 1;
            if (seen_dot) decimals++;
        } else if (*q == '.' && !seen_dot && is_digit_at(ps, q + 1)) {
            seen_dot = 1;
        } else break;
    }
    if (!digits) return -1;
    long exp10 = 0;
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        const char *r = q + 1;
        int sign = 1;
        if (r < ps->end && (*r == '+' || *r == '-')) sign = *r++ == '-' ? -1 : 1;
        if (is_digit_at(ps, r)) {
            while (is_digit_at(ps, r)) {
                if (exp10 < 100000) exp10 = exp10 * 10 + (*r - '0');
                r++;
            }
            exp10 *= sign;
            q = r;
        }
    }
    if (q - start > 400) return -1;
    *is_integer = !seen_dot && exp10 == 0;
    ps->p = q;
    if (exp10 == 0 && !overflow && try_repeating(ps, mant, decimals, out)) {
        *is_integer = 0;
        return 0;
    }
    long scale = exp10 - decimals;
    if (!overflow && scale >= -38 && scale <= 38) {
        math_num m = num_make(mant, 1), p10;
        if (num_pow_int(num_int(10), scale, &p10) == 0) {
            *out = num_mul(m, p10);
            if (out->exact) return 0;
        }
    }
    char buf[401];
    memcpy(buf, start, (size_t)(q - start));
    buf[q - start] = 0;
    double v = strtod(buf, NULL);
    if (!isfinite(v)) return -1;
    *out = num_inexact(v);
    return 0;
}

/* A braced group {expr}, or a single digit/character argument (\frac12). */
static int parse_arg(parser *ps, math_num *out) {
    int c = peek(ps);
    if (c == '{') return parse_group(ps, '}', out);
    if (c == '(') return parse_group(ps, ')', out); /* sqrt(2) written in plain text */
    if (isdigit(c)) {
        *out = num_int(c - '0');
        ps->p++;
        return 0;
    }
    if (c == '\\') return parse_command(ps, out); /* \frac\pi2 */
    return -1;
}

/* After an integer literal: " p/q" or "\frac{p}{q}" makes a mixed number. */
static int try_mixed(parser *ps, math_num whole, math_num *out) {
    const char *save = ps->p;
    math_num p, q, frac;
    if (ps->p + 1 < ps->end && *ps->p == ' ' && isdigit((unsigned char)ps->p[1])) {
        ps->p++;
        int isint;
        if (parse_number(ps, &p, &isint) == 0 && isint && ps->p < ps->end && *ps->p == '/') {
            ps->p++;
            if (is_digit_at(ps, ps->p) && parse_number(ps, &q, &isint) == 0 && isint &&
                (ps->p >= ps->end || !isdigit((unsigned char)*ps->p)) && num_div(p, q, &frac) == 0)
                goto combine;
        }
    } else {
        skip_spaces(ps);
        if (at_command(ps, "\\frac")) {
            ps->p += 5;
            if (parse_arg(ps, &p) == 0 && parse_arg(ps, &q) == 0 && p.exact && q.exact &&
                p.den == 1 && q.den == 1 && num_div(p, q, &frac) == 0)
                goto combine;
        }
    }
    ps->p = save;
    return -1;
combine:
    *out = num_add(whole, frac, 0); /* the literal is unsigned; a sign applies to the sum */
    return 0;
}

static int parse_group(parser *ps, char close, math_num *out) {
    ps->p++; /* the opening bracket */
    if (parse_expr(ps, out)) return -1;
    if (peek(ps) != close) return -1;
    ps->p++;
    return 0;
}

static int parse_command_at_depth(parser *ps, math_num *out);

/* Commands nest (\sqrt\sqrt{..}, \sin\sin x): count them against the depth bound. */
static int parse_command(parser *ps, math_num *out) {
    if (++ps->depth > REWARD_MAX_DEPTH) return -1;
    int rc = parse_command_at_depth(ps, out);
    ps->depth--;
    return rc;
}

static int parse_command_at_depth(parser *ps, math_num *out) {
    if (at_command(ps, "\\frac")) {
        math_num a, b;
        ps->p += 5;
        if (parse_arg(ps, &a) || parse_arg(ps, &b)) return -1;
        return num_div(a, b, out);
    }
    if (at_command(ps, "\\sqrt")) {
        int n = 2;
        ps->p += 5;
        if (peek(ps) == '[') {
            math_num idx;
            if (parse_group(ps, ']', &idx) || !idx.exact || idx.den != 1 || idx.num < 1 || idx.num > 64)
                return -1;
            n = (int)idx.num;
        }
        math_num a;
        if (parse_arg(ps, &a)) return -1;
        return num_root(a, n, out);
    }
    if (at_command(ps, "\\binom") || at_command(ps, "\\dbinom") || at_command(ps, "\\tbinom")) {
        math_num n, k;
        ps->p += ps->p[1] == 'b' ? 6 : 7;
        if (parse_arg(ps, &n) || parse_arg(ps, &k)) return -1;
        return num_binomial(n, k, out);
    }
    if (at_command(ps, "\\pi")) {
        ps->p += 3;
        *out = num_inexact(M_PI);
        return 0;
    }
    if (at_command(ps, "\\infty")) {
        ps->p += 6;
        *out = num_inexact(INFINITY);
        return 0;
    }
    return parse_function_or_greek(ps, out);
}

/* ------------------------------------------------- variables, functions */

/* A variable's value in trial t: an exact rational in [1, 3.5) with
 * denominator 997 (a prime, so sums and products of different variables
 * rarely cancel by accident), fixed by the variable's name and the trial.
 * Both answers see the same x, so a polynomial identity gives the same
 * exact rational at every trial while different polynomials almost surely
 * differ (Schwartz-Zippel); functions of x (\sin x, \sqrt{x}) go inexact and
 * are compared with a tolerance.  The domain is positive on purpose:
 * \sqrt{x^2} == x and \ln x are defined there. */
static math_num variable_value(const char *name, size_t n, int trial) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
    h ^= (uint64_t)(trial + 1) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 33; /* murmur3's finaliser: one letter apart must land far apart */
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return num_make((i128)(997 + h % 2492), 997);
}

static int variable(parser *ps, const char *name, size_t n, math_num *out) {
    ps->p = name + n;
    ps->n_vars++;
    *out = variable_value(name, n, ps->trial);
    return 0;
}

static const char *const greek[] = {"alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta",
                                    "theta", "vartheta", "iota", "kappa", "lambda", "mu", "nu", "xi", "rho",
                                    "sigma", "tau", "upsilon", "phi", "varphi", "chi", "psi", "omega"};

typedef double (*real_fn)(double);
static double sec(double x) { return 1.0 / cos(x); }
static double csc(double x) { return 1.0 / sin(x); }
static double cot(double x) { return cos(x) / sin(x); }
static const struct { const char *name; real_fn fn; } functions[] = {
    {"\\sin", sin},       {"\\cos", cos},       {"\\tan", tan},       {"\\sec", sec},   {"\\csc", csc},
    {"\\cot", cot},       {"\\ln", log},        {"\\exp", exp},       {"\\arcsin", asin}, {"\\arccos", acos},
    {"\\arctan", atan},   {"\\sinh", sinh},     {"\\cosh", cosh},     {"\\tanh", tanh},
};

/* \sin x, \cos(2x), \ln{3}, \sin^2 x = (\sin x)^2, \log_2 8: the argument is
 * one power (\sin x^2 = \sin(x^2)). */
static int parse_function(parser *ps, real_fn fn, int log_base, math_num *out) {
    math_num base = num_int(10), power = num_int(1), arg;
    if (log_base) { /* \log needs its base written: \log_2 8, \log_{10} x */
        if (peek(ps) != '_') return -1;
        ps->p++;
        if (parse_arg(ps, &base) || base.approx <= 0 || base.approx == 1) return -1;
    }
    if (peek(ps) == '^') {
        ps->p++;
        if (parse_unary(ps, &power)) return -1;
    }
    if (parse_power(ps, &arg)) return -1;
    /* \sin 2x = \sin(2x), \sin x\cos x = \sin(x)\cos(x): letters right after
     * the argument belong to it, a function or a bracket does not */
    while (starts_variable(ps)) {
        math_num f;
        if (parse_power(ps, &f)) return -1;
        arg = num_mul(arg, f);
    }
    double v = log_base ? log(arg.approx) / log(base.approx) : fn(arg.approx);
    if (!isfinite(v)) return -1;
    return num_pow(num_inexact(v), power, out);
}

static size_t greek_len_at(parser *ps) {
    const char *name = ps->p + 1, *q = name;
    if (ps->p >= ps->end || *ps->p != '\\') return 0;
    while (q < ps->end && isalpha((unsigned char)*q)) q++;
    for (size_t i = 0; i < sizeof greek / sizeof greek[0]; i++)
        if (strlen(greek[i]) == (size_t)(q - name) && !memcmp(greek[i], name, (size_t)(q - name)))
            return (size_t)(q - ps->p);
    return 0;
}

static int is_greek_at(parser *ps) { return greek_len_at(ps) > 0; }

static int parse_function_or_greek(parser *ps, math_num *out) {
    for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++)
        if (at_command(ps, functions[i].name)) {
            ps->p += strlen(functions[i].name);
            return parse_function(ps, functions[i].fn, 0, out);
        }
    if (at_command(ps, "\\log")) {
        ps->p += 4;
        return parse_function(ps, NULL, 1, out);
    }
    size_t g = greek_len_at(ps);
    if (g) return variable(ps, ps->p, g, out);
    return -1; /* a command we do not evaluate */
}

/* A lone letter ("x", "2x"; not a word) is a variable.  In math (text
 * with a digit, an operator or a command) a run of up to three letters is a
 * product of variables (2ab, xy(x+y), \frac{ad+bc}{bd}); a bare "ab" or
 * "Monday" stays text. */
#define MAX_LETTER_RUN 3
static int is_lone_letter(parser *ps) {
    const char *q = ps->p;
    if (q >= ps->end || !isalpha((unsigned char)*q)) return 0;
    const char *a = q, *b = q;
    while (a > ps->start && isalpha((unsigned char)a[-1])) a--;
    while (b < ps->end && isalpha((unsigned char)*b)) b++;
    if (a > ps->start && a[-1] == '\\') return 0; /* a command's name */
    if (b - a == 1) return 1;
    if (!ps->letter_products || b - a > MAX_LETTER_RUN) return 0;
    for (const char *r = a; r < b; r++) /* upper case runs are names: (IV), AB */
        if (!islower((unsigned char)*r)) return 0;
    /* a word beside another word across a space is prose ("it is -12") */
    const char *l = a, *r = b;
    while (l > ps->start && l[-1] == ' ') l--;
    while (r < ps->end && *r == ' ') r++;
    if ((l < a && l > ps->start && isalpha((unsigned char)l[-1])) || (r > b && r < ps->end && isalpha((unsigned char)*r)))
        return 0;
    return 1;
}

static int is_greek_at(parser *ps);

/* A variable starts here: a lone letter (not e) or a Greek letter. */
static int starts_variable(parser *ps) {
    int c = peek(ps);
    if (c == '\\') return is_greek_at(ps);
    return c != 'e' && is_lone_letter(ps);
}

static int parse_primary(parser *ps, math_num *out) {
    int c = peek(ps);
    if (isdigit(c) || (c == '.' && is_digit_at(ps, ps->p + 1))) {
        int isint;
        if (parse_number(ps, out, &isint)) return -1;
        if (isint) try_mixed(ps, *out, out);
        return 0;
    }
    if (c == '(') return parse_group(ps, ')', out);
    if (c == '{') return parse_group(ps, '}', out);
    if (c == '[') return parse_group(ps, ']', out);
    if (c == '|') { /* |x| */
        if (parse_group(ps, '|', out)) return -1;
        if (out->exact && out->num < 0) *out = num_add(num_int(0), *out, 1);
        else if (!out->exact) out->approx = fabs(out->approx);
        return 0;
    }
    if (c == '\\') return parse_command(ps, out);
    if (c != 'e' && is_lone_letter(ps)) return variable(ps, ps->p, 1, out);
    if (c == 'e' && (ps->p + 1 >= ps->end || !isalpha((unsigned char)ps->p[1]))) {
        ps->p++;
        *out = num_inexact(M_E);
        return 0;
    }
    return -1;
}

/* n! for integers 0..170 (exact while it fits in 128 bits). */
static int num_factorial(math_num n, math_num *out) {
    if (!n.exact || n.den != 1 || n.num < 0 || n.num > 170) return -1;
    math_num acc = num_int(1);
    for (long long i = 2; i <= (long long)n.num && acc.exact; i++) acc = num_mul(acc, num_int(i));
    if (!acc.exact) acc = num_inexact(exp(lgamma((double)n.num + 1.0)));
    *out = acc;
    return 0;
}

static int parse_postfix(parser *ps, math_num *out) {
    if (parse_primary(ps, out)) return -1;
    while (ps->p < ps->end && *ps->p == '!') { /* 5!, (2+1)! */
        ps->p++;
        if (num_factorial(*out, out)) return -1;
    }
    if (peek(ps) == '%') {
        ps->p++;
        ps->had_percent = 1;
        if (ps->flags & MATH_IGNORE_PERCENT) return 0;
        return num_div(*out, num_int(100), out);
    }
    return 0;
}

static int parse_power(parser *ps, math_num *out) {
    if (parse_postfix(ps, out)) return -1;
    if (peek(ps) == '^') {
        ps->p++;
        math_num e;
        if (parse_unary(ps, &e)) return -1;
        return num_pow(*out, e, out);
    }
    return 0;
}

static int parse_unary(parser *ps, math_num *out) {
    if (++ps->depth > REWARD_MAX_DEPTH) return -1;
    int c = peek(ps), rc;
    if (c == '+' || c == '-') {
        ps->p++;
        rc = parse_unary(ps, out);
        if (!rc && c == '-') *out = num_add(num_int(0), *out, 1);
    } else {
        rc = parse_power(ps, out);
    }
    ps->depth--;
    return rc;
}

/* Can an implicit product start here (2\sqrt{3}, 2\pi, 3(4), (1)(2))? */
static int starts_implicit_factor(parser *ps) {
    int c = peek(ps);
    return c == '(' || c == '{' || c == '\\' || is_lone_letter(ps);
}

/* In literal mode only "× 10^k" may follow a '*' (scientific notation). */
static int literal_times_ok(parser *ps) {
    skip_spaces(ps);
    return ps->end - ps->p >= 3 && !memcmp(ps->p, "10^", 3);
}

static int parse_term(parser *ps, math_num *out) {
    if (parse_unary(ps, out)) return -1;
    for (;;) {
        int c = peek(ps);
        math_num rhs;
        if (c == '*' || c == '/') {
            ps->p++;
            if (c == '*' && (ps->flags & MATH_LITERAL_ONLY) && !literal_times_ok(ps)) return -1;
            if (parse_unary(ps, &rhs)) return -1;
            if (c == '*') *out = num_mul(*out, rhs);
            else if (num_div(*out, rhs, out)) return -1;
        } else if (starts_implicit_factor(ps)) {
            if (parse_power(ps, &rhs)) return -1;
            *out = num_mul(*out, rhs);
        } else {
            return 0;
        }
    }
}

static int parse_expr(parser *ps, math_num *out) {
    if (++ps->depth > REWARD_MAX_DEPTH) return -1;
    int rc = parse_term(ps, out);
    while (!rc) {
        int c = peek(ps);
        if (c != '+' && c != '-') break;
        if (ps->flags & MATH_LITERAL_ONLY) {
            rc = -1;
            break;
        }
        ps->p++;
        math_num rhs;
        rc = parse_term(ps, &rhs);
        if (!rc) *out = num_add(*out, rhs, c == '-');
    }
    ps->depth--;
    return rc;
}

/* Text with a digit, an operator or a command is math, where "ab" is a*b. */
static int is_math_text(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (isdigit((unsigned char)s[i]) || (s[i] && strchr("+-*/^()\\{}", s[i]))) return 1;
    return 0;
}

int math_eval(const char *s, size_t len, int flags, math_num *out, int *had_percent) {
    return math_eval_at(s, len, flags, 0, out, had_percent, NULL);
}

int math_eval_at(const char *s, size_t len, int flags, int trial, math_num *out, int *had_percent, int *n_vars) {
    parser ps = {s, s, s + len, 0, flags, 0, trial, 0, is_math_text(s, len)};
    math_num v;
    if (parse_expr(&ps, &v) || peek(&ps) != 0) return -1;
    if (isnan(v.approx)) return -1;
    if (!v.exact && !isfinite(v.approx)) {
        /* only an explicit \infty may be infinite */
        if (!memmem(s, len, "\\infty", 6)) return -1;
    }
    if (had_percent) *had_percent = ps.had_percent;
    if (n_vars) *n_vars = ps.n_vars;
    *out = v;
    return 0;
}
