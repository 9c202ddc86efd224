/*
 * tests/fuzz/fuzz_tokenizer.c — libFuzzer target for the Hugging Face BPE
 * tokenizer (model/tokenizer_hf*.c, model/tokenizer_bpe.c) on arbitrary
 * bytes, valid UTF-8 or not.
 *
 * fuzz-sources: model/tokenizer.c model/tokenizer_bpe.c model/tokenizer_hf.c model/tokenizer_hf_encode.c core/core.c
 *
 * (An added token made of ByteLevel characters such as "é" would decode to
 * the bytes they stand for, as in the library, so the one normalized added
 * token here, "ab cd", has a space.)  Two tokenizers are written once to a temporary directory: "plain" (the
 * Llama 3 layout: Split with Llama 3's pattern, ByteLevel without regex,
 * ignore_merges, no normalizer) and "nfc" (NFC, ByteLevel with the GPT-2
 * pattern).  Beyond "no crash, no UB, no leak", for any input:
 *   - every id is inside the vocabulary, and there are at most as many ids
 *     as bytes after normalization (each id covers at least one byte);
 *   - plain: decode(encode(x)) == x, byte for byte;
 *   - nfc: encoding is deterministic, and decode(encode(x)) == decode of
 *     encoding that decoded text again (NFC is idempotent);
 *   - too small an id buffer gives -1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/tokenizer.h"

static const char *const merges[][2] = {
    {"\\u0120", "t"}, {"h", "e"}, {"\\u0120t", "he"}, {"i", "n"}, {"\\u0120", "a"}, {"e", "r"},
    {"\\u00c3", "\\u00a9"}, {"\\u0120", "\\u0120"}, {"\\u0120\\u0120", "\\u0120\\u0120"}, {"1", "2"},
};

static int is_printable(int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE); }

static void write_tokenizer(const char *dir, const char *normalizer, const char *pre, int ignore_merges) {
    char path[256];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) abort();
    fprintf(f, "{\"added_tokens\": [{\"id\": 300, \"content\": \"<|x|>\", \"special\": true, \"normalized\": false},"
               " {\"id\": 301, \"content\": \"<think>\", \"special\": false, \"normalized\": false},"
               " {\"id\": 302, \"content\": \"ab cd\", \"special\": false, \"normalized\": true}],"
               " \"normalizer\": %s, \"pre_tokenizer\": %s,"
               " \"decoder\": {\"type\": \"ByteLevel\"},"
               " \"model\": {\"type\": \"BPE\", \"ignore_merges\": %s, \"vocab\": {",
            normalizer, pre, ignore_merges ? "true" : "false");
    for (int b = 0, extra = 0; b < 256; b++) {
        int cp = is_printable(b) ? b : 256 + extra++;
        if (cp == '"' || cp == '\\') fprintf(f, "%s\"\\%c\": %d", b ? ", " : "", cp, b);
        else fprintf(f, "%s\"\\u%04x\": %d", b ? ", " : "", cp, b);
    }
    int n = sizeof merges / sizeof merges[0];
    for (int i = 0; i < n; i++) fprintf(f, ", \"%s%s\": %d", merges[i][0], merges[i][1], 256 + i);
    fputs("}, \"merges\": [", f);
    for (int i = 0; i < n; i++) fprintf(f, "%s[\"%s\", \"%s\"]", i ? ", " : "", merges[i][0], merges[i][1]);
    fputs("]}}\n", f);
    fclose(f);
}

static tokenizer *load(const char *normalizer, const char *pre, int ignore_merges) {
    char dir[] = "/tmp/grpo-fuzz-tok-XXXXXX", path[256];
    if (!mkdtemp(dir)) abort();
    write_tokenizer(dir, normalizer, pre, ignore_merges);
    tokenizer *t;
    core_error err = {0};
    if (tokenizer_load_hf(&t, dir, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        abort();
    }
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    unlink(path);
    rmdir(dir);
    return t;
}

static tokenizer *plain, *nfc;

static void load_once(void) {
    if (plain) return;
    plain = load("null",
                 "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\":"
                 " \"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}|"
                 " ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},"
                 " \"behavior\": \"Isolated\", \"invert\": false},"
                 " {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": false}]}",
                 1);
    nfc = load("{\"type\": \"NFC\"}", "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true}", 0);
}

/* Encode s, checking the ids; returns a malloc'd array and its length. */
static int *encode_checked(const tokenizer *t, const char *s, size_t n, int *count) {
    size_t cap = 3 * n + 8; /* NFC grows UTF-8 by at most 3x */
    int *ids = malloc(cap * sizeof *ids);
    int k = tokenizer_encode(t, s, n, ids, (int)cap);
    if (k < 0 || (size_t)k > cap) __builtin_trap();
    for (int i = 0; i < k; i++)
        if (ids[i] < 0 || ids[i] >= tokenizer_size(t)) __builtin_trap();
    if (k > 0 && tokenizer_encode(t, s, n, ids + k, 0) != -1) __builtin_trap(); /* no room at all */
    *count = k;
    return ids;
}

static char *decode(const tokenizer *t, const int *ids, int k, size_t *len) {
    *len = tokenizer_decode(t, ids, k, 0, NULL, 0);
    char *out = malloc(*len + 1);
    if (tokenizer_decode(t, ids, k, 0, out, *len + 1) != *len) __builtin_trap();
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    load_once();
    const char *s = (const char *)data;
    int k;
    size_t len;
    int *ids = encode_checked(plain, s, size, &k);
    if ((size_t)k > size) __builtin_trap();
    char *back = decode(plain, ids, k, &len);
    if (len != size || memcmp(back, s, size)) __builtin_trap();
    free(ids);
    free(back);

    int k1, k2, k3;
    int *a = encode_checked(nfc, s, size, &k1), *b = encode_checked(nfc, s, size, &k2);
    if (k1 != k2 || memcmp(a, b, (size_t)k1 * sizeof *a)) __builtin_trap();
    size_t l1, l2;
    char *text = decode(nfc, a, k1, &l1);
    int *c = encode_checked(nfc, text, l1, &k3);
    char *again = decode(nfc, c, k3, &l2);
    if (l1 != l2 || memcmp(text, again, l1)) __builtin_trap();
    free(a);
    free(b);
    free(c);
    free(text);
    free(again);
    return 0;
}
