/*
 * model/tokenizer_hf.h — the Hugging Face byte-level BPE tokenizer kind,
 * shared by tokenizer_hf.c (loading tokenizer.json and tokenizer_config.json)
 * and tokenizer_hf_encode.c (the encoding pipeline).  Private to model/.
 *
 * The pipeline, as the `tokenizers` library runs it for
 * `encode(text, add_special_tokens=False)`:
 *   1. added tokens with "normalized": false are found in the raw text
 *      (leftmost, then longest) and become their ids;
 *   2. each stretch between them is normalized (NFC or nothing);
 *   3. added tokens with "normalized": true are found in the normalized
 *      stretch (their content normalized the same way);
 *   4. each remaining stretch is split by the pre-tokenizer regexes in turn
 *      (Split patterns, Digits, and ByteLevel's own GPT-2 pattern when its
 *      use_regex is on), every match and every gap between matches a piece;
 *   5. each piece goes through BPE (tokenizer_bpe.c) as raw bytes.
 */
#ifndef GRPO_MODEL_TOKENIZER_HF_H
#define GRPO_MODEL_TOKENIZER_HF_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdint.h>

#include "model/tokenizer_bpe.h"
#include "model/tokenizer_internal.h"

typedef struct hf_added {
    char *name;     /* the content as tokenizer.json gives it */
    char *content;  /* as matched: NFC-normalized first when normalized and the normalizer is NFC */
    size_t len;
    int id, special, normalized;
} hf_added;

/* The added tokens of one kind (normalized or not), for leftmost-longest
 * matching: indices into hf_tok.added grouped by first byte, longest first. */
typedef struct hf_added_set {
    int *order;
    int begin[257]; /* order[begin[c]..begin[c+1]) start with byte c */
    int n;
} hf_added_set;

enum { HF_MAX_SPLITS = 8 };

typedef struct hf_tok {
    bpe model;
    hf_added *added;
    int n_added;
    hf_added_set raw_set, norm_set;
    int nfc;                              /* the normalizer applies NFC */
    pcre2_code *splits[HF_MAX_SPLITS];    /* applied in order; ByteLevel's pattern last */
    int split_jit[HF_MAX_SPLITS];         /* JIT-compiled */
    int n_splits;
    char *pieces;                         /* the bytes every id decodes to */
    uint32_t *piece_off, *piece_len;      /* per id */
    unsigned char *special;               /* per id: an added token marked special */
} hf_tok;

/* Encode as tokenizer.h's tokenizer_encode does. */
int hf_encode(const tokenizer *t, const char *text, size_t len, int *ids, int max_ids);
/* NFC of n bytes (invalid UTF-8 bytes are kept as they are, the valid runs
 * around them normalized): a malloc'd buffer, its length in *out_len. */
char *hf_nfc(const char *s, size_t n, size_t *out_len);

#endif
