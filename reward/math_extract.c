/*
 * reward/math_extract.c — find the final answer in a response.
 *
 * Rules, tried in the order reward.math_extract gives, on the text after the
 * last </think> (the whole text when nothing follows it):
 *   answer_tag   the last <answer>…</answer> (to the end when unclosed);
 *                inside it, a \boxed{} or, for prose, the later rules
 *   boxed        the last \boxed{…} / \fbox{…}, nested braces balanced, with
 *                the boxes before it that only separators join to it
 *                ("\boxed{2} and \boxed{3}" is one answer with two values)
 *   gsm8k        "#### x" (the rest of that line)
 *   answer_is    "the answer is x", "final answer: x", and the same phrase in
 *                French, Spanish, German, Portuguese, Italian, Chinese and
 *                Russian (to the end of the sentence)
 *   latex_math   the last $…$ (with the ones separators join to it), $$…$$,
 *                \[…\] or \(…\)
 *   whole        the response is itself just an answer (\frac{1}{2}, $x=3$,
 *                7,425,000, \{1,2\}) and is taken whole
 *   last_number  the last number (-12, 3.5, 7,425,000, 3/4)
 *
 * Every rule is one linear scan; nothing allocates.  Only the last match of
 * a rule is used (the final answer comes last), so a megabyte of repeated
 * \boxed{\boxed{… costs one forward pass.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "reward/math_internal.h"
#include "reward/reward.h"

typedef struct span {
    const char *s;
    size_t n;
} span;

static span span_trim(const char *s, size_t n) {
    while (n && isspace((unsigned char)*s)) s++, n--;
    while (n && isspace((unsigned char)s[n - 1])) n--;
    span r = {s, n};
    return r;
}

/* Last occurrence of needle in text, or NULL.  Scans backwards: the final
 * answer sits near the end, and short texts (most golds) skip memmem's setup. */
static const char *last_of(const char *text, size_t len, const char *needle) {
    size_t m = strlen(needle);
    if (m == 0 || m > len) return NULL;
    for (size_t i = len - m + 1; i-- > 0;)
        if (text[i] == needle[0] && !memcmp(text + i + 1, needle + 1, m - 1)) return text + i;
    return NULL;
}

/* ---------------------------------------------------------------- boxed */

/* The braced group starting at p[0] == '{': its content, or n = 0 and s =
 * NULL when the braces never balance.  Escaped braces (\{ \}) do not count. */
static span braced(const char *p, const char *end) {
    span r = {NULL, 0};
    int depth = 0;
    for (const char *q = p; q < end; q++) {
        if (*q == '\\') {
            q++;
            continue;
        }
        if (*q == '{') depth++;
        else if (*q == '}' && --depth == 0) {
            r.s = p + 1;
            r.n = (size_t)(q - p - 1);
            return r;
        }
    }
    return r;
}

/* Is the text between two boxes only a separator ("and", ",", "\quad",
 * "$ or $", "\text{ and }")?  Then the boxes are one answer with several
 * values: "\boxed{2} and \boxed{3}". */
static int only_separators(const char *p, const char *end) {
    static const char *const tokens[] = {"\\text{", "\\mathrm{", "\\quad", "\\qquad", "\\,", "\\;", "\\(",
                                         "\\)", "and", "or", "}", ",", ";", "$", "&", "\\\\"};
    while (p < end) {
        if (isspace((unsigned char)*p)) {
            p++;
            continue;
        }
        size_t i, n = 0;
        for (i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
            n = strlen(tokens[i]);
            if ((size_t)(end - p) >= n && !strncasecmp(p, tokens[i], n)) break;
        }
        if (i == sizeof tokens / sizeof tokens[0]) return 0;
        p += n;
    }
    return 1;
}

#define MAX_JOINED_BOXES 16

/* The content of the box whose name starts at hit, or s = NULL. */
static span box_content(const char *hit, const char *end) {
    span none = {NULL, 0};
    const char *p = hit + (hit[1] == 'b' ? 6 : 5);
    while (p < end && *p == ' ') p++;
    return p < end && *p == '{' ? braced(p, end) : none;
}

static int rule_boxed(const char *text, size_t len, span *out) {
    const char *b = last_of(text, len, "\\boxed"), *f = last_of(text, len, "\\fbox");
    const char *hit = !b ? f : !f ? b : b > f ? b : f, *end = text + len;
    if (!hit) return -1;
    const char *p = hit + (hit == b ? 6 : 5);
    while (p < end && *p == ' ') p++;
    if (p < end && *p == '{') {
        span s = braced(p, end);
        if (!s.s) return -1;
        /* earlier boxes joined to this one by separators only are part of the answer */
        const char *first = hit;
        for (int k = 0; k < MAX_JOINED_BOXES; k++) {
            const char *prev = last_of(text, (size_t)(first - text), "\\boxed");
            span ps = prev ? box_content(prev, first) : (span){NULL, 0};
            if (!ps.s || !only_separators(ps.s + ps.n + 1, first)) break;
            first = prev;
        }
        if (first != hit) {
            *out = span_trim(first, (size_t)(s.s + s.n + 1 - first));
            return 0;
        }
        *out = span_trim(s.s, s.n);
        return out->n ? 0 : -1;
    }
    /* \boxed 5: one token */
    const char *q = p;
    while (q < end && !isspace((unsigned char)*q) && *q != '$') q++;
    *out = span_trim(p, (size_t)(q - p));
    return out->n ? 0 : -1;
}

/* ---------------------------------------------------------------- gsm8k */

static int rule_gsm8k(const char *text, size_t len, span *out) {
    const char *hit = last_of(text, len, "####"), *end = text + len;
    if (!hit) return -1;
    const char *p = hit;
    while (p < end && (*p == '#' || *p == ' ' || *p == '\t')) p++;
    const char *q = p;
    while (q < end && *q != '\n') q++;
    *out = span_trim(p, (size_t)(q - p));
    return out->n ? 0 : -1;
}

/* ------------------------------------------------------------ answer_is */

/* "12 apples", "15 because 3*5=15": the value before the first word, when
 * there is one (a word is two or more letters that are not a command, at
 * the top level; "and"/"or" join values and do not count).  Prose with no
 * value before its first word ("for sure C, not A") is kept whole. */
static span leading_value(span s) {
    int depth = 0;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.s[i];
        if (c == '{' || c == '(' || c == '[') depth++;
        else if ((c == '}' || c == ')' || c == ']') && depth > 0) depth--;
        if (!isalpha((unsigned char)c) || depth > 0) continue;
        size_t j = i;
        while (j < s.n && isalpha((unsigned char)s.s[j])) j++;
        int command = i > 0 && s.s[i - 1] == '\\';
        int joiner = (j - i == 3 && !strncasecmp(s.s + i, "and", 3)) || (j - i == 2 && !strncasecmp(s.s + i, "or", 2));
        if (j - i < 2 || command || joiner) {
            i = j - 1;
            continue;
        }
        span prefix = span_trim(s.s, i);
        while (prefix.n && strchr("([,:;", prefix.s[prefix.n - 1])) prefix = span_trim(prefix.s, prefix.n - 1);
        char norm[2 * 256 + 64];
        int n = prefix.n && prefix.n <= 256 ? reward_math_normalize(prefix.s, prefix.n, norm, sizeof norm) : -1;
        return n > 0 && reward_math_is_value(norm, (size_t)n) ? prefix : s;
    }
    return s;
}

/* Phrases that introduce the final answer, in the languages models answer
 * in; each may be followed by ':' (matched case-insensitively for ASCII). */
static const char *const answer_phrases[] = {
    "answer is", "answer:", "answer :", "correct option is", "correct choice is",
    "r\xc3\xa9ponse est", "r\xc3\xa9ponse:", "r\xc3\xa9ponse :", "respuesta es", "respuesta:",
    "respuesta correcta es", "antwort ist", "antwort lautet", "antwort:", "resposta \xc3\xa9", "resposta:",
    "risposta \xc3\xa8", "risposta:", "\xe7\xad\x94\xe6\xa1\x88\xe6\x98\xaf", "\xe7\xad\x94\xe6\xa1\x88\xe4\xb8\xba",
    "\xe7\xad\x94\xe6\xa1\x88\xef\xbc\x9a", "\xe7\xad\x94\xe6\xa1\x88:", "\xd0\xbe\xd1\x82\xd0\xb2\xd0\xb5\xd1\x82:",
    "\xd0\x9e\xd1\x82\xd0\xb2\xd0\xb5\xd1\x82:",
};

/* The answer phrase at p (its length), or 0.  An ASCII phrase must not
 * continue a word ("answers is" is not "answer is"). */
static size_t answer_phrase_at(const char *text, const char *p, const char *end) {
    if (p > text && isalpha((unsigned char)p[-1])) return 0;
    for (size_t i = 0; i < sizeof answer_phrases / sizeof answer_phrases[0]; i++) {
        const char *ph = answer_phrases[i];
        if ((ph[0] | 0x20) != (*p | 0x20)) continue; /* the common case, before any strlen */
        size_t n = strlen(ph);
        if ((size_t)(end - p) < n || strncasecmp(p, ph, n)) continue;
        if (isalpha((unsigned char)ph[n - 1]) && p + n < end && isalpha((unsigned char)p[n])) continue;
        return n;
    }
    return 0;
}

/* The last answer phrase; the answer runs to the end of the sentence. */
static int rule_answer_is(const char *text, size_t len, span *out) {
    const char *end = text + len, *best = NULL;
    for (const char *p = text; p < end; p++) {
        /* every phrase starts with a/A, c/C, r/R, or the first byte of 答 or о/О */
        unsigned char c = (unsigned char)(*p | 0x20);
        if (c != 'a' && c != 'c' && c != 'r' && *p != '\xe7' && *p != '\xd0') continue;
        size_t n = answer_phrase_at(text, p, end);
        if (!n) continue;
        const char *q = p + n;
        while (q < end && *q == ' ') q++;
        if (q < end && *q == ':') q++;
        best = q;
    }
    if (!best) return -1;
    /* to the end of the sentence: a newline, "。", or a '.' not inside a number */
    const char *q = best;
    int depth = 0;
    for (; q < end && *q != '\n'; q++) {
        if (*q == '{') depth++;
        else if (*q == '}') depth--;
        else if (*q == '.' && depth <= 0 && (q + 1 == end || !isdigit((unsigned char)q[1]))) break;
        else if (end - q >= 3 && !memcmp(q, "\xe3\x80\x82", 3)) break;
    }
    *out = leading_value(span_trim(best, (size_t)(q - best)));
    return out->n ? 0 : -1;
}

/* ----------------------------------------------------------- latex_math */

/* The last $…$ / $$…$$ pair (an escaped \$ is currency, not a delimiter),
 * with the pairs before it that only separators join to it ("$x = 1$ and
 * $x = 2$": one answer with two values). */
static int last_dollar_math(const char *text, size_t len, span *out) {
    const char *open = NULL, *end = text + len, *joined = NULL, *prev_close = NULL;
    int found = 0;
    for (const char *p = text; p < end; p++) {
        if (*p == '\\') {
            p++;
            continue;
        }
        if (*p != '$') continue;
        int dbl = p + 1 < end && p[1] == '$';
        if (!open) {
            open = p + (dbl ? 2 : 1);
            if (!(found && prev_close && only_separators(prev_close, p))) joined = open;
        } else {
            span s = span_trim(open, (size_t)(p - open));
            if (s.n) {
                *out = span_trim(joined, (size_t)(p - joined));
                found = 1;
                prev_close = p + (dbl ? 2 : 1);
            } else {
                joined = NULL, prev_close = NULL, found = 0;
            }
            open = NULL;
        }
        if (dbl) p++;
    }
    return found ? 0 : -1;
}

/* The last \[…\] or \(…\). */
static int last_bracket_math(const char *text, size_t len, const char *o, const char *c, span *out) {
    const char *close = last_of(text, len, c);
    if (!close) return -1;
    const char *open = last_of(text, (size_t)(close - text), o);
    if (!open) return -1;
    *out = span_trim(open + 2, (size_t)(close - open - 2));
    return out->n ? 0 : -1;
}

static int rule_latex_math(const char *text, size_t len, span *out) {
    span cand[3];
    int ok[3] = {last_dollar_math(text, len, &cand[0]) == 0,
                 last_bracket_math(text, len, "\\[", "\\]", &cand[1]) == 0,
                 last_bracket_math(text, len, "\\(", "\\)", &cand[2]) == 0};
    int best = -1;
    for (int i = 0; i < 3; i++)
        if (ok[i] && (best < 0 || cand[i].s > cand[best].s)) best = i;
    if (best < 0) return -1;
    *out = cand[best];
    return 0;
}

/* ---------------------------------------------------------------- whole */

static int rule_whole(const char *text, size_t len, span *out) {
    span t = span_trim(text, len);
    char norm[2 * 256 + 64];
    if (t.n == 0 || t.n > 256) return -1;
    int n = reward_math_normalize(t.s, t.n, norm, sizeof norm);
    if (n <= 0 || !reward_math_is_value(norm, (size_t)n)) return -1;
    *out = t;
    return 0;
}

/* ---------------------------------------------------------- last_number */

/* Length of a number at p (-12, 3.5, 7,425,000, 3/4), 0 if none. */
static size_t number_at(const char *p, const char *end) {
    const char *q = p;
    if (q < end && *q == '-') q++;
    if (q >= end || !isdigit((unsigned char)*q)) return 0;
    const char *digits = q;
    while (q < end && isdigit((unsigned char)*q)) q++;
    if (q - digits <= 3) /* thousands groups */
        while (end - q >= 4 && q[0] == ',' && isdigit((unsigned char)q[1]) && isdigit((unsigned char)q[2]) &&
               isdigit((unsigned char)q[3]) && (end - q == 4 || !isdigit((unsigned char)q[4])))
            q += 4;
    if (end - q >= 2 && (*q == '.' || *q == '/') && isdigit((unsigned char)q[1])) {
        q++;
        while (q < end && isdigit((unsigned char)*q)) q++;
    }
    return (size_t)(q - p);
}

static int rule_last_number(const char *text, size_t len, span *out) {
    const char *end = text + len, *best = NULL;
    size_t best_n = 0;
    for (const char *p = text; p < end;) {
        int boundary = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '.');
        size_t n = 0;
        if (*p == '-' && p > text && isdigit((unsigned char)p[-1])) n = 0; /* 3-5: the minus is an operator */
        else if (boundary || *p == '-') n = number_at(p, end);
        if (n) {
            best = p;
            best_n = n;
            p += n;
        } else {
            p++;
        }
    }
    if (!best) return -1;
    out->s = best;
    out->n = best_n;
    return 0;
}

/* ----------------------------------------------------------- answer_tag */

typedef int (*rule_fn)(const char *text, size_t len, span *out);

typedef struct rule {
    const char *name;
    rule_fn fn;
} rule;

static int rule_answer_tag(const char *text, size_t len, span *out);

static const rule rules[] = {
    {"answer_tag", rule_answer_tag}, {"boxed", rule_boxed},   {"gsm8k", rule_gsm8k},
    {"answer_is", rule_answer_is},   {"latex_math", rule_latex_math}, {"whole", rule_whole},
    {"last_number", rule_last_number},
};
#define N_RULES (int)(sizeof rules / sizeof rules[0])

/* Prose has a word: two or more letters not forming a LaTeX command. */
int reward_math_has_words(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        if (!isalpha((unsigned char)s[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && isalpha((unsigned char)s[j])) j++;
        if (j - i >= 2 && (i == 0 || s[i - 1] != '\\')) return 1;
        i = j;
    }
    return 0;
}

static int rule_answer_tag(const char *text, size_t len, span *out) {
    const char *open = last_of(text, len, "<answer>"), *end = text + len;
    if (!open) return -1;
    const char *p = open + 8, *close = memmem(p, (size_t)(end - p), "</answer>", 9);
    span content = span_trim(p, (size_t)((close ? close : end) - p));
    if (!content.n) return -1;
    /* A clean answer is taken as is; a box inside the tag is opened; prose
     * inside it is read with the later rules (never answer_tag again: no
     * recursion).  Math we cannot evaluate (\log_2 8) is not prose: it stays
     * whole rather than being cut down to its last number. */
    span inner;
    if (rule_boxed(content.s, content.n, &inner) == 0) {
        *out = inner;
        return 0;
    }
    if (rule_whole(content.s, content.n, &inner) == 0 || !reward_math_has_words(content.s, content.n)) {
        *out = content;
        return 0;
    }
    for (int i = 1; i < N_RULES; i++)
        if (rules[i].fn(content.s, content.n, &inner) == 0) {
            *out = inner;
            return 0;
        }
    *out = content;
    return 0;
}

static const rule *find_rule(const char *name, size_t n) {
    for (int i = 0; i < N_RULES; i++)
        if (strlen(rules[i].name) == n && !memcmp(rules[i].name, name, n)) return &rules[i];
    return NULL;
}

/* Calls visit(rule or NULL, name, n, ctx) for each comma-separated item. */
static const char *next_item(const char *p, const char **name, size_t *n) {
    while (*p == ',' || isspace((unsigned char)*p)) p++;
    if (!*p) return NULL;
    const char *q = p;
    while (*q && *q != ',') q++;
    const char *e = q;
    while (e > p && isspace((unsigned char)e[-1])) e--;
    *name = p;
    *n = (size_t)(e - p);
    return q;
}

int reward_math_check_rules(const char *rule_order, core_error *err) {
    const char *name, *p = rule_order;
    size_t n;
    int count = 0;
    while ((p = next_item(p, &name, &n))) {
        if (!find_rule(name, n))
            return core_fail(err, CORE_EINPUT,
                             "reward.math_extract: unknown rule '%.*s' (known: answer_tag, boxed, gsm8k, "
                             "answer_is, latex_math, whole, last_number)",
                             (int)(n > 64 ? 64 : n), name);
        count++;
    }
    if (!count) return core_fail(err, CORE_EINPUT, "reward.math_extract: no extraction rule given");
    return 0;
}

int reward_math_extract(const char *text, size_t len, const char *rule_order, char *out, size_t cap,
                        const char **rule_fired) {
    const char *name, *p = rule_order ? rule_order : "";
    size_t n;
    if (cap) out[0] = 0;
    if (rule_fired) *rule_fired = "none";
    if (!text) return -1;
    /* the answer follows the reasoning: after the last </think>, when
     * something follows it (a truncated think has none) */
    const char *think = last_of(text, len, "</think>");
    if (think) {
        span after = span_trim(think + 8, len - (size_t)(think + 8 - text));
        if (after.n) {
            len -= (size_t)(think + 8 - text);
            text = think + 8;
        }
    }
    while ((p = next_item(p, &name, &n))) {
        const rule *r = find_rule(name, n);
        span s;
        if (!r || r->fn(text, len, &s)) continue;
        size_t k = s.n < cap ? s.n : (cap ? cap - 1 : 0);
        if (cap) {
            memcpy(out, s.s, k);
            out[k] = 0;
        }
        if (rule_fired) *rule_fired = r->name;
        return s.n > INT32_MAX ? INT32_MAX : (int)s.n; /* like snprintf: the full length */
    }
    return -1;
}
