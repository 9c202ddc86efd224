/*
 * tests/cuda/shim/cblas.h — just enough of CBLAS for model/ops_cpu.c, for a
 * GPU machine without OpenBLAS's headers: run_on_gpu.sh compiles the CPU
 * reference against this (and cblas_shim.c) only when OpenBLAS is missing.
 */
#ifndef GRPO_TESTS_CUDA_SHIM_CBLAS_H
#define GRPO_TESTS_CUDA_SHIM_CBLAS_H

enum CBLAS_ORDER { CblasRowMajor = 101, CblasColMajor = 102 };
enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112 };

/* Row-major only: C (M,N) = alpha op(A) op(B) + beta C. */
void cblas_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M,
                 int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc);

#endif
