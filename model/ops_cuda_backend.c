/*
 * model/ops_cuda_backend.c — the CUDA backend's table: ops.h's ops_backend
 * over the cuda_ops_* twins of ops_cuda.h and device memory.  Linked only
 * into CUDA builds (make CUDA=1; tests/cuda/emulate.sh's stand-in), where it
 * fills ops_backend.c's weak reference.
 */
#include <stdio.h>
#include <string.h>

#include "model/ops.h"
#include "model/ops_cuda.h"

/* cudaMalloc leaves memory as it was: the model relies on zeroed buffers
 * (AdamW moments, gradients), as calloc gives on the CPU */
static void *cuda_alloc_zeroed(size_t bytes) {
    void *p = cuda_alloc(bytes ? bytes : 1);
    if (p) cuda_zero(p, bytes ? bytes : 1);
    return p;
}

static int cuda_matmul(const char *mode, char *msg, size_t n) {
    static const char *modes[] = {"fp32", "tf32", "bf16"}; /* CUDA_MATMUL_* order */
    for (int i = 0; i < 3; i++)
        if (!strcmp(mode, modes[i])) {
            cuda_set_matmul(i);
            return 0;
        }
    snprintf(msg, n, "unknown matmul mode \"%s\" (fp32, tf32 or bf16)", mode);
    return -1;
}

static int cuda_start(char *msg, size_t n) {
    if (cuda_init(msg, n)) return -1;
    cuda_set_matmul(CUDA_MATMUL_FP32); /* exact unless model.matmul says otherwise */
    return 0;
}

const ops_backend ops_cuda_backend = {
    .name = "cuda", .host_memory = 0, .concurrent = 0,
    .start = cuda_start, .describe = cuda_describe, .set_matmul = cuda_matmul,
    .alloc = cuda_alloc_zeroed, .free = cuda_free,
    .host_alloc = cuda_host_alloc, .host_free = cuda_host_free, .to_device = cuda_to_device,
    .to_host = cuda_to_host, .copy = cuda_copy, .zero = cuda_zero, .check = cuda_check,
    .add = cuda_add, .kv_write = cuda_kv_write,
    .matmul_forward = cuda_ops_matmul_forward, .matmul_backward = cuda_ops_matmul_backward,
    .matmul_rows_t = cuda_ops_matmul_rows_t, .pack_t = cuda_ops_pack_t,
    .bias_forward = cuda_ops_bias_forward, .bias_backward = cuda_ops_bias_backward,
    .rmsnorm_forward = cuda_ops_rmsnorm_forward, .rmsnorm_backward = cuda_ops_rmsnorm_backward,
    .rope_forward = cuda_ops_rope_forward, .rope_backward = cuda_ops_rope_backward,
    .rope_rows = cuda_ops_rope_rows,
    .attention_forward = cuda_ops_attention_forward,
    .attention_backward = cuda_ops_attention_backward,
    .attention_decode = cuda_ops_attention_decode,
    .swiglu_forward = cuda_ops_swiglu_forward, .swiglu_backward = cuda_ops_swiglu_backward,
    .logprob_forward = cuda_ops_logprob_forward, .logprob_backward = cuda_ops_logprob_backward,
    .adamw = cuda_ops_adamw, .sumsq = cuda_ops_sumsq, .scale = cuda_ops_scale,
    .embed_forward = cuda_ops_embed_forward, .embed_backward = cuda_ops_embed_backward,
};
