/*
 * model/model.c — the transformer: config, parameter layout, forward,
 * backward, AdamW and the learning-rate schedule.  Kernels are in
 * ops_cpu.c (ops.h); sampling in sample.c; checkpoints in checkpoint.c.
 *
 * The backward pass calls the op backwards in exactly the reverse order of
 * the forward pass, so it reads like the chain rule.
 */
#include <math.h>
#include <stddef.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"
#include "model/ops.h"

/* ---------------------------------------------------------------- config */

/* Head size: head_dim, or dim / n_heads when head_dim is 0. */
static int head_size(const model_config *mc) {
    return mc->head_dim ? mc->head_dim : mc->dim / mc->n_heads;
}

int model_config_check(const model_config *mc, const char *what, core_error *err) {
    const char *w = what ? what : "model config";
#define NEED(cond, ...) \
    if (!(cond)) return core_fail(err, CORE_EINPUT, __VA_ARGS__)
    NEED(mc->dim > 0 && mc->n_layers > 0 && mc->n_heads > 0 && mc->n_kv_heads > 0 &&
             mc->ffn_dim > 0 && mc->max_seq >= 2,
         "%s: dim, n_layers, n_heads, n_kv_heads, ffn_dim must be positive and max_seq >= 2", w);
    NEED(mc->head_dim >= 0, "%s: head_dim (%d) must be positive (or 0: dim / n_heads)", w, mc->head_dim);
    NEED(mc->head_dim || mc->dim % mc->n_heads == 0,
         "%s: model.dim (%d) must be a multiple of model.n_heads (%d)", w, mc->dim, mc->n_heads);
    NEED(head_size(mc) % 2 == 0, "%s: head size %d must be even (RoPE)", w, head_size(mc));
    NEED(mc->n_heads % mc->n_kv_heads == 0,
         "%s: model.n_heads (%d) must be a multiple of model.n_kv_heads (%d)", w, mc->n_heads,
         mc->n_kv_heads);
    NEED(mc->vocab >= TOK_N_SPECIAL_END, "%s: model.vocab (%d) must be at least %d (bytes + special tokens)",
         w, mc->vocab, TOK_N_SPECIAL_END);
    NEED(mc->rope_theta > 0, "%s: model.rope_theta must be positive", w);
    NEED(mc->norm_eps >= 0, "%s: model.norm_eps must be >= 0", w);
    NEED(mc->arch >= MODEL_ARCH_LLAMA && mc->arch <= MODEL_ARCH_QWEN3, "%s: unknown arch %d", w, mc->arch);
    NEED((mc->qkv_bias == 0 || mc->qkv_bias == 1) && (mc->qk_norm == 0 || mc->qk_norm == 1),
         "%s: qkv_bias (%d) and qk_norm (%d) must be 0 or 1", w, mc->qkv_bias, mc->qk_norm);
    const model_rope_scaling *rs = &mc->rope_scaling;
    NEED(rs->type == MODEL_ROPE_DEFAULT || rs->type == MODEL_ROPE_LLAMA3,
         "%s: unknown rope_scaling type %d", w, rs->type);
    NEED(rs->type != MODEL_ROPE_LLAMA3 ||
             (rs->factor > 0 && rs->low_freq_factor > 0 && rs->high_freq_factor > rs->low_freq_factor &&
              rs->original_max_position > 0),
         "%s: rope_scaling llama3 needs factor > 0, 0 < low_freq_factor < high_freq_factor and "
         "original_max_position_embeddings > 0 (got %g, %g, %g, %d)",
         w, rs->factor, rs->low_freq_factor, rs->high_freq_factor, rs->original_max_position);
#undef NEED
    return 0;
}

int model_config_from(model_config *mc, const core_config *cfg, core_error *err) {
    *mc = (model_config){
        .dim = cfg->model.dim, .n_layers = cfg->model.n_layers, .n_heads = cfg->model.n_heads,
        .n_kv_heads = cfg->model.n_kv_heads, .ffn_dim = cfg->model.ffn_dim,
        .vocab = cfg->model.vocab, .max_seq = cfg->model.max_seq,
        .rope_theta = (float)cfg->model.rope_theta, .norm_eps = (float)cfg->model.norm_eps,
        .tie_embeddings = cfg->model.tie_embeddings,
    };
    return model_config_check(mc, "[model]", err);
}

/* ---------------------------------------------------------- tensor table */

/* Where tensor i's pointer lives in a param_views: in the struct itself
 * (layer < 0) or in block layer's layer_params. */
static float **view_slot(param_views *v, int layer, size_t field) {
    char *base = layer < 0 ? (char *)v : (char *)&v->layers[layer];
    return (float **)(base + field);
}

static void add_tensor(model *m, size_t *offset, int layer, size_t field, const char *name, int rows,
                       int cols) {
    int i = m->n_tensors++;
    model_tensor *t = &m->tensors[i];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->rows = rows;
    t->cols = cols;
    t->numel = (size_t)rows * (cols ? cols : 1);
    t->offset = *offset;
    *offset += t->numel;
    m->tensor_layer[i] = layer;
    m->tensor_field[i] = field;
}

enum { MAX_LAYER_TENSORS = 14 };

/* Hugging Face names, in our fixed order (the flat buffers' layout): the
 * embedding, each block's tensors as layer_params lists them (those the
 * config has), the final norm, the untied head.  Vectors (norm weights,
 * biases) have cols = 0.  Returns the total parameter count. */
static size_t build_tensor_table(model *m) {
    const model_config *c = &m->c;
    int C = c->dim, Q = m->q_dim, KV = m->kv_dim, HS = m->hs, F = c->ffn_dim;
    size_t off = 0;
    char name[80];
    m->n_tensors = 0;
    add_tensor(m, &off, -1, offsetof(param_views, embed), "model.embed_tokens.weight", c->vocab, C);
#define LP(f) offsetof(layer_params, f)
    const struct { const char *suffix; size_t field; int rows, cols, present; } row[MAX_LAYER_TENSORS] = {
        {"input_layernorm.weight", LP(attn_norm), C, 0, 1},
        {"self_attn.q_proj.weight", LP(wq), Q, C, 1},
        {"self_attn.q_proj.bias", LP(bq), Q, 0, c->qkv_bias},
        {"self_attn.k_proj.weight", LP(wk), KV, C, 1},
        {"self_attn.k_proj.bias", LP(bk), KV, 0, c->qkv_bias},
        {"self_attn.v_proj.weight", LP(wv), KV, C, 1},
        {"self_attn.v_proj.bias", LP(bv), KV, 0, c->qkv_bias},
        {"self_attn.o_proj.weight", LP(wo), C, Q, 1},
        {"self_attn.q_norm.weight", LP(q_norm), HS, 0, c->qk_norm},
        {"self_attn.k_norm.weight", LP(k_norm), HS, 0, c->qk_norm},
        {"post_attention_layernorm.weight", LP(ffn_norm), C, 0, 1},
        {"mlp.gate_proj.weight", LP(w_gate), F, C, 1},
        {"mlp.up_proj.weight", LP(w_up), F, C, 1},
        {"mlp.down_proj.weight", LP(w_down), C, F, 1},
    };
#undef LP
    for (int l = 0; l < c->n_layers; l++)
        for (int i = 0; i < MAX_LAYER_TENSORS; i++) {
            if (!row[i].present) continue;
            snprintf(name, sizeof name, "model.layers.%d.%s", l, row[i].suffix);
            add_tensor(m, &off, l, row[i].field, name, row[i].rows, row[i].cols);
        }
    add_tensor(m, &off, -1, offsetof(param_views, final_norm), "model.norm.weight", C, 0);
    if (!c->tie_embeddings)
        add_tensor(m, &off, -1, offsetof(param_views, lm_head), "lm_head.weight", c->vocab, C);
    return off;
}

/* v's pointers into base: tensor i at its table offset, or at
 * wt_offset[i] in the packed copy; absent tensors NULL. */
static void bind_at(const model *m, float *base, int packed, param_views *v) {
    *v = (param_views){.layers = v->layers};
    for (int l = 0; l < m->c.n_layers; l++) v->layers[l] = (layer_params){0};
    for (int i = 0; i < m->n_tensors; i++) {
        size_t at = packed ? m->wt_offset[i] : m->tensors[i].offset;
        *view_slot(v, m->tensor_layer[i], m->tensor_field[i]) = base + at;
    }
    if (m->c.tie_embeddings) v->lm_head = v->embed;
}

void model_bind_views(const model *m, float *base, param_views *v) { bind_at(m, base, 0, v); }

size_t model_config_n_params(const model_config *mc) {
    size_t C = mc->dim, hs = head_size(mc), q = hs * mc->n_heads, kv = hs * mc->n_kv_heads,
           F = mc->ffn_dim;
    size_t per_layer = 2 * C + q * C + 2 * kv * C + C * q + 3 * F * C;
    if (mc->qkv_bias) per_layer += q + 2 * kv;
    if (mc->qk_norm) per_layer += 2 * hs;
    return (size_t)mc->vocab * C * (mc->tie_embeddings ? 1 : 2) + mc->n_layers * per_layer + C;
}

/* --------------------------------------------------------------- create */

/* One buffer the backend holds: where its pointer lives, its size in bytes
 * (0: the config does not need it; the pointer stays NULL) and whether its
 * contents must survive a move to another device. */
typedef struct buf_spec { void **slot; size_t bytes; int keep; } buf_spec;

static void add_buf(buf_spec *b, int *n, void *slot, size_t bytes, int keep) {
    b[(*n)++] = (buf_spec){(void **)slot, bytes, keep};
}

enum { BUFS_FIXED = 64, BUFS_PER_LAYER = 17 };

/* Every backend buffer of the model, sized for (max_batch, max_seq). */
static int list_buffers(model *m, buf_spec *b) {
    const model_config *c = &m->c;
    size_t f = sizeof(float), N = (size_t)m->max_batch * c->max_seq, C = c->dim, F = c->ffn_dim;
    size_t T = c->max_seq, M = m->max_batch, Q = m->q_dim, KV = m->kv_dim, V = c->vocab;
    size_t att = M * c->n_heads * T * T, P = m->n_params, qk = c->qk_norm;
    /* attention backward scratch: T*T floats per OpenMP thread on the CPU
     * (sized for every processor, in case the thread count is raised
     * after create), B*T*T on CUDA; calloc leaves the unused part untouched */
    int threads = omp_get_max_threads() > omp_get_num_procs() ? omp_get_max_threads() : omp_get_num_procs();
    size_t scratch = (size_t)(threads > m->max_batch ? threads : m->max_batch) * T * T;
    int n = 0;
    add_buf(b, &n, &m->params, P * f, 1), add_buf(b, &n, &m->grads, P * f, 1);
    add_buf(b, &n, &m->adam_m, P * f, 1), add_buf(b, &n, &m->adam_v, P * f, 1);
    add_buf(b, &n, &m->wt, m->wt_size * f, 0);
    add_buf(b, &n, &m->rope_cos, T * m->hs / 2 * f, 1), add_buf(b, &n, &m->rope_sin, T * m->hs / 2 * f, 1);
    add_buf(b, &n, &m->tokens, N * sizeof(int), 0), add_buf(b, &n, &m->targets, N * sizeof(int), 0);
    add_buf(b, &n, &m->resid, (c->n_layers + 1) * N * C * f, 0);
    for (int l = 0; l < c->n_layers; l++) {
        layer_acts *a = &m->acts[l];
        add_buf(b, &n, &a->norm1, N * C * f, 0), add_buf(b, &n, &a->rstd1, N * f, 0);
        add_buf(b, &n, &a->q, N * Q * f, 0), add_buf(b, &n, &a->k, N * KV * f, 0);
        add_buf(b, &n, &a->v, N * KV * f, 0), add_buf(b, &n, &a->att, att * f, 0);
        add_buf(b, &n, &a->attn_out, N * Q * f, 0), add_buf(b, &n, &a->x_mid, N * C * f, 0);
        add_buf(b, &n, &a->norm2, N * C * f, 0), add_buf(b, &n, &a->rstd2, N * f, 0);
        add_buf(b, &n, &a->gate, N * F * f, 0), add_buf(b, &n, &a->up, N * F * f, 0);
        add_buf(b, &n, &a->h, N * F * f, 0);
        add_buf(b, &n, &a->q_raw, qk * N * Q * f, 0), add_buf(b, &n, &a->k_raw, qk * N * KV * f, 0);
        add_buf(b, &n, &a->q_rstd, qk * N * c->n_heads * f, 0);
        add_buf(b, &n, &a->k_rstd, qk * N * c->n_kv_heads * f, 0);
    }
    add_buf(b, &n, &m->normf, N * C * f, 0), add_buf(b, &n, &m->rstdf, N * f, 0);
    add_buf(b, &n, &m->logits, N * V * f, 0), add_buf(b, &n, &m->lse, N * f, 0);
    add_buf(b, &n, &m->lp, N * f, 0), add_buf(b, &n, &m->ent, N * f, 0);
    add_buf(b, &n, &m->dlp, N * f, 0), add_buf(b, &n, &m->dent, N * f, 0);
    add_buf(b, &n, &m->dx, N * C * f, 0), add_buf(b, &n, &m->dnorm, N * C * f, 0);
    add_buf(b, &n, &m->dq, N * Q * f, 0), add_buf(b, &n, &m->dk, N * KV * f, 0);
    add_buf(b, &n, &m->dv, N * KV * f, 0), add_buf(b, &n, &m->dattn, N * Q * f, 0);
    add_buf(b, &n, &m->dgate, N * F * f, 0), add_buf(b, &n, &m->dup, N * F * f, 0);
    add_buf(b, &n, &m->dh, N * F * f, 0), add_buf(b, &n, &m->dlogits, N * V * f, 0);
    add_buf(b, &n, &m->att_scratch, scratch * f, 0);
    add_buf(b, &n, &m->dq_raw, qk * N * Q * f, 0), add_buf(b, &n, &m->dk_raw, qk * N * KV * f, 0);
    /* sampling */
    size_t cache = (size_t)c->n_layers * M * T * KV * f;
    add_buf(b, &n, &m->kcache, cache, 0), add_buf(b, &n, &m->vcache, cache, 0);
    add_buf(b, &n, &m->s_x, M * C * f, 0), add_buf(b, &n, &m->s_xn, M * C * f, 0);
    add_buf(b, &n, &m->s_q, M * Q * f, 0), add_buf(b, &n, &m->s_k, M * KV * f, 0);
    add_buf(b, &n, &m->s_v, M * KV * f, 0), add_buf(b, &n, &m->s_att, M * Q * f, 0);
    add_buf(b, &n, &m->s_tmp, M * C * f, 0), add_buf(b, &n, &m->s_gate, M * F * f, 0);
    add_buf(b, &n, &m->s_up, M * F * f, 0), add_buf(b, &n, &m->s_logits, M * V * f, 0);
    add_buf(b, &n, &m->s_scores, M * c->n_heads * T * f, 0);
    add_buf(b, &n, &m->s_head_rstd, M * c->n_heads * f, 0), add_buf(b, &n, &m->s_rstd, M * f, 0);
    add_buf(b, &n, &m->s_tok, M * sizeof(int), 0), add_buf(b, &n, &m->s_slot, M * sizeof(int), 0);
    add_buf(b, &n, &m->s_pos, M * sizeof(int), 0), add_buf(b, &n, &m->s_nctx, M * sizeof(int), 0);
    return n;
}

static buf_spec *buffer_table(model *m, int *n) {
    buf_spec *b = malloc(sizeof *b * (BUFS_FIXED + (size_t)BUFS_PER_LAYER * m->c.n_layers));
    if (b) *n = list_buffers(m, b);
    return b;
}

/* The host-side buffers: mirrors of backend buffers (aliases when the
 * backend's memory is the host's) and the targets computed on the host. */
static int alloc_host_side(model *m) {
    size_t N = (size_t)m->max_batch * m->c.max_seq, f = sizeof(float);
    m->h_targets = calloc(N, sizeof(int));
    if (m->ops->host_memory) {
        m->h_params = m->params, m->h_grads = m->grads, m->h_s_logits = m->s_logits;
    } else {
        m->h_params = m->ops->host_alloc(m->n_params * f), m->h_grads = m->ops->host_alloc(m->n_params * f);
        m->h_s_logits = m->ops->host_alloc((size_t)m->max_batch * m->c.vocab * f);
    }
    return m->h_targets && m->h_params && m->h_grads && m->h_s_logits;
}

static void free_host_side(model *m) {
    free(m->h_targets);
    if (m->ops && !m->ops->host_memory) {
        void *h[] = {m->h_params, m->h_grads, m->h_s_logits};
        for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
            if (h[i]) m->ops->host_free(h[i]);
    }
    free(m->h_logits);
    m->h_targets = NULL, m->h_params = m->h_grads = m->h_s_logits = m->h_logits = NULL;
}

static void bind_all(model *m) {
    model_bind_views(m, m->params, &m->p);
    model_bind_views(m, m->grads, &m->g);
    bind_at(m, m->wt, 1, &m->t);
}

int model_create(model **out, const model_config *mc, int max_batch, core_error *err) {
    *out = NULL;
    if (model_config_check(mc, NULL, err)) return CORE_EINPUT;
    if (max_batch < 1) return core_fail(err, CORE_EINPUT, "model_create: max_batch %d < 1", max_batch);
    model *m = calloc(1, sizeof *m);
    if (!m) return core_fail(err, CORE_ERUNTIME, "model_create: out of memory");
    m->c = *mc;
    m->ops = &ops_cpu_backend; /* model_set_device moves it */
    m->max_batch = max_batch;
    m->hs = head_size(mc);
    m->q_dim = m->hs * mc->n_heads;
    m->kv_dim = m->hs * mc->n_kv_heads;
    int failed = 0;
    size_t max_tensors = 3 + MAX_LAYER_TENSORS * (size_t)mc->n_layers;
    m->tensors = calloc(max_tensors, sizeof(model_tensor));
    m->tensor_layer = calloc(max_tensors, sizeof(int));
    m->tensor_field = calloc(max_tensors, sizeof(size_t));
    m->p.layers = calloc(mc->n_layers, sizeof(layer_params));
    m->g.layers = calloc(mc->n_layers, sizeof(layer_params));
    m->t.layers = calloc(mc->n_layers, sizeof(layer_params));
    m->acts = calloc(mc->n_layers, sizeof(layer_acts));
    if (!m->tensors || !m->tensor_layer || !m->tensor_field || !m->p.layers || !m->g.layers || !m->t.layers || !m->acts) failed = 1;
    if (!failed) {
        m->n_params = build_tensor_table(m);
        m->wt_offset = calloc(m->n_tensors, sizeof(size_t));
        if (!m->wt_offset) failed = 1;
        for (int i = 0; !failed && i < m->n_tensors; i++) {
            const model_tensor *t = &m->tensors[i];
            m->wt_offset[i] = m->wt_size;
            m->wt_size += t->cols ? ops_packed_size(t->rows, t->cols) : t->numel;
        }
    }
    int nb = 0;
    buf_spec *bufs = failed ? NULL : buffer_table(m, &nb);
    if (!bufs) failed = 1;
    for (int i = 0; i < nb && !failed; i++)
        if (bufs[i].bytes && !(*bufs[i].slot = m->ops->alloc(bufs[i].bytes))) failed = 1;
    free(bufs);
    if (!failed && !alloc_host_side(m)) failed = 1;
    if (failed) {
        model_free(m);
        return core_fail(err, CORE_ERUNTIME,
                         "model_create: out of memory (%zu parameters, batch %d x seq %d)",
                         model_config_n_params(mc), max_batch, mc->max_seq);
    }
    bind_all(m);
    /* host-side work: the tables are computed once here, in host memory */
    const model_rope_scaling *rs = &mc->rope_scaling;
    ops_rope_llama3 llama3 = {rs->factor, rs->low_freq_factor, rs->high_freq_factor, rs->original_max_position};
    ops_rope_tables_scaled(m->rope_cos, m->rope_sin, mc->max_seq, m->hs, mc->rope_theta,
                           rs->type == MODEL_ROPE_LLAMA3 ? &llama3 : NULL);
    *out = m;
    return 0;
}

static void free_buffers(model *m) {
    int nb = 0;
    buf_spec *bufs = m->ops ? buffer_table(m, &nb) : NULL;
    for (int i = 0; i < nb; i++) {
        if (*bufs[i].slot) m->ops->free(*bufs[i].slot);
        *bufs[i].slot = NULL;
    }
    free(bufs);
}

void model_free(model *m) {
    if (!m) return;
    free_host_side(m);
    if (m->acts) free_buffers(m);
    free(m->acts), free(m->wt_offset);
    free(m->tensors), free(m->tensor_layer), free(m->tensor_field), free(m->p.layers), free(m->g.layers), free(m->t.layers);
    tokenizer_free(m->tok);
    free(m);
}

/* Move every buffer to backend to: allocate there, carry over what must
 * survive (parameters, moments, RoPE tables) through host memory, free the
 * old.  On failure the model stays where it was. */
static int move_buffers(model *m, const ops_backend *to, core_error *err) {
    const ops_backend *from = m->ops;
    int nb = 0;
    buf_spec *bufs = buffer_table(m, &nb);
    void **fresh = bufs ? calloc(nb + 1, sizeof *fresh) : NULL;
    int failed = !fresh;
    for (int i = 0; i < nb && !failed; i++)
        if (bufs[i].bytes && !(fresh[i] = to->alloc(bufs[i].bytes))) failed = 1;
    for (int i = 0; i < nb && !failed; i++) {
        if (!bufs[i].keep || !bufs[i].bytes) continue;
        if (from->host_memory) to->to_device(fresh[i], *bufs[i].slot, bufs[i].bytes);
        else from->to_host(fresh[i], *bufs[i].slot, bufs[i].bytes); /* to the CPU */
    }
    for (int i = 0; i < nb && fresh; i++) {
        void *drop = failed ? fresh[i] : *bufs[i].slot;
        if (drop) (failed ? to : from)->free(drop);
        if (!failed) *bufs[i].slot = fresh[i];
    }
    free(fresh), free(bufs);
    if (failed)
        return core_fail(err, CORE_ERUNTIME, "model: out of %s memory for %zu parameters, batch %d x seq %d",
                         to->name, m->n_params, m->max_batch, m->c.max_seq);
    return 0;
}

/* The backend of device with matmul mode set (NULL: fp32); NULL with err
 * naming the key at fault. */
static const ops_backend *backend_for(const char *device, const char *matmul, core_error *err) {
    char why[512] = "";
    const ops_backend *b = ops_backend_get(device, why, sizeof why);
    if (!b) {
        core_fail(err, CORE_EINPUT, "model.device = %s: %s", device, why);
        return NULL;
    }
    if (b->set_matmul(matmul ? matmul : "fp32", why, sizeof why)) {
        core_fail(err, CORE_EINPUT, "model.matmul = %s: %s", matmul, why);
        return NULL;
    }
    return b;
}

int model_set_device(model *m, const char *device, const char *matmul, core_error *err) {
    const ops_backend *to = backend_for(device, matmul, err);
    if (!to) return err->code;
    if (to == m->ops) return 0;
    if (!m->ops->host_memory && !to->host_memory)
        return core_fail(err, CORE_EINPUT, "model.device = %s: a model moves between the CPU and one device", device);
    free_host_side(m);
    int rc = move_buffers(m, to, err);
    if (!rc) m->ops = to;
    if (!alloc_host_side(m) && !rc) rc = core_fail(err, CORE_ERUNTIME, "model: out of host memory");
    bind_all(m);
    m->have_forward = 0;
    char msg[512];
    if (!rc && m->ops->check(msg, sizeof msg)) rc = core_fail(err, CORE_ERUNTIME, "model.device = %s: %s", device, msg);
    if (!rc) core_info("model: on %s: %s", m->ops->name, m->ops->describe());
    return rc;
}

const char *model_device(const model *m) { return m->ops->name; }

int model_device_check(const char *device, const char *matmul, core_error *err) {
    return backend_for(device, matmul, err) ? 0 : err->code;
}

float *model_host_acquire(const model *m, float *dev, size_t n, int download) {
    if (m->ops->host_memory) return dev;
    float *h = malloc(n * sizeof(float) + 1);
    if (h && download) m->ops->to_host(h, dev, n * sizeof(float));
    return h;
}

void model_host_release(const model *m, float *dev, float *host, size_t n, int upload) {
    if (m->ops->host_memory || !host) return;
    if (upload) m->ops->to_device(dev, host, n * sizeof(float));
    free(host);
}

const model_config *model_get_config(const model *m) { return &m->c; }
int model_max_batch(const model *m) { return m->max_batch; }
const tokenizer *model_tokenizer(const model *m) { return m->tok ? m->tok : tokenizer_bytes(); }
void model_set_tokenizer(model *m, tokenizer *t) {
    tokenizer_free(m->tok);
    m->tok = t;
}
size_t model_n_params(const model *m) { return m->n_params; }
float *model_params(model *m) {
    m->ops->to_host(m->h_params, m->params, m->n_params * sizeof(float));
    return m->h_params;
}
void model_params_commit(model *m) { m->ops->to_device(m->params, m->h_params, m->n_params * sizeof(float)); }
float *model_grads(model *m) {
    m->ops->to_host(m->h_grads, m->grads, m->n_params * sizeof(float));
    return m->h_grads;
}
void model_grads_commit(model *m) { m->ops->to_device(m->grads, m->h_grads, m->n_params * sizeof(float)); }
int model_n_tensors(const model *m) { return m->n_tensors; }
const model_tensor *model_tensor_at(const model *m, int i) {
    return i >= 0 && i < m->n_tensors ? &m->tensors[i] : NULL;
}
const model_tensor *model_tensor_find(const model *m, const char *name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
    return NULL;
}

static int same_config(const model_config *a, const model_config *b) {
    return a->dim == b->dim && a->n_layers == b->n_layers && a->n_heads == b->n_heads &&
           a->n_kv_heads == b->n_kv_heads && a->ffn_dim == b->ffn_dim && a->vocab == b->vocab &&
           a->tie_embeddings == b->tie_embeddings && head_size(a) == head_size(b) &&
           a->qkv_bias == b->qkv_bias && a->qk_norm == b->qk_norm;
}

int model_copy_params(model *dst, const model *src) {
    if (!same_config(&dst->c, &src->c)) return CORE_EINPUT;
    size_t bytes = sizeof(float) * src->n_params;
    if (dst->ops == src->ops) dst->ops->copy(dst->params, src->params, bytes);
    else dst->ops->to_device(dst->params, model_params((model *)src), bytes); /* through the host */
    return 0;
}

/* ------------------------------------------------------------------ init */

static int is_output_projection(const char *name) {
    return strstr(name, "o_proj") || strstr(name, "down_proj");
}

static int is_bias(const char *name) {
    size_t n = strlen(name);
    return n > 5 && !strcmp(name + n - 5, ".bias");
}

void model_init(model *m, uint64_t seed, float init_std) {
    for (int i = 0; i < m->n_tensors; i++) {
        const model_tensor *t = &m->tensors[i];
        float *p = m->h_params + t->offset; /* host-side work, then one upload */
        if (t->cols == 0) { /* norm weights 1, biases 0 (as transformers initialises them) */
            for (size_t j = 0; j < t->numel; j++) p[j] = is_bias(t->name) ? 0.0f : 1.0f;
            continue;
        }
        float std = init_std;
        if (is_output_projection(t->name)) std /= sqrtf(2.0f * m->c.n_layers);
        core_rng r = core_rng_stream(seed, CORE_RNG_INIT, (uint64_t)i, 0);
        for (size_t j = 0; j < t->numel; j++) p[j] = (float)(core_rng_normal(&r) * std);
    }
    model_params_commit(m);
    m->ops->zero(m->adam_m, sizeof(float) * m->n_params);
    m->ops->zero(m->adam_v, sizeof(float) * m->n_params);
    m->adam_t = 0;
}

/* --------------------------------------------------------------- forward */

static int check_tokens(const model *m, const int *tokens, int B, int T, core_error *err) {
    if (B < 1 || B > m->max_batch)
        return core_fail(err, CORE_EINPUT, "model_forward: batch %d outside 1..%d", B, m->max_batch);
    if (T < 1 || T > m->c.max_seq)
        return core_fail(err, CORE_EINPUT, "model_forward: length %d outside 1..%d (model.max_seq)",
                         T, m->c.max_seq);
    for (int i = 0; i < B * T; i++)
        if (tokens[i] < 0 || tokens[i] >= m->c.vocab)
            return core_fail(err, CORE_EINPUT, "model_forward: token %d at (%d,%d) outside 0..%d",
                             tokens[i], i / T, i % T, m->c.vocab - 1);
    return 0;
}

/* The attention inputs of a block from its normed input a->norm1 (N,C):
 * q (N,Q) and k (N,KV) ready for RoPE, v (N,KV).
 *   q = q_proj(x) (+ bias: Qwen2);  q = rmsnorm over each head's HS (Qwen3)
 *   (the same for k; v has the projection and bias only) */
static void qkv_forward(model *m, const layer_params *w, layer_acts *a, int N) {
    const model_config *c = &m->c;
    int C = c->dim;
    float *q = c->qk_norm ? a->q_raw : a->q, *k = c->qk_norm ? a->k_raw : a->k;
    m->ops->matmul_forward(q, a->norm1, w->wq, N, C, m->q_dim, 0.0f);
    m->ops->matmul_forward(k, a->norm1, w->wk, N, C, m->kv_dim, 0.0f);
    m->ops->matmul_forward(a->v, a->norm1, w->wv, N, C, m->kv_dim, 0.0f);
    if (c->qkv_bias) {
        m->ops->bias_forward(q, w->bq, N, m->q_dim);
        m->ops->bias_forward(k, w->bk, N, m->kv_dim);
        m->ops->bias_forward(a->v, w->bv, N, m->kv_dim);
    }
    if (c->qk_norm) { /* rows of HS: (N*NH, HS) and (N*NKV, HS) */
        m->ops->rmsnorm_forward(a->q, a->q_rstd, q, w->q_norm, N * c->n_heads, m->hs, c->norm_eps);
        m->ops->rmsnorm_forward(a->k, a->k_rstd, k, w->k_norm, N * c->n_kv_heads, m->hs, c->norm_eps);
    }
}

/* One block: x_in (N,C) -> x_out (N,C). */
void model_block_forward(model *m, int l, const float *x_in, float *x_out, int B, int T) {
    const model_config *c = &m->c;
    const layer_params *w = &m->p.layers[l];
    layer_acts *a = &m->acts[l];
    int N = B * T, C = c->dim, F = c->ffn_dim;
    m->ops->rmsnorm_forward(a->norm1, a->rstd1, x_in, w->attn_norm, N, C, c->norm_eps);
    qkv_forward(m, w, a, N);
    m->ops->rope_forward(a->q, m->rope_cos, m->rope_sin, B, T, c->n_heads, m->hs, 0);
    m->ops->rope_forward(a->k, m->rope_cos, m->rope_sin, B, T, c->n_kv_heads, m->hs, 0);
    m->ops->attention_forward(a->attn_out, a->att, a->q, a->k, a->v, B, T, c->n_heads, c->n_kv_heads, m->hs);
    m->ops->copy(a->x_mid, x_in, sizeof(float) * N * C);
    m->ops->matmul_forward(a->x_mid, a->attn_out, w->wo, N, m->q_dim, C, 1.0f);
    m->ops->rmsnorm_forward(a->norm2, a->rstd2, a->x_mid, w->ffn_norm, N, C, c->norm_eps);
    m->ops->matmul_forward(a->gate, a->norm2, w->w_gate, N, C, F, 0.0f);
    m->ops->matmul_forward(a->up, a->norm2, w->w_up, N, C, F, 0.0f);
    m->ops->swiglu_forward(a->h, a->gate, a->up, N, F);
    m->ops->copy(x_out, a->x_mid, sizeof(float) * N * C);
    m->ops->matmul_forward(x_out, a->h, w->w_down, N, F, C, 1.0f);
}

int model_forward(model *m, const int *tokens, int B, int T, float *logprob, float *entropy,
                  core_error *err) {
    if (check_tokens(m, tokens, B, T, err)) return CORE_EINPUT;
    const model_config *c = &m->c;
    int N = B * T, C = c->dim;
    m->B = B, m->T = T, m->have_forward = 1;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) m->h_targets[b * T + t] = t + 1 < T ? tokens[b * T + t + 1] : -1;
    m->ops->to_device(m->tokens, tokens, sizeof(int) * N);
    m->ops->to_device(m->targets, m->h_targets, sizeof(int) * N);
    m->ops->embed_forward(m->resid, m->tokens, m->p.embed, N, C);
    for (int l = 0; l < c->n_layers; l++)
        model_block_forward(m, l, m->resid + (size_t)l * N * C, m->resid + (size_t)(l + 1) * N * C, B, T);
    float *x_last = m->resid + (size_t)c->n_layers * N * C;
    m->ops->rmsnorm_forward(m->normf, m->rstdf, x_last, m->p.final_norm, N, C, c->norm_eps);
    m->ops->matmul_forward(m->logits, m->normf, m->p.lm_head, N, C, c->vocab, 0.0f);
    m->ops->logprob_forward(m->lp, entropy ? m->ent : NULL, m->lse, m->logits, m->targets, N, c->vocab);
    m->ops->to_host(logprob, m->lp, sizeof(float) * N);
    if (entropy) m->ops->to_host(entropy, m->ent, sizeof(float) * N);
    return model_check_device(m, err);
}

/* -------------------------------------------------------------- backward */

static void zero(const model *m, float *x, size_t n) { m->ops->zero(x, sizeof(float) * n); }

/* qkv_forward backwards: m->dq, m->dk (after the RoPE backward) and m->dv
 * in; d(loss)/d(norm1) OVERWRITES m->dnorm. */
static void qkv_backward(model *m, const layer_params *w, layer_params *dw, const layer_acts *a, int N) {
    const model_config *c = &m->c;
    int C = c->dim;
    float *dq = m->dq, *dk = m->dk;
    if (c->qk_norm) {
        zero(m, m->dq_raw, (size_t)N * m->q_dim), zero(m, m->dk_raw, (size_t)N * m->kv_dim);
        m->ops->rmsnorm_backward(m->dk_raw, dw->k_norm, m->dk, a->k_raw, w->k_norm, a->k_rstd,
                             N * c->n_kv_heads, m->hs);
        m->ops->rmsnorm_backward(m->dq_raw, dw->q_norm, m->dq, a->q_raw, w->q_norm, a->q_rstd,
                             N * c->n_heads, m->hs);
        dq = m->dq_raw, dk = m->dk_raw;
    }
    if (c->qkv_bias) {
        m->ops->bias_backward(dw->bv, m->dv, N, m->kv_dim);
        m->ops->bias_backward(dw->bk, dk, N, m->kv_dim);
        m->ops->bias_backward(dw->bq, dq, N, m->q_dim);
    }
    zero(m, m->dnorm, (size_t)N * C);
    m->ops->matmul_backward(m->dnorm, dw->wv, m->dv, a->norm1, w->wv, N, C, m->kv_dim);
    m->ops->matmul_backward(m->dnorm, dw->wk, dk, a->norm1, w->wk, N, C, m->kv_dim);
    m->ops->matmul_backward(m->dnorm, dw->wq, dq, a->norm1, w->wq, N, C, m->q_dim);
}

/* dx holds d(loss)/d(x_out) on entry and d(loss)/d(x_in) on return. */
static void block_backward(model *m, int l, const float *x_in, int B, int T) {
    const model_config *c = &m->c;
    const layer_params *w = &m->p.layers[l];
    layer_params *dw = &m->g.layers[l];
    layer_acts *a = &m->acts[l];
    int N = B * T, C = c->dim, F = c->ffn_dim;
    /* MLP; the residual passes dx through unchanged */
    zero(m, m->dh, (size_t)N * F);
    m->ops->matmul_backward(m->dh, dw->w_down, m->dx, a->h, w->w_down, N, F, C);
    zero(m, m->dgate, (size_t)N * F), zero(m, m->dup, (size_t)N * F);
    m->ops->swiglu_backward(m->dgate, m->dup, m->dh, a->gate, a->up, N, F);
    zero(m, m->dnorm, (size_t)N * C);
    m->ops->matmul_backward(m->dnorm, dw->w_up, m->dup, a->norm2, w->w_up, N, C, F);
    m->ops->matmul_backward(m->dnorm, dw->w_gate, m->dgate, a->norm2, w->w_gate, N, C, F);
    m->ops->rmsnorm_backward(m->dx, dw->ffn_norm, m->dnorm, a->x_mid, w->ffn_norm, a->rstd2, N, C);
    /* attention */
    zero(m, m->dattn, (size_t)N * m->q_dim);
    m->ops->matmul_backward(m->dattn, dw->wo, m->dx, a->attn_out, w->wo, N, m->q_dim, C);
    zero(m, m->dq, (size_t)N * m->q_dim), zero(m, m->dk, (size_t)N * m->kv_dim), zero(m, m->dv, (size_t)N * m->kv_dim);
    m->ops->attention_backward(m->dq, m->dk, m->dv, m->dattn, a->q, a->k, a->v, a->att, m->att_scratch,
                           B, T, c->n_heads, c->n_kv_heads, m->hs);
    m->ops->rope_backward(m->dq, m->rope_cos, m->rope_sin, B, T, c->n_heads, m->hs, 0);
    m->ops->rope_backward(m->dk, m->rope_cos, m->rope_sin, B, T, c->n_kv_heads, m->hs, 0);
    qkv_backward(m, w, dw, a, N);
    m->ops->rmsnorm_backward(m->dx, dw->attn_norm, m->dnorm, x_in, w->attn_norm, a->rstd1, N, C);
}

/* From m->dlogits (N,V) down to the embedding. */
static void backward_from_dlogits(model *m) {
    const model_config *c = &m->c;
    int B = m->B, T = m->T, N = B * T, C = c->dim;
    zero(m, m->dnorm, (size_t)N * C);
    m->ops->matmul_backward(m->dnorm, m->g.lm_head, m->dlogits, m->normf, m->p.lm_head, N, C, c->vocab);
    zero(m, m->dx, (size_t)N * C);
    float *x_last = m->resid + (size_t)c->n_layers * N * C;
    m->ops->rmsnorm_backward(m->dx, m->g.final_norm, m->dnorm, x_last, m->p.final_norm, m->rstdf, N, C);
    for (int l = c->n_layers - 1; l >= 0; l--) block_backward(m, l, m->resid + (size_t)l * N * C, B, T);
    m->ops->embed_backward(m->g.embed, m->dx, m->tokens, N, C);
}

void model_backward(model *m, const float *dlogprob, const float *dentropy) {
    if (!m->have_forward) return;
    size_t N = (size_t)m->B * m->T;
    m->ops->to_device(m->dlp, dlogprob, sizeof(float) * N);
    if (dentropy) m->ops->to_device(m->dent, dentropy, sizeof(float) * N);
    m->ops->logprob_backward(m->dlogits, m->dlp, dentropy ? m->dent : NULL, m->logits, m->lse,
                             m->targets, (int)N, m->c.vocab);
    backward_from_dlogits(m);
}

const float *model_last_logits(const model *m) {
    if (!m->have_forward) return NULL;
    if (m->ops->host_memory) return m->logits;
    model *w = (model *)m; /* the host copy is a cache of the device's logits */
    size_t bytes = sizeof(float) * (size_t)m->B * m->T * m->c.vocab;
    /* pageable, not pinned: (max_batch * max_seq, V) can be gigabytes */
    if (!w->h_logits) w->h_logits = malloc(sizeof(float) * (size_t)m->max_batch * m->c.max_seq * m->c.vocab);
    if (!w->h_logits) return NULL;
    m->ops->to_host(w->h_logits, m->logits, bytes);
    return w->h_logits;
}

void model_backward_logits(model *m, const float *dlogits) {
    if (!m->have_forward) return;
    m->ops->to_device(m->dlogits, dlogits, sizeof(float) * (size_t)m->B * m->T * m->c.vocab);
    backward_from_dlogits(m);
}

int model_check_device(const model *m, core_error *err) {
    char msg[512];
    if (m->ops->check(msg, sizeof msg)) return core_fail(err, CORE_ERUNTIME, "model (%s): %s", m->ops->name, msg);
    return 0;
}

/* ------------------------------------------------------------- optimizer */

void model_zero_grad(model *m) { zero(m, m->grads, m->n_params); }
float model_grad_norm(const model *m) { return (float)sqrt(m->ops->sumsq(m->grads, m->n_params)); }
void model_scale_grads(model *m, float s) { m->ops->scale(m->grads, m->n_params, s); }
int model_adamw_t(const model *m) { return m->adam_t; }

void model_reset_optimizer(model *m) {
    /* moments never stepped or loaded are still calloc's untouched pages:
     * writing zeros over them would make a frozen reference pay 2 x params
     * of resident memory for nothing */
    if (m->adam_t == 0) return;
    zero(m, m->adam_m, m->n_params);
    zero(m, m->adam_v, m->n_params);
    m->adam_t = 0;
}

void model_adamw_step(model *m, const model_adamw *hp, int t) {
    for (int i = 0; i < m->n_tensors; i++) {
        const model_tensor *tn = &m->tensors[i];
        float wd = tn->cols ? hp->weight_decay : 0.0f; /* no decay on norm weights and biases */
        size_t o = tn->offset;
        m->ops->adamw(m->params + o, m->grads + o, m->adam_m + o, m->adam_v + o, tn->numel, hp->lr,
                      hp->beta1, hp->beta2, hp->eps, wd, t);
    }
    m->adam_t = t;
}

float model_lr_schedule(float peak, int step, int warmup, int total, float min_frac, int cosine) {
    if (warmup > 0 && step < warmup) return peak * (float)(step + 1) / (float)warmup;
    if (!cosine || total <= warmup) return peak;
    float progress = (float)(step - warmup) / (float)(total - warmup);
    if (progress > 1) progress = 1;
    float mult = min_frac + (1 - min_frac) * 0.5f * (1 + cosf((float)M_PI * progress));
    return peak * mult;
}

void model_blas_setup(char **argv) {
    ops_blas_setup(argv);
    core_info("model: %s", ops_blas_describe());
}
