/*
 * tests/cuda/emu/emu.cpp — the CPU stand-in's implementation (see
 * cuda_runtime.h): blocks in sequence, each block's threads as pthreads
 * with a block barrier and one barrier per warp for the shuffles.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cublas_v2.h"
#include "cuda_runtime.h"

thread_local dim3 threadIdx;
dim3 blockIdx, blockDim, gridDim;

enum { MAX_THREADS = 1024, MAX_WARPS = 32 };
static pthread_barrier_t g_block_bar, g_warp_bar[MAX_WARPS];
static float g_warp_val[MAX_WARPS][32];
static unsigned char *g_dyn;
static pthread_mutex_t g_atomic = PTHREAD_MUTEX_INITIALIZER;
static cudaError_t g_last = cudaSuccess;

struct emu_thread {
    dim3 tid;
    std::function<void()> *body;
};

static void *run_thread(void *arg) {
    emu_thread *t = (emu_thread *)arg;
    threadIdx = t->tid;
    (*t->body)();
    return NULL;
}

static unsigned linear_tid(void) {
    return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
}

void emu_launch(dim3 grid, dim3 block, size_t shmem, std::function<void()> body) {
    unsigned nt = block.x * block.y * block.z;
    if (nt == 0 || nt > MAX_THREADS || grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 ||
        grid.z > 65535) {
        g_last = cudaErrorInvalidValue;
        return;
    }
    gridDim = grid, blockDim = block;
    static emu_thread th[MAX_THREADS];
    static pthread_t pt[MAX_THREADS];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1 << 18);
    g_dyn = (unsigned char *)calloc(shmem ? shmem : 1, 1);
    for (unsigned bz = 0; bz < grid.z; bz++)
        for (unsigned by = 0; by < grid.y; by++)
            for (unsigned bx = 0; bx < grid.x; bx++) {
                blockIdx = dim3(bx, by, bz);
                pthread_barrier_init(&g_block_bar, NULL, nt);
                unsigned nw = (nt + 31) / 32;
                for (unsigned w = 0; w < nw; w++)
                    pthread_barrier_init(&g_warp_bar[w], NULL, nt - 32 * w < 32 ? nt - 32 * w : 32);
                unsigned i = 0;
                for (unsigned z = 0; z < block.z; z++)
                    for (unsigned y = 0; y < block.y; y++)
                        for (unsigned x = 0; x < block.x; x++, i++) {
                            th[i].tid = dim3(x, y, z), th[i].body = &body;
                            if (pthread_create(&pt[i], &attr, run_thread, &th[i])) {
                                fprintf(stderr, "emu: pthread_create failed\n");
                                abort();
                            }
                        }
                for (i = 0; i < nt; i++) pthread_join(pt[i], NULL);
                pthread_barrier_destroy(&g_block_bar);
                for (unsigned w = 0; w < nw; w++) pthread_barrier_destroy(&g_warp_bar[w]);
            }
    free(g_dyn);
    g_dyn = NULL;
    pthread_attr_destroy(&attr);
}

void *emu_dyn_shared(void) { return g_dyn; }

void __syncthreads(void) { pthread_barrier_wait(&g_block_bar); }

float __shfl_xor_sync(unsigned mask, float v, int lane_mask) {
    (void)mask;
    unsigned t = linear_tid(), w = t / 32, lane = t % 32;
    g_warp_val[w][lane] = v;
    pthread_barrier_wait(&g_warp_bar[w]);
    float r = g_warp_val[w][lane ^ (unsigned)lane_mask];
    pthread_barrier_wait(&g_warp_bar[w]);
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
