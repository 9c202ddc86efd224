/*
 * reward/math_normalize.c — one canonical spelling for an answer.
 *
 * Models (and gold answers) write the same value many ways: \dfrac{1}{2},
 * \left( 1, 2 \right), 7{,}425{,}000, 90^\circ, \$5, 5 \text{ cm},
 * x = 3.  Normalisation rewrites an extracted answer so the evaluator and the
 * text comparison see one spelling:
 *
 *   pass 1 (lexical, one scan): LaTeX commands renamed or dropped, wrapper
 *     commands (\text{} \mathrm{} \boxed{} ...) unwrapped with their matching
 *     brace, degrees, $ and spacing removed, a few Unicode symbols mapped
 *     (− × ÷ π ∞ √ ≤ ≥ °), plain words sqrt/pi/infinity made commands,
 *     "and"/"or" between answers made commas, whitespace collapsed;
 *   pass 2 (the whole answer): trailing punctuation and unit words, thousands
 *     separators at the top level, and a leading "x =" stripped.
 *
 * Bounded: output ≤ cap, brace nesting ≤ REWARD_MAX_DEPTH, linear time.
 * Bytes that are not ASCII and not in the table pass through unchanged, so
 * invalid UTF-8 is harmless.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "reward/math_internal.h"
#include "reward/reward.h"

typedef struct out_buf {
    char *s;
    size_t n, cap;
    int overflow;
} out_buf;

static void put(out_buf *o, const char *s, size_t n) {
    if (o->n + n + 1 > o->cap) {
        o->overflow = 1;
        return;
    }
    memcpy(o->s + o->n, s, n);
    o->n += n;
    o->s[o->n] = 0;
}

static void puts_(out_buf *o, const char *s) { put(o, s, strlen(s)); }

static void put_space(out_buf *o) {
    if (o->n > 0 && o->s[o->n - 1] != ' ') put(o, " ", 1);
}

/* --------------------------------------------------------- LaTeX commands */

enum cmd_action { CMD_KEEP, CMD_DROP, CMD_UNWRAP, CMD_RENAME };

typedef struct cmd_rule {
    const char *name;  /* without the backslash */
    enum cmd_action action;
    const char *to;    /* CMD_RENAME: replacement text */
} cmd_rule;

static const cmd_rule cmd_rules[] = {
    {"left", CMD_DROP, 0},      {"right", CMD_DROP, 0},       {"big", CMD_DROP, 0},
    {"Big", CMD_DROP, 0},       {"bigl", CMD_DROP, 0},        {"bigr", CMD_DROP, 0},
    {"Bigl", CMD_DROP, 0},      {"Bigr", CMD_DROP, 0},        {"displaystyle", CMD_DROP, 0},
    {"textstyle", CMD_DROP, 0}, {"limits", CMD_DROP, 0},      {"middle", CMD_DROP, 0},
    {"quad", CMD_RENAME, ","},  {"qquad", CMD_RENAME, ","},       {"circ", CMD_DROP, 0},
    {"degree", CMD_DROP, 0},    {"degrees", CMD_DROP, 0},     {"!", CMD_DROP, 0},
    {",", CMD_DROP, 0},         {";", CMD_DROP, 0},           {":", CMD_DROP, 0},
    {"$", CMD_DROP, 0},         {"(", CMD_DROP, 0},           {")", CMD_DROP, 0},
    {"[", CMD_DROP, 0},         {"]", CMD_DROP, 0},         {"text", CMD_UNWRAP, 0},      {"textbf", CMD_UNWRAP, 0},
    {"textit", CMD_UNWRAP, 0},  {"textrm", CMD_UNWRAP, 0},    {"textnormal", CMD_UNWRAP, 0},
    {"textup", CMD_UNWRAP, 0},  {"emph", CMD_UNWRAP, 0},      {"mathrm", CMD_UNWRAP, 0},
    {"mathbf", CMD_UNWRAP, 0},  {"mathit", CMD_UNWRAP, 0},    {"mathsf", CMD_UNWRAP, 0},
    {"mathtt", CMD_UNWRAP, 0},  {"mbox", CMD_UNWRAP, 0},      {"hbox", CMD_UNWRAP, 0},
    {"operatorname", CMD_UNWRAP, 0}, {"boxed", CMD_UNWRAP, 0}, {"fbox", CMD_UNWRAP, 0},
    {"dfrac", CMD_RENAME, "\\frac"}, {"tfrac", CMD_RENAME, "\\frac"}, {"cfrac", CMD_RENAME, "\\frac"},
    {"times", CMD_RENAME, "*"}, {"cdot", CMD_RENAME, "*"},    {"ast", CMD_RENAME, "*"},
    {"div", CMD_RENAME, "/"},   {"%", CMD_RENAME, "%"},       {"lbrace", CMD_RENAME, "\\{"},
    {"rbrace", CMD_RENAME, "\\}"}, {"langle", CMD_RENAME, "("}, {"rangle", CMD_RENAME, ")"},
    {"leq", CMD_RENAME, "\\le"}, {"leqslant", CMD_RENAME, "\\le"}, {"geq", CMD_RENAME, "\\ge"},
    {"geqslant", CMD_RENAME, "\\ge"}, {"neq", CMD_RENAME, "\\ne"}, {"ldots", CMD_RENAME, "\\dots"},
    {"cdots", CMD_RENAME, "\\dots"}, {"infin", CMD_RENAME, "\\infty"}, {"\\", CMD_RENAME, " "},
    {" ", CMD_RENAME, " "},     {"lvert", CMD_RENAME, "|"},   {"rvert", CMD_RENAME, "|"},
    {"vert", CMD_RENAME, "|"},
};

static const cmd_rule *find_cmd(const char *name, size_t n) {
    for (size_t i = 0; i < sizeof cmd_rules / sizeof cmd_rules[0]; i++)
        if (cmd_rules[i].name[0] == name[0] && strlen(cmd_rules[i].name) == n && !memcmp(cmd_rules[i].name, name, n))
            return &cmd_rules[i];
    return NULL;
}

/* UTF-8 symbols worth a canonical ASCII spelling. */
static const struct { const char *utf8, *to; } utf8_rules[] = {
    {"\xe2\x88\x92", "-"},      {"\xc3\x97", "*"},        {"\xc3\xb7", "/"},
    {"\xcf\x80", "\\pi"},       {"\xe2\x88\x9e", "\\infty"}, {"\xe2\x88\x9a", "\\sqrt"},
    {"\xe2\x89\xa4", "\\le"},   {"\xe2\x89\xa5", "\\ge"}, {"\xc2\xb0", ""},
    {"\xc2\xa0", " "},          {"\xe2\x80\x89", " "},    {"\xe2\x88\xaa", "\\cup"},
    {"\xe2\x80\xaf", " "},      {"\xe2\x80\x8a", " "},    {"\xe2\x89\xa0", "\\ne"},
    {"\xe3\x80\x82", "."},      {"\xef\xbc\x8c", ","},    {"\xef\xbc\x9a", ":"},
    {"\xe2\x84\x9d", "(-\\infty, \\infty)"}, {"\xef\xbc\x8e", "."},      {"\xef\xbc\x88", "("},    {"\xef\xbc\x89", ")"},
};

/* Plain words with a command spelling, and separators between answers. */
static const struct { const char *word, *to; } word_rules[] = {
    {"sqrt", "\\sqrt"}, {"pi", "\\pi"}, {"infinity", "\\infty"}, {"inf", "\\infty"},
    {"and", ","},       {"or", ","},    {"percent", "%"}, {"pct", "%"},
    {"sin", "\\sin"},   {"cos", "\\cos"}, {"tan", "\\tan"}, {"cot", "\\cot"}, {"csc", "\\csc"},
    {"ln", "\\ln"},
};

/* ------------------------------------------------------------- pass 1 */

typedef struct lex {
    const char *p, *end;
    out_buf *o;
    unsigned char drop_brace[REWARD_MAX_DEPTH]; /* per open '{': drop its '}'? */
    int depth;
    int too_deep;
    int matrix;     /* inside \begin{pmatrix} ... (nesting count) */
    int row_break;  /* a "\\" seen in a matrix: the next cell starts a row */
} lex;

static void open_brace(lex *lx, int drop) {
    if (lx->depth >= REWARD_MAX_DEPTH) {
        lx->too_deep = 1;
        return;
    }
    lx->drop_brace[lx->depth++] = (unsigned char)drop;
    if (!drop) put(lx->o, "{", 1);
}

static void close_brace(lex *lx) {
    if (lx->depth == 0) {
        put(lx->o, "}", 1);
        return;
    }
    if (!lx->drop_brace[--lx->depth]) put(lx->o, "}", 1);
}

/* Matrix environments become one spelling, \mat((a,b),(c,d)): rows in
 * order, cells in order, so math_equal compares them element-wise.  vmatrix
 * (a determinant) is not a matrix and is left alone. */
static const char *const matrix_envs[] = {"pmatrix", "bmatrix", "Bmatrix", "matrix", "smallmatrix", "array"};

/* At "{ENV}" after \begin or \end: the environment's length when it is a
 * matrix, else 0. */
static size_t matrix_env_at(const char *p, const char *end) {
    for (size_t i = 0; i < sizeof matrix_envs / sizeof matrix_envs[0]; i++) {
        size_t n = strlen(matrix_envs[i]);
        if ((size_t)(end - p) >= n + 2 && p[0] == '{' && !memcmp(p + 1, matrix_envs[i], n) && p[n + 1] == '}')
            return n + 2;
    }
    return 0;
}

static int lex_matrix(lex *lx, const char *name, size_t n) {
    if (n == 5 && !memcmp(name, "begin", 5)) {
        size_t env = matrix_env_at(name + 5, lx->end);
        if (!env) return 0;
        lx->p = name + 5 + env;
        if (env == 7 && lx->p < lx->end && *lx->p == '{') { /* array's column spec {cc|c} */
            const char *q = memchr(lx->p, '}', (size_t)(lx->end - lx->p));
            if (q) lx->p = q + 1;
        }
        puts_(lx->o, "\\mat((");
        lx->matrix++;
        lx->row_break = 0;
        return 1;
    }
    if (n == 3 && !memcmp(name, "end", 3) && lx->matrix > 0) {
        size_t env = matrix_env_at(name + 3, lx->end);
        if (!env) return 0;
        lx->p = name + 3 + env;
        puts_(lx->o, "))"); /* a "\\" before \end is no new row */
        lx->matrix--;
        lx->row_break = 0;
        return 1;
    }
    return 0;
}

/* \quad between two values separates answers ("5 \quad 3"); after a comma,
 * an opening bracket or at the start it is only space. */
static int separator_wanted(const out_buf *o) {
    size_t n = o->n;
    while (n && o->s[n - 1] == ' ') n--;
    return n && !strchr(",([{", o->s[n - 1]);
}

static void lex_command(lex *lx) {
    const char *name = lx->p + 1, *q = name;
    if (name < lx->end && *name == '\\') {
        if (lx->matrix > 0) { /* a row break */
            lx->p = name + 1;
            lx->row_break = 1;
            return;
        }
        if (name + 1 < lx->end && isalpha((unsigned char)name[1])) { /* double-escaped: \\frac */
            lx->p = name;
            name++;
            q = name;
        }
    }
    while (q < lx->end && isalpha((unsigned char)*q)) q++;
    if (q == name && q < lx->end) q++; /* a one-symbol command: \, \{ \% */
    size_t n = (size_t)(q - name);
    if (n == 0) { /* a backslash at the very end */
        put(lx->o, "\\", 1);
        lx->p = q;
        return;
    }
    if (lex_matrix(lx, name, n)) return;
    if (n == 6 && !memcmp(name, "mathbb", 6) && lx->end - q >= 3 && !memcmp(q, "{R}", 3)) { /* the reals */
        lx->p = q + 3;
        puts_(lx->o, "(-\\infty, \\infty)");
        return;
    }
    const cmd_rule *rule = find_cmd(name, n);
    lx->p = q;
    if (!rule) { /* unknown: keep verbatim (\{ \} \sqrt \frac \pi \le ...) */
        put(lx->o, name - 1, n + 1);
        return;
    }
    switch (rule->action) {
    case CMD_DROP:
        /* \left. and \right. are invisible delimiters */
        if ((!strcmp(rule->name, "left") || !strcmp(rule->name, "right")) && lx->p < lx->end && *lx->p == '.')
            lx->p++;
        return;
    case CMD_UNWRAP:
        while (lx->p < lx->end && *lx->p == ' ') lx->p++;
        if (lx->p < lx->end && *lx->p == '{') {
            lx->p++;
            open_brace(lx, 1);
        }
        return;
    case CMD_RENAME:
        if (!strcmp(rule->to, ",") && !separator_wanted(lx->o)) return; /* \quad after a comma */
        puts_(lx->o, rule->to);
        return;
    case CMD_KEEP:
        put(lx->o, name - 1, n + 1);
        return;
    }
}

static int lex_utf8(lex *lx) {
    for (size_t i = 0; i < sizeof utf8_rules / sizeof utf8_rules[0]; i++) {
        size_t n = strlen(utf8_rules[i].utf8);
        if ((size_t)(lx->end - lx->p) >= n && !memcmp(lx->p, utf8_rules[i].utf8, n)) {
            if (!strcmp(utf8_rules[i].to, " ")) put_space(lx->o);
            else puts_(lx->o, utf8_rules[i].to);
            lx->p += n;
            return 1;
        }
    }
    return 0;
}

static void lex_word(lex *lx) {
    const char *start = lx->p;
    while (lx->p < lx->end && isalpha((unsigned char)*lx->p)) lx->p++;
    size_t n = (size_t)(lx->p - start);
    if (n == 3 && !strncasecmp(start, "per", 3) && lx->end - lx->p >= 5 && !strncasecmp(lx->p, " cent", 5) &&
        (lx->end - lx->p == 5 || !isalpha((unsigned char)lx->p[5]))) { /* "12.5 per cent" */
        lx->p += 5;
        start = "percent";
        n = 7;
    }
    for (size_t i = 0; i < sizeof word_rules / sizeof word_rules[0]; i++)
        if ((word_rules[i].word[0] | 0x20) == (start[0] | 0x20) && strlen(word_rules[i].word) == n &&
            !strncasecmp(word_rules[i].word, start, n)) {
            if (!strcmp(word_rules[i].to, "%") && lx->o->n && lx->o->s[lx->o->n - 1] == ' ')
                lx->o->s[--lx->o->n] = 0; /* "50 percent" -> "50%" */
            puts_(lx->o, word_rules[i].to);
            return;
        }
    put(lx->o, start, n);
}

static int after_factorial_operand(const out_buf *o) {
    return o->n && (isdigit((unsigned char)o->s[o->n - 1]) || strchr(")}", o->s[o->n - 1]));
}

/* "{,}" between digits: a thousands separator before a group of exactly
 * three digits (1{,}000{,}000), else a decimal comma (3{,}14 -> 3.14, the
 * way European LaTeX writes decimals). */
static void lex_brace_comma(lex *lx) {
    const char *q = lx->p + 3;
    int digits = 0;
    while (q + digits < lx->end && isdigit((unsigned char)q[digits])) digits++;
    int after_digit = lx->o->n > 0 && isdigit((unsigned char)lx->o->s[lx->o->n - 1]);
    lx->p = q;
    if (after_digit && digits > 0 && digits != 3) put(lx->o, ".", 1);
}

/* ^\circ and ^{\circ}: degrees, dropped. */
static int lex_degree(lex *lx) {
    static const char *forms[] = {"^\\circ", "^{\\circ}", "^{ \\circ }", "^{\\circ }"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        size_t n = strlen(forms[i]);
        if ((size_t)(lx->end - lx->p) >= n && !memcmp(lx->p, forms[i], n)) {
            lx->p += n;
            return 1;
        }
    }
    return 0;
}

static void lex_all(lex *lx) {
    while (lx->p < lx->end && !lx->o->overflow && !lx->too_deep) {
        unsigned char c = (unsigned char)*lx->p;
        if (lx->row_break && !isspace(c) && !(c == '\\' && lx->end - lx->p >= 4 && !memcmp(lx->p, "\\end", 4))) {
            puts_(lx->o, "),(");
            lx->row_break = 0;
        }
        if (c == '&' && lx->matrix > 0) lx->p++, put(lx->o, ",", 1);
        else if (c == '!' && lx->end - lx->p >= 2 && lx->p[1] == '=' && !after_factorial_operand(lx->o))
            lx->p += 2, puts_(lx->o, "\\ne "); /* x != 3; but 5!=120 is a factorial */
        else if (c == '{' && lx->end - lx->p >= 3 && !memcmp(lx->p, "{,}", 3)) lex_brace_comma(lx);
        else if (c == '\\') lex_command(lx);
        else if (c == '{') lx->p++, open_brace(lx, 0);
        else if (c == '}') lx->p++, close_brace(lx);
        else if (c == '$') lx->p++;
        else if (c == '^' && lex_degree(lx)) continue;
        else if (isspace(c) || c == '~') lx->p++, put_space(lx->o);
        else if (c >= 0x80 && lex_utf8(lx)) continue;
        else if (isalpha(c)) lex_word(lx);
        else lx->p++, put(lx->o, (const char *)&c, 1);
    }
}

/* ------------------------------------------------------------- pass 2 */

static void trim(out_buf *o) {
    size_t a = 0;
    while (a < o->n && o->s[a] == ' ') a++;
    size_t b = o->n;
    while (b > a && o->s[b - 1] == ' ') b--;
    memmove(o->s, o->s + a, b - a);
    o->n = b - a;
    o->s[o->n] = 0;
}

static int is_trailing_junk(char c) { return c == '.' || c == ',' || c == ';' || c == '!' || c == ':' || c == '"' || c == '\'' || c == '`' || c == '*'; }

static void strip_punctuation(out_buf *o) {
    trim(o);
    while (o->n > 0 && is_trailing_junk(o->s[o->n - 1])) {
        /* keep "\dots" and a trailing "..." that is part of the answer */
        if (o->s[o->n - 1] == '.' && o->n >= 2 && o->s[o->n - 2] == '.') break;
        /* 5! and (n+1)! are factorials, not exclamations */
        if (o->s[o->n - 1] == '!' && o->n >= 2 && (isdigit((unsigned char)o->s[o->n - 2]) || o->s[o->n - 2] == ')'))
            break;
        o->s[--o->n] = 0;
        trim(o);
    }
    while (o->n > 0 && (o->s[0] == '"' || o->s[0] == '\'' || o->s[0] == '`' || o->s[0] == '*')) { /* **bold** */
        memmove(o->s, o->s + 1, o->n);
        o->n--;
        trim(o);
    }
}

static const char *const unit_words[] = {
    "cm", "m", "km", "mm", "in", "inch", "inches", "ft", "feet", "foot", "yd", "yard", "yards",
    "mi", "mile", "miles", "meter", "meters", "metre", "metres", "centimeters", "kilometers",
    "g", "kg", "mg", "gram", "grams", "kilograms", "lb", "lbs", "pound", "pounds", "oz", "ounces",
    "s", "sec", "second", "seconds", "min", "minute", "minutes", "h", "hr", "hrs", "hour", "hours",
    "day", "days", "week", "weeks", "month", "months", "year", "years", "dollar", "dollars",
    "cent", "cents", "degree", "degrees", "deg", "unit", "units", "sq", "square", "cubic",
    "mph", "l", "ml", "liter", "liters", "litre", "litres", "gallon", "gallons",
};

static int is_unit_word(const char *w, size_t n) {
    for (size_t i = 0; i < sizeof unit_words / sizeof unit_words[0]; i++)
        if ((unit_words[i][0] | 0x20) == (w[0] | 0x20) && strlen(unit_words[i]) == n && !strncasecmp(unit_words[i], w, n))
            return 1;
    return 0;
}

/* "5 cm", "12 square units", "3 m^2": drop trailing unit words after a value. */
static void strip_units(out_buf *o) {
    size_t cut = o->n, words = 0;
    for (int round = 0; round < 3; round++) {
        size_t end = cut;
        while (end > 0 && o->s[end - 1] == ' ') end--;
        if (end >= 2 && o->s[end - 2] == '^' && (o->s[end - 1] == '2' || o->s[end - 1] == '3')) end -= 2;
        else if (end >= 4 && !memcmp(o->s + end - 4, "^{", 2) && o->s[end - 1] == '}') end -= 4;
        size_t w = end;
        while (w > 0 && isalpha((unsigned char)o->s[w - 1])) w--;
        if (w == end || (w > 0 && o->s[w - 1] == '\\') || !is_unit_word(o->s + w, end - w)) break;
        cut = w;
        words++;
    }
    size_t before = cut;
    while (before > 0 && o->s[before - 1] == ' ') before--;
    if (!words || before == 0) return;
    char c = o->s[before - 1];
    if (!isdigit((unsigned char)c) && c != '}' && c != ')' && c != '%') return;
    o->n = before;
    o->s[o->n] = 0;
}

/* 7,425,000 -> 7425000 and 10 000 -> 10000 at the top level (not inside
 * brackets, where commas separate elements).  Only complete groups of
 * three count, one separator kind per number; a space group must not start
 * a fraction (the mixed number 2 100/3). */
static size_t thousands_groups(const char *s, size_t n, size_t k, char sep, size_t *groups) {
    *groups = 0;
    while (k + 3 < n && s[k] == sep && isdigit((unsigned char)s[k + 1]) && isdigit((unsigned char)s[k + 2]) &&
           isdigit((unsigned char)s[k + 3]) && (k + 4 >= n || !isdigit((unsigned char)s[k + 4])) &&
           !(sep == ' ' && k + 4 < n && s[k + 4] == '/')) {
        k += 4;
        (*groups)++;
    }
    return k;
}

static void strip_thousands(out_buf *o) {
    int depth = 0;
    size_t w = 0;
    for (size_t i = 0; i < o->n;) {
        char c = o->s[i];
        if (c == '(' || c == '[' || c == '{') depth++;
        if ((c == ')' || c == ']' || c == '}') && depth > 0) depth--;
        int starts_number = isdigit((unsigned char)c) &&
                            (i == 0 || (!isdigit((unsigned char)o->s[i - 1]) && o->s[i - 1] != '.' &&
                                        o->s[i - 1] != ',' && o->s[i - 1] != ' '));
        if (depth == 0 && starts_number) {
            size_t j = i;
            while (j < o->n && isdigit((unsigned char)o->s[j])) j++;
            size_t lead = j - i, groups = 0, k = j;
            char sep = j < o->n && o->s[j] == ' ' ? ' ' : ',';
            k = thousands_groups(o->s, o->n, j, sep, &groups);
            int clean_end = k >= o->n || !(o->s[k] == sep && k + 1 < o->n && isdigit((unsigned char)o->s[k + 1]));
            /* "211 211" is a number said twice (the demo's "...=211 211"), not
             * 211211: a space needs a short lead, two groups or "000" */
            int space_ok = sep != ' ' || lead <= 2 || groups >= 2 || !memcmp(o->s + k - 3, "000", 3);
            if (lead <= 3 && groups > 0 && clean_end && space_ok && o->s[i] != '0') { /* 0,125 is a decimal comma */
                for (size_t t = i; t < k; t++)
                    if (o->s[t] != sep) o->s[w++] = o->s[t];
                i = k;
                continue;
            }
            while (i < j) o->s[w++] = o->s[i++];
            continue;
        }
        o->s[w++] = c;
        i++;
    }
    o->n = w;
    o->s[w] = 0;
}

/* "x = 3" -> "3", "\theta \in [0,1]" -> "[0,1]": a lone top-level '=' (or \in,
 * \approx) after a label.  Only when there is no top-level comma, so
 * "x=1, y=2" stays a list (math_equal strips each element).
 *
 * A label names the value and has no arithmetic of its own: x, a_{10}, f(2),
 * P(A), \angle ABC, |AB|, (p,q), S:T, m+n.  A digit may follow a letter, a
 * subscript or an opening bracket, never a space or an operator, so an
 * equation's side ("2x+4y-3", "x + 2y", "x^2") is not a label. */
static int is_label(const char *s, size_t n) {
    while (n && s[n - 1] == ' ') n--;
    while (n && *s == ' ') s++, n--;
    if (n == 0 || n > 40) return 0;
    if (!isalpha((unsigned char)s[0]) && !strchr("\\(|", s[0])) return 0;
    int letters = 0, depth = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '(') depth++;
        if (c == ')') depth--;
        if (isalpha((unsigned char)c)) letters++;
        else if (isdigit((unsigned char)c)) {
            char before = i ? s[i - 1] : ' ';
            if (!isalnum((unsigned char)before) && !strchr("_{(,", before)) return 0;
        } else if (!strchr("_{}\\'() |:+", c) && !(c == ',' && depth > 0)) return 0;
    }
    return letters > 0;
}

/* Does the text evaluate to a number without variables? */
static int is_constant(const char *s, size_t n) {
    math_num v;
    int vars = 0;
    return n > 0 && math_eval_at(s, n, 0, 0, &v, NULL, &vars) == 0 && vars == 0;
}

/* Every '='-separated link after the first evaluates (variables allowed). */
static int links_evaluate(const char *s, size_t n) {
    int depth = 0;
    size_t start = 0, links = 0;
    for (size_t i = 0; i <= n; i++) {
        char c = i < n ? s[i] : '=';
        if (c == '(' || c == '[' || c == '{') depth++;
        else if ((c == ')' || c == ']' || c == '}') && depth > 0) depth--;
        if (c != '=' || depth != 0) continue;
        math_num v;
        if (links++ > 0 && math_eval_at(s + start, i - start, 0, 0, &v, NULL, NULL)) return 0;
        start = i + 1;
    }
    return 1;
}

static size_t skip_spaces_from(const char *s, size_t n, size_t r) {
    while (r < n && s[r] == ' ') r++;
    return r < n ? r : 0;
}

size_t reward_math_strip_lhs(const char *s, size_t n) {
    int depth = 0;
    size_t eq = 0, eq_len = 0, count = 0, equals = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '(' || c == '[' || c == '{') depth++;
        else if ((c == ')' || c == ']' || c == '}') && depth > 0) depth--;
        else if (depth == 0 && c == ',') return 0;
        else if (depth == 0 && c == '=') eq = i, eq_len = 1, count++, equals++; else if (depth == 0 && c == '\\' && n - i >= 3 && !memcmp(s + i, "\\in", 3) &&
                 (i + 3 >= n || !isalpha((unsigned char)s[i + 3])))
            eq = i, eq_len = 3, count++;
        else if (depth == 0 && c == '\\' && n - i >= 7 && !memcmp(s + i, "\\approx", 7))
            eq = i, eq_len = 7, count++;
    }
    if (count == 0) return 0;
    size_t r = skip_spaces_from(s, n, eq + eq_len);
    if (!r) return 0;
    /* a chain "x = \frac{6}{2} = 3": the last value, when it is a number and
     * every link after the first is an expression ("97+37=134 134+64=198"
     * is a calculation written out, not a chain) */
    if (count >= 2) return equals == count && is_constant(s + r, n - r) && links_evaluate(s, n) ? r : 0;
    size_t lead = 0;
    while (lead < eq && s[lead] == ' ') lead++;
    if (lead == eq) return r; /* nothing before it: "= 5", "\approx 3.14" */
    if (is_label(s, eq)) return r;
    /* a computation and its result, "4 \cdot 3 = 12" */
    return eq_len == 1 && is_constant(s, eq) && is_constant(s + r, n - r) ? r : 0;
}

static void strip_lhs(out_buf *o) {
    size_t r = reward_math_strip_lhs(o->s, o->n);
    if (!r) return;
    memmove(o->s, o->s + r, o->n - r);
    o->n -= r;
    o->s[o->n] = 0;
}

int reward_math_normalize(const char *in, size_t len, char *out, size_t cap) {
    return math_normalize(in, len, out, cap, 0);
}

int math_normalize(const char *in, size_t len, char *out, size_t cap, int keep_lhs) {
    if (!cap) return -1;
    out[0] = 0;
    if (len > REWARD_ANSWER_MAX) return -1;
    out_buf o = {out, 0, cap, 0};
    lex lx = {.p = in, .end = in + len, .o = &o};
    lex_all(&lx);
    if (o.overflow || lx.too_deep) {
        out[0] = 0;
        return -1;
    }
    strip_punctuation(&o);
    strip_units(&o);
    strip_punctuation(&o);
    strip_thousands(&o);
    if (!keep_lhs) strip_lhs(&o);
    trim(&o);
    return (int)o.n;
}
