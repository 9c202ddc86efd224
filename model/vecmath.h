/*
 * model/vecmath.h — a vectorised expf for the softmax-like loops of
 * ops_cpu.c and sample.c (internal to model/).
 *
 * exp(x) = 2^n * exp(r), n = round(x / ln 2), |r| <= ln2/2, exp(r) by the
 * Cephes expf polynomial (about 1 ulp in float).  Inputs below -87.3 give 0
 * (the softmax rows only ever exponentiate x - max <= 0).  Each function
 * is deterministic for a given input row: results never depend on which
 * other rows are processed or on memory alignment.
 */
#ifndef GRPO_MODEL_VECMATH_H
#define GRPO_MODEL_VECMATH_H

#include <math.h>
#ifdef __AVX512F__
#include <immintrin.h>

static inline __m512 vm_exp512(__m512 x) {
    const __m512 lo = _mm512_set1_ps(-87.3f), hi = _mm512_set1_ps(88.3f);
    x = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    __m512 y = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512 e = _mm512_scalef_ps(y, n);
    /* below the clamp: exactly 0, as expf underflows */
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, lo, _CMP_GT_OQ), e);
}
#endif

/* x[i] = exp((x[i] - shift) * scale) for i < n; returns the sum. */
static inline float vm_exp_shift_sum(float *x, int n, float shift, float scale) {
#ifdef __AVX512F__
    __m512 acc = _mm512_setzero_ps(), s = _mm512_set1_ps(shift), k = _mm512_set1_ps(scale);
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 e = vm_exp512(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), s), k));
        _mm512_storeu_ps(x + i, e);
        acc = _mm512_add_ps(acc, e);
    }
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m512 e = vm_exp512(_mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), s), k));
        e = _mm512_maskz_mov_ps(m, e);
        _mm512_mask_storeu_ps(x + i, m, e);
        acc = _mm512_add_ps(acc, e);
    }
    return _mm512_reduce_add_ps(acc);
#else
    float sum = 0;
    for (int i = 0; i < n; i++) sum += (x[i] = expf((x[i] - shift) * scale));
    return sum;
#endif
}

#ifdef __AVX512F__
/* 1 / (1 + exp(-g)) */
static inline __m512 vm_sigmoid512(__m512 g) {
    const __m512 one = _mm512_set1_ps(1.0f);
    return _mm512_div_ps(one, _mm512_add_ps(one, vm_exp512(_mm512_sub_ps(_mm512_setzero_ps(), g))));
}
#endif

#endif
