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

#include "core/core.h"

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

/* -------------------------------------------------------- tokenizer objects
 * One interface over the tokenizers a model can come with: the byte-level
 * one above (tokenizer_bytes) and a Hugging Face byte-level BPE loaded from
 * a model directory's tokenizer.json (tokenizer_load_hf).  Every caller
 * outside model/ goes through these; tok_* above are the byte-level
 * implementation.  A tokenizer is read-only after loading, so threads may
 * share it.
 */
typedef struct tokenizer tokenizer;

/* The built-in byte-level tokenizer (static; tokenizer_free ignores it). */
const tokenizer *tokenizer_bytes(void);
/* DIR/tokenizer.json (byte-level BPE: added tokens, normalizer, Split and
 * ByteLevel pre-tokenizers, merges) and, when present, DIR/tokenizer_config.json
 * (bos/eos/pad tokens).  Anything else (Unigram, WordPiece, ...) is refused
 * with CORE_EINPUT naming the file and the field. */
int tokenizer_load_hf(tokenizer **out, const char *dir, core_error *err);
void tokenizer_free(tokenizer *t);

/* Encode as `tokenizer(text, add_special_tokens=False)` does: added tokens
 * in the text become their ids, nothing is prepended or appended.  Returns
 * the number of ids, or -1 if max_ids is too small. */
int tokenizer_encode(const tokenizer *t, const char *text, size_t len, int *ids, int max_ids);
/* Decode like tok_decode (snprintf-style return).  skip_special: special
 * tokens (bos, eos, pad, and added tokens marked special) decode to nothing,
 * as `decode(ids, skip_special_tokens=True)`. */
size_t tokenizer_decode(const tokenizer *t, const int *ids, int n, int skip_special, char *out,
                        size_t cap);
/* The bytes one token decodes to ("" for ids out of range). */
const char *tokenizer_piece(const tokenizer *t, int id, size_t *len);
/* Ids are 0..tokenizer_size-1 (vocab plus added tokens). */
int tokenizer_size(const tokenizer *t);
/* The id of a token by its text (vocab entry or added token), or -1. */
int tokenizer_find(const tokenizer *t, const char *token);
/* Special ids, -1 where the tokenizer has none. */
int tokenizer_bos(const tokenizer *t);
int tokenizer_eos(const tokenizer *t);   /* the first end-of-sequence id */
int tokenizer_pad(const tokenizer *t);
/* Is id one of the ids that end a completion (eos, and the extra stop ids
 * a model's generation_config.json lists)? */
int tokenizer_is_eos(const tokenizer *t, int id);
/* Add a stop id (from config.json / generation_config.json). */
int tokenizer_add_eos(tokenizer *t, int id, core_error *err);

#endif
