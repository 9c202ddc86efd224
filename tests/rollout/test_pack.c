/* The group buffer: round trip, and every kind of corruption refused. */
#include <criterion/criterion.h>
#include <string.h>

#include "rollout/rollout.h"

static void make_group(rollout_group *g, int G) {
    memset(g, 0, sizeof *g);
    g->G = G;
    g->prompt_index = 3;
    g->worker = 2;
    g->policy_version = 17;
    g->c = calloc(G, sizeof *g->c);
    g->token_store = malloc(sizeof(int) * G * 8);
    g->logprob_store = malloc(sizeof(float) * G * 8);
    for (int i = 0; i < G; i++) {
        rollout_completion *c = &g->c[i];
        c->tokens = g->token_store + i * 8;
        c->logprob = g->logprob_store + i * 8;
        c->n_tokens = 1 + i % 8;
        for (int t = 0; t < c->n_tokens; t++) {
            c->tokens[t] = (i * 31 + t * 7) % 263;
            c->logprob[t] = -0.1f * (t + 1);
        }
        c->finish = MODEL_FINISH_STOP;
        c->reward.total = i * 0.5;
        c->reward.correct = i & 1;
        c->reward.format_ok = 1;
        c->reward.n_parts = 2;
        strcpy(c->reward.parts[0].name, "format");
        strcpy(c->reward.parts[1].detail, "answer_tag: 80 == 80");
        c->t_sample = 0.25;
        c->reward.infra_fail = i == 3 ? 2 : 0; /* the sandbox failed on the second part */
        if (i == 1) { /* a code reward's sandbox runs travel too */
            c->n_code_runs = 2;
            c->code_runs = calloc(2, sizeof *c->code_runs);
            c->code_runs[1] = (reward_code_run){1, 0, 1, 0, 2.5, 3.5, 1024, "RUNTIME_ERROR", "Traceback",
                                                 "AssertionError at: assert f(1) == 2"};
        }
    }
}

Test(pack, round_trip) {
    rollout_group g, back;
    make_group(&g, 5);
    void *buf;
    size_t len;
    core_error err = {0};
    cr_assert_eq(rollout_pack(&g, &buf, &len, &err), 0);
    cr_assert_eq(rollout_unpack(buf, len, 264, &back, &err), 0, "%s", err.msg);
    cr_assert_eq(back.G, 5);
    cr_assert_eq(back.prompt_index, 3);
    cr_assert_eq(back.worker, 2);
    cr_assert_eq(back.policy_version, 17);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(back.c[i].n_tokens, g.c[i].n_tokens);
        cr_assert_arr_eq(back.c[i].tokens, g.c[i].tokens, sizeof(int) * g.c[i].n_tokens);
        cr_assert_arr_eq(back.c[i].logprob, g.c[i].logprob, sizeof(float) * g.c[i].n_tokens);
        cr_assert_eq(back.c[i].reward.total, g.c[i].reward.total);
        cr_assert_eq(back.c[i].reward.correct, g.c[i].reward.correct);
        cr_assert_str_eq(back.c[i].reward.parts[1].detail, "answer_tag: 80 == 80");
        cr_assert_eq(back.c[i].finish, MODEL_FINISH_STOP);
        cr_assert_eq(back.c[i].n_code_runs, g.c[i].n_code_runs);
    }
    cr_assert_eq(back.c[1].code_runs[1].rss_kb, 1024);
    cr_assert_str_eq(back.c[1].code_runs[1].verdict, "RUNTIME_ERROR");
    cr_assert_str_eq(back.c[1].code_runs[1].output, "Traceback");
    cr_assert_str_eq(back.c[1].code_runs[1].message, "AssertionError at: assert f(1) == 2");
    for (int i = 0; i < 5; i++) cr_assert_eq(back.c[i].reward.infra_fail, i == 3 ? 2 : 0, "infra_fail travels");
    free(buf);
    rollout_group_free(&g);
    rollout_group_free(&back);
}

static int unpack_rc(const void *buf, size_t len) {
    rollout_group back;
    core_error err = {0};
    int rc = rollout_unpack(buf, len, 264, &back, &err);
    if (!rc) rollout_group_free(&back);
    else cr_assert(strstr(err.msg, "group buffer"), "message: %s", err.msg);
    return rc;
}

Test(pack, corruption_is_refused) {
    rollout_group g;
    make_group(&g, 4);
    void *buf;
    size_t len;
    core_error err = {0};
    cr_assert_eq(rollout_pack(&g, &buf, &len, &err), 0);
    char *copy = malloc(len);
    /* truncated anywhere */
    for (size_t cut = 0; cut < len; cut += 7) cr_assert_neq(unpack_rc(buf, cut), 0, "cut at %zu", cut);
    /* one flipped byte in the header and records is caught; in the token
     * data only an id out of the vocabulary or a non-finite log-prob can be */
    size_t checked_prefix = 2 * sizeof(uint32_t); /* magic and version */
    for (size_t i = 0; i < checked_prefix; i++) {
        memcpy(copy, buf, len);
        copy[i] ^= 0x5a;
        cr_assert_neq(unpack_rc(copy, len), 0, "flip at %zu accepted", i);
    }
    /* a token id past the vocabulary: the first token starts right after the records */
    memcpy(copy, buf, len);
    size_t first_token = len - 2 * sizeof(reward_code_run) - 2 * sizeof(int32_t) * (1 + 2 + 3 + 4);
    int32_t bad = 100000;
    memcpy(copy + first_token, &bad, sizeof bad);
    cr_assert_neq(unpack_rc(copy, len), 0);
    /* a length field that lies */
    memcpy(copy, buf, len);
    cr_assert_neq(unpack_rc(copy, len - 1), 0);
    free(copy);
    free(buf);
    rollout_group_free(&g);
}

Test(pack, prompt_encoding_matches_pretraining) {
    int a[64], b[64];
    const char *p = "Q:23+45+12=<think>";
    int na = rollout_encode_prompt(tokenizer_bytes(), p, a, 64);
    int nb = tok_encode(p, strlen(p), b, 64);
    cr_assert_eq(na, nb);
    cr_assert_arr_eq(a, b, sizeof(int) * na);
    cr_assert_eq(a[na - 1], TOK_THINK_OPEN);
}
