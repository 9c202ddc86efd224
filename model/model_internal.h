/*
 * model/model_internal.h — the model struct, shared by model.c (forward,
 * backward, optimizer), sample.c (KV-cache decoding) and checkpoint.c.
 * Not a public header: other folders use model.h.
 */
#ifndef GRPO_MODEL_INTERNAL_H
#define GRPO_MODEL_INTERNAL_H

#include "model/model.h"
#include "model/ops.h"

/* Pointers into the flat parameter (or gradient) buffer for one block, in
 * the tensor table's order (HF name after model.layers.L.).  Q = NH*HS and
 * KV = NKV*HS; Q may differ from C (Qwen3's head_dim).  A tensor the config
 * does not have is NULL. */
typedef struct layer_params {
    float *attn_norm; /* (C)    input_layernorm.weight */
    float *wq;        /* (Q, C)  self_attn.q_proj.weight */
    float *bq;        /* (Q)     self_attn.q_proj.bias      (qkv_bias) */
    float *wk;        /* (KV, C) self_attn.k_proj.weight */
    float *bk;        /* (KV)    self_attn.k_proj.bias      (qkv_bias) */
    float *wv;        /* (KV, C) self_attn.v_proj.weight */
    float *bv;        /* (KV)    self_attn.v_proj.bias      (qkv_bias) */
    float *wo;        /* (C, Q)  self_attn.o_proj.weight */
    float *q_norm;    /* (HS)    self_attn.q_norm.weight    (qk_norm) */
    float *k_norm;    /* (HS)    self_attn.k_norm.weight    (qk_norm) */
    float *ffn_norm;  /* (C)     post_attention_layernorm.weight */
    float *w_gate;    /* (F, C)  mlp.gate_proj.weight */
    float *w_up;      /* (F, C)  mlp.up_proj.weight */
    float *w_down;    /* (C, F)  mlp.down_proj.weight */
} layer_params;

typedef struct param_views {
    float *embed;      /* (V, C) */
    layer_params *layers;
    float *final_norm; /* (C) */
    float *lm_head;    /* (V, C); == embed when tied */
} param_views;

/* What forward keeps for backward, per block; all (N = B*T rows). */
typedef struct layer_acts {
    float *norm1, *rstd1;   /* (N,C), (N) */
    float *q, *k, *v;       /* (N,Q), (N,KV) x2, after RoPE */
    float *q_raw, *k_raw;   /* qk_norm: (N,Q), (N,KV) projections before the head norm */
    float *q_rstd, *k_rstd; /* qk_norm: (N*NH), (N*NKV) per head */
    float *att;             /* (B,NH,T,T) softmax probabilities */
    float *attn_out;        /* (N,NH*HS) before o_proj */
    float *x_mid;           /* (N,C) residual after attention */
    float *norm2, *rstd2;   /* (N,C), (N) */
    float *gate, *up, *h;   /* (N,F) each; h = silu(gate) * up */
} layer_acts;

/* Every float and int pointer below the tensor table is the backend's
 * memory (m->ops: host for the CPU, the GPU's for CUDA) unless named h_...
 * (host).  With a host-memory backend the h_ mirrors ARE the backend's
 * buffers, so the CPU path copies nothing. */
struct model {
    model_config c;
    const ops_backend *ops; /* the one door to the kernels and their memory */
    tokenizer *tok; /* owned; NULL: the byte-level tokenizer */
    int max_batch, hs, q_dim, kv_dim; /* head size, NH*HS, NKV*HS */

    size_t n_params;
    float *params, *grads, *adam_m, *adam_v;
    float *h_params, *h_grads; /* host mirrors, synced by model_params()/..._commit */
    int adam_t;
    param_views p, g; /* views into params and grads */
    /* sampling reads every matrix packed in panels (ops_pack_t): wt holds
     * them at wt_offset[i] for tensor i; t's pointers address them (t.embed
     * unused; t.lm_head is the packed head, the embedding when tied) */
    float *wt;
    size_t *wt_offset, wt_size;
    param_views t;
    model_tensor *tensors;
    size_t *tensor_field; /* per tensor: its pointer's byte offset in a param_views
                           * (layer < 0) or in a layer_params */
    int *tensor_layer;    /* per tensor: its block, -1 outside the blocks */
    int n_tensors;

    float *rope_cos, *rope_sin; /* (max_seq, HS/2), rope_scaling applied */

    /* forward state, for B*T <= max_batch*max_seq rows */
    int B, T, have_forward;
    int *tokens, *targets, *h_targets; /* (N) */
    float *resid;               /* (n_layers+1, N, C): input of each block, then of the final norm */
    layer_acts *acts;
    float *normf, *rstdf, *logits, *lse; /* (N,C), (N), (N,V), (N) */
    float *h_logits;            /* host copy of logits for model_last_logits (made when first asked) */
    float *lp, *ent, *dlp, *dent; /* (N) each: log-probs, entropies and their gradients */

    /* backward scratch */
    float *dx, *dnorm, *dq, *dk, *dv, *dattn, *dgate, *dup, *dh, *dlogits, *att_scratch;
    float *dq_raw, *dk_raw; /* qk_norm: (N,Q), (N,KV) */

    /* sampling: KV cache (n_layers, max_batch, max_seq, NKV*HS) and per-row buffers (max_batch rows) */
    float *kcache, *vcache;
    float *s_x, *s_xn, *s_q, *s_k, *s_v, *s_att, *s_tmp, *s_gate, *s_up, *s_logits, *s_scores;
    float *s_head_rstd, *s_rstd; /* (max_batch*NH) for qk_norm, (max_batch) */
    int *s_tok, *s_slot, *s_pos, *s_nctx; /* each row's input token, cache slot, position, context */
    float *h_s_logits; /* host view of s_logits for the sampler */
};

/* One block of the batched forward (B sequences of T tokens): x_in (B*T,C)
 * to x_out, keeping activations in m->acts[l].  sample.c prefills with it. */
void model_block_forward(model *m, int l, const float *x_in, float *x_out, int B, int T);

/* Fill a param_views for a flat buffer laid out as the tensor table says. */
void model_bind_views(const model *m, float *base, param_views *v);

/* Host access to n floats of the backend's memory dev, for checkpoints:
 * dev itself when the backend's memory is the host's, else a malloc'd
 * buffer (download 1: with dev's contents).  NULL: out of memory.
 * model_host_release frees it, first writing it back to dev if upload. */
float *model_host_acquire(const model *m, float *dev, size_t n, int download);
void model_host_release(const model *m, float *dev, float *host, size_t n, int upload);

#endif
