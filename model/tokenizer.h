/*
 * model/tokenizer.h — byte-level tokenizer with a few special tokens.
 *
 * Ids 0..255 are the raw bytes, so any byte string encodes and decodes
 * exactly.  Special tokens follow.  The template tags "<think>", "</think>",
 * "<answer>" and "</answer>" are encoded as single tokens wherever they
 * appear in the text (one token instead of 7–9 makes the format cheap to
 * learn and to sample); every other byte is its own token.
 *
 * Decoding prints the tag tokens as their text, so decode(encode(s)) == s
 * for every byte string s.  TOK_BOS, TOK_EOS and TOK_PAD decode to nothing
 * (they mark sequence boundaries, they are not text).  Ids outside
 * [0, TOK_N_SPECIAL_END) decode to nothing as well.
 */
#ifndef GRPO_MODEL_TOKENIZER_H
#define GRPO_MODEL_TOKENIZER_H

#include <stddef.h>

enum {
    TOK_BOS = 256,
    TOK_EOS,
    TOK_PAD,
    TOK_THINK_OPEN,    /* "<think>"   */
    TOK_THINK_CLOSE,   /* "</think>"  */
    TOK_ANSWER_OPEN,   /* "<answer>"  */
    TOK_ANSWER_CLOSE,  /* "</answer>" */
    TOK_N_SPECIAL_END  /* = 263: the smallest vocab that holds every token */
};

/* Encode len bytes of text into ids.  Returns the number of ids, or -1 if
 * max_ids is too small (ids then holds the first max_ids of them). */
int tok_encode(const char *text, size_t len, int *ids, int max_ids);

/* Decode n ids into out (NUL-terminated when cap > 0).  Returns the length
 * the full text needs (excluding the NUL), like snprintf: if it is >= cap
 * the output was truncated. */
size_t tok_decode(const int *ids, int n, char *out, size_t cap);

/* The text of one token ("" for bos/eos/pad and ids out of range) and its
 * length: the piece tok_decode appends for it. */
const char *tok_piece(int id, size_t *len); /* not NUL-terminated */

#endif
