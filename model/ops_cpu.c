/*
 * model/ops_cpu.c — CPU kernels behind ops.h: OpenBLAS cblas_sgemm for the
 * matrix products (including attention's per-head products), plain C with
 * OpenMP for everything else.  Forward and backward of each op sit next to
 * each other; the PyTorch line each one implements is in its comment.
 *
 * Threading: Debian's OpenMP build of OpenBLAS shares our OpenMP pool, and
 * runs single-threaded when called inside one of our parallel regions.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <cblas.h>
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/ops.h"
#include "model/vecmath.h"

char *openblas_get_corename(void);
int openblas_get_num_threads(void);

/* ------------------------------------------------------------ BLAS setup */

/* Cores OpenBLAS falls back to when it does not know the CPU model. */
static int is_generic_core(const char *core) {
    static const char *generic[] = {"Prescott", "Core2", "Nehalem", "Katmai", "Coppermine",
                                    "Northwood", "Banias", "Atom", "Penryn", "Dunnington"};
    for (size_t i = 0; i < sizeof generic / sizeof generic[0]; i++)
        if (!strcmp(core, generic[i])) return 1;
    return 0;
}

void ops_blas_setup(char **argv) {
    if (getenv("GRPO_BLAS_REEXEC")) return; /* already re-executed once */
    int reexec = 0;
    /* OpenMP threads that spin at barriers are fast on idle cores and
     * disastrous on busy ones (measured on 2 cores with other jobs: the
     * 16x8 rollout ran 8x slower spinning than sleeping; MPI ranks sharing
     * cores are the same case).  Sleep unless the user chose otherwise. */
    if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT")) {
        setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
        reexec = 1;
    }
    const char *core = openblas_get_corename();
    if (!getenv("OPENBLAS_CORETYPE") && core && is_generic_core(core)) {
        __builtin_cpu_init();
        const char *want = __builtin_cpu_supports("avx512f") ? "SkylakeX"
                           : __builtin_cpu_supports("avx2") ? "Haswell" : NULL;
        if (want) setenv("OPENBLAS_CORETYPE", want, 1), reexec = 1;
    }
    if (!reexec) return;
    setenv("GRPO_BLAS_REEXEC", core ? core : "?", 1); /* what was detected; stops a loop */
    /* exec the real path, not /proc/self/exe, so ps and top still say "grpo" */
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return;
    self[n] = 0;
    execv(self, argv);
    /* exec failed: carry on as we are rather than not at all */
}

const char *ops_blas_describe(void) {
    static char text[160];
    const char *was = getenv("GRPO_BLAS_REEXEC"), *wait = getenv("OMP_WAIT_POLICY");
    int fixed = was && strcmp(was, openblas_get_corename());
    snprintf(text, sizeof text, "OpenBLAS %s kernels%s%s%s, %d OpenMP threads (wait policy %s)",
             openblas_get_corename(), fixed ? " (detected as " : "", fixed ? was : "",
             fixed ? ")" : "", omp_get_max_threads(), wait ? wait : "default");
    return text;
}

/* ---------------------------------------------------------------- matmul */

// out = inp @ w.T (+ beta * out)
void ops_matmul_forward(float *out, const float *inp, const float *w, int N, int C, int OC,
                        float beta) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, w, C, beta,
                out, OC);
}

// dinp += dout @ w ; dw += dout.T @ inp
void ops_matmul_backward(float *dinp, float *dw, const float *dout, const float *inp,
                         const float *w, int N, int C, int OC) {
    if (dinp)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, w, C,
                    1.0f, dinp, C);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f,
                dw, C);
}

/* Dot product with a fixed summation order (16 lanes, then a fixed tree),
 * independent of the pointers' alignment: the decode path must give the
 * same bits for a row whatever batch it is in. */
static inline float dot_fixed(const float *a, const float *b, int n) {
    float acc[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) acc[j] += a[i + j] * b[i + j];
    for (int j = 0; i < n; i++, j++) acc[j] += a[i] * b[i];
    for (int w = 8; w > 0; w /= 2)
        for (int j = 0; j < w; j++) acc[j] += acc[j + w];
    return acc[0];
}

/* One block of ops_matmul_rows_t: mb rows x one panel of OB outputs, the
 * accumulators in registers.  mb is a compile-time constant at every call
 * site below, so each case is its own fully unrolled kernel.  Every output
 * element is acc = fma(x[c], w[c], acc) for c = 0..C-1 in order, in both
 * versions. */
enum { OB = OPS_PANEL, MB = 8 };
#ifdef __AVX512F__
static inline __attribute__((always_inline)) void rows_t_block(float *out, const float *inp,
                                                               const float *panel, int C, int OC,
                                                               int o0, int on, const int mb) {
    __m512 acc0[MB], acc1[MB];
    for (int r = 0; r < mb; r++) acc0[r] = _mm512_setzero_ps(), acc1[r] = _mm512_setzero_ps();
    for (int c = 0; c < C; c++) {
        const float *w = panel + (size_t)c * OB;
        __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16);
        for (int r = 0; r < mb; r++) {
            __m512 x = _mm512_set1_ps(inp[(size_t)r * C + c]);
            acc0[r] = _mm512_fmadd_ps(x, w0, acc0[r]);
            acc1[r] = _mm512_fmadd_ps(x, w1, acc1[r]);
        }
    }
    __mmask16 k0 = on >= 16 ? 0xFFFF : (__mmask16)((1u << on) - 1);
    __mmask16 k1 = on >= 32 ? 0xFFFF : on > 16 ? (__mmask16)((1u << (on - 16)) - 1) : 0;
    for (int r = 0; r < mb; r++) {
        _mm512_mask_storeu_ps(out + (size_t)r * OC + o0, k0, acc0[r]);
        _mm512_mask_storeu_ps(out + (size_t)r * OC + o0 + 16, k1, acc1[r]);
    }
}
#else
static inline void rows_t_block(float *out, const float *inp, const float *panel, int C, int OC,
                                int o0, int on, const int mb) {
    float acc[MB][OB] = {{0}};
    for (int c = 0; c < C; c++) {
        const float *w = panel + (size_t)c * OB;
        for (int r = 0; r < mb; r++)
            for (int j = 0; j < OB; j++) acc[r][j] = fmaf(inp[(size_t)r * C + c], w[j], acc[r][j]);
    }
    for (int r = 0; r < mb; r++) memcpy(out + (size_t)r * OC + o0, acc[r], sizeof(float) * on);
}
#endif

// out = inp @ w.T, w packed in panels; row-independent
void ops_matmul_rows_t(float *out, const float *inp, const float *wp, int M, int C, int OC) {
    int n_ob = (OC + OB - 1) / OB, n_mb = (M + MB - 1) / MB;
    long work = (long)M * C * OC;
#pragma omp parallel for collapse(2) schedule(static) if (work > 400000)
    for (int mb = 0; mb < n_mb; mb++)
        for (int ob = 0; ob < n_ob; ob++) {
            int m0 = mb * MB, o0 = ob * OB, on = OC - o0 < OB ? OC - o0 : OB;
            const float *x = inp + (size_t)m0 * C, *panel = wp + (size_t)ob * C * OB;
            float *y = out + (size_t)m0 * OC;
            switch (M - m0 < MB ? M - m0 : MB) {
            case 1: rows_t_block(y, x, panel, C, OC, o0, on, 1); break;
            case 2: rows_t_block(y, x, panel, C, OC, o0, on, 2); break;
            case 3: rows_t_block(y, x, panel, C, OC, o0, on, 3); break;
            case 4: rows_t_block(y, x, panel, C, OC, o0, on, 4); break;
            case 5: rows_t_block(y, x, panel, C, OC, o0, on, 5); break;
            case 6: rows_t_block(y, x, panel, C, OC, o0, on, 6); break;
            case 7: rows_t_block(y, x, panel, C, OC, o0, on, 7); break;
            default: rows_t_block(y, x, panel, C, OC, o0, on, 8); break;
            }
        }
}

size_t ops_packed_size(int R, int C) { return (size_t)((R + OB - 1) / OB) * OB * C; }

void ops_pack_t(float *dst, const float *w, int R, int C) {
    int n_ob = (R + OB - 1) / OB;
#pragma omp parallel for schedule(static) if ((long)R * C > 65536)
    for (int ob = 0; ob < n_ob; ob++) {
        float *panel = dst + (size_t)ob * C * OB;
        for (int j = 0; j < OB; j++) {
            int r = ob * OB + j;
            for (int c = 0; c < C; c++) panel[(size_t)c * OB + j] = r < R ? w[(size_t)r * C + c] : 0.0f;
        }
    }
}

/* ------------------------------------------------------------------ bias */

// out += b   (F.linear's bias, added after the product)
void ops_bias_forward(float *out, const float *b, int N, int OC) {
#pragma omp parallel for schedule(static) if ((long)N * OC > 65536)
    for (int n = 0; n < N; n++) {
        float *o = out + (size_t)n * OC;
        for (int j = 0; j < OC; j++) o[j] += b[j];
    }
}

// db += dout.sum(0)
void ops_bias_backward(float *db, const float *dout, int N, int OC) {
    enum { CB = 256 };
#pragma omp parallel for schedule(static) if ((long)N * OC > 65536)
    for (int c0 = 0; c0 < OC; c0 += CB) {
        int c1 = c0 + CB < OC ? c0 + CB : OC;
        float acc[CB] = {0};
        for (int n = 0; n < N; n++) {
            const float *d = dout + (size_t)n * OC;
            for (int c = c0; c < c1; c++) acc[c - c0] += d[c];
        }
        for (int c = c0; c < c1; c++) db[c] += acc[c - c0];
    }
}

/* --------------------------------------------------------------- rmsnorm */

// rstd = rsqrt(mean(x^2) + eps); out = x * rstd * w
void ops_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *w, int N,
                         int C, float eps) {
#pragma omp parallel for schedule(static) if ((long)N * C > 16384)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *o = out + (size_t)n * C;
        float ss = 0;
        for (int c = 0; c < C; c++) ss += x[c] * x[c];
        float r = 1.0f / sqrtf(ss / C + eps);
        rstd[n] = r;
        for (int c = 0; c < C; c++) o[c] = x[c] * r * w[c];
    }
}

// dx = r*w*dout - x * r^3/C * sum(dout*w*x) ; dw += sum_n dout * x * r
void ops_rmsnorm_backward(float *dinp, float *dw, const float *dout, const float *inp,
                          const float *w, const float *rstd, int N, int C) {
#pragma omp parallel for schedule(static) if ((long)N * C > 16384)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C, *d = dout + (size_t)n * C;
        float *dx = dinp + (size_t)n * C;
        float r = rstd[n], dot = 0;
        for (int c = 0; c < C; c++) dot += d[c] * w[c] * x[c];
        float k = dot * r * r * r / C;
        for (int c = 0; c < C; c++) dx[c] += r * w[c] * d[c] - k * x[c];
    }
    enum { CB = 64 };
#pragma omp parallel for schedule(static) if ((long)N * C > 16384)
    for (int c0 = 0; c0 < C; c0 += CB) {
        int c1 = c0 + CB < C ? c0 + CB : C;
        float acc[CB] = {0};
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C, *d = dout + (size_t)n * C;
            float r = rstd[n];
            for (int c = c0; c < c1; c++) acc[c - c0] += d[c] * x[c] * r;
        }
        for (int c = c0; c < c1; c++) dw[c] += acc[c - c0];
    }
}

/* ------------------------------------------------------------------ rope */

/* Llama 3.1's scaling of one frequency, each step rounded to float like
 * the torch float32 ops of transformers (reciprocal-multiply where torch
 * divides a Python number by a tensor). */
static float llama3_inv_freq(float f, const ops_rope_llama3 *s) {
    float old_len = (float)s->original_max_position;
    float low_wavelen = (float)((double)s->original_max_position / s->low_freq_factor);
    float high_wavelen = (float)((double)s->original_max_position / s->high_freq_factor);
    float wavelen = (1.0f / f) * (float)(2 * M_PI);
    float scaled = wavelen > low_wavelen ? f / s->factor : f;
    if (wavelen < high_wavelen || wavelen > low_wavelen) return scaled;
    volatile float smooth = ((1.0f / wavelen) * old_len - s->low_freq_factor) /
                            (float)((double)s->high_freq_factor - s->low_freq_factor);
    volatile float a = (1.0f - smooth) * scaled, b = smooth * scaled; /* no fused multiply-add */
    return a / s->factor + b;
}

// inv_freq = 1 / theta^(2i/HS) (llama3-scaled if s); angle = pos * inv_freq   (HF LlamaRotaryEmbedding)
void ops_rope_tables_scaled(float *cos_t, float *sin_t, int T, int HS, float theta,
                            const ops_rope_llama3 *s) {
    int half = HS / 2;
    for (int i = 0; i < half; i++) {
        /* float inv_freq as HF computes it, the product in float as well */
        float inv_freq = 1.0f / powf(theta, (float)(2 * i) / (float)HS);
        if (s) inv_freq = llama3_inv_freq(inv_freq, s);
        for (int t = 0; t < T; t++) {
            float angle = (float)t * inv_freq;
            cos_t[(size_t)t * half + i] = cosf(angle);
            sin_t[(size_t)t * half + i] = sinf(angle);
        }
    }
}

void ops_rope_tables(float *cos_t, float *sin_t, int T, int HS, float theta) {
    ops_rope_tables_scaled(cos_t, sin_t, T, HS, theta, NULL);
}

/* Rotate every head of every token; sign -1 applies the transpose. */
static void rope_apply(float *x, const float *cos_t, const float *sin_t, int B, int T, int NH,
                       int HS, int pos0, float sign) {
    int half = HS / 2;
#pragma omp parallel for collapse(2) schedule(static) if ((long)B * T * NH * HS > 16384)
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *cs = cos_t + (size_t)(pos0 + t) * half;
            const float *sn = sin_t + (size_t)(pos0 + t) * half;
            for (int h = 0; h < NH; h++) {
                float *v = x + (((size_t)b * T + t) * NH + h) * HS;
                for (int i = 0; i < half; i++) {
                    float x1 = v[i], x2 = v[i + half], s = sign * sn[i];
                    v[i] = x1 * cs[i] - x2 * s;
                    v[i + half] = x2 * cs[i] + x1 * s;
                }
            }
        }
}

// x = x * cos + rotate_half(x) * sin
void ops_rope_forward(float *x, const float *cos_t, const float *sin_t, int B, int T, int NH,
                      int HS, int pos0) {
    rope_apply(x, cos_t, sin_t, B, T, NH, HS, pos0, 1.0f);
}

void ops_rope_backward(float *dx, const float *cos_t, const float *sin_t, int B, int T, int NH,
                       int HS, int pos0) {
    rope_apply(dx, cos_t, sin_t, B, T, NH, HS, pos0, -1.0f);
}

/* ------------------------------------------------------------- attention */

/* Attention works in blocks of QB query rows: block [q0, q0+nq) only needs
 * keys [0, q0+nq), so the matrix products skip the masked upper blocks
 * (about 40% of the work at T = 256).  Entries of att right of a block's
 * keys are never written or read. */
enum { QB = 64 };

// att = softmax(q @ k.T / sqrt(HS) + causal mask); out = att @ v   (per head)
void ops_attention_forward(float *out, float *att, const float *q, const float *k,
                           const float *v, int B, int T, int NH, int NKV, int HS) {
    int group = NH / NKV, qs = NH * HS, ks = NKV * HS;
    float scale = 1.0f / sqrtf((float)HS);
#pragma omp parallel for collapse(2) schedule(dynamic)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const float *qb = q + (size_t)b * T * qs + h * HS;
            const float *kb = k + (size_t)b * T * ks + (h / group) * HS;
            const float *vb = v + (size_t)b * T * ks + (h / group) * HS;
            float *a = att + ((size_t)b * NH + h) * T * T;
            float *ob = out + (size_t)b * T * qs + h * HS;
            for (int q0 = 0; q0 < T; q0 += QB) {
                int nq = T - q0 < QB ? T - q0 : QB, nk = q0 + nq;
                float *ab = a + (size_t)q0 * T;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, HS, scale,
                            qb + (size_t)q0 * qs, qs, kb, ks, 0.0f, ab, T);
                for (int t = q0; t < q0 + nq; t++) {
                    float *row = a + (size_t)t * T, mx = -INFINITY, sum = 0;
                    for (int s = 0; s <= t; s++) mx = row[s] > mx ? row[s] : mx;
                    sum = vm_exp_shift_sum(row, t + 1, mx, 1.0f);
                    float inv = 1.0f / sum;
                    for (int s = 0; s <= t; s++) row[s] *= inv;
                    for (int s = t + 1; s < nk; s++) row[s] = 0;
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, HS, nk, 1.0f, ab, T, vb,
                            ks, 0.0f, ob + (size_t)q0 * qs, qs);
            }
        }
}

// datt = dout @ v.T; dv += att.T @ dout; dpre = att * (datt - rowsum(att*datt));
// dq += dpre @ k * scale; dk += dpre.T @ q * scale
void ops_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *q,
                            const float *k, const float *v, const float *att, float *scratch,
                            int B, int T, int NH, int NKV, int HS) {
    int group = NH / NKV, qs = NH * HS, ks = NKV * HS;
    float scale = 1.0f / sqrtf((float)HS);
    /* parallel over (b, kv head): the query heads sharing a kv head write the same dk, dv */
#pragma omp parallel for collapse(2) schedule(dynamic)
    for (int b = 0; b < B; b++)
        for (int kh = 0; kh < NKV; kh++) {
            float *datt = scratch + (size_t)omp_get_thread_num() * T * T;
            const float *kb = k + (size_t)b * T * ks + kh * HS;
            const float *vb = v + (size_t)b * T * ks + kh * HS;
            float *dkb = dk + (size_t)b * T * ks + kh * HS;
            float *dvb = dv + (size_t)b * T * ks + kh * HS;
            for (int h = kh * group; h < (kh + 1) * group; h++) {
                const float *a = att + ((size_t)b * NH + h) * T * T;
                const float *dob = dout + (size_t)b * T * qs + h * HS;
                const float *qb = q + (size_t)b * T * qs + h * HS;
                float *dqb = dq + (size_t)b * T * qs + h * HS;
                for (int q0 = 0; q0 < T; q0 += QB) {
                    int nq = T - q0 < QB ? T - q0 : QB, nk = q0 + nq;
                    const float *ab = a + (size_t)q0 * T;
                    float *db = datt + (size_t)q0 * T;
                    const float *dob_q = dob + (size_t)q0 * qs, *qb_q = qb + (size_t)q0 * qs;
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, HS, 1.0f, dob_q,
                                qs, vb, ks, 0.0f, db, T);
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, HS, nq, 1.0f, ab, T,
                                dob_q, qs, 1.0f, dvb, ks);
                    for (int t = q0; t < q0 + nq; t++) {
                        const float *ar = a + (size_t)t * T;
                        float *dr = datt + (size_t)t * T, dot = 0;
                        for (int s = 0; s <= t; s++) dot += ar[s] * dr[s];
                        for (int s = 0; s <= t; s++) dr[s] = ar[s] * (dr[s] - dot);
                        for (int s = t + 1; s < nk; s++) dr[s] = 0;
                    }
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, HS, nk, scale, db,
                                T, kb, ks, 1.0f, dqb + (size_t)q0 * qs, qs);
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, HS, nq, scale, db, T,
                                qb_q, qs, 1.0f, dkb, ks);
                }
            }
        }
}

#ifdef __AVX512F__
/* One (row, head) of decode attention for HS = 16*NV (NV <= 8), registers only. */
static inline __attribute__((always_inline)) void decode_head_avx512(
    float *o, const float *q, const float *kc, const float *vc, int ks, int n, float scale,
    float *sc, const int NV) {
    __m512 qv[8], acc[8];
    for (int i = 0; i < NV; i++) qv[i] = _mm512_loadu_ps(q + 16 * i), acc[i] = _mm512_setzero_ps();
    float mx = -INFINITY, sum = 0;
    for (int s = 0; s < n; s++) {
        const float *k = kc + (size_t)s * ks;
        __m512 d = _mm512_mul_ps(qv[0], _mm512_loadu_ps(k));
        for (int i = 1; i < NV; i++) d = _mm512_fmadd_ps(qv[i], _mm512_loadu_ps(k + 16 * i), d);
        sc[s] = _mm512_reduce_add_ps(d) * scale;
        mx = sc[s] > mx ? sc[s] : mx;
    }
    sum = vm_exp_shift_sum(sc, n, mx, 1.0f);
    float inv = 1.0f / sum;
    for (int s = 0; s < n; s++) {
        const float *v = vc + (size_t)s * ks;
        __m512 p = _mm512_set1_ps(sc[s] * inv);
        for (int i = 0; i < NV; i++) acc[i] = _mm512_fmadd_ps(p, _mm512_loadu_ps(v + 16 * i), acc[i]);
    }
    for (int i = 0; i < NV; i++) _mm512_storeu_ps(o + 16 * i, acc[i]);
}
#endif

/* Portable version of one (row, head). */
static void decode_head(float *o, const float *q, const float *kc, const float *vc, int ks, int n,
                        float scale, float *sc, int HS) {
#ifdef __AVX512F__
    switch (HS) {
    case 16: decode_head_avx512(o, q, kc, vc, ks, n, scale, sc, 1); return;
    case 32: decode_head_avx512(o, q, kc, vc, ks, n, scale, sc, 2); return;
    case 48: decode_head_avx512(o, q, kc, vc, ks, n, scale, sc, 3); return;
    case 64: decode_head_avx512(o, q, kc, vc, ks, n, scale, sc, 4); return;
    case 128: decode_head_avx512(o, q, kc, vc, ks, n, scale, sc, 8); return;
    default: break;
    }
#endif
    float mx = -INFINITY, sum = 0;
    for (int s = 0; s < n; s++) {
        sc[s] = dot_fixed(q, kc + (size_t)s * ks, HS) * scale;
        mx = sc[s] > mx ? sc[s] : mx;
    }
    sum = vm_exp_shift_sum(sc, n, mx, 1.0f);
    float inv = 1.0f / sum;
    for (int i = 0; i < HS; i++) o[i] = 0;
    for (int s = 0; s < n; s++) {
        const float *vs = vc + (size_t)s * ks;
        float p = sc[s] * inv;
        for (int i = 0; i < HS; i++) o[i] += p * vs[i];
    }
}

void ops_attention_decode(float *out, const float *q, const float *kcache, const float *vcache,
                          const int *slot, const int *n_ctx, int M, int max_seq, int NH, int NKV,
                          int HS, float *scratch) {
    int group = NH / NKV, ks = NKV * HS;
    float scale = 1.0f / sqrtf((float)HS);
    long work = 0;
    for (int m = 0; m < M; m++) work += (long)n_ctx[m] * NH * HS;
#pragma omp parallel for collapse(2) schedule(static) if (work > 200000)
    for (int m = 0; m < M; m++)
        for (int h = 0; h < NH; h++) {
            size_t base = (size_t)slot[m] * max_seq * ks + (h / group) * HS;
            decode_head(out + ((size_t)m * NH + h) * HS, q + ((size_t)m * NH + h) * HS,
                        kcache + base, vcache + base, ks, n_ctx[m], scale,
                        scratch + ((size_t)m * NH + h) * max_seq, HS);
        }
}

void ops_rope_rows(float *x, const float *cos_t, const float *sin_t, const int *pos, int M,
                   int NH, int HS) {
    int half = HS / 2;
    for (int m = 0; m < M; m++) {
        const float *cs = cos_t + (size_t)pos[m] * half, *sn = sin_t + (size_t)pos[m] * half;
        for (int h = 0; h < NH; h++) {
            float *v = x + ((size_t)m * NH + h) * HS;
            for (int i = 0; i < half; i++) {
                float x1 = v[i], x2 = v[i + half];
                v[i] = x1 * cs[i] - x2 * sn[i];
                v[i + half] = x2 * cs[i] + x1 * sn[i];
            }
        }
    }
}

/* ---------------------------------------------------------------- swiglu */

/* Whole 16-lane steps with a masked last one, so every element goes
 * through the same arithmetic wherever it sits (decode rows must not
 * depend on the batch they are in). */
#ifdef __AVX512F__
static inline __mmask16 lanes(size_t i, size_t n) {
    return n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
}
#endif

// out = silu(gate) * up
void ops_swiglu_forward(float *out, const float *gate, const float *up, int N, int F) {
    size_t n = (size_t)N * F;
#ifdef __AVX512F__
#pragma omp parallel for schedule(static) if (n > 32768)
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = lanes(i, n);
        __m512 g = _mm512_maskz_loadu_ps(k, gate + i), u = _mm512_maskz_loadu_ps(k, up + i);
        _mm512_mask_storeu_ps(out + i, k, _mm512_mul_ps(_mm512_mul_ps(g, vm_sigmoid512(g)), u));
    }
#else
#pragma omp parallel for schedule(static) if (n > 32768)
    for (size_t i = 0; i < n; i++) {
        float g = gate[i], sig = 1.0f / (1.0f + expf(-g));
        out[i] = g * sig * up[i];
    }
#endif
}

// dgate += dout * up * sig * (1 + g * (1 - sig)); dup += dout * silu(g)
void ops_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate,
                         const float *up, int N, int F) {
    size_t n = (size_t)N * F;
#ifdef __AVX512F__
    const __m512 one = _mm512_set1_ps(1.0f);
#pragma omp parallel for schedule(static) if (n > 32768)
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = lanes(i, n);
        __m512 g = _mm512_maskz_loadu_ps(k, gate + i), u = _mm512_maskz_loadu_ps(k, up + i);
        __m512 d = _mm512_maskz_loadu_ps(k, dout + i), sig = vm_sigmoid512(g);
        __m512 dsilu = _mm512_mul_ps(sig, _mm512_fmadd_ps(g, _mm512_sub_ps(one, sig), one));
        __m512 dg = _mm512_fmadd_ps(_mm512_mul_ps(d, u), dsilu, _mm512_maskz_loadu_ps(k, dgate + i));
        __m512 du = _mm512_fmadd_ps(d, _mm512_mul_ps(g, sig), _mm512_maskz_loadu_ps(k, dup + i));
        _mm512_mask_storeu_ps(dgate + i, k, dg);
        _mm512_mask_storeu_ps(dup + i, k, du);
    }
#else
#pragma omp parallel for schedule(static) if (n > 32768)
    for (size_t i = 0; i < n; i++) {
        float g = gate[i], sig = 1.0f / (1.0f + expf(-g));
        dgate[i] += dout[i] * up[i] * sig * (1.0f + g * (1.0f - sig));
        dup[i] += dout[i] * g * sig;
    }
#endif
}

/* ------------------------------------------------------ log-softmax head */

/* sum_j exp(z_j - mx) and sum_j exp(z_j - mx) * z_j over one row. */
static inline void exp_sums(const float *z, int V, float mx, float *sum, float *pz) {
#ifdef __AVX512F__
    __m512 s = _mm512_setzero_ps(), d = _mm512_setzero_ps(), m = _mm512_set1_ps(mx);
    for (int j = 0; j < V; j += 16) {
        __mmask16 k = lanes(j, V);
        __m512 zv = _mm512_maskz_loadu_ps(k, z + j);
        __m512 e = _mm512_maskz_mov_ps(k, vm_exp512(_mm512_sub_ps(zv, m)));
        s = _mm512_add_ps(s, e);
        d = _mm512_fmadd_ps(e, zv, d);
    }
    *sum = _mm512_reduce_add_ps(s), *pz = _mm512_reduce_add_ps(d);
#else
    float a = 0, b = 0;
    for (int j = 0; j < V; j++) {
        float e = expf(z[j] - mx);
        a += e, b += e * z[j];
    }
    *sum = a, *pz = b;
#endif
}

// lse = logsumexp(z); logprob = z[target] - lse; entropy = lse - sum(p * z)
void ops_logprob_forward(float *logprob, float *entropy, float *lse, const float *logits,
                         const int *target, int N, int V) {
#pragma omp parallel for schedule(static) if ((long)N * V > 16384)
    for (int n = 0; n < N; n++) {
        const float *z = logits + (size_t)n * V;
        float mx = -INFINITY, sum, pz;
        for (int j = 0; j < V; j++) mx = z[j] > mx ? z[j] : mx;
        exp_sums(z, V, mx, &sum, &pz);
        float l = mx + logf(sum);
        lse[n] = l;
        logprob[n] = target[n] >= 0 ? z[target[n]] - l : 0.0f;
        if (entropy) entropy[n] = target[n] >= 0 ? l - pz / sum : 0.0f;
    }
}

// dz_j = dlogprob * (1[j == target] - p_j) - dentropy * p_j * (log p_j + H)
void ops_logprob_backward(float *dlogits, const float *dlogprob, const float *dentropy,
                          const float *logits, const float *lse, const int *target, int N,
                          int V) {
#pragma omp parallel for schedule(static) if ((long)N * V > 16384)
    for (int n = 0; n < N; n++) {
        const float *z = logits + (size_t)n * V;
        float *dz = dlogits + (size_t)n * V;
        float dl = target[n] >= 0 ? dlogprob[n] : 0.0f;
        float de = dentropy && target[n] >= 0 ? dentropy[n] : 0.0f, H = 0;
        if (de != 0.0f) { /* H = lse - sum p z */
            float sum, pz;
            exp_sums(z, V, lse[n], &sum, &pz);
            H = lse[n] - pz;
        }
#ifdef __AVX512F__
        __m512 l = _mm512_set1_ps(lse[n]), vdl = _mm512_set1_ps(-dl), vde = _mm512_set1_ps(-de);
        __m512 vh = _mm512_set1_ps(H);
        for (int j = 0; j < V; j += 16) {
            __mmask16 k = lanes(j, V);
            __m512 lp = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, z + j), l), p = vm_exp512(lp);
            __m512 g = _mm512_mul_ps(vdl, p);
            g = _mm512_fmadd_ps(_mm512_mul_ps(vde, p), _mm512_add_ps(lp, vh), g);
            _mm512_mask_storeu_ps(dz + j, k, g);
        }
#else
        for (int j = 0; j < V; j++) {
            float lp = z[j] - lse[n], p = expf(lp);
            dz[j] = -dl * p - de * p * (lp + H);
        }
#endif
        if (target[n] >= 0) dz[target[n]] += dl;
    }
}

/* ------------------------------------------------------------------ misc */

// torch.optim.AdamW: p *= 1 - lr*wd; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)
void ops_adamw(float *param, const float *grad, float *m, float *v, size_t n, float lr,
               float beta1, float beta2, float eps, float weight_decay, int t) {
    float bc1 = 1.0f - powf(beta1, (float)t), bc2 = 1.0f - powf(beta2, (float)t);
    float step = lr / bc1, sqrt_bc2 = sqrtf(bc2), decay = 1.0f - lr * weight_decay;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        float g = grad[i];
        m[i] = beta1 * m[i] + (1.0f - beta1) * g;
        v[i] = beta2 * v[i] + (1.0f - beta2) * g * g;
        param[i] = param[i] * decay - step * m[i] / (sqrtf(v[i]) / sqrt_bc2 + eps);
    }
}

double ops_sumsq(const float *x, size_t n) {
    double s = 0;
#pragma omp parallel for reduction(+ : s) schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

void ops_scale(float *x, size_t n, float s) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) x[i] *= s;
}

void ops_embed_forward(float *out, const int *tokens, const float *embed, int N, int C) {
    for (int n = 0; n < N; n++)
        memcpy(out + (size_t)n * C, embed + (size_t)tokens[n] * C, sizeof(float) * C);
}

/* Serial over rows: two rows with the same token add into the same row. */
void ops_embed_backward(float *dembed, const float *dout, const int *tokens, int N, int C) {
    for (int n = 0; n < N; n++) {
        float *de = dembed + (size_t)tokens[n] * C;
        const float *d = dout + (size_t)n * C;
        for (int c = 0; c < C; c++) de[c] += d[c];
    }
}
