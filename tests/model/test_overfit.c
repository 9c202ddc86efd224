/*
 * tests/model/test_overfit.c — the whole training path end to end: a tiny
 * model memorises a short text (next-token loss to near zero with AdamW,
 * warmup + cosine schedule, grad clipping), and greedy sampling from the
 * prompt then writes the memorised completion.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "helpers.h"

Test(overfit, memorises_a_short_text, .timeout = 60) {
    const char *text = "Q:23+45+12=<think>23+45=68 68+12=80</think><answer>80</answer>";
    int tok[64];
    tok[0] = TOK_BOS;
    int n = tok_encode(text, strlen(text), tok + 1, 62) + 1;
    tok[n++] = TOK_EOS;
    model_config mc = {.dim = 32, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .ffn_dim = 64,
                       .vocab = 264, .max_seq = 64, .rope_theta = 10000, .norm_eps = 1e-5f,
                       .tie_embeddings = 1};
    model *m = tiny_model(mc, 1, 7, 0.02f);
    float lp[64], dl[64];
    for (int i = 0; i < n; i++) dl[i] = i < n - 1 ? -1.0f / (n - 1) : 0; /* d(mean NLL)/d(logprob) */
    core_error err;
    float loss = 0, first = 0;
    int steps = 300;
    for (int step = 0; step < steps; step++) {
        cr_assert_eq(model_forward(m, tok, 1, n, lp, NULL, &err), 0, "%s", err.msg);
        loss = 0;
        for (int i = 0; i < n - 1; i++) loss -= lp[i] / (n - 1);
        if (step == 0) first = loss;
        model_zero_grad(m);
        model_backward(m, dl, NULL);
        float norm = model_grad_norm(m);
        if (norm > 1.0f) model_scale_grads(m, 1.0f / norm);
        model_adamw hp = {.lr = model_lr_schedule(1e-2f, step, 20, steps, 0.1f, 1), .beta1 = 0.9f,
                          .beta2 = 0.99f, .eps = 1e-8f, .weight_decay = 0.0f};
        model_adamw_step(m, &hp, step + 1);
    }
    cr_expect(first > 4.0f, "untrained loss should be near log(264): %g", first);
    cr_expect(loss < 0.02f, "final loss %g: did not memorise", loss);
    /* greedy continuation of the prompt reproduces the text */
    int plen = 1 + (int)strlen("Q:23+45+12=");
    int out_tok[64];
    float out_lp[64];
    model_sample s = {0, out_tok, out_lp, 0};
    model_sample_params sp = {.temperature = 0, .top_p = 1, .max_new_tokens = 60, .stop = "</answer>"};
    core_rng rng = core_rng_stream(1, CORE_RNG_TEST, 0, 0);
    cr_assert_eq(model_sample_group(m, tok, plen, 1, &sp, &rng, &s, &err), 0, "%s", err.msg);
    char got[256];
    tok_decode(out_tok, s.n_tokens, got, sizeof got);
    cr_expect_str_eq(got, text + plen - 1);
    cr_expect_eq(s.finish, MODEL_FINISH_STOP);
    model_free(m);
}
