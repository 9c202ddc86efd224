/*
 * tests/model/test_grad.c — every op's backward against central finite
 * differences, then the whole model's parameter gradients (log-prob and
 * entropy terms) on a tiny GQA config.
 *
 * Each check uses the loss L = sum_i r_i * out_i with fixed random r, so the
 * analytic gradient is backward(dout = r).  Float32 forward, eps 1e-2:
 * agreement to ~1e-3 relative is expected; a wrong sign, factor or index
 * gives O(1) errors.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "helpers.h"
#include "model/ops.h"

TestSuite(grad, .fini = free_fnew);

static double weighted_sum(const float *out, const float *r, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)out[i] * r[i];
    return s;
}

/* Relative L2 error between the analytic and numeric gradients. */
static double rel_err(const float *a, const double *num, size_t n) {
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d += (a[i] - num[i]) * (a[i] - num[i]);
        s += num[i] * num[i];
    }
    return sqrt(d / (s > 1e-20 ? s : 1e-20));
}

/* Numeric gradient of loss() w.r.t. x[0..n) by central differences. */
typedef double (*loss_fn)(void *ctx);
static void numeric_grad(double *g, float *x, size_t n, loss_fn loss, void *ctx, float eps) {
    for (size_t i = 0; i < n; i++) {
        float keep = x[i];
        x[i] = keep + eps;
        double lp = loss(ctx);
        x[i] = keep - eps;
        double lm = loss(ctx);
        x[i] = keep;
        g[i] = (lp - lm) / (2.0 * eps);
    }
}

#define EXPECT_CLOSE(name, analytic, x, n, loss, ctx, tol)                          \
    do {                                                                            \
        double *num_ = calloc((n), sizeof(double));                                 \
        numeric_grad(num_, (x), (n), (loss), (ctx), 1e-2f);                         \
        double e_ = rel_err((analytic), num_, (n));                                 \
        cr_expect(e_ < (tol), "%s: relative gradient error %.3g", (name), e_);     \
        free(num_);                                                                 \
    } while (0)

/* ------------------------------------------------------------------ bias */
struct bi { float *out, *inp, *b, *r; int N, OC; };
static double bi_loss(void *p) {
    struct bi *c = p;
    memcpy(c->out, c->inp, sizeof(float) * c->N * c->OC);
    ops_bias_forward(c->out, c->b, c->N, c->OC);
    return weighted_sum(c->out, c->r, (size_t)c->N * c->OC);
}
Test(grad, bias) {
    struct bi c = {.N = 5, .OC = 300}; /* wider than one column block */
    size_t n = (size_t)c.N * c.OC;
    c.out = fnew(n), c.inp = fnew(n), c.b = fnew(c.OC), c.r = fnew(n);
    fill_normal(c.inp, n, 1, 1), fill_normal(c.b, c.OC, 1, 2), fill_normal(c.r, n, 1, 3);
    float *db = fnew(c.OC);
    ops_bias_backward(db, c.r, c.N, c.OC);
    EXPECT_CLOSE("bias db", db, c.b, c.OC, bi_loss, &c, 1e-3);
}

/* ---------------------------------------------------------------- matmul */
struct mm { float *out, *inp, *w, *r; int N, C, OC; };
static double mm_loss(void *p) {
    struct mm *c = p;
    ops_matmul_forward(c->out, c->inp, c->w, c->N, c->C, c->OC, 0.0f);
    return weighted_sum(c->out, c->r, (size_t)c->N * c->OC);
}
Test(grad, matmul) {
    struct mm c = {.N = 5, .C = 7, .OC = 6};
    c.out = fnew(30), c.inp = fnew(35), c.w = fnew(42), c.r = fnew(30);
    fill_normal(c.inp, 35, 1, 1), fill_normal(c.w, 42, 1, 2), fill_normal(c.r, 30, 1, 3);
    float *dinp = fnew(35), *dw = fnew(42);
    ops_matmul_backward(dinp, dw, c.r, c.inp, c.w, c.N, c.C, c.OC);
    EXPECT_CLOSE("matmul dinp", dinp, c.inp, 35, mm_loss, &c, 1e-3);
    EXPECT_CLOSE("matmul dw", dw, c.w, 42, mm_loss, &c, 1e-3);
}

/* --------------------------------------------------------------- rmsnorm */
struct rn { float *out, *rstd, *inp, *w, *r; int N, C; };
static double rn_loss(void *p) {
    struct rn *c = p;
    ops_rmsnorm_forward(c->out, c->rstd, c->inp, c->w, c->N, c->C, 1e-5f);
    return weighted_sum(c->out, c->r, (size_t)c->N * c->C);
}
Test(grad, rmsnorm) {
    struct rn c = {.N = 4, .C = 70}; /* C > 64 crosses the dw channel blocks */
    size_t n = 280;
    c.out = fnew(n), c.rstd = fnew(4), c.inp = fnew(n), c.w = fnew(70), c.r = fnew(n);
    fill_normal(c.inp, n, 1, 4), fill_normal(c.w, 70, 1, 5), fill_normal(c.r, n, 1, 6);
    float *dinp = fnew(n), *dw = fnew(70);
    rn_loss(&c);
    ops_rmsnorm_backward(dinp, dw, c.r, c.inp, c.w, c.rstd, c.N, c.C);
    EXPECT_CLOSE("rmsnorm dinp", dinp, c.inp, n, rn_loss, &c, 2e-3);
    EXPECT_CLOSE("rmsnorm dw", dw, c.w, 70, rn_loss, &c, 2e-3);
}

/* ------------------------------------------------------------------ rope */
struct rp { float *x, *y, *cs, *sn, *r; int B, T, NH, HS; };
static double rp_loss(void *p) {
    struct rp *c = p;
    size_t n = (size_t)c->B * c->T * c->NH * c->HS;
    memcpy(c->y, c->x, n * sizeof(float));
    ops_rope_forward(c->y, c->cs, c->sn, c->B, c->T, c->NH, c->HS, 0);
    return weighted_sum(c->y, c->r, n);
}
Test(grad, rope) {
    struct rp c = {.B = 2, .T = 5, .NH = 3, .HS = 8};
    size_t n = 2 * 5 * 3 * 8;
    c.x = fnew(n), c.y = fnew(n), c.r = fnew(n), c.cs = fnew(5 * 4), c.sn = fnew(5 * 4);
    ops_rope_tables(c.cs, c.sn, 5, 8, 10000.0f);
    fill_normal(c.x, n, 1, 7), fill_normal(c.r, n, 1, 8);
    float *dx = fnew(n);
    memcpy(dx, c.r, n * sizeof(float));
    ops_rope_backward(dx, c.cs, c.sn, c.B, c.T, c.NH, c.HS, 0);
    EXPECT_CLOSE("rope", dx, c.x, n, rp_loss, &c, 1e-3);
    /* position 0 is the identity; position 1 really rotates */
    rp_loss(&c);
    cr_expect_float_eq(c.y[0], c.x[0], 1e-6);
    cr_expect(fabsf(c.y[3 * 8] - c.x[3 * 8]) > 1e-4);
}

/* ------------------------------------------------------------- attention */
struct at { float *out, *att, *q, *k, *v, *r; int B, T, NH, NKV, HS; };
static double at_loss(void *p) {
    struct at *c = p;
    ops_attention_forward(c->out, c->att, c->q, c->k, c->v, c->B, c->T, c->NH, c->NKV, c->HS);
    return weighted_sum(c->out, c->r, (size_t)c->B * c->T * c->NH * c->HS);
}
Test(grad, attention_gqa) {
    struct at c = {.B = 2, .T = 5, .NH = 4, .NKV = 2, .HS = 4};
    size_t nq = 2 * 5 * 4 * 4, nk = 2 * 5 * 2 * 4;
    c.out = fnew(nq), c.att = fnew(2 * 4 * 25), c.q = fnew(nq), c.k = fnew(nk), c.v = fnew(nk), c.r = fnew(nq);
    fill_normal(c.q, nq, 1, 9), fill_normal(c.k, nk, 1, 10), fill_normal(c.v, nk, 1, 11);
    fill_normal(c.r, nq, 1, 12);
    float *dq = fnew(nq), *dk = fnew(nk), *dv = fnew(nk), *scratch = fnew(64 * 25);
    at_loss(&c);
    ops_attention_backward(dq, dk, dv, c.r, c.q, c.k, c.v, c.att, scratch, c.B, c.T, c.NH, c.NKV, c.HS);
    EXPECT_CLOSE("attention dq", dq, c.q, nq, at_loss, &c, 2e-3);
    EXPECT_CLOSE("attention dk", dk, c.k, nk, at_loss, &c, 2e-3);
    EXPECT_CLOSE("attention dv", dv, c.v, nk, at_loss, &c, 2e-3);
    /* causal: the first output row depends only on the first value */
    float keep = c.v[(1 * 2 + 0) * 4];
    at_loss(&c);
    float before = c.out[0];
    c.v[(1 * 2 + 0) * 4] = keep + 5;
    at_loss(&c);
    cr_expect_float_eq(c.out[0], before, 0);
}

/* Longer than one 64-row query block: the blocked causal products, against
 * a naive double-precision attention and finite differences. */
Test(grad, attention_two_query_blocks) {
    struct at c = {.B = 1, .T = 70, .NH = 2, .NKV = 1, .HS = 4};
    int T = 70;
    size_t nq = (size_t)T * 2 * 4, nk = (size_t)T * 4;
    c.out = fnew(nq), c.att = fnew(2 * T * T), c.q = fnew(nq), c.k = fnew(nk), c.v = fnew(nk), c.r = fnew(nq);
    fill_normal(c.q, nq, 1, 40), fill_normal(c.k, nk, 1, 41), fill_normal(c.v, nk, 1, 42);
    fill_normal(c.r, nq, 1, 43);
    at_loss(&c);
    for (int h = 0; h < 2; h++)
        for (int t = 0; t < T; t += 9) {
            double w[70], mx = -1e30, sum = 0;
            for (int s = 0; s <= t; s++) {
                double d = 0;
                for (int i = 0; i < 4; i++) d += (double)c.q[(t * 2 + h) * 4 + i] * c.k[s * 4 + i];
                w[s] = d / 2.0, mx = fmax(mx, w[s]);
            }
            for (int s = 0; s <= t; s++) sum += (w[s] = exp(w[s] - mx));
            for (int i = 0; i < 4; i++) {
                double o = 0;
                for (int s = 0; s <= t; s++) o += w[s] / sum * c.v[s * 4 + i];
                cr_expect(fabs(o - c.out[(t * 2 + h) * 4 + i]) < 1e-5, "out[%d,%d,%d] %g vs %g", t, h, i,
                          c.out[(t * 2 + h) * 4 + i], o);
            }
        }
    float *dq = fnew(nq), *dk = fnew(nk), *dv = fnew(nk), *scratch = fnew((size_t)64 * T * T);
    ops_attention_backward(dq, dk, dv, c.r, c.q, c.k, c.v, c.att, scratch, c.B, c.T, c.NH, c.NKV, c.HS);
    EXPECT_CLOSE("attention (2 blocks) dq", dq, c.q, nq, at_loss, &c, 2e-3);
    EXPECT_CLOSE("attention (2 blocks) dk", dk, c.k, nk, at_loss, &c, 2e-3);
    EXPECT_CLOSE("attention (2 blocks) dv", dv, c.v, nk, at_loss, &c, 2e-3);
}

/* ---------------------------------------------------------------- swiglu */
struct sw { float *out, *gate, *up, *r; int N, F; };
static double sw_loss(void *p) {
    struct sw *c = p;
    ops_swiglu_forward(c->out, c->gate, c->up, c->N, c->F);
    return weighted_sum(c->out, c->r, (size_t)c->N * c->F);
}
Test(grad, swiglu) {
    struct sw c = {.N = 3, .F = 9};
    c.out = fnew(27), c.gate = fnew(27), c.up = fnew(27), c.r = fnew(27);
    fill_normal(c.gate, 27, 2, 13), fill_normal(c.up, 27, 1, 14), fill_normal(c.r, 27, 1, 15);
    float *dg = fnew(27), *du = fnew(27);
    ops_swiglu_backward(dg, du, c.r, c.gate, c.up, c.N, c.F);
    EXPECT_CLOSE("swiglu dgate", dg, c.gate, 27, sw_loss, &c, 1e-3);
    EXPECT_CLOSE("swiglu dup", du, c.up, 27, sw_loss, &c, 1e-3);
}

/* ------------------------------------------------------------- log-prob */
struct lp { float *logits, *lp, *ent, *lse, *r1, *r2; int *tgt; int N, V; };
static double lp_loss(void *p) {
    struct lp *c = p;
    ops_logprob_forward(c->lp, c->ent, c->lse, c->logits, c->tgt, c->N, c->V);
    return weighted_sum(c->lp, c->r1, c->N) + weighted_sum(c->ent, c->r2, c->N);
}
Test(grad, logprob_and_entropy) {
    struct lp c = {.N = 4, .V = 11};
    int tgt[4] = {3, 0, -1, 10};
    c.tgt = tgt;
    c.logits = fnew(44), c.lp = fnew(4), c.ent = fnew(4), c.lse = fnew(4), c.r1 = fnew(4), c.r2 = fnew(4);
    fill_normal(c.logits, 44, 2, 16), fill_normal(c.r1, 4, 1, 17), fill_normal(c.r2, 4, 1, 18);
    lp_loss(&c);
    cr_expect_float_eq(c.lp[2], 0.0f, 0, "no target: log-prob 0");
    /* entropy of a row computed directly */
    double H = 0, mx = -1e30, s = 0;
    for (int j = 0; j < 11; j++) mx = fmax(mx, c.logits[j]);
    for (int j = 0; j < 11; j++) s += exp(c.logits[j] - mx);
    for (int j = 0; j < 11; j++) {
        double lpj = c.logits[j] - mx - log(s);
        H -= exp(lpj) * lpj;
    }
    cr_expect_float_eq(c.ent[0], (float)H, 1e-5);
    cr_expect_float_eq(c.lp[0], (float)(c.logits[3] - mx - log(s)), 1e-5);
    float *dl = fnew(44);
    ops_logprob_backward(dl, c.r1, c.r2, c.logits, c.lse, c.tgt, c.N, c.V);
    EXPECT_CLOSE("logprob+entropy dlogits", dl, c.logits, 44, lp_loss, &c, 2e-3);
}

/* ---------------------------------------------------------------- adamw */
Test(grad, adamw_matches_formula) {
    float p[3] = {1, -2, 0.5f}, g[3] = {0.1f, -0.3f, 2}, m[3] = {0}, v[3] = {0};
    double pd[3] = {1, -2, 0.5}, md[3] = {0}, vd[3] = {0};
    float lr = 0.01f, b1 = 0.9f, b2 = 0.99f, eps = 1e-8f, wd = 0.1f;
    for (int t = 1; t <= 3; t++) {
        ops_adamw(p, g, m, v, 3, lr, b1, b2, eps, wd, t);
        for (int i = 0; i < 3; i++) {
            md[i] = b1 * md[i] + (1 - b1) * g[i];
            vd[i] = b2 * vd[i] + (1 - b2) * g[i] * g[i];
            double mh = md[i] / (1 - pow(b1, t)), vh = vd[i] / (1 - pow(b2, t));
            pd[i] = pd[i] * (1 - lr * wd) - lr * mh / (sqrt(vh) + eps);
        }
    }
    for (int i = 0; i < 3; i++) cr_expect_float_eq(p[i], (float)pd[i], 1e-5, "param %d", i);
}

/* ------------------------------------------------------ the whole model */
struct whole { model *m; int *tok; float *lp, *ent, *c1, *c2; int B, T; };
static double whole_loss(void *p) {
    struct whole *w = p;
    core_error err;
    cr_assert_eq(model_forward(w->m, w->tok, w->B, w->T, w->lp, w->ent, &err), 0);
    return weighted_sum(w->lp, w->c1, w->B * w->T) + weighted_sum(w->ent, w->c2, w->B * w->T);
}

static void check_model_grads(model_config mc) {
    struct whole w = {.B = 2, .T = 7};
    w.m = tiny_model(mc, 2, 42, 0.3f);
    /* make the norm weights differ from 1 so their gradients are exercised */
    for (int i = 0; i < model_n_tensors(w.m); i++) {
        const model_tensor *t = model_tensor_at(w.m, i);
        if (!t->cols) fill_normal(model_params(w.m) + t->offset, t->numel, 0.3f, 100 + i);
        if (!t->cols)
            for (size_t j = 0; j < t->numel; j++) model_params(w.m)[t->offset + j] += 1.0f;
    }
    int n = w.B * w.T;
    w.tok = calloc(n, sizeof(int));
    random_tokens(w.tok, n, mc.vocab, 5);
    w.tok[n - 1] = TOK_PAD;
    w.lp = fnew(n), w.ent = fnew(n), w.c1 = fnew(n), w.c2 = fnew(n);
    fill_normal(w.c1, n, 1, 20), fill_normal(w.c2, n, 1, 21);
    w.c1[3] = 0; /* a masked position */
    whole_loss(&w);
    model_zero_grad(w.m);
    model_backward(w.m, w.c1, w.c2);
    /* every tensor: a few random entries */
    core_rng r = core_rng_stream(3, CORE_RNG_TEST, 0, 0);
    for (int i = 0; i < model_n_tensors(w.m); i++) {
        const model_tensor *t = model_tensor_at(w.m, i);
        enum { K = 6 };
        float analytic[K];
        double num[K];
        for (int k = 0; k < K; k++) {
            size_t j = t->offset + core_rng_below(&r, t->numel);
            if (!strcmp(t->name, "model.embed_tokens.weight")) /* pick a used row */
                j = t->offset + (size_t)w.tok[k] * mc.dim + core_rng_below(&r, mc.dim);
            analytic[k] = model_grads(w.m)[j];
            numeric_grad(&num[k], model_params(w.m) + j, 1, whole_loss, &w, 1e-2f);
        }
        double e = rel_err(analytic, num, K);
        cr_expect(e < 1e-2, "%s: relative gradient error %.3g (analytic %g vs numeric %g)", t->name,
                  e, analytic[0], num[0]);
    }
    model_free(w.m);
    free(w.tok);
}

Test(grad, whole_model_gqa_untied) { check_model_grads(tiny_config()); }

Test(grad, whole_model_tied) {
    model_config mc = tiny_config();
    mc.tie_embeddings = 1;
    mc.n_kv_heads = 4;
    check_model_grads(mc);
}

/* Qwen2: q/k/v biases (their gradient is a sum over rows). */
Test(grad, whole_model_qkv_bias) {
    model_config mc = tiny_config();
    mc.qkv_bias = 1;
    check_model_grads(mc);
}

/* head_dim 8 though dim / n_heads = 4: q is 32 wide, o_proj (16, 32). */
Test(grad, whole_model_head_dim_apart_tied) {
    model_config mc = tiny_config();
    mc.head_dim = 8, mc.tie_embeddings = 1;
    check_model_grads(mc);
}

/* Qwen3: per-head q/k RMSNorm (and head_dim apart from dim / n_heads). */
Test(grad, whole_model_qk_norm) {
    model_config mc = tiny_config();
    mc.qk_norm = 1, mc.head_dim = 6;
    check_model_grads(mc);
}

Test(grad, grad_norm_and_scale) {
    model *m = tiny_model(tiny_config(), 1, 1, 0.02f);
    float *g = model_grads(m);
    size_t n = model_n_params(m);
    double s = 0;
    for (size_t i = 0; i < n; i++) g[i] = (float)((i % 7) - 3) * 0.01f, s += (double)g[i] * g[i];
    cr_expect_float_eq(model_grad_norm(m), (float)sqrt(s), 1e-4);
    model_scale_grads(m, 0.5f);
    cr_expect_float_eq(model_grad_norm(m), (float)(0.5 * sqrt(s)), 1e-4);
    model_zero_grad(m);
    cr_expect_float_eq(model_grad_norm(m), 0.0f, 0);
    model_free(m);
}

Test(grad, lr_schedule) {
    cr_expect_float_eq(model_lr_schedule(1.0f, 0, 10, 100, 0.1f, 1), 0.1f, 1e-6);
    cr_expect_float_eq(model_lr_schedule(1.0f, 9, 10, 100, 0.1f, 1), 1.0f, 1e-6);
    cr_expect_float_eq(model_lr_schedule(1.0f, 10, 10, 100, 0.1f, 1), 1.0f, 1e-6);
    cr_expect_float_eq(model_lr_schedule(1.0f, 55, 10, 100, 0.1f, 1), 0.55f, 1e-5); /* halfway */
    cr_expect_float_eq(model_lr_schedule(1.0f, 100, 10, 100, 0.1f, 1), 0.1f, 1e-6);
    cr_expect_float_eq(model_lr_schedule(1.0f, 500, 10, 100, 0.1f, 1), 0.1f, 1e-6);
    cr_expect_float_eq(model_lr_schedule(2.0f, 50, 0, 100, 0.1f, 0), 2.0f, 0);
}

Test(grad, config_validation) {
    core_error err = {0};
    model *m;
    model_config mc = tiny_config();
    mc.n_kv_heads = 3;
    cr_expect_eq(model_create(&m, &mc, 1, &err), CORE_EINPUT);
    cr_expect(strstr(err.msg, "n_kv_heads"), "%s", err.msg);
    mc = tiny_config();
    mc.vocab = 100;
    cr_expect_eq(model_create(&m, &mc, 1, &err), CORE_EINPUT);
    cr_expect(strstr(err.msg, "vocab"), "%s", err.msg);
    mc = tiny_config();
    mc.dim = 12, mc.n_heads = 4; /* head size 3: odd */
    cr_expect_eq(model_create(&m, &mc, 1, &err), CORE_EINPUT);
    mc = tiny_config();
    mc.head_dim = 5; /* odd */
    cr_expect_eq(model_create(&m, &mc, 1, &err), CORE_EINPUT);
    cr_expect(strstr(err.msg, "even"), "%s", err.msg);
    mc = tiny_config();
    mc.dim = 12, mc.n_heads = 4, mc.head_dim = 6; /* dim/n_heads odd, but head_dim set: fine */
    cr_expect_eq(model_create(&m, &mc, 1, &err), 0, "%s", err.msg);
    cr_expect_eq(model_config_n_params(&mc), model_n_params(m));
    model_free(m);
    mc = tiny_config();
    mc.qkv_bias = 1, mc.head_dim = 6;
    cr_expect_eq(model_create(&m, &mc, 1, &err), 0, "%s", err.msg);
    cr_expect_eq(model_config_n_params(&mc), model_n_params(m));
    const model_tensor *t = model_tensor_find(m, "model.layers.1.self_attn.k_proj.bias");
    cr_assert(t);
    cr_expect(t->rows == 2 * 6 && t->cols == 0, "k_proj.bias is (%d, %d)", t->rows, t->cols);
    t = model_tensor_find(m, "model.layers.0.self_attn.o_proj.weight");
    cr_expect(t->rows == 16 && t->cols == 4 * 6, "o_proj is (%d, %d)", t->rows, t->cols);
    model_free(m);
    m = tiny_model(tiny_config(), 1, 1, 0.02f);
    int bad[3] = {1, 2, 300};
    float lp[3];
    cr_expect_eq(model_forward(m, bad, 1, 3, lp, NULL, &err), CORE_EINPUT);
    cr_expect(strstr(err.msg, "300"), "%s", err.msg);
    cr_expect_eq(model_forward(m, bad, 2, 2, lp, NULL, &err), CORE_EINPUT); /* batch > max */
    cr_expect_eq(model_config_n_params(model_get_config(m)), model_n_params(m));
    model_free(m);
}

/* The vectorised exp of the softmax loops against libm, and its row sum. */
#include "model/vecmath.h"
Test(grad, vector_exp_matches_libm) {
    enum { N = 1000 };
    float x[N], y[N];
    for (int i = 0; i < N; i++) x[i] = -90.0f + 90.0f * i / (N - 1); /* [-90, 0] as softmax sees */
    memcpy(y, x, sizeof x);
    float sum = vm_exp_shift_sum(y, N - 3, 0.0f, 1.0f); /* a ragged length: masked tail */
    double want = 0;
    for (int i = 0; i < N - 3; i++) {
        float e = expf(x[i]);
        want += e;
        /* below -87.3 the result flushes to 0 (documented): within 2e-38 */
        cr_expect(fabsf(y[i] - e) <= 4e-7f * e + 2e-38f, "exp(%g) = %g, libm %g", x[i], y[i], e);
    }
    cr_expect(fabs(sum - want) <= 1e-6 * want);
    cr_expect_float_eq(y[N - 3], x[N - 3], 0, "past n: untouched");
    /* scale and shift: exp((x - 2) * 0.5) */
    float z[3] = {2.0f, 4.0f, 0.0f};
    vm_exp_shift_sum(z, 3, 2.0f, 0.5f);
    cr_expect_float_eq(z[0], 1.0f, 1e-7);
    cr_expect_float_eq(z[1], expf(1.0f), 1e-6);
    cr_expect_float_eq(z[2], expf(-1.0f), 1e-7);
}
