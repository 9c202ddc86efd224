/*
 * model/model_internal.h — the model struct, shared by model.c (forward,
 * backward, optimizer), sample.c (KV-cache decoding) and checkpoint.c.
 * Not a public header: other folders use model.h.
 */
#ifndef GRPO_MODEL_INTERNAL_H
#define GRPO_MODEL_INTERNAL_H

#include "model/model.h"

/* Pointers into the flat parameter (or gradient) buffer for one block. */
typedef struct layer_params {
    float *attn_norm; /* (C)         input_layernorm */
    float *wq;        /* (NH*HS, C)  q_proj */
    float *wk;        /* (NKV*HS, C) k_proj */
    float *wv;        /* (NKV*HS, C) v_proj */
    float *wo;        /* (C, NH*HS)  o_proj */
    float *ffn_norm;  /* (C)         post_attention_layernorm */
    float *w_gate;    /* (F, C)      gate_proj */
    float *w_up;      /* (F, C)      up_proj */
    float *w_down;    /* (C, F)      down_proj */
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
    float *q, *k, *v;       /* (N,NH*HS), (N,NKV*HS) x2, after RoPE */
    float *att;             /* (B,NH,T,T) softmax probabilities */
    float *attn_out;        /* (N,NH*HS) before o_proj */
    float *x_mid;           /* (N,C) residual after attention */
    float *norm2, *rstd2;   /* (N,C), (N) */
    float *gate, *up, *h;   /* (N,F) each; h = silu(gate) * up */
} layer_acts;

struct model {
    model_config c;
    tokenizer *tok; /* owned; NULL: the byte-level tokenizer */
    int max_batch, hs, q_dim, kv_dim; /* head size, NH*HS, NKV*HS */

    size_t n_params;
    float *params, *grads, *adam_m, *adam_v;
    int adam_t;
    param_views p, g; /* views into params and grads */
    /* sampling reads every matrix packed in panels (ops_pack_t): wt holds
     * them at wt_offset[i] for tensor i; t's pointers address them (t.embed
     * unused; t.lm_head is the packed head, the embedding when tied) */
    float *wt;
    size_t *wt_offset;
    param_views t;
    model_tensor *tensors;
    int n_tensors;

    float *rope_cos, *rope_sin; /* (max_seq, HS/2) */

    /* forward state, for B*T <= max_batch*max_seq rows */
    int B, T, have_forward;
    int *tokens, *targets;
    float *resid;               /* (n_layers+1, N, C): input of each block, then of the final norm */
    layer_acts *acts;
    float *normf, *rstdf, *logits, *lse; /* (N,C), (N), (N,V), (N) */

    /* backward scratch */
    float *dx, *dnorm, *dq, *dk, *dv, *dattn, *dgate, *dup, *dh, *dlogits, *att_scratch;

    /* sampling: KV cache (n_layers, max_batch, max_seq, NKV*HS) and per-row buffers */
    float *kcache, *vcache;
    float *s_x, *s_xn, *s_q, *s_k, *s_v, *s_att, *s_tmp, *s_gate, *s_up, *s_logits, *s_scores;
    float *s_probs;
    int *s_idx;
};

/* One block of the batched forward (B sequences of T tokens): x_in (B*T,C)
 * to x_out, keeping activations in m->acts[l].  sample.c prefills with it. */
void model_block_forward(model *m, int l, const float *x_in, float *x_out, int B, int T);

/* Fill a param_views for a flat buffer laid out as the tensor table says. */
void model_bind_views(const model *m, float *base, param_views *v);

#endif
