/*
 * model/checkpoint.c — safetensors checkpoints that open in the Python
 * ecosystem (Hugging Face Llama tensor names, config.json beside them).
 *
 * File layout (safetensors): u64 little-endian header length, the JSON
 * header (padded with spaces to a multiple of 8), then the raw F32 data.
 * Our header's __metadata__ holds "format": "pt" (transformers requires it),
 * "producer" and "sha256", the hash of the data section, checked on load.
 * The optimizer state (AdamW m, v and the step) goes into a second file,
 * NAME.optim.safetensors, in the same format.  The files themselves are
 * read and written by safetensors.c.
 *
 * model_load and model_load_into also take a Hugging Face model directory
 * (hf.c), so every command that loads a checkpoint takes both.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <cjson/cJSON.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "model/hf_internal.h"
#include "model/model_internal.h"
#include "model/sha256.h"

/* ---------------------------------------------------------------- paths */

/* dir/config.json for dir/name.safetensors */
static void config_path(const char *path, char *out, size_t cap) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(out, cap, "%s/config.json", dirname(tmp));
}

/* dir/name.optim.safetensors for dir/name.safetensors */
static void optim_path(const char *path, char *out, size_t cap) {
    size_t n = strlen(path), ext = strlen(".safetensors");
    if (n > ext && !strcmp(path + n - ext, ".safetensors")) n -= ext;
    snprintf(out, cap, "%.*s.optim.safetensors", (int)n, path);
}

/* ---------------------------------------------------------------- write */

/* config.json of the model's family (hf_config.c), with our byte-level
 * tokenizer's special ids. */
static int write_config_json(const model *m, const char *path, core_error *err) {
    cJSON *j = hf_config_build(&m->c);
    cJSON_AddStringToObject(j, "torch_dtype", "float32");
    cJSON_AddNumberToObject(j, "bos_token_id", TOK_BOS);
    cJSON_AddNumberToObject(j, "eos_token_id", TOK_EOS);
    cJSON_AddNumberToObject(j, "pad_token_id", TOK_PAD);
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        free(text);
        return core_fail(err, CORE_EINPUT, "%.200s...: path too long", path);
    }
    FILE *f = fopen(tmp, "w");
    int ok = f && text && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (f && fclose(f) != 0) ok = 0;
    free(text);
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return core_fail(err, CORE_ERUNTIME, "%s: write failed: %s", path, strerror(errno));
    }
    return 0;
}

static cJSON *producer_meta(void) {
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "producer", "grpo.c " GRPO_VERSION);
    return meta;
}

int ckpt_save_optimizer(const model *m, const char *path, int with_master, core_error *err) {
    /* staged through host memory when the model lives on a device */
    float *am = model_host_acquire(m, m->adam_m, m->n_params, 1);
    float *av = model_host_acquire(m, m->adam_v, m->n_params, 1);
    const float *master = with_master ? model_params((model *)m) : NULL;
    int rc;
    if (!am || !av) {
        rc = core_fail(err, CORE_ERUNTIME, "%s: out of memory", path);
    } else {
        st_out oe[3] = {{"adam_m", am, m->n_params, (int64_t)m->n_params, 0},
                        {"adam_v", av, m->n_params, (int64_t)m->n_params, 0},
                        {"master", master, m->n_params, (int64_t)m->n_params, 0}};
        char step[32];
        snprintf(step, sizeof step, "%d", m->adam_t);
        cJSON *meta = producer_meta();
        cJSON_AddStringToObject(meta, "adamw_step", step);
        rc = st_write(path, oe, with_master ? 3 : 2, ST_F32, meta, err);
    }
    model_host_release(m, m->adam_m, am, m->n_params, 0);
    model_host_release(m, m->adam_v, av, m->n_params, 0);
    return rc;
}

int model_save(const model *m, const char *path, int with_optimizer, core_error *err) {
    char cfg[4200], opt[4200];
    if (m->tok) /* this format reloads with the byte-level tokenizer */
        return core_fail(err, CORE_EINPUT,
                         "%s: a model with a Hugging Face tokenizer is saved as a model directory "
                         "(model_save_hf), not as one .safetensors file", path);
    if (strlen(path) > 4000) return core_fail(err, CORE_EINPUT, "%.200s...: path too long", path);
    config_path(path, cfg, sizeof cfg);
    if (write_config_json(m, cfg, err)) return CORE_ERUNTIME;
    st_out *e = calloc(m->n_tensors, sizeof *e);
    if (!e) return core_fail(err, CORE_ERUNTIME, "%s: out of memory", path);
    const float *params = model_params((model *)m); /* the host copy, brought up to date */
    for (int i = 0; i < m->n_tensors; i++) {
        const model_tensor *t = &m->tensors[i];
        e[i] = (st_out){t->name, params + t->offset, t->numel, t->rows, t->cols};
    }
    int rc = st_write(path, e, m->n_tensors, ST_F32, producer_meta(), err);
    free(e);
    if (rc || !with_optimizer) return rc;
    optim_path(path, opt, sizeof opt);
    return ckpt_save_optimizer(m, opt, 0, err);
}

/* ----------------------------------------------------------------- read */

/* One tensor of our own file into dst, with the model's shape. */
static int read_own(const st_file *f, const char *name, int64_t rows, int cols, float *dst, core_error *err) {
    const st_tensor *t = st_find(f, name);
    if (!t) return core_fail(err, CORE_EINPUT, "%s: tensor %s missing", f->path, name);
    return st_read_f32(f, t, rows, cols, "the model", dst, err);
}

int ckpt_load_optimizer(model *m, const char *opt, core_error *err) {
    st_file f;
    int rc = st_open(&f, opt, err);
    if (rc) return rc;
    rc = st_verify_sha256(&f, err);
    /* staged through host memory when the model lives on a device */
    float *am = rc ? NULL : model_host_acquire(m, m->adam_m, m->n_params, 0);
    float *av = rc ? NULL : model_host_acquire(m, m->adam_v, m->n_params, 0);
    if (!rc && (!am || !av)) rc = core_fail(err, CORE_ERUNTIME, "%s: out of memory", opt);
    if (!rc) rc = read_own(&f, "adam_m", (int64_t)m->n_params, 0, am, err);
    if (!rc) rc = read_own(&f, "adam_v", (int64_t)m->n_params, 0, av, err);
    const char *step = st_metadata(&f, "adamw_step");
    if (!rc && !step) rc = core_fail(err, CORE_EINPUT, "%s: no __metadata__.adamw_step", opt);
    if (!rc) m->adam_t = atoi(step);
    model_host_release(m, m->adam_m, am, m->n_params, !rc);
    model_host_release(m, m->adam_v, av, m->n_params, !rc);
    if (!rc && st_find(&f, "master")) { /* exact weights under a lower-precision export */
        rc = read_own(&f, "master", (int64_t)m->n_params, 0, m->h_params, err);
        if (!rc) model_params_commit(m);
    }
    st_close(&f);
    return rc;
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int model_load_into(model *m, const char *path, core_error *err) {
    if (is_dir(path)) return hf_load_into(m, path, err);
    st_file f;
    int rc = st_open(&f, path, err);
    if (rc) return rc;
    rc = st_verify_sha256(&f, err);
    for (int i = 0; !rc && i < m->n_tensors; i++) {
        const model_tensor *t = &m->tensors[i];
        rc = read_own(&f, t->name, t->rows, t->cols, m->h_params + t->offset, err);
    }
    if (!rc && f.n != m->n_tensors)
        rc = core_fail(err, CORE_EINPUT, "%s: has %d tensors, the model has %d (different architecture?)",
                       path, f.n, m->n_tensors);
    st_close(&f);
    if (rc) return rc;
    model_params_commit(m);
    char opt[4200];
    optim_path(path, opt, sizeof opt);
    FILE *probe = fopen(opt, "rb");
    if (!probe) return 0;
    fclose(probe);
    return ckpt_load_optimizer(m, opt, err);
}

/* Read one integer field of config.json. */
static int json_int(const cJSON *j, const char *file, const char *key, int *out, core_error *err) {
    const cJSON *v = cJSON_GetObjectItem(j, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != (int)v->valuedouble)
        return core_fail(err, CORE_EINPUT, "%s: %s: missing or not an integer", file, key);
    *out = (int)v->valuedouble;
    return 0;
}

/* Our config.json: the family's fields (hf_config.c) when it names one, else
 * the bare Llama fields of older checkpoints (tied unless it says not). */
static int read_config_json(model_config *mc, const char *file, core_error *err) {
    cJSON *j;
    if (hf_read_json(file, &j, err)) return CORE_EINPUT;
    if (cJSON_GetObjectItem(j, "architectures") || cJSON_GetObjectItem(j, "model_type")) {
        int rc = hf_config_parse(j, file, mc, err);
        cJSON_Delete(j);
        return rc;
    }
    int rc = json_int(j, file, "hidden_size", &mc->dim, err) ||
             json_int(j, file, "num_hidden_layers", &mc->n_layers, err) ||
             json_int(j, file, "num_attention_heads", &mc->n_heads, err) ||
             json_int(j, file, "intermediate_size", &mc->ffn_dim, err) ||
             json_int(j, file, "vocab_size", &mc->vocab, err) ||
             json_int(j, file, "max_position_embeddings", &mc->max_seq, err);
    mc->n_kv_heads = mc->n_heads;
    if (!rc && cJSON_GetObjectItem(j, "num_key_value_heads"))
        rc = json_int(j, file, "num_key_value_heads", &mc->n_kv_heads, err);
    const cJSON *theta = cJSON_GetObjectItem(j, "rope_theta"), *eps = cJSON_GetObjectItem(j, "rms_norm_eps");
    const cJSON *tie = cJSON_GetObjectItem(j, "tie_word_embeddings");
    mc->rope_theta = cJSON_IsNumber(theta) ? (float)theta->valuedouble : 10000.0f;
    mc->norm_eps = cJSON_IsNumber(eps) ? (float)eps->valuedouble : 1e-6f;
    mc->tie_embeddings = tie ? cJSON_IsTrue(tie) : 1; /* LlamaConfig's default is False, ours True: be explicit */
    cJSON_Delete(j);
    if (rc) return CORE_EINPUT;
    return model_config_check(mc, file, err);
}

int model_load(model **out, const char *path, int max_batch, core_error *err) {
    char cfg[4200];
    model_config mc = {0}; /* the fields config.json does not give stay 0 */
    *out = NULL;
    if (is_dir(path)) return model_load_hf(out, path, max_batch, -MODEL_DIR_MAX_SEQ, err);
    if (strlen(path) > 4000) return core_fail(err, CORE_EINPUT, "%.200s...: path too long", path);
    config_path(path, cfg, sizeof cfg);
    if (read_config_json(&mc, cfg, err)) return CORE_EINPUT;
    model *m;
    int rc = model_create(&m, &mc, max_batch, err);
    if (rc) return rc;
    if ((rc = model_load_into(m, path, err))) {
        model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int model_file_sha256(const char *path, char hex[65], core_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return core_fail(err, CORE_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    sha256_ctx c;
    unsigned char buf[1 << 16], d[32];
    size_t n;
    sha256_init(&c);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) sha256_update(&c, buf, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) return core_fail(err, CORE_ERUNTIME, "%s: read error", path);
    sha256_final(&c, d);
    sha256_digest_to_hex(d, hex);
    return 0;
}
