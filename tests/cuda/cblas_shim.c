/*
 * tests/cuda/cblas_shim.c — a plain triple loop standing in for OpenBLAS
 * (see shim/cblas.h).  Slow, and exact enough to be the CPU reference of
 * the parity test at its small shapes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cblas.h"

void cblas_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M,
                 int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc) {
    if (order != CblasRowMajor) {
        fprintf(stderr, "cblas_shim: only CblasRowMajor\n");
        abort();
    }
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float acc = 0;
            for (int k = 0; k < K; k++) {
                float a = ta == CblasTrans ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = tb == CblasTrans ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                acc += a * b;
            }
            float *c = C + (size_t)i * ldc + j;
            *c = alpha * acc + (beta == 0.0f ? 0.0f : beta * *c);
        }
}

char *openblas_get_corename(void) { return (char *)"none (tests/cuda/cblas_shim.c)"; }
int openblas_get_num_threads(void) { return 1; }
