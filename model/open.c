/*
 * model/open.c — one door for every command that runs a model someone
 * names on the command line or in a config: a Hugging Face model directory
 * (config.json, safetensors, tokenizer.json) or one of our .safetensors
 * checkpoints (config.json beside it, the byte-level tokenizer).
 */
#include <sys/stat.h>

#include "model/model.h"

static int is_directory(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int model_open(model **out, const char *path, int max_batch, int max_seq, core_error *err) {
    if (is_directory(path)) return model_load_hf(out, path, max_batch, max_seq, err);
    return model_load(out, path, max_batch, err);
}
