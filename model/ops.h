/*
 * model/ops.h — the kernels of the transformer, one forward and one backward
 * per op, side by side (llm.c style).  ops_cpu.c implements them with
 * OpenBLAS cblas_sgemm for matrix products and plain C + OpenMP for the
 * rest; ops_cuda.cu has their CUDA twins.  model.c and sample.c reach
 * either only through an ops_backend table (the end of this file).
 *
 * Calling convention: outputs first, then inputs, then dimensions.
 * Gradients are named d... and ACCUMULATED (+=) unless a comment says
 * otherwise.  Dimension letters:
 *   N  rows (= B*T tokens)      C  channels (model dim)     OC output channels
 *   B  batch   T  time   NH query heads   NKV key/value heads   HS head size
 *   F  hidden width of the MLP  V  vocabulary
 * Weights use the PyTorch / Hugging Face layout (out_features, in_features).
 */
#ifndef GRPO_MODEL_OPS_H
#define GRPO_MODEL_OPS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Start-up, before any thread or MPI exists: (1) make sure OpenBLAS runs
 * its fast kernels for this CPU.  Debian's OpenBLAS 0.3.21 reports some
 * AVX-512 CPUs as "Prescott" (generic SSE3 kernels, ~5x slower); if so and
 * OPENBLAS_CORETYPE is not set, set it (SkylakeX for AVX-512, Haswell for
 * AVX2).  (2) Unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set, set
 * OMP_WAIT_POLICY=PASSIVE: spinning threads on shared cores cost far more
 * than they save.  Both are read when the libraries load, so this
 * re-executes the program (/proc/self/exe, same argv) once.  Returns only
 * if no re-exec was needed or it failed. */
void ops_blas_setup(char **argv);
/* The OpenBLAS core in use and the thread count, e.g. "Cooperlake, 2 threads". */
const char *ops_blas_describe(void);

/* ------------------------------------------------------------ matmul */
/* out (N,OC) = inp (N,C) @ w^T, w (OC,C).  beta 0: overwrite, 1: add. */
void ops_matmul_forward(float *out, const float *inp, const float *w, int N, int C, int OC,
                        float beta);
/* dinp (N,C) += dout @ w; dw (OC,C) += dout^T @ inp.  dinp may be NULL. */
void ops_matmul_backward(float *dinp, float *dw, const float *dout, const float *inp,
                         const float *w, int N, int C, int OC);
/* Decode path: out (M,OC) = inp (M,C) @ w^T with w packed by ops_pack_t
 * into panels of OPS_PANEL outputs: panel p holds w[p*OPS_PANEL + j, c] at
 * [(p*C + c)*OPS_PANEL + j], so the kernel streams memory in order.  Every
 * output element sums over c in order with fused multiply-adds, so row m's
 * result does not depend on M or on which rows share the batch (a group of
 * samples decodes exactly like each sample alone). */
enum { OPS_PANEL = 32 };
void ops_matmul_rows_t(float *out, const float *inp, const float *wp, int M, int C, int OC);
/* Floats ops_pack_t writes for an (R,C) matrix (R rounded up to panels). */
size_t ops_packed_size(int R, int C);
/* Pack w (R,C) into panels (zero padding past R). */
void ops_pack_t(float *dst, const float *w, int R, int C);

/* bias: out (N,OC) += b (OC) on every row (nn.Linear's bias). */
void ops_bias_forward(float *out, const float *b, int N, int OC);
/* db (OC) += sum over rows of dout (N,OC), rows in order (deterministic). */
void ops_bias_backward(float *db, const float *dout, int N, int OC);

/* ----------------------------------------------------------- rmsnorm */
/* out = inp / rms(inp) * w; rstd (N) = 1/sqrt(mean(inp^2) + eps) (kept for backward).
 * out may be inp (in place).  Qwen3's per-head q/k norm is this with
 * (N*NH, HS) rows. */
void ops_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *w, int N,
                         int C, float eps);
void ops_rmsnorm_backward(float *dinp, float *dw, const float *dout, const float *inp,
                          const float *w, const float *rstd, int N, int C);

/* -------------------------------------------------------------- rope */
/* Tables cos, sin (T, HS/2) for positions 0..T-1, Hugging Face Llama
 * convention (rotate_half: pairs (i, i + HS/2)), frequency theta^(-2i/HS). */
void ops_rope_tables(float *cos_t, float *sin_t, int T, int HS, float theta);
/* Llama 3.1's frequency scaling (rope_scaling {"rope_type": "llama3"}):
 * wavelengths 2*pi/f shorter than original_max/high_freq_factor keep f,
 * those longer than original_max/low_freq_factor get f/factor, and the band
 * between interpolates: s = (original_max/wavelength - low) / (high - low),
 * f' = (1-s) f/factor + s f.  Computed in float step by step as
 * transformers' _compute_llama3_parameters does. */
typedef struct ops_rope_llama3 {
    float factor, low_freq_factor, high_freq_factor;
    int original_max_position;
} ops_rope_llama3;
/* ops_rope_tables with the llama3 scaling; s NULL: none (= ops_rope_tables). */
void ops_rope_tables_scaled(float *cos_t, float *sin_t, int T, int HS, float theta,
                            const ops_rope_llama3 *s);
/* x (B,T,NH,HS) rotated in place; sequence b's position t is pos0 + t. */
void ops_rope_forward(float *x, const float *cos_t, const float *sin_t, int B, int T, int NH,
                      int HS, int pos0);
/* The transpose rotation, in place on dx (the gradient w.r.t. the input). */
void ops_rope_backward(float *dx, const float *cos_t, const float *sin_t, int B, int T, int NH,
                       int HS, int pos0);

/* --------------------------------------------------------- attention */
/* Causal attention with grouped-query heads.  q (B,T,NH,HS), k and v
 * (B,T,NKV,HS), out (B,T,NH,HS); att (B,NH,T,T) keeps the softmax
 * probabilities for backward (zero above the diagonal within each block of
 * 64 query rows; the blocks' masked keys are skipped, never written). */
void ops_attention_forward(float *out, float *att, const float *q, const float *k,
                           const float *v, int B, int T, int NH, int NKV, int HS);
/* dq, dk, dv accumulated; scratch needs T*T floats per OpenMP thread. */
void ops_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *q,
                            const float *k, const float *v, const float *att, float *scratch,
                            int B, int T, int NH, int NKV, int HS);
/* Decode: one new token per row.  Row m's query q (M,NH,HS) attends to its
 * own KV cache rows kcache[slot[m]] (max_seq,NKV,HS) at positions
 * 0..n_ctx[m]-1 (its new k,v already written there).  out (M,NH,HS);
 * scratch needs M*NH*max_seq floats.  A broadcast multiply-and-sum: for one
 * token this beats many tiny matrix products. */
void ops_attention_decode(float *out, const float *q, const float *kcache, const float *vcache,
                          const int *slot, const int *n_ctx, int M, int max_seq, int NH, int NKV,
                          int HS, float *scratch);
/* Decode: rotate row m's heads x (M,NH,HS) for position pos[m]. */
void ops_rope_rows(float *x, const float *cos_t, const float *sin_t, const int *pos, int M,
                   int NH, int HS);

/* ------------------------------------------------------------ swiglu */
/* out (N,F) = silu(gate) * up. */
void ops_swiglu_forward(float *out, const float *gate, const float *up, int N, int F);
void ops_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate,
                         const float *up, int N, int F);

/* -------------------------------------------------- log-softmax head */
/* For each row n of logits (N,V): lse[n] = logsumexp; logprob[n] =
 * logits[n, target[n]] - lse; entropy[n] (may be NULL) = -sum p log p.
 * Rows with target < 0 (no next token) get 0 for both and no gradient. */
void ops_logprob_forward(float *logprob, float *entropy, float *lse, const float *logits,
                         const int *target, int N, int V);
/* dlogits (N,V) OVERWRITTEN with d(loss)/d(logits) given dlogprob (N) and
 * dentropy (N, may be NULL). */
void ops_logprob_backward(float *dlogits, const float *dlogprob, const float *dentropy,
                          const float *logits, const float *lse, const int *target, int N,
                          int V);

/* ------------------------------------------------------------- misc */
/* AdamW with decoupled weight decay and bias correction; t is 1-based. */
void ops_adamw(float *param, const float *grad, float *m, float *v, size_t n, float lr,
               float beta1, float beta2, float eps, float weight_decay, int t);
double ops_sumsq(const float *x, size_t n);
void ops_scale(float *x, size_t n, float s);
/* out (N,C) = embedding rows (V,C) picked by tokens (N); dembed[tok] += dout. */
void ops_embed_forward(float *out, const int *tokens, const float *embed, int N, int C);
void ops_embed_backward(float *dembed, const float *dout, const int *tokens, int N, int C);

/* ---------------------------------------------------------- backends */
/* The one door model.c and sample.c go through: a table of the ops above
 * plus the memory they work on.  ops_cpu_backend points at the functions
 * above (ops_cpu.c); ops_cuda_backend (model/ops_cuda_backend.c, linked
 * only into CUDA builds: `make CUDA=1`, or the CPU stand-in of
 * tests/cuda/emulate.sh) at their cuda_ops_* twins (ops_cuda.h).  A
 * backend's pointers (float *, int *) address ITS memory: host memory for
 * the CPU, device memory for CUDA; the host reads and writes them only
 * through to_host / to_device.  Every op has its ops_X twin's arguments and
 * meaning. */
typedef struct ops_backend {
    const char *name;  /* "cpu", "cuda" */
    int host_memory;   /* 1: its buffers are host memory (to_host/to_device are plain copies) */
    int concurrent;    /* 1: host threads may run ops at once on disjoint rows (the CPU's
                        * decode paths); 0: one host thread queues all work */

    /* start: 0, or -1 with msg filled (CUDA: no GPU); idempotent */
    int (*start)(char *msg, size_t n);
    const char *(*describe)(void);
    /* how matrix products multiply: "fp32" (every backend), "tf32" or
     * "bf16" (CUDA tensor cores; fp32 in, out, sums and master weights);
     * 0, or -1 with msg filled when the backend has no such mode */
    int (*set_matmul)(const char *mode, char *msg, size_t n);

    /* memory: alloc returns zeroed bytes (NULL on failure); to_host waits
     * for queued work; check: 0, or -1 with the first error kept in msg */
    void *(*alloc)(size_t bytes);
    void (*free)(void *p);
    /* host memory for staging copies (CUDA: pinned, the fastest to copy
     * to and from); not zeroed, NULL on failure */
    void *(*host_alloc)(size_t bytes);
    void (*host_free)(void *p);
    void (*to_device)(void *dst, const void *host_src, size_t bytes);
    void (*to_host)(void *host_dst, const void *src, size_t bytes);
    void (*copy)(void *dst, const void *src, size_t bytes);
    void (*zero)(void *p, size_t bytes);
    int (*check)(char *msg, size_t n);

    /* what sample.c does between ops: x (n) += y (residual adds), and the
     * KV-cache write cache[(slot[m]*max_seq + pos[m])*D + i] = rows[m*D + i] */
    void (*add)(float *x, const float *y, size_t n);
    void (*kv_write)(float *cache, const float *rows, const int *slot, const int *pos, int M,
                     int max_seq, int D);

    void (*matmul_forward)(float *out, const float *inp, const float *w, int N, int C, int OC,
                           float beta);
    void (*matmul_backward)(float *dinp, float *dw, const float *dout, const float *inp,
                            const float *w, int N, int C, int OC);
    void (*matmul_rows_t)(float *out, const float *inp, const float *wp, int M, int C, int OC);
    void (*pack_t)(float *dst, const float *w, int R, int C);
    void (*bias_forward)(float *out, const float *b, int N, int OC);
    void (*bias_backward)(float *db, const float *dout, int N, int OC);
    void (*rmsnorm_forward)(float *out, float *rstd, const float *inp, const float *w, int N,
                            int C, float eps);
    void (*rmsnorm_backward)(float *dinp, float *dw, const float *dout, const float *inp,
                             const float *w, const float *rstd, int N, int C);
    void (*rope_forward)(float *x, const float *cos_t, const float *sin_t, int B, int T, int NH,
                         int HS, int pos0);
    void (*rope_backward)(float *dx, const float *cos_t, const float *sin_t, int B, int T, int NH,
                          int HS, int pos0);
    void (*rope_rows)(float *x, const float *cos_t, const float *sin_t, const int *pos, int M,
                      int NH, int HS);
    void (*attention_forward)(float *out, float *att, const float *q, const float *k,
                              const float *v, int B, int T, int NH, int NKV, int HS);
    void (*attention_backward)(float *dq, float *dk, float *dv, const float *dout,
                               const float *q, const float *k, const float *v, const float *att,
                               float *scratch, int B, int T, int NH, int NKV, int HS);
    void (*attention_decode)(float *out, const float *q, const float *kcache,
                             const float *vcache, const int *slot, const int *n_ctx, int M,
                             int max_seq, int NH, int NKV, int HS, float *scratch);
    void (*swiglu_forward)(float *out, const float *gate, const float *up, int N, int F);
    void (*swiglu_backward)(float *dgate, float *dup, const float *dout, const float *gate,
                            const float *up, int N, int F);
    void (*logprob_forward)(float *logprob, float *entropy, float *lse, const float *logits,
                            const int *target, int N, int V);
    void (*logprob_backward)(float *dlogits, const float *dlogprob, const float *dentropy,
                             const float *logits, const float *lse, const int *target, int N,
                             int V);
    void (*adamw)(float *param, const float *grad, float *m, float *v, size_t n, float lr,
                  float beta1, float beta2, float eps, float weight_decay, int t);
    double (*sumsq)(const float *x, size_t n); /* returns to the host */
    void (*scale)(float *x, size_t n, float s);
    void (*embed_forward)(float *out, const int *tokens, const float *embed, int N, int C);
    void (*embed_backward)(float *dembed, const float *dout, const int *tokens, int N, int C);
} ops_backend;

extern const ops_backend ops_cpu_backend;
/* The backend called name ("cpu" or "cuda"), started (CUDA: cuda_init picks
 * the GPU by local MPI rank); NULL with msg (n bytes) filled when this
 * binary has no such backend or it cannot start (no GPU). */
const ops_backend *ops_backend_get(const char *name, char *msg, size_t n);

#ifdef __cplusplus
}
#endif

#endif
