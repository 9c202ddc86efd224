/*
 * tests/model/test_oracle.c — the PyTorch oracle.  For three configs (GQA
 * with an untied head and rope_theta 500; plain multi-head with a tied and
 * with an untied head at theta 10000, which transformers 4.30's
 * LlamaForCausalLM can open) we
 * write the weights, tokens, loss coefficients, our log-probs, entropies,
 * gradients and the weights after one AdamW step, and tests/model/oracle.py
 * recomputes everything in PyTorch.  Skipped (with the reason) when
 * $PYTHON or torch is missing.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "helpers.h"

static cJSON *float_array(const float *x, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(x[i]));
    return a;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static void run_oracle(model_config mc) {
    const char *py = getenv("PYTHON");
    if (!py || access(py, X_OK) != 0) cr_skip_test("no $PYTHON (make deps creates .venv)");
    char dir[64] = "/tmp/grpo-oracle-XXXXXX", path[160], sub[160];
    cr_assert(mkdtemp(dir));
    enum { B = 2, T = 10 };
    model *m = tiny_model(mc, B, 17, 0.3f);
    for (int i = 0; i < model_n_tensors(m); i++) { /* norm weights away from 1 */
        const model_tensor *t = model_tensor_at(m, i);
        if (!t->cols)
            for (size_t j = 0; j < t->numel; j++) model_params(m)[t->offset + j] = 1.0f + 0.1f * (float)((int)(j % 5) - 2);
    }
    int tok[B * T];
    float lp[B * T], ent[B * T], c1[B * T], c2[B * T];
    random_tokens(tok, B * T, mc.vocab, 31);
    tok[B * T - 1] = TOK_PAD, tok[B * T - 2] = TOK_PAD;
    fill_normal(c1, B * T, 1, 32), fill_normal(c2, B * T, 0.5f, 33);
    c1[B * T - 2] = 0;
    core_error err = {0};
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    cr_assert_eq(model_save(m, path, 0, &err), 0, "%s", err.msg);
    cr_assert_eq(model_forward(m, tok, B, T, lp, ent, &err), 0, "%s", err.msg);
    model_zero_grad(m);
    model_backward(m, c1, c2);
    /* the gradients, saved as weights of a second model */
    model *g = tiny_model(mc, 1, 1, 0.02f);
    memcpy(model_params(g), model_grads(m), sizeof(float) * model_n_params(m));
    snprintf(sub, sizeof sub, "%s/grads", dir);
    mkdir(sub, 0755);
    snprintf(path, sizeof path, "%s/grads/model.safetensors", dir);
    cr_assert_eq(model_save(g, path, 0, &err), 0, "%s", err.msg);
    model_adamw hp = {.lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.1f};
    model_adamw_step(m, &hp, 1);
    snprintf(sub, sizeof sub, "%s/step", dir);
    mkdir(sub, 0755);
    snprintf(path, sizeof path, "%s/step/model.safetensors", dir);
    cr_assert_eq(model_save(m, path, 0, &err), 0, "%s", err.msg);

    cJSON *io = cJSON_CreateObject();
    cJSON_AddNumberToObject(io, "B", B);
    cJSON_AddNumberToObject(io, "T", T);
    cJSON *toks = cJSON_CreateArray();
    for (int i = 0; i < B * T; i++) cJSON_AddItemToArray(toks, cJSON_CreateNumber(tok[i]));
    cJSON_AddItemToObject(io, "tokens", toks);
    cJSON_AddItemToObject(io, "c_logprob", float_array(c1, B * T));
    cJSON_AddItemToObject(io, "c_entropy", float_array(c2, B * T));
    cJSON_AddItemToObject(io, "logprob", float_array(lp, B * T));
    cJSON_AddItemToObject(io, "entropy", float_array(ent, B * T));
    cJSON *a = cJSON_AddObjectToObject(io, "adamw");
    cJSON_AddNumberToObject(a, "lr", hp.lr), cJSON_AddNumberToObject(a, "beta1", hp.beta1);
    cJSON_AddNumberToObject(a, "beta2", hp.beta2), cJSON_AddNumberToObject(a, "eps", hp.eps);
    cJSON_AddNumberToObject(a, "weight_decay", hp.weight_decay);
    char *text = cJSON_Print(io);
    snprintf(path, sizeof path, "%s/io.json", dir);
    write_text(path, text);
    free(text), cJSON_Delete(io);

    char cmd[512];
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 '%s' tests/model/oracle.py %s 2>&1", py, dir);
    int rc = system(cmd);
    int code = WIFEXITED(rc) ? WEXITSTATUS(rc) : 1;
    if (code == 0) {
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        cr_expect_eq(system(cmd), 0);
    }
    model_free(m), model_free(g);
    if (code == 77) cr_skip_test("torch or safetensors missing in $PYTHON");
    cr_expect_eq(code, 0, "oracle.py disagrees (files kept in %s)", dir);
}

Test(oracle, gqa_untied_theta500, .timeout = 60) {
    model_config mc = tiny_config();
    mc.rope_theta = 500;
    run_oracle(mc);
}

Test(oracle, mha_tied_and_transformers, .timeout = 60) {
    model_config mc = tiny_config();
    mc.n_kv_heads = mc.n_heads;
    mc.tie_embeddings = 1;
    mc.norm_eps = 1e-6f;
    run_oracle(mc);
}

Test(oracle, mha_untied_and_transformers, .timeout = 60) {
    model_config mc = tiny_config();
    mc.n_kv_heads = mc.n_heads;
    run_oracle(mc);
}
