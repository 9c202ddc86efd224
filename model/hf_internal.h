/*
 * model/hf_internal.h — safetensors files and Hugging Face config.json,
 * shared by safetensors.c, hf_config.c, hf.c and checkpoint.c.
 * Not a public header: other folders use model.h.
 */
#ifndef GRPO_MODEL_HF_INTERNAL_H
#define GRPO_MODEL_HF_INTERNAL_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

/* ------------------------------------------------------------ safetensors
 * File layout: u64 little-endian header length N, N bytes of JSON header
 * {"__metadata__": {...}, NAME: {"dtype", "shape", "data_offsets": [b, e]}},
 * then the data section; offsets are relative to its start.  Files are
 * memory-mapped: a tensor is converted to fp32 straight from the mapping,
 * so loading never holds a second full copy of the weights. */

enum st_dtype { ST_F32, ST_BF16, ST_F16, ST_F64, ST_I64, ST_I32, ST_I16, ST_I8, ST_U8, ST_BOOL,
                ST_F8_E4M3, ST_F8_E5M2, ST_N_DTYPES };
const char *st_dtype_name(int dtype);

enum { ST_MAX_RANK = 4 };
typedef struct st_tensor {
    const char *name;      /* points into the parsed header */
    int dtype, rank;       /* enum st_dtype */
    int64_t shape[ST_MAX_RANK];
    size_t begin, end;     /* byte range in the data section */
} st_tensor;

typedef struct st_file {
    char path[4200];
    const unsigned char *map; /* the whole file, read-only */
    size_t size, data_start;
    cJSON *head;
    int n;
    st_tensor *t;             /* n entries, header order */
} st_file;

/* Map path and validate its header: the length fits the file, the JSON
 * parses, every dtype is known, every shape times its dtype's size equals
 * its byte range, and every range lies inside the file ("truncated" when
 * one runs past its end).  CORE_EINPUT naming the file otherwise. */
int st_open(st_file *f, const char *path, core_error *err);
void st_close(st_file *f);
const st_tensor *st_find(const st_file *f, const char *name);
/* Check that its shape is (rows) for cols == 0, else (rows, cols), and
 * convert it into dst as fp32 (F32 copied, BF16/F16 widened exactly).
 * what names the source of the expected shape in the message. */
int st_read_f32(const st_file *f, const st_tensor *t, int64_t rows, int cols, const char *what,
                float *dst, core_error *err);
/* sha256 (hex) of the data section, against __metadata__.sha256 (our own
 * checkpoints record it; a file without it is refused). */
int st_verify_sha256(const st_file *f, core_error *err);
/* A string of __metadata__, or NULL. */
const char *st_metadata(const st_file *f, const char *key);

/* One tensor to write: fp32 values, stored as the file's dtype. */
typedef struct st_out {
    const char *name;
    const float *data;
    size_t numel;
    int64_t rows;          /* the optimizer's flat vectors exceed 2^31 for 8B+ models */
    int cols;              /* 0: a vector of rows */
} st_out;
/* Write path (via path.tmp and rename) with every tensor in dtype (ST_F32
 * or ST_BF16, rounded to nearest even).  meta: string pairs for
 * __metadata__ (taken over and freed); "format": "pt" and the data's
 * "sha256" are added. */
int st_write(const char *path, const st_out *t, int n, int dtype, cJSON *meta, core_error *err);

/* fp32 <-> 16-bit floats, exact where the value is representable. */
float st_bf16_to_f32(uint16_t h);
float st_f16_to_f32(uint16_t h);
uint16_t st_f32_to_bf16(float x);

/* ------------------------------------------------------------ config.json */

/* Parse a Hugging Face config.json (LlamaForCausalLM, Qwen2ForCausalLM,
 * Qwen3ForCausalLM) into mc, max_seq = max_position_embeddings.  Anything
 * the model does not compute (other architectures, sliding windows, other
 * rope types, activations, biases) is CORE_EINPUT naming the file, the
 * field and its value. */
int hf_config_parse(const cJSON *j, const char *file, model_config *mc, core_error *err);
/* Read and parse a JSON file (CORE_EINPUT naming it when missing or bad). */
int hf_read_json(const char *file, cJSON **out, core_error *err);
/* A whole file, NUL-terminated (malloc'd). */
int hf_read_text(const char *file, char **out, size_t *len, core_error *err);
/* text (a JSON object) with its top-level key set to the string value: the
 * old value replaced, or the key inserted first; every other byte kept as
 * it was (cJSON would reprint 8.0 as 8, which transformers warns about).
 * malloc'd; NULL when out of memory or text has no object. */
char *hf_json_set_top_string(const char *text, size_t n, const char *key, const char *value);
/* A config.json for mc from scratch (our own models: LlamaConfig). */
cJSON *hf_config_build(const model_config *mc);
/* Do two configs describe the same tensors? */
int hf_config_same_shape(const model_config *a, const model_config *b);

/* ------------------------------------------------------- checkpoint.c, hf.c */

/* The AdamW moments (adam_m, adam_v: n_params each, F32) and the step
 * (__metadata__.adamw_step) in a safetensors file of their own; with_master
 * also the fp32 weights ("master"), for an export whose weights file holds
 * them rounded (bf16), so that resuming from it is exact.  Loading restores
 * the master weights over the model's when the file has them. */
int ckpt_save_optimizer(const model *m, const char *path, int with_master, core_error *err);
int ckpt_load_optimizer(model *m, const char *path, core_error *err);
/* A Hugging Face directory's weights (and optimizer.safetensors when it is
 * there) into a model of the same config (model_load_into for a directory). */
int hf_load_into(model *m, const char *dir, core_error *err);

#endif
