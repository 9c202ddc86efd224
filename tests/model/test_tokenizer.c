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
