/*
 * model/hf.c — Hugging Face model directories in and out.
 *
 * A directory holds config.json (hf_config.c), the weights as
 * model.safetensors or as shards listed by model.safetensors.index.json
 * ("weight_map": tensor name -> shard file), tokenizer.json with its
 * companions, and optionally generation_config.json (more stop ids).
 *
 * Loading is generic over the model's tensor table (model_tensor_at): every
 * table tensor must be in the files with the shape config.json implies, and
 * every tensor in the files must be in the table, except rotary inv_freq
 * buffers and an lm_head.weight that equals the embedding of a tied model.
 *
 * Export writes DIR.tmp-XXXXXX and renames it to DIR at the end, so a crash
 * never leaves a half-written directory under the final name; an existing
 * DIR is never overwritten.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/hf_internal.h"
#include "model/model_internal.h"

enum { PATH_CAP = 4200 };

static int join(char *out, const char *dir, const char *name, core_error *err) {
    if (snprintf(out, PATH_CAP, "%s/%s", dir, name) >= PATH_CAP)
        return core_fail(err, CORE_EINPUT, "%.200s...: path too long", dir);
    return 0;
}

static int exists(const char *path) { return access(path, F_OK) == 0; }

/* ------------------------------------------------------------ the weights */

typedef struct hf_weights {
    char index_path[PATH_CAP]; /* "" when there is one model.safetensors */
    cJSON *index, *weight_map;
    int n;
    st_file *files;
} hf_weights;

static void close_weights(hf_weights *w) {
    for (int i = 0; i < w->n; i++) st_close(&w->files[i]);
    free(w->files);
    cJSON_Delete(w->index);
    *w = (hf_weights){0};
}

static int file_index(const hf_weights *w, const char *base) {
    for (int i = 0; i < w->n; i++) {
        const char *slash = strrchr(w->files[i].path, '/');
        if (!strcmp(slash ? slash + 1 : w->files[i].path, base)) return i;
    }
    return -1;
}

/* Open each shard the index names once. */
static int open_shards(hf_weights *w, const char *dir, core_error *err) {
    w->weight_map = cJSON_GetObjectItem(w->index, "weight_map");
    if (!cJSON_IsObject(w->weight_map))
        return core_fail(err, CORE_EINPUT, "%s: weight_map: missing or not an object", w->index_path);
    int cap = cJSON_GetArraySize(w->weight_map);
    w->files = calloc(cap ? cap : 1, sizeof *w->files);
    if (!w->files) return core_fail(err, CORE_ERUNTIME, "%s: out of memory", w->index_path);
    for (const cJSON *e = w->weight_map->child; e; e = e->next) {
        const char *shard = cJSON_IsString(e) ? e->valuestring : "";
        if (!*shard || strchr(shard, '/') || !strcmp(shard, ".."))
            return core_fail(err, CORE_EINPUT, "%s: weight_map.%s: \"%s\" is not a file name in the directory",
                             w->index_path, e->string, shard);
        if (file_index(w, shard) >= 0) continue;
        char path[PATH_CAP];
        if (join(path, dir, shard, err)) return CORE_EINPUT;
        if (!exists(path))
            return core_fail(err, CORE_EINPUT, "%s: weight_map names shard %s (for %s), but %s is missing",
                             w->index_path, shard, e->string, path);
        if (st_open(&w->files[w->n], path, err)) return CORE_EINPUT;
        w->n++;
    }
    return 0;
}

static int open_weights(hf_weights *w, const char *dir, core_error *err) {
    *w = (hf_weights){0};
    char single[PATH_CAP];
    if (join(w->index_path, dir, "model.safetensors.index.json", err) ||
        join(single, dir, "model.safetensors", err))
        return CORE_EINPUT;
    if (exists(w->index_path)) {
        if (hf_read_json(w->index_path, &w->index, err)) return CORE_EINPUT;
        return open_shards(w, dir, err);
    }
    w->index_path[0] = 0;
    if (!exists(single))
        return core_fail(err, CORE_EINPUT, "%s: neither model.safetensors nor model.safetensors.index.json", dir);
    w->files = calloc(1, sizeof *w->files);
    if (!w->files) return core_fail(err, CORE_ERUNTIME, "%s: out of memory", dir);
    if (st_open(&w->files[0], single, err)) return CORE_EINPUT;
    w->n = 1;
    return 0;
}

/* Where tensor name lives: the shard weight_map names, else the one file. */
static int locate(const hf_weights *w, const char *name, const char *need, const st_file **f,
                  const st_tensor **t, core_error *err) {
    int i = 0;
    if (w->index) {
        const cJSON *shard = cJSON_GetObjectItem(w->weight_map, name);
        if (!cJSON_IsString(shard))
            return core_fail(err, CORE_EINPUT, "%s: weight_map has no %s (%s needs it)", w->index_path, name, need);
        i = file_index(w, shard->valuestring);
    }
    *f = &w->files[i];
    if (!(*t = st_find(*f, name)))
        return core_fail(err, CORE_EINPUT, "%s: tensor %s missing (%s needs it)", (*f)->path, name, need);
    return 0;
}

static float value_at(const st_file *f, const st_tensor *t, size_t i) {
    const unsigned char *p = f->map + f->data_start + t->begin;
    uint16_t h;
    float x;
    switch (t->dtype) {
    case ST_F32: memcpy(&x, p + 4 * i, 4); return x;
    case ST_BF16: memcpy(&h, p + 2 * i, 2); return st_bf16_to_f32(h);
    default: memcpy(&h, p + 2 * i, 2); return st_f16_to_f32(h);
    }
}

/* A tensor in the files that the table does not have: fine for rotary
 * buffers and for a tied head saved anyway, when it equals the embedding. */
static int check_extra(const model *m, const float *params, const st_file *f, const st_tensor *t,
                       const char *cfg, core_error *err) {
    size_t n = strlen(t->name), k = strlen(".rotary_emb.inv_freq");
    if (n > k && !strcmp(t->name + n - k, ".rotary_emb.inv_freq")) return 0;
    if (strcmp(t->name, "lm_head.weight") || !m->c.tie_embeddings)
        return core_fail(err, CORE_EINPUT, "%s: tensor %s is not part of the model %s describes", f->path,
                         t->name, cfg);
    const model_tensor *e = model_tensor_find(m, "model.embed_tokens.weight");
    if (t->rank != 2 || t->shape[0] != e->rows || t->shape[1] != e->cols ||
        (t->dtype != ST_F32 && t->dtype != ST_BF16 && t->dtype != ST_F16))
        return core_fail(err, CORE_EINPUT, "%s: lm_head.weight: %s ties the head, but this one is not the embedding's shape and dtype",
                         f->path, cfg);
    for (size_t i = 0; i < e->numel; i++)
        if (value_at(f, t, i) != params[e->offset + i])
            return core_fail(err, CORE_EINPUT,
                             "%s: lm_head.weight differs from model.embed_tokens.weight at %zu, but %s has tie_word_embeddings true",
                             f->path, i, cfg);
    return 0;
}

/* Fill params (the model's layout) from the files. */
static int load_params(const model *m, const hf_weights *w, float *params, const char *cfg, core_error *err) {
    for (int i = 0; i < m->n_tensors; i++) {
        const model_tensor *mt = &m->tensors[i];
        const st_file *f = NULL;
        const st_tensor *t = NULL;
        if (locate(w, mt->name, cfg, &f, &t, err) ||
            st_read_f32(f, t, mt->rows, mt->cols, cfg, params + mt->offset, err))
            return CORE_EINPUT;
    }
    for (int k = 0; k < w->n; k++)
        for (int i = 0; i < w->files[k].n; i++) {
            const st_tensor *t = &w->files[k].t[i];
            if (!model_tensor_find(m, t->name) && check_extra(m, params, &w->files[k], t, cfg, err))
                return CORE_EINPUT;
        }
    return 0;
}

/* Weights of DIR into params of a model built from the same config. */
static int read_weights(const model *m, const char *dir, const char *cfg, float *params, core_error *err) {
    hf_weights w;
    int rc = open_weights(&w, dir, err);
    if (!rc) rc = load_params(m, &w, params, cfg, err);
    close_weights(&w);
    return rc;
}

/* ---------------------------------------------------------- the tokenizer */

/* Stop ids from an "eos_token_id" field: an int, a list of them, or null. */
static int add_eos_ids(tokenizer *t, const cJSON *j, const char *file, core_error *err) {
    const cJSON *v = cJSON_GetObjectItem(j, "eos_token_id");
    if (!v || cJSON_IsNull(v)) return 0;
    const cJSON *one = v;
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 1;
    for (int i = 0; i < n; i++) {
        if (cJSON_IsArray(v)) one = cJSON_GetArrayItem(v, i);
        if (!cJSON_IsNumber(one) || one->valuedouble != (int)one->valuedouble)
            return core_fail(err, CORE_EINPUT, "%s: eos_token_id: not an integer or a list of them", file);
        if (tokenizer_add_eos(t, (int)one->valuedouble, err))
            return core_fail_wrap(err, "%s: eos_token_id", file);
    }
    return 0;
}

/* DIR/tokenizer.json with the stop ids of config.json and generation_config.json. */
static int load_tokenizer(tokenizer **out, const char *dir, const cJSON *config, const char *cfg, int vocab,
                          core_error *err) {
    char tj[PATH_CAP], gen[PATH_CAP];
    *out = NULL;
    if (join(tj, dir, "tokenizer.json", err) || join(gen, dir, "generation_config.json", err)) return CORE_EINPUT;
    tokenizer *t;
    if (tokenizer_load_hf(&t, dir, err)) return CORE_EINPUT;
    int rc = 0;
    if (tokenizer_size(t) > vocab)
        rc = core_fail(err, CORE_EINPUT, "%s: %d tokens, but %s has vocab_size %d", tj, tokenizer_size(t), cfg, vocab);
    if (!rc) rc = add_eos_ids(t, config, cfg, err);
    if (!rc && exists(gen)) {
        cJSON *g;
        rc = hf_read_json(gen, &g, err);
        if (!rc) rc = add_eos_ids(t, g, gen, err);
        cJSON_Delete(g);
    }
    if (rc) tokenizer_free(t);
    else *out = t;
    return rc;
}

/* Our own byte-level models say so in config.json; every other model
 * directory must bring its tokenizer.json. */
static int uses_byte_tokenizer(const cJSON *config) {
    const cJSON *v = cJSON_GetObjectItem(config, "grpo_tokenizer");
    return cJSON_IsString(v) && !strcmp(v->valuestring, "bytes");
}

/* ------------------------------------------------------------------- load */

static int read_config(const char *dir, char *cfg, cJSON **j, model_config *mc, core_error *err) {
    *j = NULL;
    if (join(cfg, dir, "config.json", err)) return CORE_EINPUT;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return core_fail(err, CORE_EINPUT, "%s: not a model directory", dir);
    if (hf_read_json(cfg, j, err) || hf_config_parse(*j, cfg, mc, err)) {
        cJSON_Delete(*j);
        *j = NULL;
        return CORE_EINPUT;
    }
    return 0;
}

int model_load_hf(model **out, const char *dir, int max_batch, int max_seq, core_error *err) {
    char cfg[PATH_CAP], tj[PATH_CAP];
    cJSON *j;
    model_config mc;
    *out = NULL;
    if (read_config(dir, cfg, &j, &mc, err)) return CORE_EINPUT;
    int rc = 0, bytes = uses_byte_tokenizer(j);
    if (max_seq > mc.max_seq)
        rc = core_fail(err, CORE_EINPUT, "max_seq %d exceeds %s's max_position_embeddings %d", max_seq, cfg, mc.max_seq);
    else if (max_seq > 0)
        mc.max_seq = max_seq;
    else if (max_seq < 0 && mc.max_seq > -max_seq) /* a cap, not a demand */
        mc.max_seq = -max_seq;
    if (!rc && !join(tj, dir, "tokenizer.json", err) && !bytes && !exists(tj))
        rc = core_fail(err, CORE_EINPUT, "%s: missing (a Hugging Face model directory needs its tokenizer)", tj);
    model *m = NULL;
    tokenizer *t = NULL;
    if (!rc) rc = model_create(&m, &mc, max_batch, err);
    if (!rc) rc = read_weights(m, dir, cfg, m->h_params, err); /* a new model is on the CPU */
    if (!rc && !bytes) rc = load_tokenizer(&t, dir, j, cfg, mc.vocab, err);
    cJSON_Delete(j);
    if (rc) {
        model_free(m);
        return rc;
    }
    if (t) model_set_tokenizer(m, t);
    *out = m;
    return 0;
}

int hf_load_into(model *m, const char *dir, core_error *err) {
    char cfg[PATH_CAP], opt[PATH_CAP];
    cJSON *j;
    model_config mc;
    if (read_config(dir, cfg, &j, &mc, err)) return CORE_EINPUT;
    cJSON_Delete(j);
    if (!hf_config_same_shape(&mc, &m->c))
        return core_fail(err, CORE_EINPUT, "%s: describes a model of another shape than the one loading it", cfg);
    if (join(opt, dir, "optimizer.safetensors", err) || read_weights(m, dir, cfg, m->h_params, err))
        return CORE_EINPUT;
    model_params_commit(m);
    return exists(opt) ? ckpt_load_optimizer(m, opt, err) : 0;
}

/* ----------------------------------------------------------------- export */

static int write_text(const char *path, const char *text, core_error *err) {
    FILE *f = fopen(path, "w");
    int ok = f && text && fputs(text, f) >= 0;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) return core_fail(err, CORE_ERUNTIME, "%s: write failed: %s", path, strerror(errno));
    return 0;
}

/* The source's config.json, checked against the model and kept byte for
 * byte but for torch_dtype. */
static int export_src_config(const model *m, const char *src, const char *path, const char *dtype,
                             core_error *err) {
    char *text, *out = NULL;
    size_t n;
    cJSON *j = NULL;
    model_config mc;
    if (hf_read_text(src, &text, &n, err)) return CORE_EINPUT;
    int rc = hf_read_json(src, &j, err) || hf_config_parse(j, src, &mc, err) ? CORE_EINPUT : 0;
    if (!rc && !hf_config_same_shape(&mc, &m->c))
        rc = core_fail(err, CORE_EINPUT, "%s: describes another model than the one being exported", src);
    if (!rc && !(out = hf_json_set_top_string(text, n, "torch_dtype", dtype)))
        rc = core_fail(err, CORE_ERUNTIME, "%s: out of memory", src);
    if (!rc) rc = write_text(path, out, err);
    cJSON_Delete(j);
    free(text), free(out);
    return rc;
}

/* config.json: the source's when it has one, else built from the model's
 * config; torch_dtype set to what model.safetensors holds. */
static int export_config(const model *m, const char *src_dir, const char *path, int dtype, core_error *err) {
    const char *dtype_name = dtype == MODEL_DTYPE_BF16 ? "bfloat16" : "float32";
    char src[PATH_CAP];
    if (src_dir && !join(src, src_dir, "config.json", err) && exists(src))
        return export_src_config(m, src, path, dtype_name, err);
    cJSON *j = hf_config_build(&m->c);
    if (!m->tok) { /* our byte-level model: its special ids, and how to reload it */
        cJSON_AddNumberToObject(j, "bos_token_id", TOK_BOS);
        cJSON_AddNumberToObject(j, "eos_token_id", TOK_EOS);
        cJSON_AddNumberToObject(j, "pad_token_id", TOK_PAD);
        cJSON_AddStringToObject(j, "grpo_tokenizer", "bytes");
    }
    cJSON_AddStringToObject(j, "torch_dtype", dtype_name);
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    int rc = write_text(path, text, err);
    free(text);
    return rc;
}

static int copy_file(const char *from, const char *to, core_error *err) {
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    char buf[1 << 16];
    size_t n;
    int ok = in && out;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0) ok = fwrite(buf, 1, n, out) == n;
    if (in && ferror(in)) ok = 0;
    if (in) fclose(in);
    if (out && fclose(out) != 0) ok = 0;
    if (!ok) return core_fail(err, CORE_ERUNTIME, "copying %s to %s failed: %s", from, to, strerror(errno));
    return 0;
}

/* The tokenizer and generation files of the source, as they are. */
/* The source's files an export copies as they are. */
static const char *const companions[] = {"tokenizer.json", "tokenizer_config.json", "generation_config.json",
                                         "special_tokens_map.json", "vocab.json", "merges.txt",
                                         "added_tokens.json"};
enum { N_COMPANIONS = sizeof companions / sizeof companions[0] };

static int copy_companions(const char *src_dir, const char *tmp, core_error *err) {
    char from[PATH_CAP], to[PATH_CAP];
    for (size_t i = 0; src_dir && i < N_COMPANIONS; i++) {
        if (join(from, src_dir, companions[i], err) || join(to, tmp, companions[i], err)) return CORE_EINPUT;
        if (exists(from) && copy_file(from, to, err)) return CORE_ERUNTIME;
    }
    return 0;
}

static int export_weights(const model *m, const char *path, int dtype, core_error *err) {
    st_out *e = calloc(m->n_tensors, sizeof *e);
    if (!e) return core_fail(err, CORE_ERUNTIME, "%s: out of memory", path);
    const float *params = model_params((model *)m); /* the host copy, brought up to date */
    for (int i = 0; i < m->n_tensors; i++) {
        const model_tensor *t = &m->tensors[i];
        e[i] = (st_out){t->name, params + t->offset, t->numel, t->rows, t->cols};
    }
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "producer", "grpo.c " GRPO_VERSION);
    int rc = st_write(path, e, m->n_tensors, dtype == MODEL_DTYPE_BF16 ? ST_BF16 : ST_F32, meta, err);
    free(e);
    return rc;
}

/* Remove the (flat) temporary directory of a failed export. */
static void remove_flat_dir(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[PATH_CAP];
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && !join(path, dir, e->d_name, NULL))
            unlink(path);
    if (d) closedir(d);
    rmdir(dir);
}

static int fill_export(const model *m, const char *tmp, const char *src_dir, int dtype, int with_optimizer,
                       core_error *err) {
    char path[PATH_CAP];
    int rc = join(path, tmp, "config.json", err);
    if (!rc) rc = export_config(m, src_dir, path, dtype, err);
    if (!rc) rc = join(path, tmp, "model.safetensors", err);
    if (!rc) rc = export_weights(m, path, dtype, err);
    if (!rc) rc = copy_companions(src_dir, tmp, err);
    if (!rc && with_optimizer) rc = join(path, tmp, "optimizer.safetensors", err);
    if (!rc && with_optimizer) rc = ckpt_save_optimizer(m, path, dtype != MODEL_DTYPE_F32, err);
    return rc;
}

int model_save_hf(const model *m, const char *dir, const char *src_dir, int dtype, int with_optimizer,
                  core_error *err) {
    if (dtype != MODEL_DTYPE_F32 && dtype != MODEL_DTYPE_BF16)
        return core_fail(err, CORE_EINPUT, "%s: export dtype %d is neither F32 nor BF16", dir, dtype);
    if (exists(dir)) return core_fail(err, CORE_EINPUT, "%s: already exists (an export never overwrites)", dir);
    char tmp[PATH_CAP];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", dir) >= (int)sizeof tmp)
        return core_fail(err, CORE_EINPUT, "%.200s...: path too long", dir);
    if (!mkdtemp(tmp)) return core_fail(err, CORE_ERUNTIME, "%s: cannot create: %s", tmp, strerror(errno));
    chmod(tmp, 0755); /* mkdtemp makes it 0700; a model directory is readable like any output */
    int rc = fill_export(m, tmp, src_dir, dtype, with_optimizer, err);
    if (!rc && renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_NOREPLACE) != 0)
        rc = core_fail(err, errno == EEXIST ? CORE_EINPUT : CORE_ERUNTIME, "%s: cannot rename %s into place: %s",
                       dir, tmp, strerror(errno));
    if (rc) remove_flat_dir(tmp);
    return rc;
}

void model_remove_hf(const char *dir) {
    /* the optimizer first: a half-removed checkpoint is then incomplete, not mismatched */
    static const char *const own[] = {"optimizer.safetensors", "model.safetensors", "config.json"};
    char path[PATH_CAP];
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (!join(path, dir, own[i], NULL)) unlink(path);
    for (size_t i = 0; i < N_COMPANIONS; i++)
        if (!join(path, dir, companions[i], NULL)) unlink(path);
    rmdir(dir); /* fails, and keeps the folder, if anyone put another file there */
}
