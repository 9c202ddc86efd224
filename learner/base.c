/*
 * base.c — the model a GRPO or distillation run starts from and keeps as its
 * frozen reference: model.path (a Hugging Face directory), model.checkpoint,
 * or the base `grpo pretrain` wrote.
 */
#include <stdio.h>
#include <string.h>

#include "learner/internal.h"
#include "learner/pretrain.h"

/* A model from model.path takes its shape from the directory's config.json,
 * so a [model] shape key set to anything but its default would be silently
 * ignored: refuse it instead.  (model.max_seq still caps the context.) */
static int check_shape_keys_unused(const core_config *cfg, core_error *err) {
    static const char *const keys[] = {"dim", "n_layers", "n_heads", "n_kv_heads", "ffn_dim", "vocab",
                                       "rope_theta", "norm_eps", "tie_embeddings", "init_std",
                                       "checkpoint"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!core_config_is_default(cfg, "model", keys[i]))
            return core_fail(err, CORE_EINPUT,
                             "model.%s is set, but model.path (%s) gives the model: its config.json "
                             "decides the shape; remove model.%s", keys[i], cfg->model.path, keys[i]);
    return 0;
}

/* Its path; model.save_dtype applies only to a run on model.path. */
int learner_base_source(const core_config *cfg, char *out, size_t cap, core_error *err) {
    if (!cfg->model.path[0] && strcmp(cfg->model.save_dtype, "float32"))
        return core_fail(err, CORE_EINPUT, "model.save_dtype = %s applies only to a run on model.path "
                         "(our own checkpoints are float32)", cfg->model.save_dtype);
    if (cfg->model.path[0]) {
        if (check_shape_keys_unused(cfg, err)) return err->code;
        snprintf(out, cap, "%s", cfg->model.path);
    } else if (cfg->model.checkpoint[0]) snprintf(out, cap, "%s", cfg->model.checkpoint);
    else pretrain_checkpoint_path(cfg, out, cap);
    return 0;
}

int learner_load_base(const core_config *cfg, int max_batch, model **out, core_error *err) {
    char path[1024];
    if (learner_base_source(cfg, path, sizeof path, err)) return err->code;
    if (model_open(out, path, max_batch, cfg->model.max_seq, err))
        return core_fail_wrap(err, "loading the base model (run `grpo pretrain` first, or set "
                                   "model.path or model.checkpoint)");
    if (model_set_device(*out, cfg->model.device, cfg->model.matmul, err)) return err->code;
    model_reset_optimizer(*out);
    return 0;
}
