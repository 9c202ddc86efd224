/*
 * tests/model/hf_tool.c — what check_hf_dirs.py asks of model/ about a
 * Hugging Face model directory (built as build/tests/hf_tool):
 *
 *   hf_tool load DIR [OUT.json]           model_load_hf; the error on stderr, exit = its code;
 *                                         OUT {"vocab", "tokenizer_size", "eos": [stop ids]}
 *   hf_tool logprobs DIR IN.json OUT.json IN {"B","T","tokens"} -> OUT {"logprobs"} (B*T,
 *                                         log p(tokens[t+1] | ..t), 0 at T-1)
 *   hf_tool greedy DIR IN.json N OUT.json IN {"prompt"} -> OUT {"ids"}: up to N greedy
 *                                         tokens, ending early with a stop id (included)
 *   hf_tool export SRC DST f32|bf16 [optimizer]   model_save_hf(load(SRC), DST, SRC, ...)
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/hf_internal.h"

static cJSON *read_json(const char *path) {
    cJSON *j;
    core_error err = {0};
    if (hf_read_json(path, &j, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    return j;
}

static void write_json(const char *path, cJSON *j) {
    char *text = cJSON_PrintUnformatted(j);
    FILE *f = fopen(path, "w");
    if (!f || !text || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "%s: write failed\n", path);
        exit(1);
    }
    free(text);
    cJSON_Delete(j);
}

static int *int_array(const cJSON *a, int *n) {
    *n = cJSON_GetArraySize(a);
    int *x = calloc(*n ? *n : 1, sizeof(int));
    for (int i = 0; i < *n; i++) x[i] = cJSON_GetArrayItem(a, i)->valueint;
    return x;
}

static int fail(const core_error *err) {
    fprintf(stderr, "%s\n", err->msg);
    return err->code ? err->code : 1;
}

static int logprobs(const char *dir, const char *in, const char *out) {
    cJSON *j = read_json(in);
    int B = cJSON_GetObjectItem(j, "B")->valueint, T = cJSON_GetObjectItem(j, "T")->valueint, n;
    int *tok = int_array(cJSON_GetObjectItem(j, "tokens"), &n);
    cJSON_Delete(j);
    core_error err = {0};
    model *m;
    if (n != B * T) return fprintf(stderr, "%s: %d tokens, not B*T\n", in, n), 1;
    if (model_load_hf(&m, dir, B, T, &err)) return fail(&err);
    float *lp = calloc(n, sizeof(float));
    if (model_forward(m, tok, B, T, lp, NULL, &err)) return fail(&err);
    cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "logprobs");
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(lp[i]));
    write_json(out, o);
    free(lp), free(tok);
    model_free(m);
    return 0;
}

static int greedy(const char *dir, const char *in, int N, const char *out) {
    cJSON *j = read_json(in);
    int n;
    int *prompt = int_array(cJSON_GetObjectItem(j, "prompt"), &n);
    cJSON_Delete(j);
    core_error err = {0};
    model *m;
    if (model_load_hf(&m, dir, 1, n + N, &err)) return fail(&err);
    int *ids = calloc(N, sizeof(int));
    float *lp = calloc(N, sizeof(float));
    model_sample s = {.tokens = ids, .logprob = lp};
    model_sample_params sp = {.temperature = 0, .top_p = 1, .max_new_tokens = N};
    core_rng rng = core_rng_stream(1, CORE_RNG_TEST, 0, 0);
    if (model_sample_group(m, prompt, n, 1, &sp, &rng, &s, &err)) return fail(&err);
    cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "ids");
    for (int i = 0; i < s.n_tokens; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(ids[i]));
    write_json(out, o);
    free(ids), free(lp), free(prompt);
    model_free(m);
    return 0;
}

static int info(const char *dir, const char *out) {
    core_error err = {0};
    model *m;
    if (model_load_hf(&m, dir, 1, -64, &err)) return fail(&err);
    const tokenizer *t = model_tokenizer(m);
    cJSON *o = cJSON_CreateObject(), *eos = cJSON_AddArrayToObject(o, "eos");
    cJSON_AddNumberToObject(o, "vocab", model_get_config(m)->vocab);
    cJSON_AddNumberToObject(o, "tokenizer_size", tokenizer_size(t));
    for (int id = 0; id < tokenizer_size(t); id++)
        if (tokenizer_is_eos(t, id)) cJSON_AddItemToArray(eos, cJSON_CreateNumber(id));
    if (out) write_json(out, o);
    else cJSON_Delete(o);
    model_free(m);
    return 0;
}

static int export(const char *src, const char *dst, const char *dtype, int with_optimizer) {
    core_error err = {0};
    model *m;
    if (model_load_hf(&m, src, 1, 2, &err)) return fail(&err); /* weights only: max_seq 2 */
    int rc = model_save_hf(m, dst, src, strcmp(dtype, "bf16") ? MODEL_DTYPE_F32 : MODEL_DTYPE_BF16,
                           with_optimizer, &err);
    model_free(m);
    return rc ? fail(&err) : 0;
}

int main(int argc, char **argv) {
    const char *cmd = argc > 2 ? argv[1] : "";
    if (!strcmp(cmd, "load") && argc <= 4) return info(argv[2], argc == 4 ? argv[3] : NULL);
    if (!strcmp(cmd, "logprobs") && argc == 5) return logprobs(argv[2], argv[3], argv[4]);
    if (!strcmp(cmd, "greedy") && argc == 6) return greedy(argv[2], argv[3], atoi(argv[4]), argv[5]);
    if (!strcmp(cmd, "export") && argc >= 5) return export(argv[2], argv[3], argv[4], argc > 5);
    fprintf(stderr, "usage: hf_tool load|logprobs|greedy|export ...\n");
    return 2;
}
