/*
 * model/tokenizer_hf_encode.c — encoding text with a Hugging Face byte-level
 * BPE tokenizer: added tokens, NFC, the pre-tokenizer regexes, BPE.  The
 * steps and their order are in tokenizer_hf.h.
 *
 * The regexes run with PCRE2 (UTF, Unicode properties, JIT) on each stretch
 * as its own subject, as `tokenizers` runs Oniguruma on each piece: a
 * look-ahead never sees past the piece.  Text that is not valid UTF-8 (which
 * the Python library cannot be given) still encodes: PCRE2 matches around
 * the invalid bytes (PCRE2_MATCH_INVALID_UTF), they end up in the gaps, and
 * byte-level BPE takes any bytes, so decoding gives them back.
 */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "model/tokenizer_hf.h"

typedef struct encoder {
    const hf_tok *h;
    bpe_ids out;
    pcre2_match_data *md;
} encoder;

/* ------------------------------------------------------------------- NFC */

/* Code points below U+0300 are all NFC-stable and never combine with what
 * follows them... unless a combining mark follows; a lead byte below 0xCC
 * starts a code point below U+0300, so a stretch without bytes >= 0xCC is
 * its own NFC. */
static int nfc_trivial(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0xCC) return 0;
    return 1;
}

static void append(char **buf, size_t *len, size_t *cap, const void *s, size_t n) {
    if (*len + n + 1 > *cap) {
        size_t cap2 = *cap ? *cap : 64;
        while (cap2 < *len + n + 1) cap2 *= 2;
        char *b = realloc(*buf, cap2);
        if (!b) abort(); /* encoding has no error path; out of memory is fatal */
        *buf = b;
        *cap = cap2;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
}

/* Length of the valid UTF-8 prefix of s. */
static size_t valid_prefix(const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k <= 0) break;
        i += (size_t)k;
    }
    return i;
}

char *hf_nfc(const char *s, size_t n, size_t *out_len) {
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (size_t i = 0; i < n;) {
        size_t run = valid_prefix(s + i, n - i);
        if (run) {
            utf8proc_uint8_t *norm = NULL;
            utf8proc_ssize_t k = utf8proc_map((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)run, &norm,
                                              UTF8PROC_STABLE | UTF8PROC_COMPOSE);
            if (k < 0) abort(); /* only out of memory: the run is valid UTF-8 */
            append(&buf, &len, &cap, norm, (size_t)k);
            free(norm);
            i += run;
        } else {
            append(&buf, &len, &cap, s + i, 1); /* an invalid byte stays as it is */
            i++;
        }
    }
    if (!buf) append(&buf, &len, &cap, "", 0);
    *out_len = len;
    return buf;
}

/* ------------------------------------------------------------ pre-tokens */

static void split_level(encoder *e, const char *s, size_t n, int level);

/* One regex over s: every match and every gap between matches is a piece
 * for the next level (behavior "Isolated"). */
static void split_by(encoder *e, const char *s, size_t n, int level) {
    const hf_tok *h = e->h;
    PCRE2_SIZE pos = 0, last = 0;
    while (pos < n) {
        int rc = h->split_jit[level]
                     ? pcre2_jit_match(h->splits[level], (PCRE2_SPTR)s, n, pos, 0, e->md, NULL)
                     : pcre2_match(h->splits[level], (PCRE2_SPTR)s, n, pos, 0, e->md, NULL);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT) /* a huge run: the interpreter keeps its frames on the heap */
            rc = pcre2_match(h->splits[level], (PCRE2_SPTR)s, n, pos, PCRE2_NO_JIT, e->md, NULL);
        if (rc < 0) break; /* no more matches (or a match limit hit: the rest is one gap) */
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(e->md);
        PCRE2_SIZE start = ov[0], end = ov[1];
        if (end == start) { /* an empty match makes no piece; step over one character */
            pos = start + 1;
            while (pos < n && ((unsigned char)s[pos] & 0xC0) == 0x80) pos++;
            continue;
        }
        if (start > last) split_level(e, s + last, start - last, level + 1);
        split_level(e, s + start, end - start, level + 1);
        last = pos = end;
    }
    if (last < n) split_level(e, s + last, n - last, level + 1);
}

static void split_level(encoder *e, const char *s, size_t n, int level) {
    if (!n) return;
    if (level == e->h->n_splits) bpe_encode_word(&e->h->model, (const unsigned char *)s, n, &e->out);
    else split_by(e, s, n, level);
}

/* ---------------------------------------------------------- added tokens */

/* The leftmost, then longest, added token of set in s[from..n): its index
 * into h->added and its start, or -1. */
static int find_added(const hf_tok *h, const hf_added_set *set, const char *s, size_t n, size_t from,
                      size_t *at) {
    if (!set->n) return -1;
    for (size_t i = from; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        for (int k = set->begin[c]; k < set->begin[c + 1]; k++) {
            const hf_added *a = &h->added[set->order[k]];
            if (a->len <= n - i && !memcmp(s + i, a->content, a->len)) {
                *at = i;
                return set->order[k];
            }
        }
    }
    return -1;
}

/* Split s on the added tokens of set; the stretches between them go to
 * then(e, stretch). */
static void split_added(encoder *e, const hf_added_set *set, const char *s, size_t n,
                        void (*then)(encoder *, const char *, size_t)) {
    size_t last = 0, at;
    int k;
    while ((k = find_added(e->h, set, s, n, last, &at)) >= 0) {
        if (at > last) then(e, s + last, at - last);
        bpe_emit(&e->out, e->h->added[k].id);
        last = at + e->h->added[k].len;
    }
    if (last < n) then(e, s + last, n - last);
}

static void pre_tokenize(encoder *e, const char *s, size_t n) { split_level(e, s, n, 0); }

static void normalize_then_split(encoder *e, const char *s, size_t n) {
    if (!e->h->nfc || nfc_trivial(s, n)) {
        split_added(e, &e->h->norm_set, s, n, pre_tokenize);
        return;
    }
    size_t len;
    char *norm = hf_nfc(s, n, &len);
    split_added(e, &e->h->norm_set, norm, len, pre_tokenize);
    free(norm);
}

int hf_encode(const tokenizer *t, const char *text, size_t len, int *ids, int max_ids) {
    encoder e = {.h = t->impl, .out = {ids, 0, max_ids < 0 ? 0 : max_ids}};
    e.md = pcre2_match_data_create(1, NULL);
    if (!e.md) abort();
    split_added(&e, &e.h->raw_set, text, len, normalize_then_split);
    pcre2_match_data_free(e.md);
    return e.out.n <= e.out.max ? e.out.n : -1;
}
