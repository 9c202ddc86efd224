/*
 * tests/cuda/emu/emu.cpp — the CPU stand-in's implementation (see
 * cuda_runtime.h): blocks in sequence; a block's threads are ucontext
 * fibers on one OS thread, run in rounds: a round resumes every thread
 * until its next __syncthreads (or shuffle step) or its end, so a barrier
 * is simply the end of a round.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "cublas_v2.h"
#include "cuda_runtime.h"

dim3 threadIdx, blockIdx, blockDim, gridDim;

enum { MAX_THREADS = 1024, STACK = 1 << 16 };
static ucontext_t g_sched, g_fiber[MAX_THREADS];
static dim3 g_tid[MAX_THREADS];
static unsigned char g_done[MAX_THREADS];
static unsigned g_cur;
static char *g_stacks;
static float g_shfl[MAX_THREADS];
static std::function<void()> *g_body;
static unsigned char *g_dyn;
static pthread_mutex_t g_atomic = PTHREAD_MUTEX_INITIALIZER;
static cudaError_t g_last = cudaSuccess;

static void fiber_main(void) {
    (*g_body)();
    g_done[g_cur] = 1; /* returning resumes uc_link, the scheduler */
}

/* Back to the scheduler; it resumes this thread in the next round, after
 * every other thread of the block has reached its own yield or its end. */
static void yield(void) { swapcontext(&g_fiber[g_cur], &g_sched); }

/* Apart, so that getcontext (returns twice, in principle) clobbers nothing
 * of emu_launch's. */
__attribute__((noinline)) static void make_fibers(unsigned nt) {
    for (unsigned i = 0; i < nt; i++) {
        getcontext(&g_fiber[i]);
        g_fiber[i].uc_stack.ss_sp = g_stacks + (size_t)i * STACK;
        g_fiber[i].uc_stack.ss_size = STACK;
        g_fiber[i].uc_link = &g_sched;
        makecontext(&g_fiber[i], fiber_main, 0);
        g_done[i] = 0;
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
                make_fibers(nt);
                for (unsigned left = nt; left;) { /* rounds until every thread ended */
                    left = 0;
                    for (i = 0; i < nt; i++) {
                        if (g_done[i]) continue;
                        g_cur = i, threadIdx = g_tid[i];
                        swapcontext(&g_sched, &g_fiber[i]);
                        left += !g_done[i];
                    }
                }
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
    unsigned t = g_cur;
    g_shfl[t] = v;
    yield();
    float r = g_shfl[(t & ~31u) | ((t & 31u) ^ (unsigned)lane_mask)];
    yield();
    return r;
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

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta,
                                         cublasOperation_t tb, int m, int n, int k,
                                         const float *alpha, const float *A, int lda,
                                         long long sA, const float *B, int ldb, long long sB,
                                         const float *beta, float *C, int ldc, long long sC,
                                         int batch) {
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
                    acc += x * y;
                }
                float *o = c + i + (size_t)j * ldc;
                *o = *alpha * acc + (*beta == 0.0f ? 0.0f : *beta * *o);
            }
    }
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                           int n, int k, const float *alpha, const float *A, int lda,
                           const float *B, int ldb, const float *beta, float *C, int ldc) {
    return cublasSgemmStridedBatched(h, ta, tb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc,
                                     0, 1);
}
