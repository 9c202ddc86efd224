/*
 * model/checkpoint.c — safetensors checkpoints that open in the Python
 * ecosystem (Hugging Face Llama tensor names, config.json beside them).
 *
 * File layout (safetensors): u64 little-endian header length, the JSON
 * header (padded with spaces to a multiple of 8), then the raw F32 data.
 * Our header's __metadata__ holds "format": "pt" (transformers requires it),
 * "producer" and "sha256", the hash of the data section, checked on load.
 * The optimizer state (AdamW m, v and the step) goes into a second file,
 * NAME.optim.safetensors, in the same format.
 *
 * Assumes a little-endian host (x86-64, aarch64), like safetensors itself.
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

typedef struct st_entry { const char *name; const float *data; size_t numel; int rows, cols; } st_entry;

static int write_all(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) == n; }

/* Write a safetensors file atomically (tmp + rename). */
static int write_safetensors(const char *path, const st_entry *e, int n, cJSON *meta, core_error *err) {
    sha256_ctx hc;
    unsigned char digest[32];
    char hex[65];
    sha256_init(&hc);
    for (int i = 0; i < n; i++) sha256_update(&hc, e[i].data, e[i].numel * sizeof(float));
    sha256_final(&hc, digest);
    sha256_digest_to_hex(digest, hex);
    cJSON_AddStringToObject(meta, "sha256", hex);

    cJSON *head = cJSON_CreateObject();
    cJSON_AddItemToObject(head, "__metadata__", meta);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        cJSON *t = cJSON_AddObjectToObject(head, e[i].name);
        cJSON_AddStringToObject(t, "dtype", "F32");
        cJSON *shape = cJSON_AddArrayToObject(t, "shape");
        cJSON_AddItemToArray(shape, cJSON_CreateNumber(e[i].rows));
        if (e[i].cols) cJSON_AddItemToArray(shape, cJSON_CreateNumber(e[i].cols));
        cJSON *offs = cJSON_AddArrayToObject(t, "data_offsets");
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        off += e[i].numel * sizeof(float);
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
    }
    char *json = cJSON_PrintUnformatted(head);
    cJSON_Delete(head);
    if (!json) return core_fail(err, CORE_ERUNTIME, "%s: out of memory writing the header", path);
    size_t hlen = strlen(json), padded = (hlen + 7) / 8 * 8;
    unsigned char len_le[8];
    for (int i = 0; i < 8; i++) len_le[i] = (unsigned char)((uint64_t)padded >> (8 * i));

    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        free(json);
        return core_fail(err, CORE_EINPUT, "%.200s...: path too long", path);
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        free(json);
        return core_fail(err, CORE_ERUNTIME, "%s: cannot create: %s", tmp, strerror(errno));
    }
    int ok = write_all(f, len_le, 8) && write_all(f, json, hlen) &&
             write_all(f, "        ", padded - hlen);
    for (int i = 0; ok && i < n; i++) ok = write_all(f, e[i].data, e[i].numel * sizeof(float));
    free(json);
    if (fclose(f) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return core_fail(err, CORE_ERUNTIME, "%s: write failed: %s", path, strerror(errno));
    }
    return 0;
}

static int write_config_json(const model *m, const char *path, core_error *err) {
    const model_config *c = &m->c;
    cJSON *j = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(j, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString("LlamaForCausalLM"));
    cJSON_AddStringToObject(j, "model_type", "llama");
    cJSON_AddNumberToObject(j, "hidden_size", c->dim);
    cJSON_AddNumberToObject(j, "num_hidden_layers", c->n_layers);
    cJSON_AddNumberToObject(j, "num_attention_heads", c->n_heads);
    cJSON_AddNumberToObject(j, "num_key_value_heads", c->n_kv_heads);
    cJSON_AddNumberToObject(j, "intermediate_size", c->ffn_dim);
    cJSON_AddNumberToObject(j, "vocab_size", c->vocab);
    cJSON_AddNumberToObject(j, "max_position_embeddings", c->max_seq);
    cJSON_AddNumberToObject(j, "rope_theta", c->rope_theta);
    cJSON_AddNumberToObject(j, "rms_norm_eps", c->norm_eps);
    cJSON_AddBoolToObject(j, "tie_word_embeddings", c->tie_embeddings);
    cJSON_AddStringToObject(j, "hidden_act", "silu");
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

int model_save(const model *m, const char *path, int with_optimizer, core_error *err) {
    char cfg[4200], opt[4200];
    if (strlen(path) > 4000) return core_fail(err, CORE_EINPUT, "%.200s...: path too long", path);
    config_path(path, cfg, sizeof cfg);
    if (write_config_json(m, cfg, err)) return CORE_ERUNTIME;
    st_entry *e = calloc(m->n_tensors, sizeof *e);
    if (!e) return core_fail(err, CORE_ERUNTIME, "%s: out of memory", path);
    for (int i = 0; i < m->n_tensors; i++) {
        const model_tensor *t = &m->tensors[i];
        e[i] = (st_entry){t->name, m->params + t->offset, t->numel, t->rows, t->cols};
    }
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "format", "pt");
    cJSON_AddStringToObject(meta, "producer", "grpo.c " GRPO_VERSION);
    int rc = write_safetensors(path, e, m->n_tensors, meta, err);
    free(e);
    if (rc || !with_optimizer) return rc;
    optim_path(path, opt, sizeof opt);
    st_entry oe[2] = {{"adam_m", m->adam_m, m->n_params, (int)m->n_params, 0},
                      {"adam_v", m->adam_v, m->n_params, (int)m->n_params, 0}};
    char step[32];
    snprintf(step, sizeof step, "%d", m->adam_t);
    meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "format", "pt");
    cJSON_AddStringToObject(meta, "producer", "grpo.c " GRPO_VERSION);
    cJSON_AddStringToObject(meta, "adamw_step", step);
    return write_safetensors(opt, oe, 2, meta, err);
}

/* ----------------------------------------------------------------- read */

typedef struct st_file {
    const char *path;
    unsigned char *bytes;
    size_t size, data_start;
    cJSON *head;
} st_file;

static void st_close(st_file *f) {
    free(f->bytes);
    cJSON_Delete(f->head);
}

static int read_whole(const char *path, unsigned char **out, size_t *size, core_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return core_fail(err, CORE_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return core_fail(err, CORE_EINPUT, "%s: cannot seek", path); }
    long n = ftell(f);
    rewind(f);
    *out = malloc(n > 0 ? (size_t)n : 1);
    if (!*out) { fclose(f); return core_fail(err, CORE_ERUNTIME, "%s: out of memory", path); }
    size_t got = fread(*out, 1, (size_t)n, f);
    fclose(f);
    if (got != (size_t)n) return core_fail(err, CORE_EINPUT, "%s: short read", path);
    *size = (size_t)n;
    return 0;
}

/* Open, parse the header and verify the data hash. */
static int st_open(st_file *f, const char *path, core_error *err) {
    *f = (st_file){.path = path};
    if (read_whole(path, &f->bytes, &f->size, err)) return CORE_EINPUT;
    if (f->size < 8) return core_fail(err, CORE_EINPUT, "%s: truncated: %zu bytes, no safetensors header", path, f->size);
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)f->bytes[i] << (8 * i);
    if (hlen > f->size - 8)
        return core_fail(err, CORE_EINPUT, "%s: truncated or not safetensors: header length %llu but file has %zu bytes",
                         path, (unsigned long long)hlen, f->size);
    f->head = cJSON_ParseWithLength((const char *)f->bytes + 8, hlen);
    if (!cJSON_IsObject(f->head)) return core_fail(err, CORE_EINPUT, "%s: header is not valid JSON", path);
    f->data_start = 8 + hlen;
    const cJSON *sha = cJSON_GetObjectItem(cJSON_GetObjectItem(f->head, "__metadata__"), "sha256");
    if (!cJSON_IsString(sha))
        return core_fail(err, CORE_EINPUT, "%s: no __metadata__.sha256 (not written by grpo.c?)", path);
    char hex[65];
    sha256_hex(f->bytes + f->data_start, f->size - f->data_start, hex);
    if (strcmp(hex, sha->valuestring))
        return core_fail(err, CORE_EINPUT, "%s: sha256 mismatch: data hashes to %.12s..., header records %.12s... (corrupted or truncated)",
                         path, hex, sha->valuestring);
    return 0;
}

/* Copy tensor name (rows x cols) into dst, checking dtype, shape and bounds. */
static int st_read(const st_file *f, const char *name, int rows, int cols, float *dst, core_error *err) {
    const cJSON *t = cJSON_GetObjectItem(f->head, name);
    if (!t) return core_fail(err, CORE_EINPUT, "%s: tensor %s missing", f->path, name);
    const cJSON *dtype = cJSON_GetObjectItem(t, "dtype"), *shape = cJSON_GetObjectItem(t, "shape");
    const cJSON *offs = cJSON_GetObjectItem(t, "data_offsets");
    if (!cJSON_IsString(dtype) || strcmp(dtype->valuestring, "F32"))
        return core_fail(err, CORE_EINPUT, "%s: tensor %s: dtype must be F32", f->path, name);
    int want_rank = cols ? 2 : 1;
    if (cJSON_GetArraySize(shape) != want_rank || cJSON_GetArrayItem(shape, 0)->valuedouble != rows ||
        (cols && cJSON_GetArrayItem(shape, 1)->valuedouble != cols))
        return core_fail(err, CORE_EINPUT, "%s: tensor %s: shape does not match the model (want [%d%s%.0d])",
                         f->path, name, rows, cols ? ", " : "", cols);
    size_t bytes = (size_t)rows * (cols ? cols : 1) * sizeof(float);
    if (cJSON_GetArraySize(offs) != 2)
        return core_fail(err, CORE_EINPUT, "%s: tensor %s: bad data_offsets", f->path, name);
    double b = cJSON_GetArrayItem(offs, 0)->valuedouble, e = cJSON_GetArrayItem(offs, 1)->valuedouble;
    if (b < 0 || e - b != (double)bytes || f->data_start + e > (double)f->size)
        return core_fail(err, CORE_EINPUT, "%s: tensor %s: data_offsets [%.0f, %.0f] out of bounds or wrong size",
                         f->path, name, b, e);
    memcpy(dst, f->bytes + f->data_start + (size_t)b, bytes);
    return 0;
}

static int load_optimizer(model *m, const char *opt, core_error *err) {
    st_file f;
    int rc = st_open(&f, opt, err);
    if (!rc) rc = st_read(&f, "adam_m", (int)m->n_params, 0, m->adam_m, err);
    if (!rc) rc = st_read(&f, "adam_v", (int)m->n_params, 0, m->adam_v, err);
    if (!rc) {
        const cJSON *step = cJSON_GetObjectItem(cJSON_GetObjectItem(f.head, "__metadata__"), "adamw_step");
        if (!cJSON_IsString(step)) rc = core_fail(err, CORE_EINPUT, "%s: no __metadata__.adamw_step", opt);
        else m->adam_t = atoi(step->valuestring);
    }
    st_close(&f);
    return rc;
}

int model_load_into(model *m, const char *path, core_error *err) {
    st_file f;
    int rc = st_open(&f, path, err);
    for (int i = 0; !rc && i < m->n_tensors; i++) {
        const model_tensor *t = &m->tensors[i];
        rc = st_read(&f, t->name, t->rows, t->cols, m->params + t->offset, err);
    }
    if (!rc && cJSON_GetArraySize(f.head) != m->n_tensors + 1)
        rc = core_fail(err, CORE_EINPUT, "%s: has %d tensors, the model has %d (different architecture?)",
                       path, cJSON_GetArraySize(f.head) - 1, m->n_tensors);
    st_close(&f);
    if (rc) return rc;
    char opt[4200];
    optim_path(path, opt, sizeof opt);
    FILE *probe = fopen(opt, "rb");
    if (!probe) return 0;
    fclose(probe);
    return load_optimizer(m, opt, err);
}

/* Read one integer field of config.json. */
static int json_int(const cJSON *j, const char *file, const char *key, int *out, core_error *err) {
    const cJSON *v = cJSON_GetObjectItem(j, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != (int)v->valuedouble)
        return core_fail(err, CORE_EINPUT, "%s: %s: missing or not an integer", file, key);
    *out = (int)v->valuedouble;
    return 0;
}

static int read_config_json(model_config *mc, const char *file, core_error *err) {
    unsigned char *text;
    size_t n;
    if (read_whole(file, &text, &n, err)) return CORE_EINPUT;
    cJSON *j = cJSON_ParseWithLength((const char *)text, n);
    free(text);
    if (!j) return core_fail(err, CORE_EINPUT, "%s: not valid JSON", file);
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
    model_config mc;
    *out = NULL;
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
