/*
 * model/sample.c — KV-cache sampling.
 *
 * Each prompt is prefilled once with the batched forward (B = 1); its keys
 * and values are copied into the cache slots of its G samples, and then all
 * rows decode together, one token per step.  Every decode kernel computes a
 * row on its own with a fixed summation order (ops_matmul_rows_t,
 * ops_attention_decode), so a row's bits do not depend on which other rows
 * share the batch: a sample decoded in a group equals it decoded alone.
 *
 * The sampler (temperature, top-k, top-p, one uniform draw per token from
 * the row's own stream) knows nothing about the model.
 */
#include <math.h>
#include <omp.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"
#include "model/ops.h"
#include "model/vecmath.h"

const char *model_finish_name(int finish) {
    switch (finish) {
    case MODEL_FINISH_EOS: return "eos";
    case MODEL_FINISH_STOP: return "stop";
    case MODEL_FINISH_LENGTH: return "length";
    default: return "none";
    }
}

/* ----------------------------------------------------------------- sampler */

typedef struct { float p; int id; } prob_id;

static int by_prob_desc(const void *a, const void *b) {
    const prob_id *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return x->id - y->id; /* ties in id order: deterministic */
}

/* Pick a token from logits z (V) and return it; *logprob is its log-prob
 * under the distribution it was drawn from.  p (V floats) and work (V
 * prob_ids) are the row's own scratch. */
static int sample_token(const float *z, int V, const model_sample_params *sp, core_rng *rng,
                        float *p, prob_id *work, float *logprob) {
    float mx = -INFINITY;
    int arg = 0;
    for (int j = 0; j < V; j++)
        if (z[j] > mx) mx = z[j], arg = j;
    memcpy(p, z, sizeof(float) * V);
    if (sp->temperature <= 0) { /* greedy: report the model's own log-prob */
        *logprob = -logf(vm_exp_shift_sum(p, V, mx, 1.0f));
        return arg;
    }
    double sum = vm_exp_shift_sum(p, V, mx, 1.0f / sp->temperature);
    int filter = (sp->top_k > 0 && sp->top_k < V) || sp->top_p < 1.0f;
    if (!filter) { /* inverse CDF in id order */
        double u = core_rng_uniform(rng) * sum, acc = 0;
        int pick = V - 1;
        for (int j = 0; j < V; j++) {
            acc += p[j];
            if (u < acc) { pick = j; break; }
        }
        *logprob = (float)log(p[pick] / sum);
        return pick;
    }
    for (int j = 0; j < V; j++) work[j].p = p[j], work[j].id = j;
    qsort(work, V, sizeof *work, by_prob_desc);
    int n = V;
    if (sp->top_k > 0 && sp->top_k < n) n = sp->top_k;
    if (sp->top_p < 1.0f) {
        double kept = 0, total = 0;
        for (int j = 0; j < n; j++) total += work[j].p;
        int j = 0;
        while (j < n && kept < sp->top_p * total) kept += work[j++].p;
        n = j > 0 ? j : 1;
    }
    sum = 0;
    for (int j = 0; j < n; j++) sum += work[j].p;
    double u = core_rng_uniform(rng) * sum, acc = 0;
    int pick = n - 1;
    for (int j = 0; j < n; j++) {
        acc += work[j].p;
        if (u < acc) { pick = j; break; }
    }
    *logprob = (float)log(work[pick].p / sum);
    return work[pick].id;
}

/* ------------------------------------------------------------ decode step */

/* Per-call work arrays (allocated once per sampling call, not per token). */
typedef struct decode_work {
    int *tok, *slot, *pos, *n_ctx, *row_of; /* per active row; row_of: output index */
    prob_id *probs;  /* per row: V (prob, id) pairs for top-k / top-p */
    float *pf;       /* per row: V probabilities */
    char *tails;  /* per output row: the last stop_len bytes of its text */
    int *tail_len, *limit;
    int share_one_row; /* decode a lone row on all threads (cores look idle) */
    int *drawn;      /* per active row: the token just drawn ... */
    float *drawn_lp; /* ... and its log-prob */
} decode_work;

/* ------------------------------------------------------ the decode block */

/* A sense-reversing spin barrier for the threads of one decode step: far
 * cheaper than an OpenMP barrier under OMP_WAIT_POLICY=PASSIVE (a futex
 * wake per op), and it yields the CPU if the partner is not running. */
typedef struct spin_barrier { atomic_int count, sense; int n; } spin_barrier;

static void spin_barrier_wait(spin_barrier *b, int *local_sense) {
    *local_sense = !*local_sense;
    if (atomic_fetch_add(&b->count, 1) == b->n - 1) {
        atomic_store(&b->count, 0);
        atomic_store(&b->sense, *local_sense);
        return;
    }
    for (int spins = 0; atomic_load(&b->sense) != *local_sense;)
        if (++spins > 4000) sched_yield(), spins = 0;
}

/* Who runs a decode block: one thread alone over its rows (n = 1), or
 * thread t of a team of n sharing ONE row: each matrix product is split by
 * output panels (each thread streams its share of the weights) and the
 * small vector work runs on thread 0 between spin barriers. */
typedef struct decode_team { int t, n, sense; spin_barrier *bar; } decode_team;

static int team_lead(const decode_team *tm) { return tm->t == 0; }
static void team_sync(decode_team *tm) {
    if (tm->n > 1) spin_barrier_wait(tm->bar, &tm->sense);
}

/* out (M,OC) = x @ w^T.  In a team (M = 1) this thread computes its share
 * of the panels: its outputs o0..o1 are contiguous, and the packed panels of
 * a sub-range are the sub-matrix's own packing.  Either way each output
 * element comes from the same kernel, so the bits do not depend on the team. */
static void team_matmul(const model *m, const decode_team *tm, float *out, const float *x,
                        const float *wp, int M, int C, int OC) {
    if (tm->n == 1) {
        m->ops->matmul_rows_t(out, x, wp, M, C, OC);
        return;
    }
    int panels = (OC + OPS_PANEL - 1) / OPS_PANEL, per = (panels + tm->n - 1) / tm->n;
    int p0 = tm->t * per, p1 = p0 + per < panels ? p0 + per : panels;
    if (p0 >= p1) return;
    int o0 = p0 * OPS_PANEL, o1 = p1 * OPS_PANEL < OC ? p1 * OPS_PANEL : OC;
    m->ops->matmul_rows_t(out + o0, x, wp + (size_t)p0 * C * OPS_PANEL, 1, C, o1 - o0);
}

/* The attention of layer l for rows r0..r1-1, from their projections
 * q (M,Q), k and v (M,KV) in s_q, s_k, s_v: bias (Qwen2), per-head RMSNorm
 * (Qwen3), RoPE at each row's position, k and v into the row's cache slot,
 * attention over the row's cache into s_att (M,Q). */
static void decode_attention(model *m, int l, int r0, int r1) {
    const model_config *c = &m->c;
    const layer_params *lp = &m->p.layers[l];
    int T = c->max_seq, M = r1 - r0, NH = c->n_heads, NKV = c->n_kv_heads;
    int Q = m->q_dim, KV = m->kv_dim, HS = m->hs;
    size_t cache_layer = (size_t)m->max_batch * T * KV;
    float *kc = m->kcache + l * cache_layer, *vc = m->vcache + l * cache_layer;
    float *q = m->s_q + (size_t)r0 * Q, *k = m->s_k + (size_t)r0 * KV, *v = m->s_v + (size_t)r0 * KV;
    float *head_rstd = m->s_head_rstd + (size_t)r0 * NH;
    const int *pos = m->s_pos + r0, *slot = m->s_slot + r0;
    const ops_backend *ops = m->ops;
    if (c->qkv_bias) {
        ops->bias_forward(q, lp->bq, M, Q);
        ops->bias_forward(k, lp->bk, M, KV);
        ops->bias_forward(v, lp->bv, M, KV);
    }
    if (c->qk_norm) { /* in place, rows of HS */
        ops->rmsnorm_forward(q, head_rstd, q, lp->q_norm, M * NH, HS, c->norm_eps);
        ops->rmsnorm_forward(k, head_rstd, k, lp->k_norm, M * NKV, HS, c->norm_eps);
    }
    ops->rope_rows(q, m->rope_cos, m->rope_sin, pos, M, NH, HS);
    ops->rope_rows(k, m->rope_cos, m->rope_sin, pos, M, NKV, HS);
    ops->kv_write(kc, k, slot, pos, M, T, KV);
    ops->kv_write(vc, v, slot, pos, M, T, KV);
    ops->attention_decode(m->s_att + (size_t)r0 * Q, q, kc, vc, slot, m->s_nctx + r0, M, T, NH, NKV, HS,
                          m->s_scores + (size_t)r0 * NH * T);
}

/* Rows r0..r1-1 of a decode step, the decode-time form of
 * model_block_forward for every layer, then the head: row r at position
 * pos[r] in cache slot slot[r] with input token tok[r] writes its k,v into
 * the cache and leaves its logits in s_logits row r.  Rows never read each
 * other's data, and every kernel computes a row on its own. */
static void decode_rows(model *m, int r0, int r1, decode_team *tm) {
    const model_config *c = &m->c;
    const ops_backend *ops = m->ops;
    int C = c->dim, F = c->ffn_dim, M = r1 - r0, Q = m->q_dim, KV = m->kv_dim;
    float *x = m->s_x + (size_t)r0 * C, *xn = m->s_xn + (size_t)r0 * C, *rstd = m->s_rstd + r0;
    float *q = m->s_q + (size_t)r0 * Q, *k = m->s_k + (size_t)r0 * KV;
    float *v = m->s_v + (size_t)r0 * KV, *att = m->s_att + (size_t)r0 * Q;
    float *tmp = m->s_tmp + (size_t)r0 * C, *gate = m->s_gate + (size_t)r0 * F;
    float *up = m->s_up + (size_t)r0 * F;
    int lead = team_lead(tm);
    if (lead) ops->embed_forward(x, m->s_tok + r0, m->p.embed, M, C);
    for (int l = 0; l < c->n_layers; l++) {
        const layer_params *lp = &m->p.layers[l], *lt = &m->t.layers[l];
        if (lead) ops->rmsnorm_forward(xn, rstd, x, lp->attn_norm, M, C, c->norm_eps);
        team_sync(tm);
        team_matmul(m, tm, q, xn, lt->wq, M, C, Q);
        team_matmul(m, tm, k, xn, lt->wk, M, C, KV);
        team_matmul(m, tm, v, xn, lt->wv, M, C, KV);
        team_sync(tm);
        if (lead) decode_attention(m, l, r0, r1);
        team_sync(tm);
        team_matmul(m, tm, tmp, att, lt->wo, M, Q, C);
        team_sync(tm);
        if (lead) {
            ops->add(x, tmp, (size_t)M * C);
            ops->rmsnorm_forward(xn, rstd, x, lp->ffn_norm, M, C, c->norm_eps);
        }
        team_sync(tm);
        team_matmul(m, tm, gate, xn, lt->w_gate, M, C, F);
        team_matmul(m, tm, up, xn, lt->w_up, M, C, F);
        team_sync(tm);
        if (lead) ops->swiglu_forward(gate, gate, up, M, F);
        team_sync(tm);
        team_matmul(m, tm, tmp, gate, lt->w_down, M, F, C);
        team_sync(tm);
        if (lead) ops->add(x, tmp, (size_t)M * C);
    }
    if (lead) ops->rmsnorm_forward(xn, rstd, x, m->p.final_norm, M, C, c->norm_eps);
    team_sync(tm);
    team_matmul(m, tm, m->s_logits + (size_t)r0 * c->vocab, xn, m->t.lm_head, M, C, c->vocab);
}

/* One decode step of ONE row on nt threads (decode_rows with a team). */
static void decode_one_row_shared(model *m, int nt) {
    spin_barrier bar = {.n = nt};
    atomic_init(&bar.count, 0), atomic_init(&bar.sense, 0);
#pragma omp parallel num_threads(nt)
    {
        decode_team tm = {.t = omp_get_thread_num(), .n = omp_get_num_threads(), .bar = &bar};
        if (tm.t == 0) bar.n = tm.n; /* the team may be smaller than asked */
#pragma omp barrier
        decode_rows(m, 0, 1, &tm);
    }
}

/* One decode step for M rows.  A lone row with idle cores: one team shares
 * it.  Small models with enough rows: each thread runs whole rows through
 * every layer in ONE parallel region (no barrier per op: on 2 busy cores,
 * barriers cost more than the work).  Large models (weights well past the
 * caches) or few rows: the kernels split each op across threads instead,
 * so each thread streams only its share of the weights from memory. */
static void decode_step(model *m, decode_work *w, int M) {
    const ops_backend *ops = m->ops;
    for (int r = 0; r < M; r++) w->n_ctx[r] = w->pos[r] + 1;
    ops->to_device(m->s_tok, w->tok, sizeof(int) * M), ops->to_device(m->s_slot, w->slot, sizeof(int) * M);
    ops->to_device(m->s_pos, w->pos, sizeof(int) * M), ops->to_device(m->s_nctx, w->n_ctx, sizeof(int) * M);
    int nt = ops->concurrent ? omp_get_max_threads() : 1; /* a device queues from one thread */
    size_t weight_bytes = m->n_params * sizeof(float);
    if (nt >= 2 && M == 1 && w->share_one_row && !omp_in_parallel()) {
        decode_one_row_shared(m, nt);
        return;
    }
    if (nt < 2 || M < 2 * nt || weight_bytes > (16u << 20)) {
        decode_team alone = {.n = 1};
        decode_rows(m, 0, M, &alone);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num(), n = omp_get_num_threads();
        int per = (M + n - 1) / n;
        int r0 = t * per, r1 = r0 + per < M ? r0 + per : M;
        decode_team alone = {.n = 1};
        if (r0 < r1) decode_rows(m, r0, r1, &alone);
    }
}

/* Prefill prompt (len tokens) with the batched forward; copy its keys and
 * values into slots first..first+G-1 and its last logits into s_logits rows
 * row0..row0+G-1. */
static void prefill(model *m, const int *prompt, int len, int first, int G, int row0) {
    const model_config *c = &m->c;
    int C = c->dim, T = c->max_seq;
    size_t cache_layer = (size_t)m->max_batch * T * m->kv_dim, kv_bytes = sizeof(float) * len * m->kv_dim;
    const ops_backend *ops = m->ops;
    m->have_forward = 0; /* the activations are about to be overwritten */
    ops->to_device(m->tokens, prompt, sizeof(int) * len);
    ops->embed_forward(m->resid, m->tokens, m->p.embed, len, C);
    for (int l = 0; l < c->n_layers; l++) {
        model_block_forward(m, l, m->resid + (size_t)l * len * C, m->resid + (size_t)(l + 1) * len * C, 1, len);
        for (int g = 0; g < G; g++) {
            size_t at = l * cache_layer + (size_t)(first + g) * T * m->kv_dim;
            ops->copy(m->kcache + at, m->acts[l].k, kv_bytes);
            ops->copy(m->vcache + at, m->acts[l].v, kv_bytes);
        }
    }
    const float *x_last = m->resid + ((size_t)c->n_layers * len + len - 1) * C;
    ops->rmsnorm_forward(m->normf, m->rstdf, x_last, m->p.final_norm, 1, C, c->norm_eps);
    ops->matmul_rows_t(m->s_logits + (size_t)row0 * c->vocab, m->normf, m->t.lm_head, 1, C, c->vocab);
    for (int g = 1; g < G; g++)
        ops->copy(m->s_logits + (size_t)(row0 + g) * c->vocab, m->s_logits + (size_t)row0 * c->vocab,
                  sizeof(float) * c->vocab);
}

/* Refresh the packed weights the decode kernels read.  Done per call,
 * not cached: weights change through AdamW, loads and direct writes to
 * model_params() (MPI_Bcast), and the copy costs far less than decoding. */
static void transpose_weights(model *m) {
    for (int i = 0; i < m->n_tensors; i++) {
        const model_tensor *t = &m->tensors[i];
        if (!t->cols) continue;
        if (i == 0 && !m->c.tie_embeddings) continue; /* the embedding is looked up, not multiplied */
        m->ops->pack_t(m->wt + m->wt_offset[i], m->params + t->offset, t->rows, t->cols);
    }
}

/* ------------------------------------------------------------- the loop */

static int check_request(const model *m, const int *const *prompts, const int *lens, int P, int G,
                         const model_sample_params *sp, core_error *err) {
    if (P < 1 || G < 1 || (long)P * G > m->max_batch)
        return core_fail(err, CORE_EINPUT, "model_sample: %d prompts x %d samples exceeds max_batch %d",
                         P, G, m->max_batch);
    if (!(sp->temperature >= 0) || !(sp->top_p > 0 && sp->top_p <= 1) || sp->top_k < 0 ||
        sp->max_new_tokens < 1)
        return core_fail(err, CORE_EINPUT,
                         "model_sample: need temperature >= 0, 0 < top_p <= 1, top_k >= 0, "
                         "max_new_tokens >= 1 (got %g, %g, %d, %d)",
                         sp->temperature, sp->top_p, sp->top_k, sp->max_new_tokens);
    if (sp->stop && strlen(sp->stop) > 256)
        return core_fail(err, CORE_EINPUT, "model_sample: stop string longer than 256 bytes");
    for (int p = 0; p < P; p++) {
        if (lens[p] < 1 || lens[p] >= m->c.max_seq)
            return core_fail(err, CORE_EINPUT, "model_sample: prompt %d has %d tokens; need 1..%d (model.max_seq - 1)",
                             p, lens[p], m->c.max_seq - 1);
        for (int i = 0; i < lens[p]; i++)
            if (prompts[p][i] < 0 || prompts[p][i] >= m->c.vocab)
                return core_fail(err, CORE_EINPUT, "model_sample: prompt %d token %d = %d outside 0..%d",
                                 p, i, prompts[p][i], m->c.vocab - 1);
    }
    return 0;
}

static void free_work(decode_work *w) {
    free(w->tok), free(w->slot), free(w->pos), free(w->n_ctx), free(w->row_of);
    free(w->probs), free(w->tails), free(w->tail_len), free(w->limit);
    free(w->drawn), free(w->drawn_lp), free(w->pf);
}

static int alloc_work(decode_work *w, int R, int V, size_t stop_len) {
    *w = (decode_work){0};
    w->tok = malloc(sizeof(int) * R), w->slot = malloc(sizeof(int) * R);
    w->pos = malloc(sizeof(int) * R), w->n_ctx = malloc(sizeof(int) * R);
    w->row_of = malloc(sizeof(int) * R);
    w->probs = malloc(sizeof(prob_id) * V * R), w->tails = calloc((size_t)R * (stop_len + 1), 1);
    w->tail_len = calloc(R, sizeof(int)), w->limit = malloc(sizeof(int) * R);
    w->drawn = malloc(sizeof(int) * R), w->drawn_lp = malloc(sizeof(float) * R);
    w->pf = malloc(sizeof(float) * V * R);
    return w->pf && w->tok && w->slot && w->pos && w->n_ctx && w->row_of && w->probs &&
           w->tails && w->tail_len && w->limit && w->drawn && w->drawn_lp;
}

/* Append token id's text to the row's tail; 1 if the text now ends with stop. */
static int ends_with_stop(decode_work *w, const tokenizer *tok, int row, int id, const char *stop,
                          size_t stop_len) {
    if (!stop_len) return 0;
    size_t len;
    const char *piece = tokenizer_piece(tok, id, &len);
    char *tail = w->tails + (size_t)row * (stop_len + 1);
    for (size_t i = 0; i < len; i++) {
        if ((size_t)w->tail_len[row] == stop_len) {
            memmove(tail, tail + 1, stop_len - 1);
            w->tail_len[row]--;
        }
        tail[w->tail_len[row]++] = piece[i];
    }
    return (size_t)w->tail_len[row] == stop_len && !memcmp(tail, stop, stop_len);
}

int model_sample_prompts(model *m, const int *const *prompts, const int *prompt_lens, int P,
                         int G, const model_sample_params *sp, core_rng *rng, model_sample *out,
                         core_error *err) {
    if (check_request(m, prompts, prompt_lens, P, G, sp, err)) return CORE_EINPUT;
    int R = P * G, V = m->c.vocab;
    const tokenizer *tok = model_tokenizer(m);
    size_t stop_len = sp->stop ? strlen(sp->stop) : 0;
    decode_work w;
    if (!alloc_work(&w, R, V, stop_len)) {
        free_work(&w);
        return core_fail(err, CORE_ERUNTIME, "model_sample: out of memory");
    }
    transpose_weights(m);
    /* Spreading one row over threads pays only if the other cores are free:
     * its spin barriers stall when a partner thread is descheduled. */
    double load[1];
    const char *force = getenv("GRPO_SHARE_ONE_ROW"); /* "0" or "1": tests, experiments */
    w.share_one_row = force ? atoi(force) != 0
                            : getloadavg(load, 1) == 1 && load[0] < omp_get_num_procs() - 0.5;
    for (int p = 0; p < P; p++) {
        prefill(m, prompts[p], prompt_lens[p], p * G, G, p * G);
        for (int g = 0; g < G; g++) {
            int r = p * G + g, room = m->c.max_seq - prompt_lens[p];
            w.limit[r] = sp->max_new_tokens < room ? sp->max_new_tokens : room;
            w.pos[r] = prompt_lens[p];
            w.slot[r] = r, w.row_of[r] = r;
            out[r].n_tokens = 0, out[r].finish = 0;
        }
    }
    /* rows of s_logits follow the active list: row i is output w.row_of[i] */
    int M = R;
    while (M > 0) {
        int next = 0;
        /* the host sampler's one copy per step: the active rows' logits */
        m->ops->to_host(m->h_s_logits, m->s_logits, sizeof(float) * M * V);
        /* draw every row's token (rows are independent: each has its own
         * stream and work area), then record and compact serially */
#pragma omp parallel for schedule(static) if (M >= 32)
        for (int i = 0; i < M; i++) {
            int r = w.row_of[i];
            w.drawn[i] = sample_token(m->h_s_logits + (size_t)i * V, V, sp, &rng[r],
                                      w.pf + (size_t)i * V, w.probs + (size_t)i * V, &w.drawn_lp[i]);
        }
        for (int i = 0; i < M; i++) {
            int r = w.row_of[i], id = w.drawn[i];
            float lp = w.drawn_lp[i];
            model_sample *o = &out[r];
            o->tokens[o->n_tokens] = id, o->logprob[o->n_tokens] = lp, o->n_tokens++;
            if (tokenizer_is_eos(tok, id)) o->finish = MODEL_FINISH_EOS;
            else if (ends_with_stop(&w, tok, r, id, sp->stop, stop_len)) o->finish = MODEL_FINISH_STOP;
            else if (o->n_tokens >= w.limit[r]) o->finish = MODEL_FINISH_LENGTH;
            if (o->finish) continue;
            /* still going: compact into position next for the next step */
            w.row_of[next] = r, w.tok[next] = id, w.slot[next] = r;
            w.pos[next] = prompt_lens[r / G] + o->n_tokens - 1;
            next++;
        }
        M = next;
        if (M > 0) decode_step(m, &w, M);
    }
    free_work(&w);
    return model_check_device(m, err);
}

int model_sample_group(model *m, const int *prompt, int prompt_len, int G,
                       const model_sample_params *sp, core_rng *rng, model_sample *out,
                       core_error *err) {
    return model_sample_prompts(m, &prompt, &prompt_len, 1, G, sp, rng, out, err);
}
