/*
 * parallel.c — the data-parallel learner (run.learners = L > 1): learner
 * rank 0 hands each step's sequences to the other learners, every learner
 * computes the gradients of its share of the update's chunks, and the sum
 * is exact, so the run is bitwise the same for any L.
 *
 * Why exact: floating-point addition is not associative, so a sum of
 * per-chunk gradients depends on the order and grouping of the additions,
 * and MPI_Allreduce promises neither.  Instead every chunk's gradient
 * (computed alone from zero, so it depends on the chunk only) is turned
 * into 128-bit fixed point, 2^-64 units, before it is added: integer sums
 * are exact in any order, and one rounding back to float at the end gives
 * the same bits on one learner or many.  An element of magnitude >= 2^40
 * (or NaN) cannot be represented; it is counted, and the update is then
 * skipped as non-finite, the same on every learner.  Elements below 2^-64
 * (5e-20) truncate toward zero, far below what AdamW's epsilon notices.
 *
 * The chunking is global: the update sorts and chunks the batch the same
 * way for any L, and chunk j belongs to learner j mod L.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "learner/internal.h"

enum { FIXED_FRAC_BITS = 64, FIXED_MAX_EXP = 40 };

int grad_sum_init(grad_sum *s, size_t n, int exact, core_error *err) {
    s->n = n;
    s->acc = NULL;
    if (!exact) return 0;
    s->acc = calloc(n + 1, sizeof *s->acc); /* + 1: count of values out of range */
    return s->acc ? 0 : core_fail(err, CORE_ERUNTIME, "out of memory for the exact gradient sum (%zu "
                                  "parameters x 16 bytes; learner.grad_sum = float needs none)", n);
}

int grad_sum_exact(const grad_sum *s) { return s->acc != NULL; }

void grad_sum_free(grad_sum *s) {
    free(s->acc);
    memset(s, 0, sizeof *s);
}

void grad_sum_zero(grad_sum *s) {
    if (s->acc) memset(s->acc, 0, sizeof *s->acc * (s->n + 1));
}

void grad_sum_add(grad_sum *s, const float *g) {
    if (!s->acc) return;
    const double limit = ldexp(1.0, FIXED_MAX_EXP), one_conversion = 0.5;
    long long bad = 0;
    /* v * 2^64 truncates toward zero the same way through int64 as through
     * __int128; below 2^-1 it fits int64, one instruction instead of the
     * software __fixdfti (which cost more than the rest of the update's
     * bookkeeping together).  Elements are independent: any split over
     * threads gives the same sums. */
#pragma omp parallel for reduction(+ : bad) schedule(static) if (s->n > 65536)
    for (size_t i = 0; i < s->n; i++) {
        double v = g[i], a = fabs(v);
        if (a < one_conversion)
            s->acc[i] += (int64_t)(v * 18446744073709551616.0); /* 2^64: exact scaling */
        else if (a < limit)
            s->acc[i] += (__int128)ldexp(v, FIXED_FRAC_BITS); /* exact for |v| >= 2^-41 */
        else
            bad++;
    }
    s->acc[s->n] += bad;
}

int grad_sum_finish(grad_sum *s, rollout_comm *c, float *out) {
    if (!s->acc) return 0; /* out already holds the float sum */
    if (c) rollout_learners_sum_i128(c, s->acc, s->n + 1);
    /* through int64 where the sum fits (the same rounding to double as from
     * __int128, in one instruction); 2^-64 scales exactly */
#pragma omp parallel for schedule(static) if (s->n > 65536)
    for (size_t i = 0; i < s->n; i++) {
        __int128 a = s->acc[i];
        double d = a == (int64_t)a ? (double)(int64_t)a : (double)a;
        out[i] = (float)(d * 5.421010862427522170037264e-20); /* 2^-64 */
    }
    return s->acc[s->n] != 0;
}

int learner_check_parallel(const core_config *cfg, core_error *err) {
    if (cfg->run.learners > 1 && !strcmp(cfg->learner.grad_sum, "float"))
        return core_fail(err, CORE_EINPUT, "learner.grad_sum = float with run.learners = %d: learners "
                         "sum their gradients exactly (learner.grad_sum = exact)", cfg->run.learners);
    if (!cfg->rollout.async && cfg->rollout.max_staleness != 1)
        return core_fail(err, CORE_EINPUT, "rollout.max_staleness = %d is used only with rollout.async = 1",
                         cfg->rollout.max_staleness);
    if (cfg->rollout.async && cfg->learner.filter_zero_var)
        return core_fail(err, CORE_EINPUT,
                         "rollout.async = 1 with learner.filter_zero_var = 1: refilled groups would be "
                         "sampled with weights that depend on when they are asked for; use one of them");
    return 0;
}

int learner_staleness(const core_config *cfg) { return cfg->rollout.async ? cfg->rollout.max_staleness : 0; }

typedef struct start_msg {
    int64_t ok;
    char resumed_from[1200];
} start_msg;

void learner_send_start(learner_ctx *L, int ok) {
    start_msg m = {ok, ""};
    snprintf(m.resumed_from, sizeof m.resumed_from, "%s", ok ? L->resumed_from : "");
    rollout_learners_bcast_idle(L->comm, &m, sizeof m);
}

int learner_recv_start(learner_ctx *L, core_error *err) {
    start_msg m;
    rollout_learners_bcast_idle(L->comm, &m, sizeof m);
    m.resumed_from[sizeof m.resumed_from - 1] = 0;
    if (!m.ok || !err) return 0;
    if (m.resumed_from[0] && model_load_into(L->policy, m.resumed_from, err)) {
        core_fail_wrap(err, "learner rank %d resuming", rollout_learner_rank(L->comm));
        return -1;
    }
    return 1;
}

int learner_owns_chunk(const learner_ctx *L, int chunk) {
    int n = rollout_comm_learners(L->comm);
    return chunk % n == rollout_learner_rank(L->comm);
}

/* ------------------------------------------------ the step's sequences */

/* Learner 0 → the others: a header, then one buffer with every sequence:
 *   per sequence: int32 prompt_len, n_tok, group; double adv, reward;
 *                 prompt_len + n_tok int32 ids; n_tok float sample log-probs
 * (adv_log, where learner 0 logs the advantage used, stays on learner 0). */
typedef struct batch_header {
    int64_t command, step, n, bytes;
} batch_header;
enum { BATCH_UPDATE = 1, BATCH_STOP = 2 };
enum { SEQ_HEAD = 3 * sizeof(int32_t) + 2 * sizeof(double) };

static size_t seq_bytes(const learn_seq *q) {
    return SEQ_HEAD + sizeof(int32_t) * (q->prompt_len + q->n_tok) + sizeof(float) * q->n_tok;
}

static char *put(char *p, const void *src, size_t len) {
    memcpy(p, src, len);
    return p + len;
}

static void pack_seqs(const learn_seq *seqs, int n, char *p) {
    for (int i = 0; i < n; i++) {
        const learn_seq *q = &seqs[i];
        int32_t head[3] = {q->prompt_len, q->n_tok, q->group};
        p = put(p, head, sizeof head);
        p = put(p, &q->adv, sizeof q->adv);
        p = put(p, &q->reward, sizeof q->reward);
        p = put(p, q->prompt, sizeof(int32_t) * q->prompt_len);
        p = put(p, q->completion, sizeof(int32_t) * q->n_tok);
        p = put(p, q->sample_lp, sizeof(float) * q->n_tok);
    }
}

/* The sequences point into buf (which the caller keeps). */
static int unpack_seqs(char *buf, size_t bytes, learn_seq *seqs, int n, core_error *err) {
    char *p = buf, *end = buf + bytes;
    for (int i = 0; i < n; i++) {
        int32_t head[3];
        if ((size_t)(end - p) < SEQ_HEAD) break;
        memcpy(head, p, sizeof head);
        learn_seq *q = &seqs[i];
        memset(q, 0, sizeof *q);
        q->prompt_len = head[0];
        q->n_tok = head[1];
        q->group = head[2];
        memcpy(&q->adv, p + sizeof head, sizeof q->adv);
        memcpy(&q->reward, p + sizeof head + sizeof q->adv, sizeof q->reward);
        if (q->prompt_len < 0 || q->n_tok < 0 || (size_t)(end - p) < seq_bytes(q)) break;
        q->prompt = (const int *)(p + SEQ_HEAD);
        q->completion = q->prompt + q->prompt_len;
        q->sample_lp = (const float *)(q->completion + q->n_tok);
        p += seq_bytes(q);
        if (i == n - 1 && p == end) return 0;
    }
    return n == 0 && bytes == 0 ? 0 : core_fail(err, CORE_EINPUT, "learner batch buffer malformed");
}

int learner_share_batch(learner_ctx *L, const learn_seq *seqs, int n, int64_t step, core_error *err) {
    if (rollout_comm_learners(L->comm) < 2) return 0;
    size_t bytes = 0;
    for (int i = 0; i < n; i++) bytes += seq_bytes(&seqs[i]);
    char *buf = malloc(bytes ? bytes : 1);
    if (!buf) return core_fail(err, CORE_ERUNTIME, "out of memory");
    pack_seqs(seqs, n, buf);
    batch_header h = {BATCH_UPDATE, step, n, (int64_t)bytes};
    rollout_learners_bcast_idle(L->comm, &h, sizeof h);
    rollout_learners_bcast(L->comm, buf, bytes);
    free(buf);
    return 0;
}

void learner_stop_followers(learner_ctx *L) {
    if (rollout_comm_learners(L->comm) < 2) return;
    batch_header h = {BATCH_STOP, 0, 0, 0};
    rollout_learners_bcast_idle(L->comm, &h, sizeof h);
}

int learner_follow(learner_ctx *L, core_error *err) {
    for (;;) {
        batch_header h;
        rollout_learners_bcast_idle(L->comm, &h, sizeof h);
        if (h.command == BATCH_STOP) return 0;
        if (h.command != BATCH_UPDATE || h.n < 0 || h.bytes < 0)
            return core_fail(err, CORE_ERUNTIME, "learner rank %d: bad batch header",
                             rollout_learner_rank(L->comm));
        char *buf = malloc(h.bytes ? h.bytes : 1);
        learn_seq *seqs = malloc(sizeof *seqs * (h.n ? h.n : 1));
        if (!buf || !seqs) return free(buf), free(seqs), core_fail(err, CORE_ERUNTIME, "out of memory");
        rollout_learners_bcast(L->comm, buf, h.bytes);
        update_stats st;
        int rc = unpack_seqs(buf, h.bytes, seqs, (int)h.n, err) ||
                 learner_update(L, seqs, (int)h.n, h.step, &st, err);
        free(buf);
        free(seqs);
        if (rc) return err->code;
    }
}
