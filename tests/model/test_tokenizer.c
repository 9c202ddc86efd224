/* tests/model/test_tokenizer.c — byte-level tokenizer: exact round trip, tags as one token. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/core.h"
#include "model/tokenizer.h"

Test(tokenizer, tags_are_single_tokens) {
    const char *s = "Q:1+2=<think>1+2=3</think><answer>3</answer>";
    int ids[64];
    int n = tok_encode(s, strlen(s), ids, 64);
    cr_assert_eq(n, (int)strlen("Q:1+2=") + 1 + 5 + 1 + 1 + 1 + 1);
    cr_assert_eq(ids[0], 'Q');
    cr_assert_eq(ids[6], TOK_THINK_OPEN);
    cr_assert_eq(ids[12], TOK_THINK_CLOSE);
    cr_assert_eq(ids[13], TOK_ANSWER_OPEN);
    cr_assert_eq(ids[14], '3');
    cr_assert_eq(ids[15], TOK_ANSWER_CLOSE);
}

Test(tokenizer, near_misses_stay_bytes) {
    const char *s = "<thin><answer</answer<Think>";
    int ids[64];
    int n = tok_encode(s, strlen(s), ids, 64);
    cr_assert_eq(n, (int)strlen(s));
    for (int i = 0; i < n; i++) cr_assert_eq(ids[i], (unsigned char)s[i]);
}

Test(tokenizer, round_trip_random_bytes) {
    core_rng r = core_rng_stream(1, CORE_RNG_TEST, 1, 0);
    static const char *tags[] = {"<think>", "</think>", "<answer>", "</answer>"};
    for (int trial = 0; trial < 200; trial++) {
        char text[300], back[600];
        int len = 0, ids[300];
        while (len < 250) {
            if (core_rng_below(&r, 10) == 0) {
                const char *t = tags[core_rng_below(&r, 4)];
                memcpy(text + len, t, strlen(t));
                len += (int)strlen(t);
            } else {
                text[len++] = (char)core_rng_below(&r, 256); /* NUL and high bytes too */
            }
        }
        int n = tok_encode(text, len, ids, 300);
        cr_assert(n > 0 && n <= len);
        size_t out = tok_decode(ids, n, back, sizeof back);
        cr_assert_eq(out, (size_t)len);
        cr_assert(!memcmp(text, back, len), "round trip differs at trial %d", trial);
    }
}

Test(tokenizer, too_small_and_truncated) {
    int ids[3];
    cr_assert_eq(tok_encode("abcd", 4, ids, 3), -1);
    int all[] = {'a', TOK_ANSWER_OPEN, 'b', TOK_BOS, TOK_EOS, TOK_PAD, 9999, -5};
    char out[6];
    size_t need = tok_decode(all, 8, out, sizeof out);
    cr_assert_eq(need, 10u); /* "a<answer>b": specials bos/eos/pad and bad ids add nothing */
    cr_assert_str_eq(out, "a<ans");
    char full[32];
    tok_decode(all, 8, full, sizeof full);
    cr_assert_str_eq(full, "a<answer>b");
}

/* ------------------------------------------- Hugging Face byte-level BPE
 * A hand-written tokenizer.json: ids 0..255 are the bytes (named in the
 * ByteLevel alphabet), then four merges, then two added tokens. */

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* GPT-2's byte -> code point map (what tokenizer.json names bytes by). */
static int byte_code_point(int b) {
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) return b;
    int extra = 0;
    for (int c = 0; c < b; c++)
        if (!((c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF))) extra++;
    return 256 + extra;
}

static void put_code_point(FILE *f, int cp) {
    if (cp == '"' || cp == '\\') fprintf(f, "\\%c", cp);
    else fprintf(f, "\\u%04x", cp);
}

static void write_file(const char *dir, const char *name, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
}

/* The directory (a fresh mkdtemp) with tokenizer.json and, if config is
 * not NULL, tokenizer_config.json. */
static void tiny_hf_dir(char *dir, const char *config) {
    strcpy(dir, "/tmp/grpo-tok-XXXXXX");
    cr_assert(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs("{\"version\": \"1.0\", \"truncation\": null, \"padding\": null,\n"
          " \"added_tokens\": [\n"
          "  {\"id\": 260, \"content\": \"<|endoftext|>\", \"single_word\": false, \"lstrip\": false,"
          " \"rstrip\": false, \"normalized\": false, \"special\": true},\n"
          "  {\"id\": 261, \"content\": \"<think>\", \"single_word\": false, \"lstrip\": false,"
          " \"rstrip\": false, \"normalized\": false, \"special\": false}],\n"
          " \"normalizer\": {\"type\": \"NFC\"},\n"
          " \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true,"
          " \"use_regex\": true},\n"
          " \"post_processor\": null,\n"
          " \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true,"
          " \"use_regex\": true},\n"
          " \"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, \"fuse_unk\": false,"
          " \"byte_fallback\": false, \"ignore_merges\": false, \"vocab\": {",
          f);
    for (int b = 0; b < 256; b++) {
        fputs(b ? ", \"" : "\"", f);
        put_code_point(f, byte_code_point(b));
        fprintf(f, "\": %d", b);
    }
    fputs(", \"\\u0120t\": 256, \"he\": 257, \"\\u0120the\": 258, \"ll\": 259},\n"
          " \"merges\": [[\"\\u0120\", \"t\"], \"h e\", [\"\\u0120t\", \"he\"], \"l l\"]}}\n",
          f);
    fclose(f);
    if (config) write_file(dir, "tokenizer_config.json", config);
}

static void remove_dir(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    unlink(path);
    rmdir(dir);
}

Test(tokenizer_hf, merges_added_tokens_and_specials) {
    char dir[64];
    tiny_hf_dir(dir, "{\"bos_token\": null, \"eos_token\": {\"content\": \"<|endoftext|>\"},"
                     " \"pad_token\": \"<|endoftext|>\"}");
    tokenizer *t;
    core_error err = {0};
    cr_assert_eq(tokenizer_load_hf(&t, dir, &err), 0, "%s", err.msg);
    remove_dir(dir);
    cr_assert_eq(tokenizer_size(t), 262);
    cr_assert_eq(tokenizer_bos(t), -1);
    cr_assert_eq(tokenizer_eos(t), 260);
    cr_assert_eq(tokenizer_pad(t), 260);
    cr_assert(tokenizer_is_eos(t, 260) && !tokenizer_is_eos(t, 261));
    cr_assert_eq(tokenizer_find(t, "<think>"), 261);
    cr_assert_eq(tokenizer_find(t, "\xc4\xa0the"), 258); /* "Ġthe" */
    cr_assert_eq(tokenizer_find(t, " the"), -1);         /* names are in the ByteLevel alphabet */

    /* " the hello" -> " the" | " hello": Ġ t h e -> Ġt he -> Ġthe; Ġ h e l l o -> Ġ he ll o */
    const char *s = "<think> the hello<|endoftext|>";
    int ids[16], want[] = {261, 258, ' ', 257, 259, 'o', 260};
    int n = tokenizer_encode(t, s, strlen(s), ids, 16);
    cr_assert_eq(n, 7);
    for (int i = 0; i < n; i++) cr_assert_eq(ids[i], want[i], "id %d: %d, want %d", i, ids[i], want[i]);
    cr_assert_eq(tokenizer_encode(t, s, strlen(s), ids, 6), -1);

    char out[64];
    cr_assert_eq(tokenizer_decode(t, ids, n, 0, out, sizeof out), strlen(s));
    cr_assert_str_eq(out, s);
    tokenizer_decode(t, ids, n, 1, out, sizeof out); /* skip_special: only the special one goes */
    cr_assert_str_eq(out, "<think> the hello");
    cr_assert_eq(tokenizer_add_eos(t, 261, &err), 0);
    cr_assert(tokenizer_is_eos(t, 261));
    cr_assert_neq(tokenizer_add_eos(t, 262, &err), 0);
    tokenizer_free(t);
}

Test(tokenizer_hf, nfc_and_any_bytes_round_trip) {
    char dir[64];
    tiny_hf_dir(dir, NULL);
    tokenizer *t;
    core_error err = {0};
    cr_assert_eq(tokenizer_load_hf(&t, dir, &err), 0, "%s", err.msg);
    remove_dir(dir);
    cr_assert_eq(tokenizer_eos(t), -1);
    /* NFD "é" is NFC'd to U+00E9 before BPE: two bytes C3 A9 */
    int ids[64];
    int n = tokenizer_encode(t, "e\xcc\x81", 3, ids, 64);
    cr_assert_eq(n, 2);
    cr_assert(ids[0] == 0xC3 && ids[1] == 0xA9);
    /* not UTF-8 at all: still encodes, and decodes to the same bytes */
    const char bad[] = "\xff\xfe the \xc3 ll\x80<think>\xe2\x82";
    size_t len = sizeof bad - 1;
    n = tokenizer_encode(t, bad, len, ids, 64);
    cr_assert(n > 0);
    char out[64];
    cr_assert_eq(tokenizer_decode(t, ids, n, 0, out, sizeof out), len);
    cr_assert(!memcmp(out, bad, len));
    tokenizer_free(t);
}

Test(tokenizer_hf, refusals_name_file_and_field) {
    char dir[64];
    tiny_hf_dir(dir, "{\"eos_token\": \"<|im_end|>\"}");
    tokenizer *t = (tokenizer *)1;
    core_error err = {0};
    cr_assert_eq(tokenizer_load_hf(&t, dir, &err), CORE_EINPUT);
    cr_assert_null(t);
    cr_assert(strstr(err.msg, "tokenizer_config.json") && strstr(err.msg, "eos_token") &&
              strstr(err.msg, "<|im_end|>"), "%s", err.msg);
    write_file(dir, "tokenizer_config.json", "{}");
    write_file(dir, "tokenizer.json", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}, "
                                      "\"decoder\": {\"type\": \"ByteLevel\"}}");
    cr_assert_eq(tokenizer_load_hf(&t, dir, &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, "tokenizer.json") && strstr(err.msg, "model.type") && strstr(err.msg, "WordPiece"),
              "%s", err.msg);
    remove_dir(dir);
    cr_assert_eq(tokenizer_load_hf(&t, dir, &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, "tokenizer.json"), "%s", err.msg);
}
