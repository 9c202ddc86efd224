/*
 * model/tokenizer_internal.h — what a tokenizer object is made of, shared by
 * tokenizer.c (the byte-level kind and the dispatch) and tokenizer_hf.c (the
 * Hugging Face byte-level BPE kind).  Not a public header: other folders use
 * tokenizer.h.
 */
#ifndef GRPO_MODEL_TOKENIZER_INTERNAL_H
#define GRPO_MODEL_TOKENIZER_INTERNAL_H

#include "model/tokenizer.h"

/* The operations one kind of tokenizer provides (see tokenizer.h for each). */
typedef struct tokenizer_kind {
    const char *name;
    int (*encode)(const tokenizer *t, const char *text, size_t len, int *ids, int max_ids);
    const char *(*piece)(const tokenizer *t, int id, size_t *len);
    int (*is_special)(const tokenizer *t, int id); /* skipped by decode(skip_special) */
    int (*find)(const tokenizer *t, const char *token);
    void (*free)(tokenizer *t);
} tokenizer_kind;

enum { TOKENIZER_MAX_EOS = 16 };

struct tokenizer {
    const tokenizer_kind *kind;
    int size;                        /* ids 0..size-1 */
    int bos, pad;                    /* -1: none */
    int n_eos, eos[TOKENIZER_MAX_EOS]; /* eos[0] is tokenizer_eos */
    void *impl;                      /* the kind's own state */
};

#endif
