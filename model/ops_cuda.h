/*
 * model/ops_cuda.h — the CUDA twins of the kernels in ops.h, and the small
 * device-memory API they need.  Built only with `make CUDA=1` (nvcc); the
 * CPU build never sees this backend.
 *
 * Every op has the name of its ops.h twin with a `cuda_` prefix, the same
 * arguments in the same order and the same math: outputs first, then
 * inputs, then dimensions; gradients ACCUMULATED (+=) exactly where ops.h
 * says so.  Every float and int pointer is a DEVICE pointer (cuda_alloc),
 * except where a comment says host.  Matrix products go through cuBLAS in
 * row-major terms; fp32 is the exact mode (cuBLAS default math, no TF32)
 * and cuda_set_tf32(1) lets cuBLAS use TF32 tensor cores instead.
 *
 * All work is queued on one stream (the legacy default stream), in order,
 * so ops see each other's results without explicit synchronisation; only
 * cuda_to_host, cuda_ops_sumsq and cuda_synchronize wait for the device.
 *
 * Errors (DESIGN.md: functions report, only cmd/ prints and exits): the
 * ops return nothing, like their CPU twins; the first CUDA or cuBLAS error
 * is remembered with its file and line, and cuda_check returns it.  Call it
 * after a step (or after cuda_synchronize, to also catch asynchronous
 * kernel faults).
 *
 * Determinism: every kernel sums in a fixed order (no atomics), so a run
 * repeats bit for bit on the same GPU, as long as cuBLAS picks the same
 * algorithms (it does not use split-K nondeterministically by default).
 *
 * Tests: tests/cuda/parity.cu (every op against ops_cpu.c), run on a GPU by
 * tests/cuda/run_on_gpu.sh and on a CPU stand-in by tests/cuda/emulate.sh;
 * tests/cuda/bench_train.cu composes a training step exactly as model.c does.
 *
 * Wiring: model.c and sample.c never call these directly.  ops_cuda_backend.c
 * puts them in an ops_backend table (ops.h), which a model takes with
 * model_set_device(m, "cuda") (config: model.device = cuda): cuda_init then
 * picks the GPU by local rank, every buffer moves to cuda_alloc'd memory,
 * and the host sees tokens, log-probs, the sampler's logits and the staging
 * copies of model_params()/model_grads() (MPI, checkpoints) only.
 */
#ifndef GRPO_MODEL_OPS_CUDA_H
#define GRPO_MODEL_OPS_CUDA_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------- device */
/* Pick the device (local MPI rank modulo the visible devices: the rank comes
 * from OMPI_COMM_WORLD_LOCAL_RANK, MPI_LOCALRANKID or SLURM_LOCALID; with
 * none set, device 0 of CUDA_VISIBLE_DEVICES' list), create the cuBLAS
 * handle and the reduction scratch.  Returns 0, or -1 with msg (n bytes)
 * filled, e.g. when there is no GPU.  Idempotent. */
int cuda_init(char *msg, size_t n);
void cuda_shutdown(void);
/* "NVIDIA H200 (device 0 of 1, sm_90, 139.8 GiB)"; "" before cuda_init. */
const char *cuda_describe(void);
/* 0 if no error happened since cuda_init, else -1 with the first error's
 * text (call, file, line) in msg.  Also picks up pending launch errors. */
int cuda_check(char *msg, size_t n);
/* Wait for all queued work. */
void cuda_synchronize(void);
/* How cuBLAS multiplies (every product of the training path; the decode
 * kernel cuda_ops_matmul_rows_t always sums in fp32):
 *   FP32  exact fp32 (the default);
 *   TF32  tensor cores, inputs rounded to TF32 (10-bit mantissa);
 *   BF16  tensor cores, inputs rounded to bf16 (7-bit mantissa).
 * Inputs, outputs, sums and the master weights stay fp32 in every mode. */
enum { CUDA_MATMUL_FP32 = 0, CUDA_MATMUL_TF32, CUDA_MATMUL_BF16 };
void cuda_set_matmul(int mode);
/* 1: cuda_set_matmul(CUDA_MATMUL_TF32); 0: CUDA_MATMUL_FP32. */
void cuda_set_tf32(int on);

/* Device memory, cudaMalloc (never managed).  NULL on failure (error kept). */
void *cuda_alloc(size_t bytes);
void cuda_free(void *p);
/* Pinned host memory (cudaMallocHost): the staging buffers copies to and
 * from the device run fastest through.  NULL on failure (error kept). */
void *cuda_host_alloc(size_t bytes);
void cuda_host_free(void *p);
void cuda_to_device(void *dst, const void *host_src, size_t bytes);
void cuda_to_host(void *host_dst, const void *src, size_t bytes); /* waits */
void cuda_copy(void *dst, const void *src, size_t bytes);         /* device to device */
void cuda_zero(void *p, size_t bytes);

/* What sample.c does in plain C between ops, on the device:
 * x (n) += y (the residual adds of the decode step), and the KV-cache write
 * cache[(slot[m] * max_seq + pos[m]) * D + i] = rows[m * D + i] for rows (M,D)
 * (slot, pos device arrays). */
void cuda_add(float *x, const float *y, size_t n);
void cuda_kv_write(float *cache, const float *rows, const int *slot, const int *pos, int M,
                   int max_seq, int D);

/* ------------------------------------------------------------- matmul */
void cuda_ops_matmul_forward(float *out, const float *inp, const float *w, int N, int C, int OC,
                             float beta);
void cuda_ops_matmul_backward(float *dinp, float *dw, const float *dout, const float *inp,
                              const float *w, int N, int C, int OC);
/* Packed decode product (ops_pack_t layout).  Each output sums over c in
 * order with fmaf from 0, exactly like ops_cpu.c, so it gives the CPU's
 * bits and a row's result never depends on the batch. */
void cuda_ops_matmul_rows_t(float *out, const float *inp, const float *wp, int M, int C, int OC);
size_t cuda_ops_packed_size(int R, int C); /* host function, = ops_packed_size */
void cuda_ops_pack_t(float *dst, const float *w, int R, int C);

/* bias (nn.Linear's, Qwen2's q/k/v): out (N,OC) += b; db (OC) += rows of
 * dout summed in order (the CPU's bits). */
void cuda_ops_bias_forward(float *out, const float *b, int N, int OC);
void cuda_ops_bias_backward(float *db, const float *dout, int N, int OC);

/* ------------------------------------------------------------ rmsnorm */
void cuda_ops_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *w, int N,
                              int C, float eps);
void cuda_ops_rmsnorm_backward(float *dinp, float *dw, const float *dout, const float *inp,
                               const float *w, const float *rstd, int N, int C);

/* --------------------------------------------------------------- rope */
/* Computed on the host with the CPU code (same bits), then copied. */
void cuda_ops_rope_tables(float *cos_t, float *sin_t, int T, int HS, float theta);
void cuda_ops_rope_forward(float *x, const float *cos_t, const float *sin_t, int B, int T,
                           int NH, int HS, int pos0);
void cuda_ops_rope_backward(float *dx, const float *cos_t, const float *sin_t, int B, int T,
                            int NH, int HS, int pos0);
/* pos (M) is a device array. */
void cuda_ops_rope_rows(float *x, const float *cos_t, const float *sin_t, const int *pos, int M,
                        int NH, int HS);

/* ---------------------------------------------------------- attention */
/* att (B,NH,T,T) is written whole: the probabilities, zero above the
 * diagonal (a superset of what ops.h promises: ops_cpu.c leaves entries
 * right of each 64-row query block's keys unwritten).  The products skip
 * the masked key blocks of 256-row query blocks. */
void cuda_ops_attention_forward(float *out, float *att, const float *q, const float *k,
                                const float *v, int B, int T, int NH, int NKV, int HS);
/* scratch: B*T*T floats (not the CPU's T*T per thread). */
void cuda_ops_attention_backward(float *dq, float *dk, float *dv, const float *dout,
                                 const float *q, const float *k, const float *v, const float *att,
                                 float *scratch, int B, int T, int NH, int NKV, int HS);
/* slot, n_ctx (M) device arrays; scratch M*NH*max_seq floats, as on the CPU. */
void cuda_ops_attention_decode(float *out, const float *q, const float *kcache,
                               const float *vcache, const int *slot, const int *n_ctx, int M,
                               int max_seq, int NH, int NKV, int HS, float *scratch);

/* ------------------------------------------------------------- swiglu */
void cuda_ops_swiglu_forward(float *out, const float *gate, const float *up, int N, int F);
void cuda_ops_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate,
                              const float *up, int N, int F);

/* --------------------------------------------------- log-softmax head */
void cuda_ops_logprob_forward(float *logprob, float *entropy, float *lse, const float *logits,
                              const int *target, int N, int V);
void cuda_ops_logprob_backward(float *dlogits, const float *dlogprob, const float *dentropy,
                               const float *logits, const float *lse, const int *target, int N,
                               int V);

/* --------------------------------------------------------------- misc */
void cuda_ops_adamw(float *param, const float *grad, float *m, float *v, size_t n, float lr,
                    float beta1, float beta2, float eps, float weight_decay, int t);
/* Returns to the host (waits); fixed summation order, in double. */
double cuda_ops_sumsq(const float *x, size_t n);
void cuda_ops_scale(float *x, size_t n, float s);
void cuda_ops_embed_forward(float *out, const int *tokens, const float *embed, int N, int C);
void cuda_ops_embed_backward(float *dembed, const float *dout, const int *tokens, int N, int C);

#ifdef __cplusplus
}
#endif

#endif
