/*
 * model/tokenizer_hf.c — loading a Hugging Face byte-level BPE tokenizer:
 * DIR/tokenizer.json (added tokens, normalizer, pre-tokenizer, BPE model,
 * decoder) and DIR/tokenizer_config.json (bos/eos/pad), and the kind's
 * decode side.  Encoding is in tokenizer_hf_encode.c.
 *
 * What is read, and what is refused (CORE_EINPUT, naming file, field, value):
 *   normalizer     null, NFC, or a Sequence of those
 *   pre_tokenizer  ByteLevel, or a Sequence of Split (Regex or String
 *                  pattern, behavior Isolated, invert false) and Digits
 *                  ending with ByteLevel; ByteLevel's add_prefix_space false
 *   model          BPE with merges as "a b" strings or ["a", "b"] pairs; no
 *                  dropout, byte_fallback, subword prefix or word suffix
 *   decoder        ByteLevel
 *   added_tokens   single_word, lstrip and rstrip false
 *   truncation, padding   null (they would change what encode returns)
 * post_processor is not read: it only adds special tokens, and encode never
 * adds any (add_special_tokens=False).
 *
 * The Oniguruma patterns of tokenizer.json compile with PCRE2 unchanged but
 * for \s and \S: Oniguruma's \s is the Unicode White_Space property, PCRE2's
 * (with UCP) also takes U+180E MONGOLIAN VOWEL SEPARATOR (a space before
 * Unicode 6.3; the parity test sees ids differ on it), so both are rewritten
 * to \p{White_Space} / \P{White_Space}.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/tokenizer_hf.h"

/* GPT-2's pattern, which ByteLevel applies itself when use_regex is true. */
static const char gpt2_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

enum { HF_MAX_ID = 1 << 24 }; /* ids index per-id tables: a bound keeps a typo from allocating gigabytes */

typedef struct loader {
    hf_tok *h;
    const char *file; /* DIR/tokenizer.json, for messages */
    core_error *err;
} loader;

static int refuse(loader *L, const char *field, const char *why, const cJSON *value) {
    char *v = value ? cJSON_PrintUnformatted(value) : NULL;
    if (v && strlen(v) > 120) { /* cut at a character boundary */
        size_t cut = 112;
        while (cut > 0 && ((unsigned char)v[cut] & 0xC0) == 0x80) cut--;
        strcpy(v + cut, "...");
    }
    core_fail(L->err, CORE_EINPUT, "%s: field \"%s\": %s%s%s", L->file, field, why, v ? " (got " : "",
              v ? v : "");
    if (v) {
        size_t n = strlen(L->err->msg);
        if (n + 1 < sizeof L->err->msg) strcat(L->err->msg, ")");
    }
    free(v);
    return CORE_EINPUT;
}

/* A boolean field, def when absent or null; -1 (refused) when not a boolean. */
static int get_bool(loader *L, const cJSON *obj, const char *key, const char *field, int def) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) return def;
    if (!cJSON_IsBool(v)) return refuse(L, field, "not a boolean", v), -1;
    return cJSON_IsTrue(v);
}

static const char *type_of(const cJSON *obj) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "type");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

/* --------------------------------------------------------------- regexes */

/* pattern with \s -> \p{White_Space} and \S -> \P{White_Space} (see top). */
static char *rewrite_spaces(const char *p) {
    size_t n = strlen(p);
    char *out = malloc(n * 8 + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\\' && (p[i + 1] == 's' || p[i + 1] == 'S')) {
            o += sprintf(o, "\\%c{White_Space}", p[i + 1] == 's' ? 'p' : 'P');
            i++;
        } else if (p[i] == '\\' && p[i + 1]) {
            *o++ = p[i++];
            *o++ = p[i];
        } else {
            *o++ = p[i];
        }
    }
    *o = 0;
    return out;
}

static int add_split(loader *L, const char *pattern, int literal, const char *field) {
    hf_tok *h = L->h;
    if (h->n_splits == HF_MAX_SPLITS) return refuse(L, field, "more than 8 pre-tokenizer splits", NULL);
    char *p = literal ? strdup(pattern) : rewrite_spaces(pattern);
    if (!p) return core_fail(L->err, CORE_ERUNTIME, "out of memory");
    int code;
    PCRE2_SIZE at;
    uint32_t opts = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | (literal ? PCRE2_LITERAL : 0);
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)p, PCRE2_ZERO_TERMINATED, opts, &code, &at, NULL);
    free(p);
    if (!re) {
        char msg[256];
        pcre2_get_error_message(code, (PCRE2_UCHAR *)msg, sizeof msg);
        core_fail(L->err, CORE_EINPUT, "%s: field \"%s\": the pattern does not compile with PCRE2 (%s at offset %zu): %s",
                  L->file, field, msg, (size_t)at, pattern);
        return CORE_EINPUT;
    }
    h->split_jit[h->n_splits] = pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) == 0;
    h->splits[h->n_splits++] = re;
    return 0;
}

/* ----------------------------------------------------------- the sections */

static int read_nfc_normalizer(loader *L, const cJSON *n, const char *field) {
    if (!n || cJSON_IsNull(n)) return 0;
    const char *type = type_of(n);
    if (type && !strcmp(type, "NFC")) {
        L->h->nfc = 1;
        return 0;
    }
    if (type && !strcmp(type, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(n, "normalizers"), *x;
        if (!cJSON_IsArray(list)) return refuse(L, field, "a Sequence needs a \"normalizers\" array", n);
        int i = 0;
        cJSON_ArrayForEach(x, list) {
            char sub[128];
            snprintf(sub, sizeof sub, "%s.normalizers[%d]", field, i++);
            if (read_nfc_normalizer(L, x, sub)) return CORE_EINPUT;
        }
        return 0;
    }
    return refuse(L, field, "unsupported normalizer (grpo reads null, NFC, or a Sequence of NFC)", n);
}

static int read_byte_level(loader *L, const cJSON *p, const char *field) {
    char sub[160];
    snprintf(sub, sizeof sub, "%s.add_prefix_space", field);
    int prefix = get_bool(L, p, "add_prefix_space", sub, 1); /* the library's default is true */
    if (prefix < 0) return CORE_EINPUT;
    if (prefix)
        return refuse(L, sub, "add_prefix_space must be false (the Llama 3 / Qwen2 setting)",
                      cJSON_GetObjectItemCaseSensitive(p, "add_prefix_space"));
    snprintf(sub, sizeof sub, "%s.use_regex", field);
    int use_regex = get_bool(L, p, "use_regex", sub, 1);
    if (use_regex < 0) return CORE_EINPUT;
    return use_regex ? add_split(L, gpt2_pattern, 0, field) : 0;
}

static int read_split(loader *L, const cJSON *p, const char *field) {
    char sub[160];
    const cJSON *behavior = cJSON_GetObjectItemCaseSensitive(p, "behavior");
    snprintf(sub, sizeof sub, "%s.behavior", field);
    if (!cJSON_IsString(behavior) || strcmp(behavior->valuestring, "Isolated"))
        return refuse(L, sub, "only \"Isolated\" is supported", behavior);
    snprintf(sub, sizeof sub, "%s.invert", field);
    int invert = get_bool(L, p, "invert", sub, 0);
    if (invert) return invert < 0 ? CORE_EINPUT : refuse(L, sub, "must be false", cJSON_GetObjectItem(p, "invert"));
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(p, "pattern");
    const cJSON *re = cJSON_GetObjectItemCaseSensitive(pat, "Regex");
    const cJSON *str = cJSON_GetObjectItemCaseSensitive(pat, "String");
    snprintf(sub, sizeof sub, "%s.pattern", field);
    if (cJSON_IsString(re) && re->valuestring[0]) return add_split(L, re->valuestring, 0, sub);
    if (cJSON_IsString(str) && str->valuestring[0]) return add_split(L, str->valuestring, 1, sub);
    return refuse(L, sub, "needs a non-empty {\"Regex\": ...} or {\"String\": ...}", pat);
}

static int read_pre_tokenizer(loader *L, const cJSON *p) {
    const char *type = type_of(p);
    if (type && !strcmp(type, "ByteLevel")) return read_byte_level(L, p, "pre_tokenizer");
    if (!type || strcmp(type, "Sequence"))
        return refuse(L, "pre_tokenizer", "unsupported (grpo reads ByteLevel, or a Sequence of Split/Digits ending in ByteLevel)", p);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(p, "pretokenizers"), *x;
    if (!cJSON_IsArray(list) || !cJSON_GetArraySize(list))
        return refuse(L, "pre_tokenizer.pretokenizers", "must be a non-empty array", list);
    int i = 0, n = cJSON_GetArraySize(list);
    cJSON_ArrayForEach(x, list) {
        char field[96];
        snprintf(field, sizeof field, "pre_tokenizer.pretokenizers[%d]", i);
        const char *t = type_of(x);
        int last = ++i == n, rc;
        if (t && !strcmp(t, "ByteLevel") && last) rc = read_byte_level(L, x, field);
        else if (t && !strcmp(t, "Split") && !last) rc = read_split(L, x, field);
        else if (t && !strcmp(t, "Digits") && !last) {
            char sub[128];
            snprintf(sub, sizeof sub, "%s.individual_digits", field);
            int individual = get_bool(L, x, "individual_digits", sub, 0);
            /* Digits splits on char::is_numeric: \p{N}, one by one or in runs */
            rc = individual < 0 ? CORE_EINPUT : add_split(L, individual ? "\\p{N}" : "\\p{N}+", 0, field);
        } else {
            strcat(field, ".type");
            rc = refuse(L, field,
                        last ? "the last pre-tokenizer must be ByteLevel"
                             : "unsupported (grpo reads Split and Digits, then ByteLevel last)",
                        cJSON_GetObjectItemCaseSensitive(x, "type"));
        }
        if (rc) return rc;
    }
    return 0;
}

/* A BPE option that must be null/absent, false or empty to mean "off". */
static int check_off(loader *L, const cJSON *model, const char *key, const char *why) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(model, key);
    if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v) || (cJSON_IsString(v) && !v->valuestring[0]) ||
        (cJSON_IsNumber(v) && v->valuedouble == 0))
        return 0;
    char field[64];
    snprintf(field, sizeof field, "model.%s", key);
    return refuse(L, field, why, v);
}

static int read_vocab(loader *L, const cJSON *vocab) {
    if (!cJSON_IsObject(vocab)) return refuse(L, "model.vocab", "must be an object {token: id}", NULL);
    const cJSON *x;
    cJSON_ArrayForEach(x, vocab) {
        if (!cJSON_IsNumber(x) || x->valuedouble != (double)x->valueint || x->valueint < 0 || x->valueint > HF_MAX_ID)
            return refuse(L, "model.vocab", "ids must be integers in 0..2^24", x);
        if (bpe_add_token(&L->h->model, x->string, x->valueint, L->err))
            return core_fail_wrap(L->err, "%s: field \"model.vocab\"", L->file);
    }
    bpe_finish_vocab(&L->h->model);
    return 0;
}

static int read_merges(loader *L, const cJSON *merges) {
    if (!cJSON_IsArray(merges)) return refuse(L, "model.merges", "must be an array", NULL);
    const cJSON *x;
    int rank = 0;
    cJSON_ArrayForEach(x, merges) {
        const char *left = NULL, *right = NULL;
        char *split = NULL;
        if (cJSON_IsString(x)) { /* "a b" (tokens never hold a space: it is "Ġ" in the alphabet) */
            const char *space = strchr(x->valuestring, ' ');
            if (space && !strchr(space + 1, ' ')) {
                if (!(split = strndup(x->valuestring, (size_t)(space - x->valuestring))))
                    return core_fail(L->err, CORE_ERUNTIME, "out of memory");
                left = split;
                right = space + 1;
            }
        } else if (cJSON_IsArray(x) && cJSON_GetArraySize(x) == 2 && cJSON_IsString(x->child) &&
                   cJSON_IsString(x->child->next)) {
            left = x->child->valuestring;
            right = x->child->next->valuestring;
        }
        int rc = left ? bpe_add_merge(&L->h->model, left, right, rank, L->err) : CORE_EINPUT;
        free(split);
        if (rc) {
            char field[48];
            snprintf(field, sizeof field, "model.merges[%d]", rank);
            if (!left) return refuse(L, field, "a merge is \"a b\" or [\"a\", \"b\"]", x);
            return core_fail_wrap(L->err, "%s: field \"%s\"", L->file, field);
        }
        rank++;
    }
    return 0;
}

static int read_model(loader *L, const cJSON *model) {
    const char *type = type_of(model);
    if (!cJSON_IsObject(model)) return refuse(L, "model", "missing or not an object", model);
    if (type ? strcmp(type, "BPE") != 0 : !cJSON_GetObjectItemCaseSensitive(model, "merges"))
        return refuse(L, "model.type", "only byte-level BPE is supported", cJSON_GetObjectItem(model, "type"));
    if (check_off(L, model, "dropout", "BPE dropout is random; grpo encodes deterministically") ||
        check_off(L, model, "byte_fallback", "byte_fallback (SentencePiece-style BPE) is not supported") ||
        check_off(L, model, "continuing_subword_prefix", "not supported in byte-level BPE") ||
        check_off(L, model, "end_of_word_suffix", "not supported in byte-level BPE"))
        return CORE_EINPUT;
    bpe *b = &L->h->model;
    b->max_id = -1;
    b->unk = -1;
    if ((b->ignore_merges = get_bool(L, model, "ignore_merges", "model.ignore_merges", 0)) < 0 ||
        (b->fuse_unk = get_bool(L, model, "fuse_unk", "model.fuse_unk", 0)) < 0)
        return CORE_EINPUT;
    if (read_vocab(L, cJSON_GetObjectItemCaseSensitive(model, "vocab"))) return CORE_EINPUT;
    const cJSON *unk = cJSON_GetObjectItemCaseSensitive(model, "unk_token");
    if (cJSON_IsString(unk)) {
        if ((b->unk = bpe_find(b, unk->valuestring, strlen(unk->valuestring))) < 0)
            return refuse(L, "model.unk_token", "not in the vocab", unk);
    } else if (unk && !cJSON_IsNull(unk)) {
        return refuse(L, "model.unk_token", "must be a string or null", unk);
    }
    return read_merges(L, cJSON_GetObjectItemCaseSensitive(model, "merges"));
}

static int read_added_token(loader *L, const cJSON *x, hf_added *a, const char *field) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(x, "id");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(x, "content");
    char sub[96];
    snprintf(sub, sizeof sub, "%s.id", field);
    if (!cJSON_IsNumber(id) || id->valuedouble != (double)id->valueint || id->valueint < 0 || id->valueint > HF_MAX_ID)
        return refuse(L, sub, "must be an integer in 0..2^24", id);
    snprintf(sub, sizeof sub, "%s.content", field);
    if (!cJSON_IsString(content) || !content->valuestring[0]) return refuse(L, sub, "must be a non-empty string", content);
    static const char *const unsupported[] = {"single_word", "lstrip", "rstrip"};
    for (int i = 0; i < 3; i++) {
        snprintf(sub, sizeof sub, "%s.%s", field, unsupported[i]);
        int on = get_bool(L, x, unsupported[i], sub, 0);
        if (on) return on < 0 ? CORE_EINPUT : refuse(L, sub, "must be false (not supported)", cJSON_GetObjectItem(x, unsupported[i]));
    }
    snprintf(sub, sizeof sub, "%s.special", field);
    if ((a->special = get_bool(L, x, "special", sub, 0)) < 0) return CORE_EINPUT;
    snprintf(sub, sizeof sub, "%s.normalized", field);
    if ((a->normalized = get_bool(L, x, "normalized", sub, !a->special)) < 0) return CORE_EINPUT;
    a->id = id->valueint;
    a->name = strdup(content->valuestring);
    if (!a->name) return core_fail(L->err, CORE_ERUNTIME, "out of memory");
    if (a->normalized && L->h->nfc) {
        a->content = hf_nfc(a->name, strlen(a->name), &a->len);
    } else {
        a->content = strdup(a->name);
        a->len = strlen(a->name);
    }
    return a->content ? 0 : core_fail(L->err, CORE_ERUNTIME, "out of memory");
}

/* Longest first within one first byte (qsort_r context: the tokens). */
static int by_first_byte_then_longest(const void *pa, const void *pb, void *ctx) {
    const hf_added *x = (const hf_added *)ctx + *(const int *)pa, *y = (const hf_added *)ctx + *(const int *)pb;
    unsigned char cx = (unsigned char)x->content[0], cy = (unsigned char)y->content[0];
    if (cx != cy) return cx - cy;
    return x->len > y->len ? -1 : x->len < y->len;
}

static int build_added_set(hf_tok *h, hf_added_set *set, int normalized) {
    set->order = malloc(((size_t)h->n_added + 1) * sizeof *set->order);
    if (!set->order) return -1;
    for (int i = 0; i < h->n_added; i++)
        if (h->added[i].normalized == normalized && h->added[i].len) set->order[set->n++] = i;
    qsort_r(set->order, (size_t)set->n, sizeof *set->order, by_first_byte_then_longest, h->added);
    int k = 0;
    for (int c = 0; c <= 256; c++) {
        while (k < set->n && (unsigned char)h->added[set->order[k]].content[0] < c) k++;
        set->begin[c] = k;
    }
    return 0;
}

static int read_added_tokens(loader *L, const cJSON *list) {
    hf_tok *h = L->h;
    if (!list || cJSON_IsNull(list)) return 0;
    if (!cJSON_IsArray(list)) return refuse(L, "added_tokens", "must be an array", NULL);
    h->added = calloc((size_t)cJSON_GetArraySize(list) + 1, sizeof *h->added);
    if (!h->added) return core_fail(L->err, CORE_ERUNTIME, "out of memory");
    const cJSON *x;
    cJSON_ArrayForEach(x, list) {
        char field[48];
        snprintf(field, sizeof field, "added_tokens[%d]", h->n_added);
        if (read_added_token(L, x, &h->added[h->n_added], field)) return CORE_EINPUT;
        h->n_added++;
    }
    if (build_added_set(h, &h->raw_set, 0) || build_added_set(h, &h->norm_set, 1))
        return core_fail(L->err, CORE_ERUNTIME, "out of memory");
    return 0;
}

/* ------------------------------------------------------ what ids decode to
 * The ByteLevel decoder: a token made only of the alphabet decodes to the
 * bytes it stands for, any other token to its own UTF-8 (added tokens go
 * through the same rule, as in the library). */

static int set_piece(hf_tok *h, size_t *used, size_t *cap, int id, const char *name) {
    size_t len = strlen(name);
    if (*used + len > *cap) {
        size_t cap2 = *cap ? *cap * 2 : 1 << 20;
        while (cap2 < *used + len) cap2 *= 2;
        char *p = realloc(h->pieces, cap2);
        if (!p) return -1;
        h->pieces = p;
        *cap = cap2;
    }
    long n = bpe_unmap(name, len, h->pieces + *used);
    if (n < 0) {
        memcpy(h->pieces + *used, name, len);
        n = (long)len;
    }
    h->piece_off[id] = (uint32_t)*used;
    h->piece_len[id] = (uint32_t)n;
    *used += (size_t)n;
    return 0;
}

static int build_pieces(loader *L, const cJSON *vocab, int size) {
    hf_tok *h = L->h;
    h->piece_off = calloc((size_t)size, sizeof *h->piece_off);
    h->piece_len = calloc((size_t)size, sizeof *h->piece_len);
    h->special = calloc((size_t)size, 1);
    if (!h->piece_off || !h->piece_len || !h->special) return core_fail(L->err, CORE_ERUNTIME, "out of memory");
    size_t used = 0, cap = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, vocab)
        if (set_piece(h, &used, &cap, x->valueint, x->string)) return core_fail(L->err, CORE_ERUNTIME, "out of memory");
    for (int i = 0; i < h->n_added; i++) {
        if (set_piece(h, &used, &cap, h->added[i].id, h->added[i].name))
            return core_fail(L->err, CORE_ERUNTIME, "out of memory");
        h->special[h->added[i].id] |= (unsigned char)h->added[i].special;
    }
    return 0;
}

/* ------------------------------------------------------------ the kind */

static const char *hf_piece(const tokenizer *t, int id, size_t *len) {
    const hf_tok *h = t->impl;
    *len = h->piece_len[id];
    return h->pieces + h->piece_off[id];
}

static int hf_is_special(const tokenizer *t, int id) { return ((const hf_tok *)t->impl)->special[id]; }

static int hf_find(const tokenizer *t, const char *token) {
    const hf_tok *h = t->impl;
    for (int i = 0; i < h->n_added; i++)
        if (!strcmp(h->added[i].name, token)) return h->added[i].id;
    return bpe_find(&h->model, token, strlen(token));
}

static void hf_free(tokenizer *t) {
    hf_tok *h = t->impl;
    if (!h) return;
    bpe_free(&h->model);
    for (int i = 0; i < h->n_added; i++) {
        free(h->added[i].name);
        free(h->added[i].content);
    }
    free(h->added);
    free(h->raw_set.order);
    free(h->norm_set.order);
    for (int i = 0; i < h->n_splits; i++) pcre2_code_free(h->splits[i]);
    free(h->pieces);
    free(h->piece_off);
    free(h->piece_len);
    free(h->special);
    free(h);
    t->impl = NULL;
}

static const tokenizer_kind hf_kind = {"hf-bpe", hf_encode, hf_piece, hf_is_special, hf_find, hf_free};

/* ------------------------------------------------------------- the files */

static int read_file(const char *path, char **out, size_t *len, core_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return core_fail(err, CORE_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n + 65536 > cap) {
            cap = cap ? cap * 2 : 1 << 20;
            char *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                fclose(f);
                return core_fail(err, CORE_ERUNTIME, "%s: out of memory", path);
            }
            buf = b;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return core_fail(err, CORE_EINPUT, "%s: read error", path);
    }
    *out = buf;
    *len = n;
    return 0;
}

/* Where a JSON parse stopped: its line, and the path of keys open there
 * ("model.merges"), found by walking the text up to that point. */
static void json_error_place(const char *text, size_t at, int *line, char *path, size_t cap) {
    enum { DEPTH = 16, KEY = 48 };
    char keys[DEPTH][KEY] = {{0}};
    int depth = 0, in_string = 0, expect_key = 0, is_object[DEPTH] = {0};
    size_t str_start = 0;
    *line = 1;
    for (size_t i = 0; i < at; i++) {
        char c = text[i];
        if (c == '\n') ++*line;
        if (in_string) {
            if (c == '\\') i++;
            else if (c == '"') {
                in_string = 0;
                if (expect_key && depth > 0 && depth <= DEPTH) {
                    size_t n = i - str_start < KEY - 1 ? i - str_start : KEY - 1;
                    memcpy(keys[depth - 1], text + str_start, n);
                    keys[depth - 1][n] = 0;
                    expect_key = 0;
                }
            }
        } else if (c == '"') {
            in_string = 1;
            str_start = i + 1;
        } else if (c == '{' || c == '[') {
            if (depth < DEPTH) is_object[depth] = c == '{', keys[depth][0] = 0;
            depth++;
            expect_key = c == '{';
        } else if (c == '}' || c == ']') {
            if (depth > 0) depth--;
        } else if (c == ',') {
            expect_key = depth > 0 && depth <= DEPTH && is_object[depth - 1];
        }
    }
    path[0] = 0;
    for (int d = 0; d < depth && d < DEPTH; d++) {
        if (!is_object[d] || !keys[d][0]) continue;
        size_t n = strlen(path);
        snprintf(path + n, cap - n, "%s%s", n ? "." : "", keys[d]);
    }
}

static int parse_json_file(const char *path, cJSON **out, core_error *err) {
    char *text = NULL;
    size_t len = 0;
    if (read_file(path, &text, &len, err)) return err->code;
    const char *end = NULL;
    *out = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!*out || !cJSON_IsObject(*out)) {
        int line = 1;
        char where[256] = "";
        if (!*out) json_error_place(text, end ? (size_t)(end - text) : len, &line, where, sizeof where);
        core_fail(err, CORE_EINPUT, "%s:%d: %s%s%s%s", path, line,
                  *out ? "not a JSON object" : end && (size_t)(end - text) >= len ? "truncated JSON" : "not valid JSON",
                  where[0] ? " (in field \"" : "", where, where[0] ? "\")" : "");
        cJSON_Delete(*out);
        *out = NULL;
    }
    free(text);
    return *out ? 0 : CORE_EINPUT;
}

static int read_tokenizer_json(loader *L, const cJSON *j, tokenizer *t) {
    static const char *const must_be_null[] = {"truncation", "padding"};
    for (int i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, must_be_null[i]);
        if (v && !cJSON_IsNull(v)) return refuse(L, must_be_null[i], "must be null (it changes what encoding returns)", v);
    }
    const cJSON *decoder = cJSON_GetObjectItemCaseSensitive(j, "decoder");
    const char *dtype = type_of(decoder);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(j, "model");
    /* the model first: "Unigram" says more than the pre-tokenizer that comes with it */
    if (read_model(L, model)) return L->err->code;
    if (!dtype || strcmp(dtype, "ByteLevel")) return refuse(L, "decoder", "only ByteLevel is supported", decoder);
    if (read_nfc_normalizer(L, cJSON_GetObjectItemCaseSensitive(j, "normalizer"), "normalizer") ||
        read_pre_tokenizer(L, cJSON_GetObjectItemCaseSensitive(j, "pre_tokenizer")) ||
        read_added_tokens(L, cJSON_GetObjectItemCaseSensitive(j, "added_tokens")))
        return L->err->code;
    int size = L->h->model.max_id + 1;
    for (int i = 0; i < L->h->n_added; i++)
        if (L->h->added[i].id >= size) size = L->h->added[i].id + 1;
    if (size == 0) return refuse(L, "model.vocab", "is empty", NULL);
    t->size = size;
    return build_pieces(L, cJSON_GetObjectItemCaseSensitive(model, "vocab"), size);
}

/* bos_token / eos_token / pad_token: a string, {"content": ...} or null. */
static int config_token(const cJSON *cfg, const char *key, const tokenizer *t, const char *file, int *id,
                        core_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    *id = -1;
    if (!v || cJSON_IsNull(v)) return 0;
    if (cJSON_IsObject(v)) v = cJSON_GetObjectItemCaseSensitive(v, "content");
    if (!cJSON_IsString(v))
        return core_fail(err, CORE_EINPUT, "%s: field \"%s\": must be a string, {\"content\": ...} or null", file, key);
    if ((*id = hf_find(t, v->valuestring)) < 0)
        return core_fail(err, CORE_EINPUT, "%s: field \"%s\": \"%s\" is not a token of tokenizer.json", file, key,
                         v->valuestring);
    return 0;
}

static int read_tokenizer_config(tokenizer *t, const char *dir, core_error *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    FILE *f = fopen(path, "rb");
    if (!f) return errno == ENOENT ? 0 : core_fail(err, CORE_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    fclose(f);
    cJSON *cfg;
    if (parse_json_file(path, &cfg, err)) return err->code;
    int eos = -1, rc = config_token(cfg, "bos_token", t, path, &t->bos, err) ||
                       config_token(cfg, "eos_token", t, path, &eos, err) ||
                       config_token(cfg, "pad_token", t, path, &t->pad, err);
    cJSON_Delete(cfg);
    if (rc) return CORE_EINPUT;
    if (eos >= 0) t->eos[t->n_eos++] = eos;
    return 0;
}

int tokenizer_load_hf(tokenizer **out, const char *dir, core_error *err) {
    *out = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    tokenizer *t = calloc(1, sizeof *t);
    hf_tok *h = calloc(1, sizeof *h);
    if (!t || !h) {
        free(t);
        free(h);
        return core_fail(err, CORE_ERUNTIME, "out of memory");
    }
    *t = (tokenizer){.kind = &hf_kind, .bos = -1, .pad = -1, .impl = h};
    cJSON *j;
    loader L = {h, path, err};
    int rc = parse_json_file(path, &j, err);
    if (!rc) {
        rc = read_tokenizer_json(&L, j, t);
        cJSON_Delete(j);
    }
    if (!rc) rc = read_tokenizer_config(t, dir, err);
    if (rc) {
        tokenizer_free(t);
        return rc;
    }
    *out = t;
    return 0;
}
