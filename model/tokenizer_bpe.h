/*
 * model/tokenizer_bpe.h — the byte-level BPE model of a Hugging Face
 * tokenizer.json: vocabulary, merges by rank, the ByteLevel byte<->char map.
 * Private to model/ (tokenizer_hf.c builds on it); other folders use
 * tokenizer.h.
 *
 * Everything works on raw bytes.  tokenizer.json stores tokens in the
 * ByteLevel alphabet (byte 0x20 is "Ġ", 0x0A is "Ċ", ...); at load time every
 * token that is made only of that alphabet is turned back into the bytes it
 * stands for, so encoding never maps text to the alphabet and back.  A token
 * with a character outside the alphabet can never come out of byte-level
 * pre-tokenization, so encoding never reaches it; it stays findable by name.
 */
#ifndef GRPO_MODEL_TOKENIZER_BPE_H
#define GRPO_MODEL_TOKENIZER_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* Open-addressing hash table from byte strings (kept in an arena) to ids. */
typedef struct bpe_strmap {
    uint32_t *slots;  /* index+1 into the entries, 0 = empty; capacity a power of two */
    size_t cap;
    struct bpe_str { uint32_t off, len; int id; } *entries;
    size_t n, n_cap;
    char *arena;
    size_t arena_len, arena_cap;
} bpe_strmap;

int bpe_strmap_put(bpe_strmap *m, const char *s, size_t len, int id); /* 0, or -1: out of memory */
int bpe_strmap_get(const bpe_strmap *m, const char *s, size_t len);   /* id or -1 */
void bpe_strmap_free(bpe_strmap *m);

/* Open-addressing hash table from an id pair to (rank, merged id). */
typedef struct bpe_merges {
    struct bpe_merge { uint64_t key; int rank, id; } *slots; /* key 0 = empty */
    size_t cap, n;
} bpe_merges;

typedef struct bpe {
    bpe_strmap vocab;     /* raw bytes -> id, for tokens made only of the ByteLevel alphabet */
    bpe_strmap foreign;   /* UTF-8 name -> id, for the other tokens (reachable by name only) */
    bpe_merges merges;
    int byte_id[256];     /* the id of each single byte's token, -1 if the vocab lacks it */
    int unk;              /* unk_token's id, -1: characters missing from the vocab are dropped */
    int fuse_unk;
    int ignore_merges;    /* a pre-token that is a vocab entry is emitted as that one id */
    int max_id;           /* the largest id in the vocab (-1 if empty) */
} bpe;

/* The ByteLevel alphabet: the character (as UTF-8, 1-2 bytes) that stands for
 * byte b, and the byte a UTF-8 character stands for (-1 if none).  *used is
 * the length of the character read at s. */
const char *bpe_byte_char(int b, size_t *len);
int bpe_char_byte(const char *s, size_t len, size_t *used);
/* A token's name in the ByteLevel alphabet turned into raw bytes in out
 * (room for len bytes).  Returns the byte count, or -1 if some character is
 * not in the alphabet. */
long bpe_unmap(const char *name, size_t len, char *out);

/* Vocab entries: name (ByteLevel alphabet, UTF-8) -> id.  Returns 0 or a CORE_E*
 * code; why names the problem without the file. */
int bpe_add_token(bpe *b, const char *name, int id, core_error *err);
/* The merge of two names, rank = its position in the merges list. */
int bpe_add_merge(bpe *b, const char *left, const char *right, int rank, core_error *err);
/* After the vocab: fill byte_id. */
void bpe_finish_vocab(bpe *b);
/* The id of a vocab entry by its name (ByteLevel alphabet), or -1. */
int bpe_find(const bpe *b, const char *name, size_t len);
void bpe_free(bpe *b);

/* Where encoding writes ids: the first max go to ids, n counts them all. */
typedef struct bpe_ids {
    int *ids;
    int n, max;
} bpe_ids;

static inline void bpe_emit(bpe_ids *out, int id) {
    if (out->n < out->max) out->ids[out->n] = id;
    out->n++;
}

/* BPE over one pre-token of n raw bytes, as the `tokenizers` BPE model does
 * it (ignore_merges, then the lowest-ranked adjacent pair merged first, the
 * leftmost among equals); appends its ids to out. */
void bpe_encode_word(const bpe *b, const unsigned char *s, size_t n, bpe_ids *out);

#endif
