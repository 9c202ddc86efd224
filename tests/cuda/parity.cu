/*
 * tests/cuda/parity.cu — every op of ops.h against its CUDA twin
 * (model/ops_cuda.h) on the same random inputs at small, awkward shapes
 * (lengths that are not multiples of 32, grouped-query heads, partial
 * panels, rows without a target).  Gradients start from random values on
 * both sides, so "accumulated (+=)" and "overwritten" are checked too.
 *
 * One line per op: PASS or FAIL, then the worst error of each output as
 * max|cpu - gpu| / max|cpu| (tolerance in brackets; "bitwise" where the two
 * must agree to the bit).  Exit status 0 when every op passed, 1 otherwise
 * (also when there is no GPU: this program is only run on one).
 *
 * Built by tests/cuda/run_on_gpu.sh: nvcc for this file and ops_cuda.cu,
 * gcc for model/ops_cpu.c (the reference, unchanged).  Without a GPU,
 * tests/cuda/emulate.sh builds it against a CPU stand-in for CUDA.
 * argv[1] (e.g. "attention") runs only that group of tests.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "model/ops.h"
int omp_get_max_threads(void); /* ops_attention_backward's scratch is per OpenMP thread */
}
#include "model/ops_cuda.h"

/* ------------------------------------------------------------ helpers */

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static float frand(void) { /* uniform in [-1, 1) */
    g_rng ^= g_rng << 13, g_rng ^= g_rng >> 7, g_rng ^= g_rng << 17;
    return (float)((g_rng >> 40) * (1.0 / (1ull << 23)) - 1.0);
}
static int irand(int n) {
    g_rng ^= g_rng << 13, g_rng ^= g_rng >> 7, g_rng ^= g_rng << 17;
    return (int)((g_rng >> 33) % (uint64_t)n);
}

static float *host_rand(size_t n, float scale) {
    float *x = (float *)malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) x[i] = scale * frand();
    return x;
}
static float *host_copy(const float *x, size_t n) {
    float *y = (float *)malloc(sizeof(float) * (n ? n : 1));
    memcpy(y, x, sizeof(float) * n);
    return y;
}
static float *dev_from(const float *h, size_t n) {
    float *d = (float *)cuda_alloc(sizeof(float) * n);
    cuda_to_device(d, h, sizeof(float) * n);
    return d;
}
static int *dev_from_int(const int *h, size_t n) {
    int *d = (int *)cuda_alloc(sizeof(int) * n);
    cuda_to_device(d, h, sizeof(int) * n);
    return d;
}
static float *back(const float *d, size_t n) { /* device array to a new host array */
    float *h = (float *)malloc(sizeof(float) * (n ? n : 1));
    cuda_to_host(h, d, sizeof(float) * n);
    return h;
}

/* One op: begin, check each output, end prints the line. */
static char g_line[1024];
static int g_op_ok, g_failures, g_ops;
static const char *g_op;

static void begin(const char *op) {
    g_op = op, g_op_ok = 1, g_line[0] = 0;
}

/* tol < 0: bitwise */
static void check(const char *what, const float *cpu, const float *gpu, size_t n, double tol) {
    double maxdiff = 0, maxabs = 0;
    int finite = 1;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(cpu[i]) || !isfinite(gpu[i])) finite = 0;
        double d = fabs((double)cpu[i] - gpu[i]);
        if (d > maxdiff || (tol < 0 && d > 0 && maxdiff == 0)) maxdiff = d, worst = i;
        maxabs = fabs(cpu[i]) > maxabs ? fabs(cpu[i]) : maxabs;
    }
    double rel = maxdiff / (maxabs > 0 ? maxabs : 1.0);
    int ok = finite && (tol < 0 ? memcmp(cpu, gpu, sizeof(float) * n) == 0 : rel <= tol);
    if (!ok) g_op_ok = 0;
    size_t len = strlen(g_line);
    if (tol < 0)
        snprintf(g_line + len, sizeof g_line - len, "  %s %s", what,
                 ok ? "bitwise" : finite ? "DIFFERS (bitwise wanted)" : "NOT FINITE");
    else
        snprintf(g_line + len, sizeof g_line - len, "  %s %.2g%s [%.0g]", what, rel,
                 ok ? "" : finite ? " TOO BIG" : " NOT FINITE", tol);
    len = strlen(g_line);
    if (!ok) /* where: enough to find the kernel's indexing mistake */
        snprintf(g_line + len, sizeof g_line - len, " (worst at %zu of %zu: cpu %.9g gpu %.9g)",
                 worst, n, cpu[worst], gpu[worst]);
}

static void check_scalar(const char *what, double cpu, double gpu, double tol) {
    double rel = fabs(cpu - gpu) / (fabs(cpu) > 0 ? fabs(cpu) : 1.0);
    int ok = isfinite(gpu) && rel <= tol;
    if (!ok) g_op_ok = 0;
    size_t len = strlen(g_line);
    snprintf(g_line + len, sizeof g_line - len, "  %s %.3g vs %.3g rel %.2g%s [%.0g]", what, cpu,
             gpu, rel, ok ? "" : " TOO BIG", tol);
}

static void end(void) {
    char msg[512];
    if (cuda_check(msg, sizeof msg)) {
        g_op_ok = 0;
        size_t len = strlen(g_line);
        snprintf(g_line + len, sizeof g_line - len, "  CUDA ERROR %s", msg);
    }
    g_ops++;
    if (!g_op_ok) g_failures++;
    printf("%s %-22s%s\n", g_op_ok ? "PASS" : "FAIL", g_op, g_line);
    fflush(stdout);
}

/* Tolerances, relative to the largest |value| of the CPU output: products
 * are summed in another order by cuBLAS (fp32, no TF32), elementwise ops
 * differ by the last bit of expf and by FMA contraction. */
static const double TOL_ELEM = 2e-6, TOL_GEMM = 1e-5, TOL_ATT = 3e-5, TOL_HEAD = 2e-5, TOL_TF32 = 5e-3, TOL_BF16 = 2e-2;

/* ------------------------------------------------------------- the ops */

static void test_matmul(int N, int C, int OC) {
    float *inp = host_rand((size_t)N * C, 1), *w = host_rand((size_t)OC * C, 0.5f);
    float *out = host_rand((size_t)N * OC, 1), *out2 = host_copy(out, (size_t)N * OC);
    float *d_inp = dev_from(inp, (size_t)N * C), *d_w = dev_from(w, (size_t)OC * C);
    float *d_out = dev_from(out, (size_t)N * OC);
    begin("matmul_forward");
    ops_matmul_forward(out, inp, w, N, C, OC, 1.0f); /* beta 1: adds */
    cuda_ops_matmul_forward(d_out, d_inp, d_w, N, C, OC, 1.0f);
    float *g = back(d_out, (size_t)N * OC);
    check("out(beta=1)", out, g, (size_t)N * OC, TOL_GEMM);
    ops_matmul_forward(out2, inp, w, N, C, OC, 0.0f);
    cuda_ops_matmul_forward(d_out, d_inp, d_w, N, C, OC, 0.0f);
    float *g2 = back(d_out, (size_t)N * OC);
    check("out(beta=0)", out2, g2, (size_t)N * OC, TOL_GEMM);
    end();

    /* TF32 tensor cores (cuda_set_tf32(1)): 10-bit mantissa products, the
     * stated tolerance of the fast mode */
    begin("matmul_forward(tf32)");
    cuda_set_tf32(1);
    cuda_ops_matmul_forward(d_out, d_inp, d_w, N, C, OC, 0.0f);
    cuda_set_tf32(0);
    check("out", out2, back(d_out, (size_t)N * OC), (size_t)N * OC, TOL_TF32);
    end();

    /* bf16 tensor cores (cuda_set_matmul(CUDA_MATMUL_BF16)): inputs rounded
     * to a 7-bit mantissa, fp32 sums: within TOL_BF16 of fp32, and not
     * equal to it (the mode must take effect) */
    begin("matmul_forward(bf16)");
    cuda_set_matmul(CUDA_MATMUL_BF16);
    cuda_ops_matmul_forward(d_out, d_inp, d_w, N, C, OC, 0.0f);
    cuda_set_matmul(CUDA_MATMUL_FP32);
    float *gb = back(d_out, (size_t)N * OC);
    check("out", out2, gb, (size_t)N * OC, TOL_BF16);
    check_scalar("differs from fp32", 1.0, memcmp(out2, gb, sizeof(float) * N * OC) != 0, 0);
    end();

    float *dout = host_rand((size_t)N * OC, 1), *dinp = host_rand((size_t)N * C, 1);
    float *dw = host_rand((size_t)OC * C, 1), *dw2 = host_copy(dw, (size_t)OC * C);
    float *d_dout = dev_from(dout, (size_t)N * OC), *d_dinp = dev_from(dinp, (size_t)N * C);
    float *d_dw = dev_from(dw, (size_t)OC * C), *d_dw2 = dev_from(dw, (size_t)OC * C);
    begin("matmul_backward");
    ops_matmul_backward(dinp, dw, dout, inp, w, N, C, OC);
    cuda_ops_matmul_backward(d_dinp, d_dw, d_dout, d_inp, d_w, N, C, OC);
    check("dinp", dinp, back(d_dinp, (size_t)N * C), (size_t)N * C, TOL_GEMM);
    check("dw", dw, back(d_dw, (size_t)OC * C), (size_t)OC * C, TOL_GEMM);
    ops_matmul_backward(NULL, dw2, dout, inp, w, N, C, OC);
    cuda_ops_matmul_backward(NULL, d_dw2, d_dout, d_inp, d_w, N, C, OC);
    check("dw(dinp=NULL)", dw2, back(d_dw2, (size_t)OC * C), (size_t)OC * C, TOL_GEMM);
    end();
}

static void test_rows_t(int M, int C, int OC) {
    float *inp = host_rand((size_t)M * C, 1), *w = host_rand((size_t)OC * C, 0.5f);
    size_t np = ops_packed_size(OC, C);
    begin("pack_t+matmul_rows_t");
    if (cuda_ops_packed_size(OC, C) != np) g_op_ok = 0;
    float *wp = (float *)malloc(sizeof(float) * np), *out = (float *)malloc(sizeof(float) * M * OC);
    ops_pack_t(wp, w, OC, C);
    ops_matmul_rows_t(out, inp, wp, M, C, OC);
    float *d_w = dev_from(w, (size_t)OC * C), *d_wp = (float *)cuda_alloc(sizeof(float) * np);
    float *d_inp = dev_from(inp, (size_t)M * C), *d_out = (float *)cuda_alloc(sizeof(float) * M * OC);
    cuda_ops_pack_t(d_wp, d_w, OC, C);
    cuda_ops_matmul_rows_t(d_out, d_inp, d_wp, M, C, OC);
    check("packed", wp, back(d_wp, np), np, -1);
    check("out", out, back(d_out, (size_t)M * OC), (size_t)M * OC, -1);
    /* row independence: row 2 alone gives the same bits */
    cuda_ops_matmul_rows_t(d_out, d_inp + 2 * C, d_wp, 1, C, OC);
    check("row-alone", out + 2 * OC, back(d_out, OC), OC, -1);
    end();
}

static void test_rmsnorm(int N, int C) {
    float eps = 1e-5f;
    float *inp = host_rand((size_t)N * C, 2), *w = host_rand(C, 1);
    float *out = (float *)malloc(sizeof(float) * N * C), *rstd = (float *)malloc(sizeof(float) * N);
    float *d_inp = dev_from(inp, (size_t)N * C), *d_w = dev_from(w, C);
    float *d_out = (float *)cuda_alloc(sizeof(float) * N * C), *d_rstd = (float *)cuda_alloc(sizeof(float) * N);
    begin("rmsnorm_forward");
    ops_rmsnorm_forward(out, rstd, inp, w, N, C, eps);
    cuda_ops_rmsnorm_forward(d_out, d_rstd, d_inp, d_w, N, C, eps);
    check("out", out, back(d_out, (size_t)N * C), (size_t)N * C, TOL_ELEM);
    check("rstd", rstd, back(d_rstd, N), N, TOL_ELEM);
    end();

    float *dout = host_rand((size_t)N * C, 1), *dinp = host_rand((size_t)N * C, 1), *dw = host_rand(C, 1);
    float *d_dout = dev_from(dout, (size_t)N * C), *d_dinp = dev_from(dinp, (size_t)N * C), *d_dw = dev_from(dw, C);
    begin("rmsnorm_backward");
    ops_rmsnorm_backward(dinp, dw, dout, inp, w, rstd, N, C);
    cuda_ops_rmsnorm_backward(d_dinp, d_dw, d_dout, d_inp, d_w, d_rstd, N, C);
    check("dinp", dinp, back(d_dinp, (size_t)N * C), (size_t)N * C, TOL_HEAD);
    check("dw", dw, back(d_dw, C), C, TOL_GEMM);
    end();
}

static void test_rope(int B, int T, int NH, int HS, int pos0) {
    int maxT = T + pos0 + 8, half = HS / 2;
    float *cs = (float *)malloc(sizeof(float) * maxT * half), *sn = (float *)malloc(sizeof(float) * maxT * half);
    float *d_cs = (float *)cuda_alloc(sizeof(float) * maxT * half), *d_sn = (float *)cuda_alloc(sizeof(float) * maxT * half);
    begin("rope_tables");
    ops_rope_tables(cs, sn, maxT, HS, 10000.0f);
    cuda_ops_rope_tables(d_cs, d_sn, maxT, HS, 10000.0f);
    check("cos", cs, back(d_cs, (size_t)maxT * half), (size_t)maxT * half, -1);
    check("sin", sn, back(d_sn, (size_t)maxT * half), (size_t)maxT * half, -1);
    end();

    size_t n = (size_t)B * T * NH * HS;
    float *x = host_rand(n, 1), *d_x = dev_from(x, n);
    begin("rope_forward");
    ops_rope_forward(x, cs, sn, B, T, NH, HS, pos0);
    cuda_ops_rope_forward(d_x, d_cs, d_sn, B, T, NH, HS, pos0);
    check("x", x, back(d_x, n), n, TOL_ELEM);
    end();
    begin("rope_backward");
    ops_rope_backward(x, cs, sn, B, T, NH, HS, pos0);
    cuda_ops_rope_backward(d_x, d_cs, d_sn, B, T, NH, HS, pos0);
    check("dx", x, back(d_x, n), n, TOL_ELEM);
    end();

    int M = B * T, *pos = (int *)malloc(sizeof(int) * M);
    for (int m = 0; m < M; m++) pos[m] = irand(maxT);
    float *xr = host_rand((size_t)M * NH * HS, 1), *d_xr = dev_from(xr, (size_t)M * NH * HS);
    int *d_pos = dev_from_int(pos, M);
    begin("rope_rows");
    ops_rope_rows(xr, cs, sn, pos, M, NH, HS);
    cuda_ops_rope_rows(d_xr, d_cs, d_sn, d_pos, M, NH, HS);
    check("x", xr, back(d_xr, (size_t)M * NH * HS), (size_t)M * NH * HS, TOL_ELEM);
    end();
}

static void test_attention(int B, int T, int NH, int NKV, int HS) {
    char name[64];
    size_t nq = (size_t)B * T * NH * HS, nk = (size_t)B * T * NKV * HS, na = (size_t)B * NH * T * T;
    float *q = host_rand(nq, 1.5f), *k = host_rand(nk, 1.5f), *v = host_rand(nk, 1);
    /* ops_cpu.c never writes att right of each 64-row query block's keys
     * (ops.h); the GPU writes the whole (T,T), zero above the diagonal.  So
     * the CPU's starts at zero and the GPU's as garbage: equal only if the
     * GPU zeroes what the CPU leaves. */
    float *out = (float *)malloc(sizeof(float) * nq), *att = (float *)calloc(na, sizeof(float));
    float *garbage = host_rand(na, 1);
    float *d_q = dev_from(q, nq), *d_k = dev_from(k, nk), *d_v = dev_from(v, nk);
    float *d_out = (float *)cuda_alloc(sizeof(float) * nq), *d_att = dev_from(garbage, na);
    snprintf(name, sizeof name, "attention_forward%s", HS > 32 ? "(big)" : "");
    begin(name);
    ops_attention_forward(out, att, q, k, v, B, T, NH, NKV, HS);
    cuda_ops_attention_forward(d_out, d_att, d_q, d_k, d_v, B, T, NH, NKV, HS);
    check("out", out, back(d_out, nq), nq, TOL_ATT);
    check("att", att, back(d_att, na), na, TOL_ATT);
    end();

    float *dout = host_rand(nq, 1), *dq = host_rand(nq, 1), *dk = host_rand(nk, 1), *dv = host_rand(nk, 1);
    float *d_dout = dev_from(dout, nq), *d_dq = dev_from(dq, nq), *d_dk = dev_from(dk, nk), *d_dv = dev_from(dv, nk);
    float *scratch = (float *)malloc(sizeof(float) * T * T * omp_get_max_threads());
    float *d_scratch = (float *)cuda_alloc(sizeof(float) * B * T * T);
    snprintf(name, sizeof name, "attention_backward%s", HS > 32 ? "(big)" : "");
    begin(name);
    ops_attention_backward(dq, dk, dv, dout, q, k, v, att, scratch, B, T, NH, NKV, HS);
    cuda_ops_attention_backward(d_dq, d_dk, d_dv, d_dout, d_q, d_k, d_v, d_att, d_scratch, B, T, NH, NKV, HS);
    check("dq", dq, back(d_dq, nq), nq, TOL_ATT);
    check("dk", dk, back(d_dk, nk), nk, TOL_ATT);
    check("dv", dv, back(d_dv, nk), nk, TOL_ATT);
    end();
}

static void test_decode(int M, int max_seq, int NH, int NKV, int HS) {
    int slots = M + 2;
    size_t nc = (size_t)slots * max_seq * NKV * HS, nq = (size_t)M * NH * HS;
    float *kc = host_rand(nc, 1.5f), *vc = host_rand(nc, 1), *q = host_rand(nq, 1.5f);
    int *slot = (int *)malloc(sizeof(int) * M), *n_ctx = (int *)malloc(sizeof(int) * M);
    for (int m = 0; m < M; m++) slot[m] = (m * 3 + 1) % slots, n_ctx[m] = 1 + irand(max_seq);
    n_ctx[0] = max_seq, n_ctx[M - 1] = 1;
    float *out = (float *)malloc(sizeof(float) * nq), *scratch = (float *)malloc(sizeof(float) * M * NH * max_seq);
    float *d_kc = dev_from(kc, nc), *d_vc = dev_from(vc, nc), *d_q = dev_from(q, nq);
    float *d_out = (float *)cuda_alloc(sizeof(float) * nq);
    float *d_scratch = (float *)cuda_alloc(sizeof(float) * M * NH * max_seq);
    int *d_slot = dev_from_int(slot, M), *d_n = dev_from_int(n_ctx, M);
    char name[64];
    snprintf(name, sizeof name, "attention_decode(HS%d)", HS);
    begin(name);
    ops_attention_decode(out, q, kc, vc, slot, n_ctx, M, max_seq, NH, NKV, HS, scratch);
    cuda_ops_attention_decode(d_out, d_q, d_kc, d_vc, d_slot, d_n, M, max_seq, NH, NKV, HS, d_scratch);
    check("out", out, back(d_out, nq), nq, TOL_ATT);
    end();
}

static void test_swiglu(int N, int F) {
    size_t n = (size_t)N * F;
    float *gate = host_rand(n, 4), *up = host_rand(n, 1), *out = (float *)malloc(sizeof(float) * n);
    float *d_gate = dev_from(gate, n), *d_up = dev_from(up, n), *d_out = (float *)cuda_alloc(sizeof(float) * n);
    begin("swiglu_forward");
    ops_swiglu_forward(out, gate, up, N, F);
    cuda_ops_swiglu_forward(d_out, d_gate, d_up, N, F);
    check("out", out, back(d_out, n), n, TOL_ELEM);
    end();
    float *dout = host_rand(n, 1), *dgate = host_rand(n, 1), *dup = host_rand(n, 1);
    float *d_dout = dev_from(dout, n), *d_dgate = dev_from(dgate, n), *d_dup = dev_from(dup, n);
    begin("swiglu_backward");
    ops_swiglu_backward(dgate, dup, dout, gate, up, N, F);
    cuda_ops_swiglu_backward(d_dgate, d_dup, d_dout, d_gate, d_up, N, F);
    check("dgate", dgate, back(d_dgate, n), n, TOL_ELEM);
    check("dup", dup, back(d_dup, n), n, TOL_ELEM);
    end();
}

/* Qwen2's q/k/v biases; the backward sums rows in the CPU's order: bitwise. */
static void test_bias(int N, int OC) {
    size_t n = (size_t)N * OC;
    float *out = host_rand(n, 1), *b = host_rand(OC, 1), *db = host_rand(OC, 1), *dout = host_rand(n, 1);
    float *d_out = dev_from(out, n), *d_b = dev_from(b, OC), *d_db = dev_from(db, OC), *d_dout = dev_from(dout, n);
    begin("bias_forward");
    ops_bias_forward(out, b, N, OC);
    cuda_ops_bias_forward(d_out, d_b, N, OC);
    check("out", out, back(d_out, n), n, -1);
    end();
    begin("bias_backward");
    ops_bias_backward(db, dout, N, OC);
    cuda_ops_bias_backward(d_db, d_dout, N, OC);
    check("db", db, back(d_db, OC), OC, -1);
    end();
}

static void test_logprob(int N, int V) {
    size_t n = (size_t)N * V;
    float *logits = host_rand(n, 6);
    int *target = (int *)malloc(sizeof(int) * N);
    for (int i = 0; i < N; i++) target[i] = i % 7 == 6 ? -1 : irand(V);
    float *lp = (float *)malloc(sizeof(float) * N), *ent = (float *)malloc(sizeof(float) * N);
    float *lse = (float *)malloc(sizeof(float) * N);
    float *d_logits = dev_from(logits, n), *d_lp = (float *)cuda_alloc(sizeof(float) * N);
    float *d_ent = (float *)cuda_alloc(sizeof(float) * N), *d_lse = (float *)cuda_alloc(sizeof(float) * N);
    int *d_target = dev_from_int(target, N);
    char name[64];
    snprintf(name, sizeof name, "logprob_forward(V%d)", V);
    begin(name);
    ops_logprob_forward(lp, ent, lse, logits, target, N, V);
    cuda_ops_logprob_forward(d_lp, d_ent, d_lse, d_logits, d_target, N, V);
    check("logprob", lp, back(d_lp, N), N, TOL_HEAD);
    check("entropy", ent, back(d_ent, N), N, TOL_HEAD);
    check("lse", lse, back(d_lse, N), N, TOL_HEAD);
    cuda_ops_logprob_forward(d_lp, NULL, d_lse, d_logits, d_target, N, V);
    check("logprob(entropy=NULL)", lp, back(d_lp, N), N, TOL_HEAD);
    end();

    float *dlp = host_rand(N, 1), *dent = host_rand(N, 0.3f);
    float *dz = host_rand(n, 100), *dz2 = host_rand(n, 100); /* garbage: must be overwritten */
    float *d_dlp = dev_from(dlp, N), *d_dent = dev_from(dent, N), *d_dz = dev_from(dz2, n);
    snprintf(name, sizeof name, "logprob_backward(V%d)", V);
    begin(name);
    ops_logprob_backward(dz, dlp, dent, logits, lse, target, N, V);
    cuda_ops_logprob_backward(d_dz, d_dlp, d_dent, d_logits, d_lse, d_target, N, V);
    check("dlogits", dz, back(d_dz, n), n, TOL_HEAD);
    ops_logprob_backward(dz, dlp, NULL, logits, lse, target, N, V);
    cuda_ops_logprob_backward(d_dz, d_dlp, NULL, d_logits, d_lse, d_target, N, V);
    check("dlogits(dentropy=NULL)", dz, back(d_dz, n), n, TOL_HEAD);
    end();
}

static void test_misc(void) {
    size_t n = 100003;
    float *p = host_rand(n, 1), *g = host_rand(n, 0.1f), *m = host_rand(n, 0.05f), *v = host_rand(n, 1);
    for (size_t i = 0; i < n; i++) v[i] = v[i] * v[i] * 0.01f;
    float *d_p = dev_from(p, n), *d_g = dev_from(g, n), *d_m = dev_from(m, n), *d_v = dev_from(v, n);
    begin("adamw");
    for (int t = 1; t <= 3; t++) {
        ops_adamw(p, g, m, v, n, 1e-3f, 0.9f, 0.95f, 1e-8f, t == 2 ? 0.0f : 0.1f, t);
        cuda_ops_adamw(d_p, d_g, d_m, d_v, n, 1e-3f, 0.9f, 0.95f, 1e-8f, t == 2 ? 0.0f : 0.1f, t);
    }
    check("param", p, back(d_p, n), n, TOL_ELEM);
    check("m", m, back(d_m, n), n, TOL_ELEM);
    check("v", v, back(d_v, n), n, TOL_ELEM);
    end();

    begin("sumsq");
    check_scalar("sum", ops_sumsq(g, n), cuda_ops_sumsq(d_g, n), 1e-10);
    check_scalar("sum(n=5)", ops_sumsq(g, 5), cuda_ops_sumsq(d_g, 5), 1e-10);
    end();

    begin("scale");
    ops_scale(g, n, 0.37f);
    cuda_ops_scale(d_g, n, 0.37f);
    check("x", g, back(d_g, n), n, -1);
    end();

    int N = 150, C = 72, V = 40, *tok = (int *)malloc(sizeof(int) * N);
    for (int i = 0; i < N; i++) tok[i] = irand(V); /* many repeats */
    float *emb = host_rand((size_t)V * C, 1), *out = (float *)malloc(sizeof(float) * N * C);
    float *d_emb = dev_from(emb, (size_t)V * C), *d_out = (float *)cuda_alloc(sizeof(float) * N * C);
    int *d_tok = dev_from_int(tok, N);
    begin("embed_forward");
    ops_embed_forward(out, tok, emb, N, C);
    cuda_ops_embed_forward(d_out, d_tok, d_emb, N, C);
    check("out", out, back(d_out, (size_t)N * C), (size_t)N * C, -1);
    end();
    float *dout = host_rand((size_t)N * C, 1), *d_dout = dev_from(dout, (size_t)N * C);
    begin("embed_backward");
    ops_embed_backward(emb, dout, tok, N, C);
    cuda_ops_embed_backward(d_emb, d_dout, d_tok, N, C);
    check("dembed", emb, back(d_emb, (size_t)V * C), (size_t)V * C, -1); /* rows in order: bitwise */
    end();
}

/* The helpers sample.c needs besides ops.h, against plain loops. */
static void test_helpers(void) {
    int M = 5, max_seq = 20, D = 24, slots = 7;
    size_t nc = (size_t)slots * max_seq * D;
    float *cache = host_rand(nc, 1), *rows = host_rand((size_t)M * D, 1);
    int slot[5] = {3, 0, 6, 2, 5}, pos[5] = {0, 19, 7, 7, 1};
    float *d_cache = dev_from(cache, nc), *d_rows = dev_from(rows, (size_t)M * D);
    int *d_slot = dev_from_int(slot, M), *d_pos = dev_from_int(pos, M);
    begin("kv_write+add");
    for (int m = 0; m < M; m++)
        memcpy(cache + ((size_t)slot[m] * max_seq + pos[m]) * D, rows + (size_t)m * D, sizeof(float) * D);
    cuda_kv_write(d_cache, d_rows, d_slot, d_pos, M, max_seq, D);
    check("cache", cache, back(d_cache, nc), nc, -1);
    for (size_t i = 0; i < (size_t)M * D; i++) rows[i] += cache[i];
    cuda_add(d_rows, d_cache, (size_t)M * D);
    check("x+=y", rows, back(d_rows, (size_t)M * D), (size_t)M * D, -1);
    end();
}

/* The same GPU op twice on the same inputs gives the same bits (no atomics
 * in these, fixed reduction trees). */
static void test_determinism(int B, int T, int NH, int NKV, int HS) {
    size_t nq = (size_t)B * T * NH * HS, nk = (size_t)B * T * NKV * HS, na = (size_t)B * NH * T * T;
    float *q = host_rand(nq, 1.5f), *k = host_rand(nk, 1.5f), *v = host_rand(nk, 1), *dout = host_rand(nq, 1);
    float *d_q = dev_from(q, nq), *d_k = dev_from(k, nk), *d_v = dev_from(v, nk), *d_dout = dev_from(dout, nq);
    float *d_out = (float *)cuda_alloc(sizeof(float) * nq), *d_att = (float *)cuda_alloc(sizeof(float) * na);
    float *d_scr = (float *)cuda_alloc(sizeof(float) * B * T * T);
    float *d_g = (float *)cuda_alloc(sizeof(float) * (2 * nq + 4 * nk));
    float *res[2];
    double ss[2];
    for (int r = 0; r < 2; r++) {
        cuda_zero(d_g, sizeof(float) * (2 * nq + 4 * nk));
        cuda_ops_attention_forward(d_out, d_att, d_q, d_k, d_v, B, T, NH, NKV, HS);
        cuda_ops_attention_backward(d_g, d_g + nq, d_g + nq + nk, d_dout, d_q, d_k, d_v, d_att, d_scr, B, T, NH, NKV, HS);
        cuda_ops_rmsnorm_backward(d_g + nq + 2 * nk, d_g + 2 * nq + 3 * nk, d_dout, d_q, d_q, d_q, B * T, NH * HS / 2);
        res[r] = back(d_g, 2 * nq + 4 * nk);
        ss[r] = cuda_ops_sumsq(d_g, 2 * nq + 4 * nk);
    }
    begin("determinism");
    check("attention+rmsnorm grads", res[0], res[1], 2 * nq + 4 * nk, -1);
    check_scalar("sumsq", ss[0], ss[1], 0);
    end();
}

/* argv[1], if given, runs only the tests whose group name contains it. */
static const char *g_only;
static int want(const char *group) { return !g_only || strstr(group, g_only); }

int main(int argc, char **argv) {
    char msg[512];
    g_only = argc > 1 ? argv[1] : NULL;
    if (cuda_init(msg, sizeof msg)) {
        printf("FAIL cuda_init  %s\n", msg);
        return 1;
    }
    printf("parity: %s; CPU: %s\n", cuda_describe(), ops_blas_describe());
    if (want("matmul")) test_matmul(74, 64, 96), test_matmul(300, 200, 130);
    if (want("rows_t")) test_rows_t(5, 64, 70), test_rows_t(13, 96, 264);
    if (want("rmsnorm")) test_rmsnorm(74, 100);
    if (want("rope")) test_rope(2, 37, 4, 16, 3);
    if (want("attention")) test_attention(2, 37, 4, 2, 16), test_attention(2, 300, 4, 1, 64);
    if (want("decode")) test_decode(5, 64, 4, 2, 32), test_decode(3, 300, 4, 4, 128);
    if (want("swiglu")) test_swiglu(74, 96);
    if (want("bias")) test_bias(74, 300);
    if (want("logprob")) test_logprob(74, 300), test_logprob(9, 5000);
    if (want("misc")) test_misc();
    if (want("helpers")) test_helpers();
    if (want("determinism")) test_determinism(2, 70, 4, 2, 16);
    printf("parity: %d of %d ops passed\n", g_ops - g_failures, g_ops);
    cuda_shutdown();
    return g_failures ? 1 : 0;
}
