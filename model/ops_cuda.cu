/*
 * model/ops_cuda.cu — the CUDA backend of ops.h (see ops_cuda.h for the
 * contract): cuBLAS for every matrix product, including attention's
 * per-head products; plain CUDA kernels for the rest.  Each kernel mirrors
 * its twin in ops_cpu.c line for line (the PyTorch line is in the comment),
 * so the two agree to fp32 rounding; tests/cuda/parity.cu checks that.
 *
 * Row-major products through column-major cuBLAS: a row-major (R,C) matrix
 * is the column-major (C,R) matrix in the same memory, so the row-major
 * C = op(A) op(B) is the column-major C^T = op(B)^T op(A)^T: the same
 * transpose flags with A and B swapped and M, N swapped (gemm_rm below).
 *
 * Reductions (norms, softmax rows, sum of squares) use one block per row
 * and a fixed shuffle tree, never atomics, so results repeat bit for bit.
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops_cuda.h"

/* ------------------------------------------------------------- errors */

static int g_ready, g_failed;
static char g_err[512], g_desc[400];
static cublasHandle_t g_cublas;
static double *g_partials; /* (SUMSQ_BLOCKS) per-block sums for cuda_ops_sumsq */
static double *g_sumsq;    /* (1) the total */
enum { SUMSQ_BLOCKS = 1024 };

static void fail_at(const char *what, const char *why, const char *file, int line) {
    if (g_failed) return; /* keep the first error: later ones are usually its echo */
    g_failed = 1;
    snprintf(g_err, sizeof g_err, "%s:%d: %s: %s", file, line, what, why);
}

static int cu_check(cudaError_t e, const char *what, const char *file, int line) {
    if (e == cudaSuccess) return 0;
    fail_at(what, cudaGetErrorString(e), file, line);
    return -1;
}

static const char *cublas_text(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "cuBLAS error";
    }
}

static int cublas_check(cublasStatus_t s, const char *what, const char *file, int line) {
    if (s == CUBLAS_STATUS_SUCCESS) return 0;
    fail_at(what, cublas_text(s), file, line);
    return -1;
}

#define CU(x) cu_check((x), #x, __FILE__, __LINE__)
#define CUBLAS(x) cublas_check((x), #x, __FILE__, __LINE__)
/* after every kernel launch: bad launch configurations show up here */
#define LAUNCHED(name) cu_check(cudaGetLastError(), name, __FILE__, __LINE__)

/* ------------------------------------------------------------- device */

/* The node-local rank, from whichever launcher started us; -1 if none. */
static int local_rank(void) {
    static const char *names[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID",
                                  "MV2_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = getenv(names[i]);
        if (v && *v) return atoi(v);
    }
    return -1;
}

int cuda_init(char *msg, size_t n) {
    if (g_ready) return 0;
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        snprintf(msg, n, "cuda_init: no CUDA device (%s; CUDA_VISIBLE_DEVICES=%s)",
                 e != cudaSuccess ? cudaGetErrorString(e) : "0 devices",
                 getenv("CUDA_VISIBLE_DEVICES") ? getenv("CUDA_VISIBLE_DEVICES") : "unset");
        return -1;
    }
    int rank = local_rank(), dev = rank >= 0 ? rank % count : 0;
    if ((e = cudaSetDevice(dev)) != cudaSuccess) {
        snprintf(msg, n, "cuda_init: cudaSetDevice(%d): %s", dev, cudaGetErrorString(e));
        return -1;
    }
    cublasStatus_t s = cublasCreate(&g_cublas);
    if (s != CUBLAS_STATUS_SUCCESS) {
        snprintf(msg, n, "cuda_init: cublasCreate: %s", cublas_text(s));
        return -1;
    }
    cublasSetMathMode(g_cublas, CUBLAS_DEFAULT_MATH); /* fp32 exact: no TF32 */
    if ((e = cudaMalloc((void **)&g_partials, sizeof(double) * (SUMSQ_BLOCKS + 1))) != cudaSuccess) {
        snprintf(msg, n, "cuda_init: cudaMalloc: %s", cudaGetErrorString(e));
        cublasDestroy(g_cublas);
        return -1;
    }
    g_sumsq = g_partials + SUMSQ_BLOCKS;
    cudaDeviceProp p;
    cudaGetDeviceProperties(&p, dev);
    snprintf(g_desc, sizeof g_desc, "%.200s (device %d of %d, sm_%d%d, %.1f GiB)", p.name, dev, count,
             p.major, p.minor, (double)p.totalGlobalMem / (1024.0 * 1024 * 1024));
    g_ready = 1, g_failed = 0, g_err[0] = 0;
    return 0;
}

void cuda_shutdown(void) {
    if (!g_ready) return;
    cudaFree(g_partials);
    cublasDestroy(g_cublas);
    g_partials = g_sumsq = NULL;
    g_cublas = NULL;
    g_ready = 0;
}

const char *cuda_describe(void) { return g_desc; }

int cuda_check(char *msg, size_t n) {
    if (g_ready) LAUNCHED("pending");
    if (!g_failed) return 0;
    snprintf(msg, n, "%s", g_err);
    return -1;
}

void cuda_synchronize(void) { CU(cudaDeviceSynchronize()); }

static int g_matmul = CUDA_MATMUL_FP32;

void cuda_set_matmul(int mode) {
    g_matmul = mode;
    if (g_ready)
        CUBLAS(cublasSetMathMode(g_cublas, mode == CUDA_MATMUL_TF32 ? CUBLAS_TF32_TENSOR_OP_MATH
                                                                    : CUBLAS_DEFAULT_MATH));
}

void cuda_set_tf32(int on) { cuda_set_matmul(on ? CUDA_MATMUL_TF32 : CUDA_MATMUL_FP32); }

void *cuda_alloc(size_t bytes) {
    void *p = NULL;
    if (CU(cudaMalloc(&p, bytes ? bytes : 1))) return NULL;
    return p;
}

void cuda_free(void *p) {
    if (p) CU(cudaFree(p));
}

void *cuda_host_alloc(size_t bytes) {
    void *p = NULL;
    if (CU(cudaMallocHost(&p, bytes ? bytes : 1))) return NULL;
    return p;
}

void cuda_host_free(void *p) {
    if (p) CU(cudaFreeHost(p));
}

void cuda_to_device(void *dst, const void *host_src, size_t bytes) {
    if (bytes) CU(cudaMemcpy(dst, host_src, bytes, cudaMemcpyHostToDevice));
}

void cuda_to_host(void *host_dst, const void *src, size_t bytes) {
    if (bytes) CU(cudaMemcpy(host_dst, src, bytes, cudaMemcpyDeviceToHost));
}

void cuda_copy(void *dst, const void *src, size_t bytes) {
    if (bytes) CU(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, 0));
}

void cuda_zero(void *p, size_t bytes) {
    if (bytes) CU(cudaMemsetAsync(p, 0, bytes, 0));
}

/* ------------------------------------------------------ block reductions */

/* Every thread gets the result; the tree is fixed, so the sum is
 * deterministic.  sh holds 32 values; blockDim.x a multiple of 32. */
__device__ static float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ static float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
__device__ static float block_sum(float v, float *sh) {
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads(); /* sh may still be read by a previous call */
    if (lane == 0) sh[wid] = v;
    __syncthreads();
    return warp_sum(lane < nw ? sh[lane] : 0.0f);
}
__device__ static float block_max(float v, float *sh) {
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) sh[wid] = v;
    __syncthreads();
    return warp_max(lane < nw ? sh[lane] : -INFINITY);
}

/* Threads for a block that reduces one row of n: a multiple of 32 up to
 * most (small rows, e.g. Qwen3's per-head norms, leave no warp idle). */
static int row_threads(int n, int most) {
    int t = (n + 31) / 32 * 32;
    return t < 32 ? 32 : t > most ? most : t;
}

static unsigned blocks_for(size_t n, int threads) {
    size_t b = (n + threads - 1) / threads;
    return (unsigned)(b < 65535u * 16 ? b : 65535u * 16); /* kernels below stride over the rest */
}

__global__ static void add_kernel(float *x, const float *y, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        x[i] += y[i];
}

void cuda_add(float *x, const float *y, size_t n) {
    if (!n) return;
    add_kernel<<<blocks_for(n, 256), 256>>>(x, y, n);
    LAUNCHED("add_kernel");
}

__global__ static void kv_write_kernel(float *cache, const float *rows, const int *slot,
                                       const int *pos, int max_seq, int D, size_t total) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t m = i / D;
        cache[((size_t)slot[m] * max_seq + pos[m]) * D + i % D] = rows[i];
    }
}

void cuda_kv_write(float *cache, const float *rows, const int *slot, const int *pos, int M,
                   int max_seq, int D) {
    size_t total = (size_t)M * D;
    if (!total) return;
    kv_write_kernel<<<blocks_for(total, 256), 256>>>(cache, rows, slot, pos, max_seq, D, total);
    LAUNCHED("kv_write_kernel");
}

/* ------------------------------------------------------------------ bias */

__global__ static void bias_forward_kernel(float *out, const float *b, int OC, size_t total) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x)
        out[i] += b[i % OC];
}

void cuda_ops_bias_forward(float *out, const float *b, int N, int OC) {
    size_t total = (size_t)N * OC;
    if (!total) return;
    bias_forward_kernel<<<blocks_for(total, 256), 256>>>(out, b, OC, total);
    LAUNCHED("bias_forward_kernel");
}

/* One thread per output channel sums the rows in order from 0, then adds
 * to db: ops_cpu.c's order, so the CPU's bits. */
__global__ static void bias_backward_kernel(float *db, const float *dout, int N, int OC) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= OC) return;
    float acc = 0;
    for (int n = 0; n < N; n++) acc += dout[(size_t)n * OC + c];
    db[c] += acc;
}

void cuda_ops_bias_backward(float *db, const float *dout, int N, int OC) {
    if (N <= 0 || OC <= 0) return;
    bias_backward_kernel<<<(OC + 127) / 128, 128>>>(db, dout, N, OC);
    LAUNCHED("bias_backward_kernel");
}

/* ---------------------------------------------------------------- matmul */

/* Row-major C (M,N) = alpha op(A) op(B) + beta C, batched with strides. */
static void gemm_rm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                    long long sA, const float *B, int ldb, long long sB, float beta, float *Cm,
                    int ldc, long long sC, int batch) {
    if (M <= 0 || N <= 0 || batch <= 0) return;
    if (!g_ready) {
        fail_at("gemm", "cuda_init was not called", __FILE__, __LINE__);
        return;
    }
    cublasOperation_t opA = ta ? CUBLAS_OP_T : CUBLAS_OP_N, opB = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    if (g_matmul == CUDA_MATMUL_BF16) /* fp32 in and out, bf16 products, fp32 sums */
        CUBLAS(cublasGemmStridedBatchedEx(g_cublas, opB, opA, N, M, K, &alpha, B, CUDA_R_32F, ldb, sB,
                                          A, CUDA_R_32F, lda, sA, &beta, Cm, CUDA_R_32F, ldc, sC,
                                          batch, CUBLAS_COMPUTE_32F_FAST_16BF, CUBLAS_GEMM_DEFAULT));
    else if (batch == 1)
        CUBLAS(cublasSgemm(g_cublas, opB, opA, N, M, K, &alpha, B, ldb, A, lda, &beta, Cm, ldc));
    else
        CUBLAS(cublasSgemmStridedBatched(g_cublas, opB, opA, N, M, K, &alpha, B, ldb, sB, A, lda,
                                         sA, &beta, Cm, ldc, sC, batch));
}

// out = inp @ w.T (+ beta * out)
void cuda_ops_matmul_forward(float *out, const float *inp, const float *w, int N, int C, int OC,
                             float beta) {
    gemm_rm(0, 1, N, OC, C, 1.0f, inp, C, 0, w, C, 0, beta, out, OC, 0, 1);
}

// dinp += dout @ w ; dw += dout.T @ inp
void cuda_ops_matmul_backward(float *dinp, float *dw, const float *dout, const float *inp,
                              const float *w, int N, int C, int OC) {
    if (dinp) gemm_rm(0, 0, N, C, OC, 1.0f, dout, OC, 0, w, C, 0, 1.0f, dinp, C, 0, 1);
    gemm_rm(1, 0, OC, C, N, 1.0f, dout, OC, 0, inp, C, 0, 1.0f, dw, C, 0, 1);
}

enum { PANEL = 32, ROWS_PER_BLOCK = 8 };

/* thread (j, r) of block (panel p, row group): out[m, p*32 + j], summed over
 * c in order with fmaf from 0, as both versions of rows_t_block in ops_cpu.c */
__global__ static void rows_t_kernel(float *out, const float *inp, const float *wp, int M, int C,
                                     int OC) {
    int j = threadIdx.x, p = blockIdx.x, m = blockIdx.y * ROWS_PER_BLOCK + threadIdx.y;
    int o = p * PANEL + j;
    if (m >= M) return;
    const float *x = inp + (size_t)m * C, *panel = wp + (size_t)p * C * PANEL + j;
    float acc = 0.0f;
    for (int c = 0; c < C; c++) acc = fmaf(x[c], panel[(size_t)c * PANEL], acc);
    if (o < OC) out[(size_t)m * OC + o] = acc;
}

void cuda_ops_matmul_rows_t(float *out, const float *inp, const float *wp, int M, int C, int OC) {
    if (M <= 0 || OC <= 0) return;
    dim3 grid((OC + PANEL - 1) / PANEL, (M + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK);
    rows_t_kernel<<<grid, dim3(PANEL, ROWS_PER_BLOCK)>>>(out, inp, wp, M, C, OC);
    LAUNCHED("rows_t_kernel");
}

size_t cuda_ops_packed_size(int R, int C) { return (size_t)((R + PANEL - 1) / PANEL) * PANEL * C; }

__global__ static void pack_t_kernel(float *dst, const float *w, int R, int C, size_t total) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        int j = (int)(i % PANEL);
        size_t pc = i / PANEL;
        int c = (int)(pc % C), r = (int)(pc / C) * PANEL + j;
        dst[i] = r < R ? w[(size_t)r * C + c] : 0.0f;
    }
}

void cuda_ops_pack_t(float *dst, const float *w, int R, int C) {
    size_t total = cuda_ops_packed_size(R, C);
    if (!total) return;
    pack_t_kernel<<<blocks_for(total, 256), 256>>>(dst, w, R, C, total);
    LAUNCHED("pack_t_kernel");
}

/* --------------------------------------------------------------- rmsnorm */

// rstd = rsqrt(mean(x^2) + eps); out = x * rstd * w      (one block per row)
__global__ static void rmsnorm_forward_kernel(float *out, float *rstd, const float *inp,
                                              const float *w, int C, float eps) {
    __shared__ float sh[32];
    const float *x = inp + (size_t)blockIdx.x * C;
    float *o = out + (size_t)blockIdx.x * C;
    float ss = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) ss += x[c] * x[c];
    ss = block_sum(ss, sh);
    float r = 1.0f / sqrtf(ss / C + eps);
    if (threadIdx.x == 0) rstd[blockIdx.x] = r;
    for (int c = threadIdx.x; c < C; c += blockDim.x) o[c] = x[c] * r * w[c];
}

void cuda_ops_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *w, int N,
                              int C, float eps) {
    if (N <= 0) return;
    rmsnorm_forward_kernel<<<N, row_threads(C, 256)>>>(out, rstd, inp, w, C, eps);
    LAUNCHED("rmsnorm_forward_kernel");
}

// dx += r*w*dout - x * r^3/C * sum(dout*w*x)      (one block per row)
__global__ static void rmsnorm_backward_dx_kernel(float *dinp, const float *dout,
                                                  const float *inp, const float *w,
                                                  const float *rstd, int C) {
    __shared__ float sh[32];
    size_t row = (size_t)blockIdx.x * C;
    const float *x = inp + row, *d = dout + row;
    float *dx = dinp + row;
    float r = rstd[blockIdx.x], dot = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) dot += d[c] * w[c] * x[c];
    dot = block_sum(dot, sh);
    float k = dot * r * r * r / C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) dx[c] += r * w[c] * d[c] - k * x[c];
}

// dw += sum_n dout * x * r: block of 32 columns x 32 row lanes, fixed-order tree
__global__ static void rmsnorm_backward_dw_kernel(float *dw, const float *dout, const float *inp,
                                                  const float *rstd, int N, int C) {
    __shared__ float part[32][33];
    int c = blockIdx.x * 32 + threadIdx.x;
    float acc = 0;
    if (c < C)
        for (int n = threadIdx.y; n < N; n += 32)
            acc += dout[(size_t)n * C + c] * inp[(size_t)n * C + c] * rstd[n];
    part[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && c < C) {
        float s = 0;
        for (int i = 0; i < 32; i++) s += part[i][threadIdx.x];
        dw[c] += s;
    }
}

void cuda_ops_rmsnorm_backward(float *dinp, float *dw, const float *dout, const float *inp,
                               const float *w, const float *rstd, int N, int C) {
    if (N <= 0) return;
    rmsnorm_backward_dx_kernel<<<N, row_threads(C, 256)>>>(dinp, dout, inp, w, rstd, C);
    LAUNCHED("rmsnorm_backward_dx_kernel");
    rmsnorm_backward_dw_kernel<<<(C + 31) / 32, dim3(32, 32)>>>(dw, dout, inp, rstd, N, C);
    LAUNCHED("rmsnorm_backward_dw_kernel");
}

/* ------------------------------------------------------------------ rope */

/* The tables are set up once per model: compute them on the host exactly as
 * ops_cpu.c does (glibc powf/cosf/sinf), so both backends rotate with the
 * same bits, then copy them over. */
void cuda_ops_rope_tables(float *cos_t, float *sin_t, int T, int HS, float theta) {
    int half = HS / 2;
    size_t n = (size_t)T * half;
    float *hc = (float *)malloc(sizeof(float) * (n ? n : 1) * 2), *hs = hc + n;
    if (!hc) {
        fail_at("cuda_ops_rope_tables", "out of host memory", __FILE__, __LINE__);
        return;
    }
    for (int i = 0; i < half; i++) {
        float inv_freq = 1.0f / powf(theta, (float)(2 * i) / (float)HS);
        for (int t = 0; t < T; t++) {
            float angle = (float)t * inv_freq;
            hc[(size_t)t * half + i] = cosf(angle);
            hs[(size_t)t * half + i] = sinf(angle);
        }
    }
    cuda_to_device(cos_t, hc, sizeof(float) * n);
    cuda_to_device(sin_t, hs, sizeof(float) * n);
    free(hc);
}

/* One pair (i, i + HS/2) of one head of one token per thread; sign -1 applies
 * the transpose.  pos: per-row positions (decode) or NULL (pos0 + t). */
__global__ static void rope_kernel(float *x, const float *cos_t, const float *sin_t, int T, int NH,
                                   int HS, int pos0, const int *pos, float sign, size_t total) {
    int half = HS / 2;
    for (size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x; idx < total;
         idx += (size_t)gridDim.x * blockDim.x) {
        int i = (int)(idx % half);
        size_t head = idx / half, row = head / NH; /* row = b*T + t, or m */
        int p = pos ? pos[row] : pos0 + (int)(row % T);
        float *v = x + head * HS;
        float cs = cos_t[(size_t)p * half + i], s = sign * sin_t[(size_t)p * half + i];
        float x1 = v[i], x2 = v[i + half];
        v[i] = x1 * cs - x2 * s;
        v[i + half] = x2 * cs + x1 * s;
    }
}

// x = x * cos + rotate_half(x) * sin
void cuda_ops_rope_forward(float *x, const float *cos_t, const float *sin_t, int B, int T, int NH,
                           int HS, int pos0) {
    size_t total = (size_t)B * T * NH * (HS / 2);
    if (!total) return;
    rope_kernel<<<blocks_for(total, 256), 256>>>(x, cos_t, sin_t, T, NH, HS, pos0, NULL, 1.0f, total);
    LAUNCHED("rope_kernel");
}

void cuda_ops_rope_backward(float *dx, const float *cos_t, const float *sin_t, int B, int T,
                            int NH, int HS, int pos0) {
    size_t total = (size_t)B * T * NH * (HS / 2);
    if (!total) return;
    rope_kernel<<<blocks_for(total, 256), 256>>>(dx, cos_t, sin_t, T, NH, HS, pos0, NULL, -1.0f,
                                                 total);
    LAUNCHED("rope_kernel");
}

void cuda_ops_rope_rows(float *x, const float *cos_t, const float *sin_t, const int *pos, int M,
                        int NH, int HS) {
    size_t total = (size_t)M * NH * (HS / 2);
    if (!total) return;
    rope_kernel<<<blocks_for(total, 256), 256>>>(x, cos_t, sin_t, 1, NH, HS, 0, pos, 1.0f, total);
    LAUNCHED("rope_kernel");
}

/* ------------------------------------------------------------- attention */

/* Row t of head (b,h) (grid (T, B*NH)): att holds scaled scores on entry;
 * softmax over s <= t, zero above the diagonal. */
__global__ static void causal_softmax_kernel(float *att, int T) {
    __shared__ float sh[32];
    int t = blockIdx.x;
    float *row = att + ((size_t)blockIdx.y * T + t) * T;
    float mx = -INFINITY, sum = 0;
    for (int s = threadIdx.x; s <= t; s += blockDim.x) mx = fmaxf(mx, row[s]);
    mx = block_max(mx, sh);
    for (int s = threadIdx.x; s <= t; s += blockDim.x) {
        float e = expf(row[s] - mx);
        row[s] = e;
        sum += e;
    }
    float inv = 1.0f / block_sum(sum, sh);
    for (int s = threadIdx.x; s < T; s += blockDim.x) row[s] = s <= t ? row[s] * inv : 0.0f;
}

/* Row t of batch b (grid (T, B)) of one head: datt holds dout @ v.T on entry,
 * dpre = att * (datt - rowsum(att * datt)) on return, zero above the diagonal. */
__global__ static void causal_softmax_backward_kernel(float *datt, const float *att, int T,
                                                      size_t att_stride) {
    __shared__ float sh[32];
    int t = blockIdx.x;
    const float *ar = att + blockIdx.y * att_stride + (size_t)t * T;
    float *dr = datt + ((size_t)blockIdx.y * T + t) * T, dot = 0;
    for (int s = threadIdx.x; s <= t; s += blockDim.x) dot += ar[s] * dr[s];
    dot = block_sum(dot, sh);
    for (int s = threadIdx.x; s < T; s += blockDim.x) dr[s] = s <= t ? ar[s] * (dr[s] - dot) : 0.0f;
}

static int softmax_threads(int T) { return T >= 256 ? 256 : T > 32 ? (T + 31) / 32 * 32 : 32; }

/* Query rows go in blocks of QBG: block [q0, q0+nq) only needs keys
 * [0, q0+nq), so the products skip the masked upper blocks (ops_cpu.c does
 * the same with 64-row blocks; fewer, larger products suit cuBLAS better).
 * The softmax kernels still write whole rows, so att is defined everywhere. */
enum { QBG = 256 };

// att = softmax(q @ k.T / sqrt(HS) + causal mask); out = att @ v   (per head)
void cuda_ops_attention_forward(float *out, float *att, const float *q, const float *k,
                                const float *v, int B, int T, int NH, int NKV, int HS) {
    if (B <= 0 || T <= 0) return;
    int group = NH / NKV, qs = NH * HS, ks = NKV * HS;
    float scale = 1.0f / sqrtf((float)HS);
    long long TT = (long long)T * T, sq = (long long)T * qs, sk = (long long)T * ks;
    /* per query head and query block, batched over b (a kv head's stride is
     * not uniform in h) */
    for (int h = 0; h < NH; h++)
        for (int q0 = 0; q0 < T; q0 += QBG) {
            int nq = T - q0 < QBG ? T - q0 : QBG, nk = q0 + nq;
            gemm_rm(0, 1, nq, nk, HS, scale, q + (size_t)q0 * qs + h * HS, qs, sq,
                    k + (h / group) * HS, ks, sk, 0.0f, att + h * TT + (size_t)q0 * T, T, NH * TT, B);
        }
    causal_softmax_kernel<<<dim3(T, B * NH), softmax_threads(T)>>>(att, T);
    LAUNCHED("causal_softmax_kernel");
    for (int h = 0; h < NH; h++)
        for (int q0 = 0; q0 < T; q0 += QBG) {
            int nq = T - q0 < QBG ? T - q0 : QBG, nk = q0 + nq;
            gemm_rm(0, 0, nq, HS, nk, 1.0f, att + h * TT + (size_t)q0 * T, T, NH * TT,
                    v + (h / group) * HS, ks, sk, 0.0f, out + (size_t)q0 * qs + h * HS, qs, sq, B);
        }
}

// datt = dout @ v.T; dv += att.T @ dout; dpre = att * (datt - rowsum(att*datt));
// dq += dpre @ k * scale; dk += dpre.T @ q * scale
void cuda_ops_attention_backward(float *dq, float *dk, float *dv, const float *dout,
                                 const float *q, const float *k, const float *v, const float *att,
                                 float *scratch, int B, int T, int NH, int NKV, int HS) {
    if (B <= 0 || T <= 0) return;
    int group = NH / NKV, qs = NH * HS, ks = NKV * HS;
    float scale = 1.0f / sqrtf((float)HS);
    long long TT = (long long)T * T, sq = (long long)T * qs, sk = (long long)T * ks;
    /* one head at a time, batched over b: the heads of a group add into the
     * same dk, dv one after the other (one stream), as on the CPU */
    for (int h = 0; h < NH; h++) {
        int kh = h / group;
        const float *ah = att + h * TT;
        for (int q0 = 0; q0 < T; q0 += QBG) {
            int nq = T - q0 < QBG ? T - q0 : QBG, nk = q0 + nq;
            const float *dob = dout + (size_t)q0 * qs + h * HS;
            gemm_rm(0, 1, nq, nk, HS, 1.0f, dob, qs, sq, v + kh * HS, ks, sk, 0.0f,
                    scratch + (size_t)q0 * T, T, TT, B);
            gemm_rm(1, 0, nk, HS, nq, 1.0f, ah + (size_t)q0 * T, T, NH * TT, dob, qs, sq, 1.0f,
                    dv + kh * HS, ks, sk, B);
        }
        causal_softmax_backward_kernel<<<dim3(T, B), softmax_threads(T)>>>(scratch, ah, T,
                                                                           (size_t)NH * TT);
        LAUNCHED("causal_softmax_backward_kernel");
        for (int q0 = 0; q0 < T; q0 += QBG) {
            int nq = T - q0 < QBG ? T - q0 : QBG, nk = q0 + nq;
            const float *db = scratch + (size_t)q0 * T;
            gemm_rm(0, 0, nq, HS, nk, scale, db, T, TT, k + kh * HS, ks, sk, 1.0f,
                    dq + (size_t)q0 * qs + h * HS, qs, sq, B);
            gemm_rm(1, 0, nk, HS, nq, scale, db, T, TT, q + (size_t)q0 * qs + h * HS, qs, sq, 1.0f,
                    dk + kh * HS, ks, sk, B);
        }
    }
}

/* One (row m, head h) per block (grid (NH, M)): scores into scratch, softmax,
 * then out = sum_s p_s v_s, one output channel per thread. */
__global__ static void attention_decode_kernel(float *out, const float *q, const float *kcache,
                                               const float *vcache, const int *slot,
                                               const int *n_ctx, int max_seq, int NH, int NKV,
                                               int HS, float scale, float *scratch) {
    __shared__ float sh[32];
    extern __shared__ float qv[]; /* (HS) */
    int h = blockIdx.x, m = blockIdx.y, group = NH / NKV, ks = NKV * HS, n = n_ctx[m];
    size_t base = (size_t)slot[m] * max_seq * ks + (size_t)(h / group) * HS;
    const float *kc = kcache + base, *vc = vcache + base, *qh = q + ((size_t)m * NH + h) * HS;
    float *sc = scratch + ((size_t)m * NH + h) * max_seq;
    for (int i = threadIdx.x; i < HS; i += blockDim.x) qv[i] = qh[i];
    __syncthreads();
    float mx = -INFINITY, sum = 0;
    for (int s = threadIdx.x; s < n; s += blockDim.x) {
        const float *kr = kc + (size_t)s * ks;
        float d = 0;
        for (int i = 0; i < HS; i++) d += qv[i] * kr[i];
        sc[s] = d * scale;
        mx = fmaxf(mx, sc[s]);
    }
    mx = block_max(mx, sh);
    for (int s = threadIdx.x; s < n; s += blockDim.x) sum += (sc[s] = expf(sc[s] - mx));
    float inv = 1.0f / block_sum(sum, sh); /* its __syncthreads also publishes sc */
    float *o = out + ((size_t)m * NH + h) * HS;
    for (int i = threadIdx.x; i < HS; i += blockDim.x) {
        float acc = 0;
        for (int s = 0; s < n; s++) acc += sc[s] * inv * vc[(size_t)s * ks + i];
        o[i] = acc;
    }
}

void cuda_ops_attention_decode(float *out, const float *q, const float *kcache,
                               const float *vcache, const int *slot, const int *n_ctx, int M,
                               int max_seq, int NH, int NKV, int HS, float *scratch) {
    if (M <= 0) return;
    int threads = HS > 64 ? 128 : 64;
    attention_decode_kernel<<<dim3(NH, M), threads, sizeof(float) * HS>>>(
        out, q, kcache, vcache, slot, n_ctx, max_seq, NH, NKV, HS, 1.0f / sqrtf((float)HS),
        scratch);
    LAUNCHED("attention_decode_kernel");
}

/* ---------------------------------------------------------------- swiglu */

// out = silu(gate) * up
__global__ static void swiglu_forward_kernel(float *out, const float *gate, const float *up,
                                             size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float g = gate[i], sig = 1.0f / (1.0f + expf(-g));
        out[i] = g * sig * up[i];
    }
}

// dgate += dout * up * sig * (1 + g * (1 - sig)); dup += dout * silu(g)
__global__ static void swiglu_backward_kernel(float *dgate, float *dup, const float *dout,
                                              const float *gate, const float *up, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float g = gate[i], sig = 1.0f / (1.0f + expf(-g));
        dgate[i] += dout[i] * up[i] * sig * (1.0f + g * (1.0f - sig));
        dup[i] += dout[i] * g * sig;
    }
}

void cuda_ops_swiglu_forward(float *out, const float *gate, const float *up, int N, int F) {
    size_t n = (size_t)N * F;
    if (!n) return;
    swiglu_forward_kernel<<<blocks_for(n, 256), 256>>>(out, gate, up, n);
    LAUNCHED("swiglu_forward_kernel");
}

void cuda_ops_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate,
                              const float *up, int N, int F) {
    size_t n = (size_t)N * F;
    if (!n) return;
    swiglu_backward_kernel<<<blocks_for(n, 256), 256>>>(dgate, dup, dout, gate, up, n);
    LAUNCHED("swiglu_backward_kernel");
}

/* ------------------------------------------------------ log-softmax head */

// lse = logsumexp(z); logprob = z[target] - lse; entropy = lse - sum(p * z)   (block per row)
__global__ static void logprob_forward_kernel(float *logprob, float *entropy, float *lse,
                                              const float *logits, const int *target, int V) {
    __shared__ float sh[32];
    int n = blockIdx.x;
    const float *z = logits + (size_t)n * V;
    float mx = -INFINITY, sum = 0, pz = 0;
    for (int j = threadIdx.x; j < V; j += blockDim.x) mx = fmaxf(mx, z[j]);
    mx = block_max(mx, sh);
    for (int j = threadIdx.x; j < V; j += blockDim.x) {
        float e = expf(z[j] - mx);
        sum += e;
        pz += e * z[j];
    }
    sum = block_sum(sum, sh);
    pz = block_sum(pz, sh);
    if (threadIdx.x == 0) {
        float l = mx + logf(sum);
        int tg = target[n];
        lse[n] = l;
        logprob[n] = tg >= 0 ? z[tg] - l : 0.0f;
        if (entropy) entropy[n] = tg >= 0 ? l - pz / sum : 0.0f;
    }
}

void cuda_ops_logprob_forward(float *logprob, float *entropy, float *lse, const float *logits,
                              const int *target, int N, int V) {
    if (N <= 0) return;
    logprob_forward_kernel<<<N, row_threads(V, 512)>>>(logprob, entropy, lse, logits, target, V);
    LAUNCHED("logprob_forward_kernel");
}

// dz_j = dlogprob * (1[j == target] - p_j) - dentropy * p_j * (log p_j + H)   (OVERWRITES)
__global__ static void logprob_backward_kernel(float *dlogits, const float *dlogprob,
                                               const float *dentropy, const float *logits,
                                               const float *lse, const int *target, int V) {
    __shared__ float sh[32];
    int n = blockIdx.x, tg = target[n];
    const float *z = logits + (size_t)n * V;
    float *dz = dlogits + (size_t)n * V;
    float l = lse[n], dl = tg >= 0 ? dlogprob[n] : 0.0f;
    float de = dentropy && tg >= 0 ? dentropy[n] : 0.0f, H = 0;
    if (de != 0.0f) { /* uniform across the block: every thread takes the branch */
        for (int j = threadIdx.x; j < V; j += blockDim.x) {
            float lp = z[j] - l;
            H -= expf(lp) * lp;
        }
        H = block_sum(H, sh);
    }
    for (int j = threadIdx.x; j < V; j += blockDim.x) {
        float lp = z[j] - l, p = expf(lp), d = -dl * p - de * p * (lp + H);
        if (j == tg) d += dl;
        dz[j] = d;
    }
}

void cuda_ops_logprob_backward(float *dlogits, const float *dlogprob, const float *dentropy,
                               const float *logits, const float *lse, const int *target, int N,
                               int V) {
    if (N <= 0) return;
    logprob_backward_kernel<<<N, row_threads(V, 512)>>>(dlogits, dlogprob, dentropy, logits, lse, target, V);
    LAUNCHED("logprob_backward_kernel");
}

/* ------------------------------------------------------------------ misc */

// torch.optim.AdamW: p *= 1 - lr*wd; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)
__global__ static void adamw_kernel(float *param, const float *grad, float *m, float *v, size_t n,
                                    float beta1, float beta2, float eps, float step,
                                    float sqrt_bc2, float decay) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float g = grad[i];
        float mi = beta1 * m[i] + (1.0f - beta1) * g;
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi, v[i] = vi;
        param[i] = param[i] * decay - step * mi / (sqrtf(vi) / sqrt_bc2 + eps);
    }
}

void cuda_ops_adamw(float *param, const float *grad, float *m, float *v, size_t n, float lr,
                    float beta1, float beta2, float eps, float weight_decay, int t) {
    if (!n) return;
    /* the scalars on the host with the CPU's expressions */
    float bc1 = 1.0f - powf(beta1, (float)t), bc2 = 1.0f - powf(beta2, (float)t);
    float step = lr / bc1, sqrt_bc2 = sqrtf(bc2), decay = 1.0f - lr * weight_decay;
    adamw_kernel<<<blocks_for(n, 256), 256>>>(param, grad, m, v, n, beta1, beta2, eps, step,
                                              sqrt_bc2, decay);
    LAUNCHED("adamw_kernel");
}

/* Two passes with fixed shapes (SUMSQ_BLOCKS x 256, then one block), so the
 * double sum has the same order on every call with the same n. */
__global__ static void sumsq_partial_kernel(double *partials, const float *x, size_t n) {
    __shared__ double sh[256];
    double s = 0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        s += (double)x[i] * x[i];
    sh[threadIdx.x] = s;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w /= 2) {
        if ((int)threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) partials[blockIdx.x] = sh[0];
}

__global__ static void sumsq_final_kernel(double *total, const double *partials, int n) {
    __shared__ double sh[256];
    double s = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += partials[i];
    sh[threadIdx.x] = s;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w /= 2) {
        if ((int)threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) *total = sh[0];
}

double cuda_ops_sumsq(const float *x, size_t n) {
    if (!n) return 0.0;
    if (!g_ready) {
        fail_at("cuda_ops_sumsq", "cuda_init was not called", __FILE__, __LINE__);
        return 0.0;
    }
    /* blocks depend on n only: the same n sums in the same order */
    size_t want = (n + 4095) / 4096, most = SUMSQ_BLOCKS;
    int blocks = (int)(want < most ? want : most);
    sumsq_partial_kernel<<<blocks, 256>>>(g_partials, x, n);
    LAUNCHED("sumsq_partial_kernel");
    sumsq_final_kernel<<<1, 256>>>(g_sumsq, g_partials, blocks);
    LAUNCHED("sumsq_final_kernel");
    double s = 0;
    cuda_to_host(&s, g_sumsq, sizeof s);
    return s;
}

__global__ static void scale_kernel(float *x, size_t n, float s) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        x[i] *= s;
}

void cuda_ops_scale(float *x, size_t n, float s) {
    if (!n) return;
    scale_kernel<<<blocks_for(n, 256), 256>>>(x, n, s);
    LAUNCHED("scale_kernel");
}

__global__ static void embed_forward_kernel(float *out, const int *tokens, const float *embed,
                                            int C, size_t total) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t n = i / C;
        out[i] = embed[(size_t)tokens[n] * C + i % C];
    }
}

/* Rows with the same token add into the same embedding row.  One thread
 * per channel c walks the rows n in order, so every dembed element sums in
 * ops_cpu.c's order (no atomics: the same bits on every run, and the CPU's). */
__global__ static void embed_backward_kernel(float *dembed, const float *dout, const int *tokens,
                                             int N, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    for (int n = 0; n < N; n++) dembed[(size_t)tokens[n] * C + c] += dout[(size_t)n * C + c];
}

void cuda_ops_embed_forward(float *out, const int *tokens, const float *embed, int N, int C) {
    size_t total = (size_t)N * C;
    if (!total) return;
    embed_forward_kernel<<<blocks_for(total, 256), 256>>>(out, tokens, embed, C, total);
    LAUNCHED("embed_forward_kernel");
}

void cuda_ops_embed_backward(float *dembed, const float *dout, const int *tokens, int N, int C) {
    size_t total = (size_t)N * C;
    if (!total) return;
    embed_backward_kernel<<<(C + 127) / 128, 128>>>(dembed, dout, tokens, N, C);
    LAUNCHED("embed_backward_kernel");
}
