/*
 * tests/cuda/emu/emu.cpp — the CPU stand-in's implementation (see
 * cuda_runtime.h): blocks in sequence; a block's threads are fibers on one
 * OS thread, run in rounds: a round resumes every thread until its next
 * __syncthreads (or shuffle step) or its end, so a barrier is simply the
 * end of a round.
 *
 * Speed (the whole program runs on this in make test): the fibers are made
 * once and live across blocks and launches, parked in a loop; switching
 * between them saves and loads the callee-saved registers and the stack
 * pointer (emu_switch, x86-64), with no system call (swapcontext makes
 * two); a warp shuffle takes one round, not two (values double-buffered).
 * And a block whose thread 0 ends without synchronising (elementwise
 * kernels) runs its other threads as plain calls; one that synchronises
 * there after all aborts loudly (a barrier that depends on the thread is a
 * bug in the kernel).
 */
#include <pthread.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef __x86_64__
#error "tests/cuda/emu: emu_switch is written for x86-64"
#endif

#include "cublas_v2.h"
#include "cuda_runtime.h"

dim3 threadIdx, blockIdx, blockDim, gridDim;

enum { MAX_THREADS = 1024, STACK = 1 << 16 };
/* A fiber (or the scheduler) is its saved stack pointer; its registers are
 * on its stack.  emu_switch(&from, to) saves the callee-saved registers on
 * the current stack, stores the stack pointer in *from and resumes to. */
typedef void *emu_ctx;
extern "C" void emu_switch(emu_ctx *from, emu_ctx to);
asm(".text\n.globl emu_switch\n.type emu_switch,@function\nemu_switch:\n"
    "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
    "  movq %rsp, (%rdi)\n  movq %rsi, %rsp\n"
    "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
    "  ret\n.size emu_switch, .-emu_switch\n");
static emu_ctx g_sched, g_fiber[MAX_THREADS];
static unsigned g_made; /* fibers made so far (they persist) */
static dim3 g_tid[MAX_THREADS];
static unsigned char g_done[MAX_THREADS];
static unsigned g_cur;
static int g_direct, g_yielded; /* running threads as plain calls; thread 0 yielded */
static char *g_stacks;
static float g_shfl[2][MAX_THREADS];   /* double-buffered: one round per shuffle */
static unsigned g_shfl_n[MAX_THREADS]; /* shuffles so far of each thread in this block */
static std::function<void()> *g_body;
static unsigned char *g_dyn;
static pthread_mutex_t g_atomic = PTHREAD_MUTEX_INITIALIZER;
static cudaError_t g_last = cudaSuccess;

/* A fiber's whole life: run the current launch's body as thread g_cur,
 * mark it done, park (back to the scheduler) until started again. */
static void fiber_main(void) {
    for (;;) {
        (*g_body)();
        g_done[g_cur] = 1;
        emu_switch(&g_fiber[g_cur], g_sched);
    }
}

/* Back to the scheduler; it resumes this thread in the next round, after
 * every other thread of the block has reached its own yield or its end. */
static void yield(void) {
    if (g_direct) {
        fprintf(stderr, "emu: thread %u synchronised in a block whose thread 0 did not "
                        "(a barrier that depends on the thread: a bug in the kernel)\n", g_cur);
        abort();
    }
    g_yielded = 1;
    emu_switch(&g_fiber[g_cur], g_sched);
}

/* Make fibers up to nt, once each: a stack whose first switch "returns"
 * into fiber_main as if called (16-byte alignment: rsp % 16 == 8 there),
 * with zeros for the six saved registers. */
static void make_fibers(unsigned nt) {
    for (; g_made < nt; g_made++) {
        uintptr_t top = ((uintptr_t)(g_stacks + (size_t)(g_made + 1) * STACK)) & ~(uintptr_t)15;
        void **sp = (void **)top;
        *--sp = NULL;                  /* fiber_main's return address: never used */
        *--sp = (void *)fiber_main;    /* where emu_switch's ret goes */
        for (int r = 0; r < 6; r++) *--sp = NULL;
        g_fiber[g_made] = sp;
    }
}

static void resume(unsigned i) {
    g_cur = i, threadIdx = g_tid[i];
    emu_switch(&g_sched, g_fiber[i]);
}

/* One block, in rounds until every thread ended.  Thread 0 goes first; if
 * it ends without synchronising, the block has no barrier (whether it has
 * one may depend on the block's data, never on the thread in a correct
 * kernel), and the other threads run as plain calls. */
static void run_block(unsigned nt) {
    for (unsigned i = 0; i < nt; i++) g_done[i] = 0, g_shfl_n[i] = 0;
    g_yielded = 0;
    resume(0);
    if (g_done[0] && !g_yielded) {
        g_direct = 1;
        for (unsigned i = 1; i < nt; i++) {
            g_cur = i, threadIdx = g_tid[i];
            (*g_body)();
        }
        g_direct = 0;
        return;
    }
    for (unsigned start = 1, left = 1; left; start = 0) { /* round 1 resumes at thread 1 */
        left = start ? !g_done[0] : 0;
        for (unsigned i = start; i < nt; i++) {
            if (g_done[i]) continue;
            resume(i);
            left += !g_done[i];
        }
    }
}

void emu_launch(dim3 grid, dim3 block, size_t shmem, std::function<void()> body) {
    unsigned nt = block.x * block.y * block.z;
    if (nt == 0 || nt > MAX_THREADS || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
        grid.y > 65535 || grid.z > 65535) {
        g_last = cudaErrorInvalidValue;
        return;
    }
    if (!g_stacks && !(g_stacks = (char *)malloc((size_t)MAX_THREADS * STACK))) abort();
    make_fibers(nt);
    gridDim = grid, blockDim = block, g_body = &body;
    g_dyn = (unsigned char *)calloc(shmem ? shmem : 1, 1);
    unsigned i = 0;
    for (unsigned z = 0; z < block.z; z++)
        for (unsigned y = 0; y < block.y; y++)
            for (unsigned x = 0; x < block.x; x++) g_tid[i++] = dim3(x, y, z);
    for (unsigned bz = 0; bz < grid.z; bz++)
        for (unsigned by = 0; by < grid.y; by++)
            for (unsigned bx = 0; bx < grid.x; bx++) {
                blockIdx = dim3(bx, by, bz);
                run_block(nt);
            }
    free(g_dyn);
    g_dyn = NULL;
}

void *emu_dyn_shared(void) { return g_dyn; }

void __syncthreads(void) { yield(); }

/* Every thread of the block must shuffle in the same round (true of
 * ops_cuda.cu: whole blocks call block_sum / block_max). */
float __shfl_xor_sync(unsigned mask, float v, int lane_mask) {
    (void)mask;
    unsigned t = g_cur, b = g_shfl_n[t]++ & 1;
    g_shfl[b][t] = v;
    yield(); /* every lane has written buffer b; none writes it again before the round after next */
    return g_shfl[b][(t & ~31u) | ((t & 31u) ^ (unsigned)lane_mask)];
}

float atomicAdd(float *p, float v) {
    pthread_mutex_lock(&g_atomic);
    float old = *p;
    *p = old + v;
    pthread_mutex_unlock(&g_atomic);
    return old;
}

const char *cudaGetErrorString(cudaError_t e) {
    return e == cudaSuccess ? "no error" : e == cudaErrorMemoryAllocation ? "out of memory" : "invalid argument";
}
cudaError_t cudaGetDeviceCount(int *n) { return *n = 1, cudaSuccess; }
cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : cudaErrorInvalidValue; }
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d) {
    (void)d;
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "CPU emulation (tests/cuda/emu)");
    p->major = 9, p->minor = 0, p->totalGlobalMem = (size_t)1 << 30;
    return cudaSuccess;
}
cudaError_t cudaMalloc(void **p, size_t n) {
    *p = malloc(n);
    if (*p) memset(*p, 0xA5, n); /* garbage, as on a GPU: uninitialised reads show */
    return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
cudaError_t cudaFree(void *p) { return free(p), cudaSuccess; }
cudaError_t cudaMallocHost(void **p, size_t n) {
    *p = malloc(n);
    return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
cudaError_t cudaFreeHost(void *p) { return free(p), cudaSuccess; }
cudaError_t cudaMemcpy(void *d, const void *s, size_t n, cudaMemcpyKind k) {
    (void)k;
    return memmove(d, s, n), cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, cudaMemcpyKind k, cudaStream_t st) {
    (void)st;
    return cudaMemcpy(d, s, n, k);
}
cudaError_t cudaMemsetAsync(void *p, int v, size_t n, cudaStream_t st) {
    (void)st;
    return memset(p, v, n), cudaSuccess;
}
cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }
cudaError_t cudaGetLastError(void) {
    cudaError_t e = g_last;
    g_last = cudaSuccess;
    return e;
}

/* --------------------------------------------------------------- cuBLAS */

struct emu_cublas { int math; };
cublasStatus_t cublasCreate(cublasHandle_t *h) { return *h = new emu_cublas{0}, CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasDestroy(cublasHandle_t h) { return delete h, CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m) {
    return h->math = m, CUBLAS_STATUS_SUCCESS;
}

/* x rounded to nearest (ties to even) with `keep` mantissa bits (23: fp32). */
static float round_mantissa(float x, int keep) {
    if (keep >= 23 || !isfinite(x)) return x;
    uint32_t u;
    memcpy(&u, &x, 4);
    uint32_t drop = 23 - keep, half = 1u << (drop - 1), lsb = (u >> drop) & 1u;
    u = (u + half - 1 + lsb) & ~((1u << drop) - 1);
    memcpy(&x, &u, 4);
    return x;
}

/* The reference product, with inputs rounded to `keep` mantissa bits. */
static cublasStatus_t gemm_ref(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                               int n, int k, const float *alpha, const float *A, int lda,
                               long long sA, const float *B, int ldb, long long sB,
                               const float *beta, float *C, int ldc, long long sC, int batch,
                               int keep) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    int rowsA = ta == CUBLAS_OP_N ? m : k, rowsB = tb == CUBLAS_OP_N ? k : n;
    if (m < 0 || n < 0 || k < 0 || batch < 0 || lda < (rowsA > 1 ? rowsA : 1) ||
        ldb < (rowsB > 1 ? rowsB : 1) || ldc < (m > 1 ? m : 1))
        return CUBLAS_STATUS_INVALID_VALUE;
    for (int b = 0; b < batch; b++) {
        const float *a = A + b * sA, *bb = B + b * sB;
        float *c = C + b * sC;
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) {
                float acc = 0;
                for (int l = 0; l < k; l++) {
                    float x = ta == CUBLAS_OP_N ? a[i + (size_t)l * lda] : a[l + (size_t)i * lda];
                    float y = tb == CUBLAS_OP_N ? bb[l + (size_t)j * ldb] : bb[j + (size_t)l * ldb];
                    acc += round_mantissa(x, keep) * round_mantissa(y, keep);
                }
                float *o = c + i + (size_t)j * ldc;
                *o = *alpha * acc + (*beta == 0.0f ? 0.0f : *beta * *o);
            }
    }
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta,
                                         cublasOperation_t tb, int m, int n, int k,
                                         const float *alpha, const float *A, int lda,
                                         long long sA, const float *B, int ldb, long long sB,
                                         const float *beta, float *C, int ldc, long long sC,
                                         int batch) {
    int keep = h && h->math == CUBLAS_TF32_TENSOR_OP_MATH ? 10 : 23;
    return gemm_ref(h, ta, tb, m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch, keep);
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t h, cublasOperation_t ta,
                                          cublasOperation_t tb, int m, int n, int k,
                                          const void *alpha, const void *A, cudaDataType ta_type,
                                          int lda, long long sA, const void *B, cudaDataType tb_type,
                                          int ldb, long long sB, const void *beta, void *C,
                                          cudaDataType tc_type, int ldc, long long sC, int batch,
                                          cublasComputeType_t compute, cublasGemmAlgo_t algo) {
    (void)algo;
    if (ta_type != CUDA_R_32F || tb_type != CUDA_R_32F || tc_type != CUDA_R_32F)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    int keep = compute == CUBLAS_COMPUTE_32F_FAST_16BF ? 7
             : compute == CUBLAS_COMPUTE_32F_FAST_TF32 || (h && h->math == CUBLAS_TF32_TENSOR_OP_MATH) ? 10 : 23;
    return gemm_ref(h, ta, tb, m, n, k, (const float *)alpha, (const float *)A, lda, sA,
                    (const float *)B, ldb, sB, (const float *)beta, (float *)C, ldc, sC, batch, keep);
}

cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                           int n, int k, const float *alpha, const float *A, int lda,
                           const float *B, int ldb, const float *beta, float *C, int ldc) {
    return cublasSgemmStridedBatched(h, ta, tb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc,
                                     0, 1);
}
