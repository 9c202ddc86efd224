/*
 * model/ops_backend.c — the CPU backend's table (ops.h's ops_backend over
 * the functions of ops_cpu.c and host memory), the two small ops sample.c
 * used to do in place, and the lookup of a backend by name.
 *
 * The CUDA table lives in ops_cuda_backend.c, linked only into CUDA builds
 * (make CUDA=1, or tests/cuda/emulate.sh's stand-in); here it is a weak
 * reference, NULL in a CPU-only binary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"

extern const ops_backend ops_cuda_backend __attribute__((weak));

static int cpu_start(char *msg, size_t n) {
    (void)msg, (void)n;
    return 0;
}
/* calloc: pages are touched only as far as they are used (a sampling
 * worker never pays for the training activations) */
static void *cpu_alloc(size_t bytes) { return calloc(bytes ? bytes : 1, 1); }
static void cpu_free(void *p) { free(p); }
static void *cpu_host_alloc(size_t bytes) { return malloc(bytes ? bytes : 1); }
static void cpu_copy(void *dst, const void *src, size_t bytes) {
    if (dst != src) memcpy(dst, src, bytes);
}
static void cpu_zero(void *p, size_t bytes) { memset(p, 0, bytes); }
static int cpu_set_matmul(const char *mode, char *msg, size_t n) {
    if (!strcmp(mode, "fp32")) return 0;
    snprintf(msg, n, "the CPU multiplies in fp32 (%s needs model.device = cuda)", mode);
    return -1;
}
static int cpu_check(char *msg, size_t n) {
    (void)msg, (void)n;
    return 0;
}

static void cpu_add(float *x, const float *y, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}

static void cpu_kv_write(float *cache, const float *rows, const int *slot, const int *pos, int M,
                         int max_seq, int D) {
    for (int m = 0; m < M; m++)
        memcpy(cache + ((size_t)slot[m] * max_seq + pos[m]) * D, rows + (size_t)m * D,
               sizeof(float) * D);
}

const ops_backend ops_cpu_backend = {
    .name = "cpu", .host_memory = 1, .concurrent = 1,
    .start = cpu_start, .describe = ops_blas_describe, .set_matmul = cpu_set_matmul,
    .alloc = cpu_alloc, .free = cpu_free, .host_alloc = cpu_host_alloc, .host_free = cpu_free,
    .to_device = cpu_copy, .to_host = cpu_copy,
    .copy = cpu_copy, .zero = cpu_zero, .check = cpu_check,
    .add = cpu_add, .kv_write = cpu_kv_write,
    .matmul_forward = ops_matmul_forward, .matmul_backward = ops_matmul_backward,
    .matmul_rows_t = ops_matmul_rows_t, .pack_t = ops_pack_t,
    .bias_forward = ops_bias_forward, .bias_backward = ops_bias_backward,
    .rmsnorm_forward = ops_rmsnorm_forward, .rmsnorm_backward = ops_rmsnorm_backward,
    .rope_forward = ops_rope_forward, .rope_backward = ops_rope_backward, .rope_rows = ops_rope_rows,
    .attention_forward = ops_attention_forward, .attention_backward = ops_attention_backward,
    .attention_decode = ops_attention_decode,
    .swiglu_forward = ops_swiglu_forward, .swiglu_backward = ops_swiglu_backward,
    .logprob_forward = ops_logprob_forward, .logprob_backward = ops_logprob_backward,
    .adamw = ops_adamw, .sumsq = ops_sumsq, .scale = ops_scale,
    .embed_forward = ops_embed_forward, .embed_backward = ops_embed_backward,
};

const ops_backend *ops_backend_get(const char *name, char *msg, size_t n) {
    const ops_backend *b = NULL;
    if (!strcmp(name, "cpu")) b = &ops_cpu_backend;
    else if (!strcmp(name, "cuda")) {
        if (!&ops_cuda_backend) {
            snprintf(msg, n, "this grpo was built without CUDA (build it with `make CUDA=1`)");
            return NULL;
        }
        b = &ops_cuda_backend;
    } else {
        snprintf(msg, n, "unknown device \"%s\" (cpu or cuda)", name);
        return NULL;
    }
    return b->start(msg, n) ? NULL : b;
}
