/*
 * model/tokenizer.c — byte-level tokenizer; see tokenizer.h.
 *
 * Encoding scans left to right; at a '<' it tries the four template tags
 * (longest first is not needed: no tag is a prefix of another).  Everything
 * else is one token per byte, so the round trip is exact for any bytes.
 */
#include <string.h>

#include "model/tokenizer.h"

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

size_t tok_decode(const int *ids, int n, char *out, size_t cap) {
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        size_t len;
        const char *piece = tok_piece(ids[i], &len);
        if (cap > 0 && total < cap - 1) {
            size_t room = cap - 1 - total;
            memcpy(out + total, piece, len < room ? len : room);
        }
        total += len;
    }
    if (cap > 0) out[total < cap - 1 ? total : cap - 1] = 0;
    return total;
}
