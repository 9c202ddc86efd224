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
    {"quad", CMD_DROP, 0},      {"qquad", CMD_DROP, 0},       {"circ", CMD_DROP, 0},
    {"degree", CMD_DROP, 0},    {"degrees", CMD_DROP, 0},     {"!", CMD_DROP, 0},
    {",", CMD_DROP, 0},         {";", CMD_DROP, 0},           {":", CMD_DROP, 0},
    {"$", CMD_DROP, 0},         {"text", CMD_UNWRAP, 0},      {"textbf", CMD_UNWRAP, 0},
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
};

/* Plain words with a command spelling, and separators between answers. */
static const struct { const char *word, *to; } word_rules[] = {
    {"sqrt", "\\sqrt"}, {"pi", "\\pi"}, {"infinity", "\\infty"}, {"inf", "\\infty"},
    {"and", ","},       {"or", ","},    {"percent", "%"},
};

/* ------------------------------------------------------------- pass 1 */

typedef struct lex {
    const char *p, *end;
    out_buf *o;
    unsigned char drop_brace[REWARD_MAX_DEPTH]; /* per open '{': drop its '}'? */
    int depth;
    int too_deep;
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

static void lex_command(lex *lx) {
    const char *name = lx->p + 1, *q = name;
    while (q < lx->end && isalpha((unsigned char)*q)) q++;
    if (q == name && q < lx->end) q++; /* a one-symbol command: \, \{ \% */
    size_t n = (size_t)(q - name);
    if (n == 0) { /* a backslash at the very end */
        put(lx->o, "\\", 1);
        lx->p = q;
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
        if (c == '\\') lex_command(lx);
        else if (c == '{' && lx->end - lx->p >= 3 && !memcmp(lx->p, "{,}", 3)) lx->p += 3; /* 1{,}000 */
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

static int is_trailing_junk(char c) { return c == '.' || c == ',' || c == ';' || c == '!' || c == ':' || c == '"' || c == '\'' || c == '`'; }

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
    while (o->n > 0 && (o->s[0] == '"' || o->s[0] == '\'' || o->s[0] == '`')) {
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

/* 7,425,000 -> 7425000 at the top level (not inside brackets, where commas
 * separate elements).  Only complete groups of three count. */
static void strip_thousands(out_buf *o) {
    int depth = 0;
    size_t w = 0;
    for (size_t i = 0; i < o->n;) {
        char c = o->s[i];
        if (c == '(' || c == '[' || c == '{') depth++;
        if ((c == ')' || c == ']' || c == '}') && depth > 0) depth--;
        int starts_number = isdigit((unsigned char)c) &&
                            (i == 0 || (!isdigit((unsigned char)o->s[i - 1]) && o->s[i - 1] != '.' &&
                                        o->s[i - 1] != ','));
        if (depth == 0 && starts_number) {
            size_t j = i;
            while (j < o->n && isdigit((unsigned char)o->s[j])) j++;
            size_t lead = j - i, k = j, groups = 0;
            while (k + 3 < o->n && o->s[k] == ',' && isdigit((unsigned char)o->s[k + 1]) &&
                   isdigit((unsigned char)o->s[k + 2]) && isdigit((unsigned char)o->s[k + 3]) &&
                   (k + 4 >= o->n || !isdigit((unsigned char)o->s[k + 4]))) {
                k += 4;
                groups++;
            }
            int clean_end = k >= o->n || !(o->s[k] == ',' && k + 1 < o->n && isdigit((unsigned char)o->s[k + 1]));
            if (lead <= 3 && groups > 0 && clean_end) {
                for (size_t t = i; t < k; t++)
                    if (o->s[t] != ',') o->s[w++] = o->s[t];
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
 * \approx) after a short identifier.  Only when there is no top-level comma,
 * so "x=1, y=2" stays a list (math_equal strips each element). */
static int is_identifier(const char *s, size_t n) {
    while (n && s[n - 1] == ' ') n--;
    while (n && *s == ' ') s++, n--;
    if (n == 0 || n > 24) return 0;
    if (!isalpha((unsigned char)s[0]) && s[0] != '\\') return 0;
    for (size_t i = 0; i < n; i++) { /* letters, subscripts, commands, f(x), m\angle A; no operators */
        char c = s[i];
        if (!isalnum((unsigned char)c) && !strchr("_{}\\'() ", c)) return 0;
    }
    return 1;
}

size_t reward_math_strip_lhs(const char *s, size_t n) {
    int depth = 0;
    size_t eq = 0, eq_len = 0, count = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '(' || c == '[' || c == '{') depth++;
        else if ((c == ')' || c == ']' || c == '}') && depth > 0) depth--;
        else if (depth == 0 && c == ',') return 0;
        else if (depth == 0 && c == '=') eq = i, eq_len = 1, count++;
        else if (depth == 0 && c == '\\' && n - i >= 3 && !memcmp(s + i, "\\in", 3) &&
                 (i + 3 >= n || !isalpha((unsigned char)s[i + 3])))
            eq = i, eq_len = 3, count++;
        else if (depth == 0 && c == '\\' && n - i >= 7 && !memcmp(s + i, "\\approx", 7))
            eq = i, eq_len = 7, count++;
    }
    if (count != 1 || !is_identifier(s, eq)) return 0;
    size_t r = eq + eq_len;
    while (r < n && s[r] == ' ') r++;
    return r < n ? r : 0;
}

static void strip_lhs(out_buf *o) {
    size_t r = reward_math_strip_lhs(o->s, o->n);
    if (!r) return;
    memmove(o->s, o->s + r, o->n - r);
    o->n -= r;
    o->s[o->n] = 0;
}

int reward_math_normalize(const char *in, size_t len, char *out, size_t cap) {
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
    strip_lhs(&o);
    trim(&o);
    return (int)o.n;
}
