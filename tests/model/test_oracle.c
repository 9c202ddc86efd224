/*
 * tests/model/test_oracle.c — the PyTorch oracle.  For each config (Llama:
 * GQA, multi-head, tied and untied heads, rope_theta, head_dim apart from
 * dim/n_heads, llama3 rope scaling; Qwen2: q/k/v biases; Qwen3: per-head
 * q/k norm with head_dim apart from dim/n_heads) we write the weights,
 * tokens, loss coefficients, our log-probs, entropies, gradients and the
 * weights after one AdamW step, and tests/model/oracle.py recomputes
 * everything in PyTorch (tests/model/ref_llama.py) and, for Llama and Qwen2,
 * with transformers' own model too; and 32 tokens of our greedy KV-cache
 * decoding must be the argmax of each full forward there.  Skipped (with the reason) when
 * $PYTHON or torch is missing.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "model/ops.h"

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

/* The config under test, in ref_llama.py's field names. */
static cJSON *config_json(const model_config *mc) {
    cJSON *j = cJSON_CreateObject();
    const char *keys[] = {"dim", "n_layers", "n_heads", "n_kv_heads", "head_dim", "ffn_dim", "vocab", "max_seq"};
    int vals[] = {mc->dim, mc->n_layers, mc->n_heads, mc->n_kv_heads, mc->head_dim, mc->ffn_dim, mc->vocab, mc->max_seq};
    for (int i = 0; i < 8; i++) cJSON_AddNumberToObject(j, keys[i], vals[i]);
    cJSON_AddNumberToObject(j, "rope_theta", mc->rope_theta);
    cJSON_AddNumberToObject(j, "norm_eps", mc->norm_eps);
    cJSON_AddBoolToObject(j, "tie", mc->tie_embeddings);
    cJSON_AddBoolToObject(j, "qkv_bias", mc->qkv_bias);
    cJSON_AddBoolToObject(j, "qk_norm", mc->qk_norm);
    if (mc->rope_scaling.type == MODEL_ROPE_LLAMA3) {
        const model_rope_scaling *rs = &mc->rope_scaling;
        cJSON *r = cJSON_AddObjectToObject(j, "rope_scaling");
        cJSON_AddStringToObject(r, "rope_type", "llama3");
        cJSON_AddNumberToObject(r, "factor", rs->factor);
        cJSON_AddNumberToObject(r, "low_freq_factor", rs->low_freq_factor);
        cJSON_AddNumberToObject(r, "high_freq_factor", rs->high_freq_factor);
        cJSON_AddNumberToObject(r, "original_max_position_embeddings", rs->original_max_position);
    } else {
        cJSON_AddNullToObject(j, "rope_scaling");
    }
    return j;
}

/* Write one config's case into dir (see oracle.py). */
static void write_case(model_config mc, const char *dir) {
    char path[200], sub[200];
    mkdir(dir, 0755);
    enum { B = 2, T = 10 };
    mc.max_seq = 40; /* room for 32 greedy tokens after a 6-token prompt */
    model *m = tiny_model(mc, B, 17, 0.3f);
    for (int i = 0; i < model_n_tensors(m); i++) { /* norm weights away from 1, biases away from 0 */
        const model_tensor *t = model_tensor_at(m, i);
        float *x = model_params(m) + t->offset;
        if (t->cols) continue;
        if (strstr(t->name, ".bias")) fill_normal(x, t->numel, 0.3f, 40 + i);
        else
            for (size_t j = 0; j < t->numel; j++) x[j] = 1.0f + 0.1f * (float)((int)(j % 5) - 2);
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

    /* greedy decoding with the KV cache (weights before the step: reload them) */
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    cr_assert_eq(model_load_into(m, path, &err), 0, "%s", err.msg);
    enum { PROMPT = 6, NEW = 32 };
    int greedy[NEW];
    float greedy_lp[NEW];
    model_sample out = {0, greedy, greedy_lp, 0};
    model_sample_params sp = {.temperature = 0, .top_p = 1, .max_new_tokens = NEW};
    core_rng rng = core_rng_stream(1, CORE_RNG_TEST, 0, 0);
    cr_assert_eq(model_sample_group(m, tok, PROMPT, 1, &sp, &rng, &out, &err), 0, "%s", err.msg);

    cJSON *io = cJSON_CreateObject();
    cJSON *gp = cJSON_AddArrayToObject(io, "greedy_prompt"), *gt = cJSON_AddArrayToObject(io, "greedy");
    for (int i = 0; i < PROMPT; i++) cJSON_AddItemToArray(gp, cJSON_CreateNumber(tok[i]));
    for (int i = 0; i < out.n_tokens; i++) cJSON_AddItemToArray(gt, cJSON_CreateNumber(greedy[i]));
    cJSON_AddNumberToObject(io, "B", B);
    cJSON_AddNumberToObject(io, "T", T);
    cJSON_AddItemToObject(io, "config", config_json(&mc));
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

    model_free(m), model_free(g);
}

/* Each config into its own folder, then one oracle.py process for all. */
static void run_oracle(const model_config *mcs, int n) {
    const char *py = getenv("PYTHON");
    if (!py || access(py, X_OK) != 0) cr_skip_test("no $PYTHON (make deps creates .venv)");
    char dir[64] = "/tmp/grpo-oracle-XXXXXX", cmd[1024], sub[100];
    cr_assert(mkdtemp(dir));
    int len = snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 '%s' tests/model/oracle.py", py);
    for (int i = 0; i < n; i++) {
        snprintf(sub, sizeof sub, "%s/%d", dir, i);
        write_case(mcs[i], sub);
        len += snprintf(cmd + len, sizeof cmd - len, " %s", sub);
    }
    snprintf(cmd + len, sizeof cmd - len, " 2>&1");
    int rc = system(cmd);
    int code = WIFEXITED(rc) ? WEXITSTATUS(rc) : 1;
    if (code == 0) {
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        cr_expect_eq(system(cmd), 0);
    }
    if (code == 77) cr_skip_test("torch or safetensors missing in $PYTHON");
    cr_expect_eq(code, 0, "oracle.py disagrees (files kept in %s)", dir);
}

/* Llama: GQA with an untied head at theta 500; multi-head with a tied and
 * an untied head; head_dim 8 though dim / n_heads is 4 (q_dim 32 > dim 16);
 * Llama 3.1's rope_scaling (llama3).  With theta 100 and head_dim 8 the four
 * frequencies' wavelengths are 6.3, 20, 63 and 200: original_max 64, low 1,
 * high 4 put them in all three bands (kept below 16, interpolated, divided
 * by factor above 64). */
Test(oracle, llama, .timeout = 120) {
    model_config mc[5];
    for (int i = 0; i < 5; i++) mc[i] = tiny_config();
    mc[0].rope_theta = 500;
    mc[1].n_kv_heads = mc[1].n_heads, mc[1].tie_embeddings = 1, mc[1].norm_eps = 1e-6f;
    mc[2].n_kv_heads = mc[2].n_heads;
    mc[3].head_dim = 8;
    mc[4].head_dim = 8, mc[4].rope_theta = 100;
    mc[4].rope_scaling = (model_rope_scaling){.type = MODEL_ROPE_LLAMA3, .factor = 8, .low_freq_factor = 1,
                                              .high_freq_factor = 4, .original_max_position = 64};
    run_oracle(mc, 5);
}

/* Qwen2: q/k/v biases, GQA, theta 1e6, untied and tied heads.  Qwen3: RMSNorm
 * over each head of q and k before RoPE, head_dim 8 though dim / n_heads is
 * 4, GQA, tied head (ref_llama.py only: Qwen3 is not in transformers 4.47). */
Test(oracle, qwen2_qwen3, .timeout = 120) {
    model_config mc[3];
    for (int i = 0; i < 3; i++) mc[i] = tiny_config();
    mc[0].arch = MODEL_ARCH_QWEN2, mc[0].qkv_bias = 1, mc[0].rope_theta = 1e6f, mc[0].norm_eps = 1e-6f;
    mc[1].arch = MODEL_ARCH_QWEN2, mc[1].qkv_bias = 1, mc[1].tie_embeddings = 1;
    mc[2].arch = MODEL_ARCH_QWEN3, mc[2].qk_norm = 1, mc[2].head_dim = 8, mc[2].tie_embeddings = 1;
    mc[2].rope_theta = 1e6f, mc[2].norm_eps = 1e-6f;
    run_oracle(mc, 3);
}

/* Our RoPE tables (with and without llama3 scaling) against transformers'
 * LlamaRotaryEmbedding at positions up to 131071: tests/model/rope_oracle.py. */
static cJSON *rope_case(int hs, float theta, const ops_rope_llama3 *s) {
    enum { T = 131072, NP = 10 };
    const int positions[NP] = {0, 1, 2, 7, 100, 4095, 8191, 8192, 65535, T - 1};
    int half = hs / 2;
    float *cs = malloc(sizeof(float) * T * half), *sn = malloc(sizeof(float) * T * half);
    cr_assert(cs && sn);
    ops_rope_tables_scaled(cs, sn, T, hs, theta, s);
    cJSON *c = cJSON_CreateObject(), *pa = cJSON_AddArrayToObject(c, "positions");
    cJSON *ca = cJSON_AddArrayToObject(c, "cos"), *sa = cJSON_AddArrayToObject(c, "sin");
    cJSON_AddNumberToObject(c, "hs", hs);
    cJSON_AddNumberToObject(c, "theta", theta);
    if (s) {
        cJSON *r = cJSON_AddObjectToObject(c, "rope_scaling");
        cJSON_AddStringToObject(r, "rope_type", "llama3");
        cJSON_AddNumberToObject(r, "factor", s->factor);
        cJSON_AddNumberToObject(r, "low_freq_factor", s->low_freq_factor);
        cJSON_AddNumberToObject(r, "high_freq_factor", s->high_freq_factor);
        cJSON_AddNumberToObject(r, "original_max_position_embeddings", s->original_max_position);
    } else {
        cJSON_AddNullToObject(c, "rope_scaling");
    }
    for (int p = 0; p < NP; p++) {
        cJSON_AddItemToArray(pa, cJSON_CreateNumber(positions[p]));
        for (int i = 0; i < half; i++) {
            cJSON_AddItemToArray(ca, cJSON_CreateNumber(cs[(size_t)positions[p] * half + i]));
            cJSON_AddItemToArray(sa, cJSON_CreateNumber(sn[(size_t)positions[p] * half + i]));
        }
    }
    free(cs), free(sn);
    return c;
}

Test(oracle, rope_tables_match_transformers, .timeout = 60) {
    const char *py = getenv("PYTHON");
    if (!py || access(py, X_OK) != 0) cr_skip_test("no $PYTHON (make deps creates .venv)");
    const ops_rope_llama3 llama31 = {8, 1, 4, 8192}, llama32 = {32, 1, 4, 8192};
    cJSON *cases = cJSON_CreateArray();
    cJSON_AddItemToArray(cases, rope_case(128, 500000, &llama31)); /* Llama 3.1 8B */
    cJSON_AddItemToArray(cases, rope_case(64, 500000, &llama32));  /* Llama 3.2 1B */
    cJSON_AddItemToArray(cases, rope_case(64, 1000000, NULL));     /* Qwen2.5 0.5B */
    cJSON_AddItemToArray(cases, rope_case(128, 10000, NULL));
    char path[] = "/tmp/grpo-rope-XXXXXX", cmd[256];
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    char *text = cJSON_PrintUnformatted(cases);
    cr_assert(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    free(text), cJSON_Delete(cases);
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 '%s' tests/model/rope_oracle.py %s 2>&1", py, path);
    int rc = system(cmd);
    int code = WIFEXITED(rc) ? WEXITSTATUS(rc) : 1;
    if (code == 77) cr_skip_test("torch or transformers missing in $PYTHON");
    cr_expect_eq(code, 0, "rope_oracle.py disagrees (tables kept in %s)", path);
    if (code == 0) unlink(path);
}
