/*
 * model/tokenizer.c — byte-level tokenizer; see tokenizer.h.
 *
 * Encoding scans left to right; at a '<' it tries the four template tags
 * (longest first is not needed: no tag is a prefix of another).  Everything
 * else is one token per byte, so the round trip is exact for any bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "model/tokenizer_internal.h"

static const struct { int id; const char *text; size_t len; } tags[] = {
    {TOK_THINK_OPEN, "<think>", 7},
    {TOK_THINK_CLOSE, "</think>", 8},
    {TOK_ANSWER_OPEN, "<answer>", 8},
    {TOK_ANSWER_CLOSE, "</answer>", 9},
};
enum { N_TAGS = sizeof tags / sizeof tags[0] };

/* The tag starting at text[0..len), or -1. */
static int match_tag(const char *text, size_t len) {
    for (int i = 0; i < N_TAGS; i++)
        if (len >= tags[i].len && !memcmp(text, tags[i].text, tags[i].len)) return i;
    return -1;
}

int tok_encode(const char *text, size_t len, int *ids, int max_ids) {
    int n = 0;
    for (size_t i = 0; i < len;) {
        int id, tag = text[i] == '<' ? match_tag(text + i, len - i) : -1;
        if (tag >= 0) {
            id = tags[tag].id;
            i += tags[tag].len;
        } else {
            id = (unsigned char)text[i];
            i++;
        }
        if (n >= max_ids) return -1;
        ids[n++] = id;
    }
    return n;
}

/* Byte b's piece is byte_pieces + b (one byte; pieces are not NUL-terminated). */
static char byte_pieces[256];
__attribute__((constructor)) static void fill_byte_pieces(void) {
    for (int b = 0; b < 256; b++) byte_pieces[b] = (char)b;
}

const char *tok_piece(int id, size_t *len) {
    if (id >= 0 && id < 256) {
        *len = 1;
        return byte_pieces + id;
    }
    for (int i = 0; i < N_TAGS; i++)
        if (tags[i].id == id) {
            *len = tags[i].len;
            return tags[i].text;
        }
    *len = 0;
    return "";
}

/* ------------------------------------------------------ tokenizer objects */

static int bytes_encode(const tokenizer *t, const char *text, size_t len, int *ids, int max_ids) {
    (void)t;
    return tok_encode(text, len, ids, max_ids);
}
static const char *bytes_piece(const tokenizer *t, int id, size_t *len) {
    (void)t;
    return tok_piece(id, len);
}
static int bytes_is_special(const tokenizer *t, int id) {
    (void)t;
    return id == TOK_BOS || id == TOK_EOS || id == TOK_PAD;
}
static int bytes_find(const tokenizer *t, const char *token) {
    (void)t;
    size_t n = strlen(token);
    if (n == 1) return (unsigned char)token[0];
    int tag = match_tag(token, n);
    return tag >= 0 && tags[tag].len == n ? tags[tag].id : -1;
}

static const tokenizer_kind bytes_kind = {"bytes", bytes_encode, bytes_piece, bytes_is_special,
                                          bytes_find, NULL};
static const tokenizer bytes_tokenizer = {
    .kind = &bytes_kind, .size = TOK_N_SPECIAL_END, .bos = TOK_BOS, .pad = TOK_PAD,
    .n_eos = 1, .eos = {TOK_EOS},
};

const tokenizer *tokenizer_bytes(void) { return &bytes_tokenizer; }

void tokenizer_free(tokenizer *t) {
    if (!t || t == &bytes_tokenizer) return;
    if (t->kind->free) t->kind->free(t);
    free(t);
}

int tokenizer_encode(const tokenizer *t, const char *text, size_t len, int *ids, int max_ids) {
    return t->kind->encode(t, text, len, ids, max_ids);
}

const char *tokenizer_piece(const tokenizer *t, int id, size_t *len) {
    if (id < 0 || id >= t->size) {
        *len = 0;
        return "";
    }
    return t->kind->piece(t, id, len);
}

size_t tokenizer_decode(const tokenizer *t, const int *ids, int n, int skip_special, char *out,
                        size_t cap) {
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        if (skip_special && ids[i] >= 0 && ids[i] < t->size && t->kind->is_special(t, ids[i]))
            continue;
        size_t len;
        const char *piece = tokenizer_piece(t, ids[i], &len);
        if (cap > 0 && total < cap - 1) {
            size_t room = cap - 1 - total;
            memcpy(out + total, piece, len < room ? len : room);
        }
        total += len;
    }
    if (cap > 0) out[total < cap - 1 ? total : cap - 1] = 0;
    return total;
}

int tokenizer_size(const tokenizer *t) { return t->size; }
int tokenizer_find(const tokenizer *t, const char *token) { return t->kind->find(t, token); }
int tokenizer_bos(const tokenizer *t) { return t->bos; }
int tokenizer_pad(const tokenizer *t) { return t->pad; }
int tokenizer_eos(const tokenizer *t) { return t->n_eos ? t->eos[0] : -1; }

int tokenizer_is_eos(const tokenizer *t, int id) {
    for (int i = 0; i < t->n_eos; i++)
        if (t->eos[i] == id) return 1;
    return 0;
}

int tokenizer_add_eos(tokenizer *t, int id, core_error *err) {
    if (t == &bytes_tokenizer)
        return core_fail(err, CORE_EINPUT, "the byte-level tokenizer's eos is fixed (%d)", TOK_EOS);
    if (id < 0 || id >= t->size)
        return core_fail(err, CORE_EINPUT, "eos id %d outside the vocabulary (0..%d)", id, t->size - 1);
    if (tokenizer_is_eos(t, id)) return 0;
    if (t->n_eos == TOKENIZER_MAX_EOS)
        return core_fail(err, CORE_EINPUT, "more than %d eos ids", TOKENIZER_MAX_EOS);
    t->eos[t->n_eos++] = id;
    return 0;
}

size_t tok_decode(const int *ids, int n, char *out, size_t cap) {
    /* the byte-level specials decode to "" either way */
    return tokenizer_decode(&bytes_tokenizer, ids, n, 0, out, cap);
}
