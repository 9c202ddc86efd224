/*
 * update.c — one GRPO update: given the step's completions with their
 * advantages, compute reference (and, when needed, old) log-probs, then
 * mu epochs over shuffled minibatches of the clipped objective with the
 * KL penalty, each followed by grad-norm clipping and an AdamW step.
 *
 * Positions: completion token i of a sequence with a P-token prompt sits at
 * position P + i and is predicted at position P + i - 1, which is where
 * model_forward puts its log-prob.
 *
 * A minibatch goes through the model in chunks of LEARN_CHUNK sequences of
 * similar length (sorted), each padded only to its own longest: gradients
 * accumulate over the chunks and one optimizer step follows.  Completions
 * vary a lot in length, so this saves much of the work padding would cost,
 * and the model's activations need room for one chunk only.
 *
 * Data parallel (run.learners = L): the chunks are the same for any L (the
 * batch is sorted and cut the same way) and chunk j is learner j mod L's.
 * Each chunk's gradient is computed from zero and added into an exact sum
 * (parallel.c); the per-chunk statistics are added in chunk order.  So the
 * update, and the run, are bitwise the same for any L.
 *
 * Asynchronous rollouts (rollout.async): the samples come from an older
 * policy.  The old log-probs of the clipped ratio are then always the
 * current policy's (recomputed, the "proximal" policy), and learner.tis =
 * token|sequence weights each token by min(pi_old / pi_sampler, tis_cap),
 * which corrects the expectation for the lag.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learner/internal.h"

/* Per-sequence slices of the flat per-token arrays. */
typedef struct token_arrays {
    long *offset;          /* n_seq + 1 */
    float *old_lp, *ref_lp;
    double *adv;           /* n_seq: the advantage each sequence learns with */
} token_arrays;

static int arrays_alloc(token_arrays *a, const learn_seq *seqs, int n, core_error *err) {
    a->offset = malloc(sizeof(long) * (n + 1));
    if (!a->offset) return core_fail(err, CORE_ERUNTIME, "out of memory");
    a->offset[0] = 0;
    for (int s = 0; s < n; s++) a->offset[s + 1] = a->offset[s] + seqs[s].n_tok;
    a->old_lp = malloc(sizeof(float) * (a->offset[n] + 1));
    a->ref_lp = malloc(sizeof(float) * (a->offset[n] + 1));
    a->adv = malloc(sizeof(double) * (n + 1));
    if (!a->old_lp || !a->ref_lp || !a->adv) return core_fail(err, CORE_ERUNTIME, "out of memory");
    for (int s = 0; s < n; s++) a->adv[s] = seqs[s].adv;
    return 0;
}

static void arrays_free(token_arrays *a) {
    free(a->offset);
    free(a->old_lp);
    free(a->ref_lp);
    free(a->adv);
}

/* Rows (S, T) of prompt + completion, padded; returns T. */
static int build_tokens(const learn_seq *seqs, const int *idx, int S, int *tokens) {
    int T = 2;
    for (int k = 0; k < S; k++) {
        int len = seqs[idx[k]].prompt_len + seqs[idx[k]].n_tok;
        if (len > T) T = len;
    }
    for (int k = 0; k < S; k++) {
        const learn_seq *q = &seqs[idx[k]];
        int *row = tokens + (size_t)k * T;
        memcpy(row, q->prompt, sizeof(int) * q->prompt_len);
        memcpy(row + q->prompt_len, q->completion, sizeof(int) * q->n_tok);
        for (int t = q->prompt_len + q->n_tok; t < T; t++) row[t] = TOK_PAD;
    }
    return T;
}

/* Copy the completion tokens' log-probs of row k out of a (S,T) forward. */
static void gather_completion(const learn_seq *q, const float *lp_rows, int k, int T, float *dst) {
    const float *row = lp_rows + (size_t)k * T + q->prompt_len - 1;
    memcpy(dst, row, sizeof(float) * q->n_tok);
}

typedef struct workspace {
    int *idx, *tokens;
    float *lp, *ent, *dlp, *dent;
    double *weight;
    int *n_tok;
    /* one completion's tokens for grpo_seq_loss, (max_seq,) each */
    double *seq_lp, *seq_old, *seq_ref, *seq_sample, *seq_loss, *seq_dlp, *seq_kl;
    int *seq_clipped;
} workspace;

static int workspace_alloc(workspace *w, int n_seq, int max_seq, core_error *err) {
    size_t cells = (size_t)LEARN_CHUNK * max_seq;
    w->idx = malloc(sizeof(int) * n_seq);
    w->tokens = malloc(sizeof(int) * cells);
    w->lp = malloc(sizeof(float) * cells);
    w->ent = malloc(sizeof(float) * cells);
    w->dlp = malloc(sizeof(float) * cells);
    w->dent = malloc(sizeof(float) * cells);
    w->weight = malloc(sizeof(double) * n_seq);
    w->n_tok = malloc(sizeof(int) * n_seq);
    double **seq[] = {&w->seq_lp, &w->seq_old, &w->seq_ref, &w->seq_sample, &w->seq_loss, &w->seq_dlp, &w->seq_kl};
    int ok = 1;
    for (int i = 0; i < 7; i++) ok &= (*seq[i] = malloc(sizeof(double) * max_seq)) != NULL;
    w->seq_clipped = malloc(sizeof(int) * max_seq);
    if (!ok || !w->seq_clipped || !w->idx || !w->tokens || !w->lp || !w->ent || !w->dlp || !w->dent ||
        !w->weight || !w->n_tok)
        return core_fail(err, CORE_ERUNTIME, "out of memory for the update workspace");
    return 0;
}

static void workspace_free(workspace *w) {
    free(w->idx), free(w->tokens), free(w->lp), free(w->ent), free(w->dlp), free(w->dent);
    free(w->weight), free(w->n_tok);
    free(w->seq_lp), free(w->seq_old), free(w->seq_ref), free(w->seq_sample), free(w->seq_loss);
    free(w->seq_dlp), free(w->seq_kl), free(w->seq_clipped);
}

/* Fault injection for the tests: GRPO_FAULT_NONFINITE=STEP makes every
 * update from that step on see a non-finite loss. */
static int injected_nonfinite(int64_t step) {
    const char *spec = getenv("GRPO_FAULT_NONFINITE");
    return spec && step >= atoll(spec);
}

/* Clip, step, or skip a non-finite update. */
static void apply_gradients(learner_ctx *L, double loss, update_stats *st) {
    const core_config *cfg = L->cfg;
    float norm = model_grad_norm(L->policy);
    if (!isfinite(norm) || !isfinite(loss)) {
        st->skipped++;
        model_zero_grad(L->policy);
        return;
    }
    st->grad_norm = norm > st->grad_norm ? norm : st->grad_norm;
    if (cfg->learner.grad_clip > 0 && norm > cfg->learner.grad_clip)
        model_scale_grads(L->policy, (float)(cfg->learner.grad_clip / norm));
    model_adamw adam = {(float)st->lr, (float)cfg->learner.beta1, (float)cfg->learner.beta2, 1e-8f,
                        (float)cfg->learner.weight_decay};
    model_adamw_step(L->policy, &adam, model_adamw_t(L->policy) + 1);
    st->n_updates++;
}

static int by_length(const void *a, const void *b, void *ctx) {
    const learn_seq *seqs = ctx, *x = &seqs[*(const int *)a], *y = &seqs[*(const int *)b];
    int lx = x->prompt_len + x->n_tok, ly = y->prompt_len + y->n_tok;
    return lx != ly ? lx - ly : *(const int *)a - *(const int *)b;
}

static void sort_by_length(const learn_seq *seqs, int *idx, int n) {
    qsort_r(idx, n, sizeof *idx, by_length, (void *)seqs);
}

/* Forward a chunk of C sequences idx[0..C) into w->lp (and w->ent). */
static int forward_chunk(model *m, const learn_seq *seqs, const int *idx, int C, workspace *w,
                         int *T, int with_entropy, core_error *err) {
    *T = build_tokens(seqs, idx, C, w->tokens);
    return model_forward(m, w->tokens, C, *T, w->lp, with_entropy ? w->ent : NULL, err);
}

static int chunk_len(int n, int c0) { return n - c0 < LEARN_CHUNK ? n - c0 : LEARN_CHUNK; }

/* Old log-probs must be recomputed when the sampler's are not the current
 * policy's: temperature, top-k or top-p changed the distribution, or the
 * rollouts are asynchronous (sampled by an older policy). */
static int need_old_logprobs(const core_config *cfg) { return !learner_sampler_is_policy(cfg); }

/* Move the log-probs of the chunks each learner computed (in chunk order,
 * per sequence: ref, then old when need_old) to every learner. */
static int exchange_logprobs(learner_ctx *L, const learn_seq *seqs, int n, token_arrays *a,
                             const int *sorted, int need_old, core_error *err) {
    int nl = rollout_comm_learners(L->comm), per = need_old ? 2 : 1;
    if (nl < 2) return 0;
    size_t *lens = calloc(nl, sizeof *lens), mine = 0, total = 0;
    float *send = malloc(sizeof(float) * per * (a->offset[n] + 1));
    float *all = malloc(sizeof(float) * per * (a->offset[n] + 1));
    if (!lens || !send || !all) return free(lens), free(send), free(all), core_fail(err, CORE_ERUNTIME, "out of memory");
    for (int c0 = 0, j = 0; c0 < n; c0 += LEARN_CHUNK, j++)
        for (int k = 0; k < chunk_len(n, c0); k++) {
            const learn_seq *q = &seqs[sorted[c0 + k]];
            lens[j % nl] += sizeof(float) * per * q->n_tok;
            if (!learner_owns_chunk(L, j)) continue;
            float *dst = send + mine / sizeof(float);
            memcpy(dst, a->ref_lp + a->offset[sorted[c0 + k]], sizeof(float) * q->n_tok);
            if (need_old) memcpy(dst + q->n_tok, a->old_lp + a->offset[sorted[c0 + k]], sizeof(float) * q->n_tok);
            mine += sizeof(float) * per * q->n_tok;
        }
    int rc = rollout_learners_allgather(L->comm, send, lens, all, err);
    for (int r = 0; r < nl && !rc; r++) /* learner r's chunks, in the order it packed them */
        for (int c0 = r * LEARN_CHUNK; c0 < n; c0 += nl * LEARN_CHUNK)
            for (int k = 0; k < chunk_len(n, c0); k++) {
                const learn_seq *q = &seqs[sorted[c0 + k]];
                const float *src = all + total / sizeof(float);
                memcpy(a->ref_lp + a->offset[sorted[c0 + k]], src, sizeof(float) * q->n_tok);
                if (need_old) memcpy(a->old_lp + a->offset[sorted[c0 + k]], src + q->n_tok, sizeof(float) * q->n_tok);
                total += sizeof(float) * per * q->n_tok;
            }
    free(lens), free(send), free(all);
    return rc;
}

/* Reference log-probs, and old ones when need_old_logprobs; each learner
 * forwards its own chunks, then they exchange.  st->lp_mismatch: mean
 * |old - sampler| log-prob (exactly 0 when the sampler was this policy). */
static int fixed_logprobs(learner_ctx *L, const learn_seq *seqs, int n, token_arrays *a,
                          workspace *w, update_stats *st, core_error *err) {
    int need_old = need_old_logprobs(L->cfg), T;
    for (int i = 0; i < n; i++) w->idx[i] = i;
    sort_by_length(seqs, w->idx, n);
    for (int c0 = 0, j = 0; c0 < n; c0 += LEARN_CHUNK, j++) {
        int C = chunk_len(n, c0);
        const int *idx = w->idx + c0;
        if (!learner_owns_chunk(L, j)) continue;
        if (forward_chunk(L->ref, seqs, idx, C, w, &T, 0, err)) return err->code;
        for (int k = 0; k < C; k++) gather_completion(&seqs[idx[k]], w->lp, k, T, a->ref_lp + a->offset[idx[k]]);
        if (!need_old) continue;
        if (forward_chunk(L->policy, seqs, idx, C, w, &T, 0, err)) return err->code;
        for (int k = 0; k < C; k++) gather_completion(&seqs[idx[k]], w->lp, k, T, a->old_lp + a->offset[idx[k]]);
    }
    if (exchange_logprobs(L, seqs, n, a, w->idx, need_old, err)) return err->code;
    double diff = 0;
    for (int s = 0; s < n; s++)
        for (int i = 0; i < seqs[s].n_tok; i++) {
            float *old = a->old_lp + a->offset[s];
            if (need_old) diff += fabs((double)old[i] - seqs[s].sample_lp[i]);
            else old[i] = seqs[s].sample_lp[i];
        }
    st->lp_mismatch = need_old && a->offset[n] ? diff / a->offset[n] : NAN;
    return 0;
}

/* A chunk's statistics, summed over its tokens; chunks add up in order. */
enum { CS_LOSS, CS_CLIP_LOW, CS_CLIP_HIGH, CS_CLIP_TOKENS, CS_KL, CS_ENTROPY, CS_TOKENS, CS_N };

/* d(loss)/d(logprob) (and d/d(entropy)) of a chunk's forward into w->dlp,
 * w->dent; weight[k] is chunk row k's aggregation weight.  cs (CS_N) gets
 * the chunk's share of the minibatch loss and its counts. */
static void chunk_grads(learner_ctx *L, const learn_seq *seqs, const int *idx, const double *weight,
                        int C, int T, const token_arrays *a, workspace *w, int first_epoch, double *cs) {
    memset(w->dlp, 0, sizeof(float) * C * T);
    memset(w->dent, 0, sizeof(float) * C * T);
    for (int k = 0; k < C; k++) {
        const learn_seq *q = &seqs[idx[k]];
        const float *old = a->old_lp + a->offset[idx[k]], *ref = a->ref_lp + a->offset[idx[k]];
        size_t row = (size_t)k * T + q->prompt_len - 1; /* where completion token 0 is predicted */
        for (int i = 0; i < q->n_tok; i++) {
            w->seq_lp[i] = w->lp[row + i];
            w->seq_old[i] = old[i];
            w->seq_ref[i] = ref[i];
            w->seq_sample[i] = q->sample_lp[i];
        }
        grpo_seq_loss(&L->obj, q->n_tok, w->seq_lp, w->seq_old, w->seq_ref, w->seq_sample, a->adv[idx[k]],
                      w->seq_loss, w->seq_dlp, w->seq_kl, w->seq_clipped);
        for (int i = 0; i < q->n_tok; i++) {
            size_t pos = row + i;
            double l = w->seq_loss[i] - L->obj.entropy_coef * w->ent[pos];
            cs[CS_LOSS] += weight[k] * l;
            w->dlp[pos] = (float)(weight[k] * w->seq_dlp[i]);
            w->dent[pos] = (float)(-weight[k] * L->obj.entropy_coef);
            cs[CS_CLIP_LOW] += w->seq_clipped[i] < 0;
            cs[CS_CLIP_HIGH] += w->seq_clipped[i] > 0;
            cs[CS_CLIP_TOKENS]++;
            if (first_epoch) {
                cs[CS_KL] += w->seq_kl[i];
                cs[CS_ENTROPY] += w->ent[pos];
                cs[CS_TOKENS]++;
            }
        }
    }
}

/* The chunks' statistics (n_chunks x CS_N, each row filled by its owner
 * only), added to st in chunk order; returns the minibatch loss. */
static double add_chunk_stats(learner_ctx *L, double *cs, int n_chunks, update_stats *st) {
    rollout_learners_sum_doubles(L->comm, cs, (size_t)n_chunks * CS_N);
    double loss = 0;
    for (int j = 0; j < n_chunks; j++) {
        const double *c = cs + (size_t)j * CS_N;
        loss += c[CS_LOSS];
        st->clip_low += c[CS_CLIP_LOW];
        st->clip_high += c[CS_CLIP_HIGH];
        st->n_clip_tokens += (long)c[CS_CLIP_TOKENS];
        st->kl += c[CS_KL];
        st->entropy += c[CS_ENTROPY];
        st->n_tokens += (long)c[CS_TOKENS];
    }
    return loss;
}

/* One minibatch idx[0..S): each chunk's gradient from zero into the exact
 * sum (this learner's chunks), the sum over learners, then one step. */
static int minibatch_step(learner_ctx *L, const learn_seq *seqs, int *idx, int S, int64_t step,
                          const token_arrays *a, workspace *w, grad_sum *gs, int first_epoch,
                          update_stats *st, core_error *err) {
    sort_by_length(seqs, idx, S);
    for (int k = 0; k < S; k++) w->n_tok[k] = seqs[idx[k]].n_tok;
    grpo_token_weights(w->n_tok, S, L->agg, L->cfg->rollout.max_new_tokens, w->weight);
    int n_chunks = (S + LEARN_CHUNK - 1) / LEARN_CHUNK;
    double *cs = calloc((size_t)n_chunks * CS_N, sizeof *cs);
    if (!cs) return core_fail(err, CORE_ERUNTIME, "out of memory");
    grad_sum_zero(gs);
    model_zero_grad(L->policy);
    for (int c0 = 0, j = 0; c0 < S; c0 += LEARN_CHUNK, j++) {
        int C = chunk_len(S, c0), T;
        if (!learner_owns_chunk(L, j)) continue;
        if (grad_sum_exact(gs)) model_zero_grad(L->policy); /* each chunk alone, from zero */
        if (forward_chunk(L->policy, seqs, idx + c0, C, w, &T, 1, err)) return free(cs), err->code;
        chunk_grads(L, seqs, idx + c0, w->weight + c0, C, T, a, w, first_epoch, cs + (size_t)j * CS_N);
        model_backward(L->policy, w->dlp, L->obj.entropy_coef != 0 ? w->dent : NULL);
        if (grad_sum_exact(gs)) grad_sum_add(gs, model_grads(L->policy));
    }
    int out_of_range = 0;
    if (grad_sum_exact(gs)) { /* summed on the host: on a GPU the gradients come up and go back */
        out_of_range = grad_sum_finish(gs, L->comm, model_grads(L->policy));
        model_grads_commit(L->policy);
    }
    double loss = add_chunk_stats(L, cs, n_chunks, st);
    free(cs);
    if (injected_nonfinite(step) || out_of_range) loss = NAN;
    apply_gradients(L, loss, st);
    st->loss += loss;
    st->n_minibatches++;
    return 0;
}

/* learner.kl_reward (KL in the reward, REINFORCE++ style): each reward
 * lowered by coef * sum_t (old_lp - ref_lp), then the advantages computed
 * again from the lowered rewards; the ones used are what the episodes log. */
static int kl_penalised_advantages(learner_ctx *L, const learn_seq *seqs, int n, token_arrays *a,
                                   core_error *err) {
    double coef = L->cfg->learner.kl_reward;
    if (coef == 0) return 0;
    double *r = malloc(sizeof(double) * n);
    int *group = malloc(sizeof(int) * n);
    if (!r || !group) return free(r), free(group), core_fail(err, CORE_ERUNTIME, "out of memory");
    for (int s = 0; s < n; s++) {
        double kl = 0;
        for (long t = a->offset[s]; t < a->offset[s + 1]; t++) kl += a->old_lp[t] - a->ref_lp[t];
        r[s] = seqs[s].reward - coef * kl;
        group[s] = seqs[s].group;
    }
    learner_group_advantages(r, group, n, L->adv, L->cfg->learner.adv_eps, a->adv);
    for (int s = 0; s < n; s++)
        if (seqs[s].adv_log) *seqs[s].adv_log = a->adv[s];
    free(r);
    free(group);
    return 0;
}

static void shuffle(int *idx, int n, core_rng *rng) {
    for (int i = 0; i < n; i++) idx[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)core_rng_below(rng, (uint64_t)i + 1), t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

int learner_update(learner_ctx *L, const learn_seq *seqs, int n, int64_t step, update_stats *st,
                   core_error *err) {
    const core_config *cfg = L->cfg;
    memset(st, 0, sizeof *st);
    st->lp_mismatch = NAN;
    st->lr = model_lr_schedule((float)cfg->learner.lr, (int)step, cfg->learner.warmup,
                               cfg->run.steps, 0.1f, !strcmp(cfg->learner.schedule, "cosine"));
    if (rollout_learner_rank(L->comm) == 0 && learner_share_batch(L, seqs, n, step, err)) return err->code;
    if (n == 0) return 0;
    int mb = cfg->learner.minibatch > 0 && cfg->learner.minibatch < n ? cfg->learner.minibatch : n;
    token_arrays a = {0};
    workspace w = {0};
    grad_sum gs = {0};
    int rc = arrays_alloc(&a, seqs, n, err) ||
             workspace_alloc(&w, n, model_get_config(L->policy)->max_seq, err) ||
             grad_sum_init(&gs, model_n_params(L->policy), !strcmp(cfg->learner.grad_sum, "exact"), err) ||
             fixed_logprobs(L, seqs, n, &a, &w, st, err) || kl_penalised_advantages(L, seqs, n, &a, err);
    if (rc) rc = err->code;
    int *order = malloc(sizeof(int) * n);
    for (int epoch = 0; epoch < cfg->learner.epochs && !rc; epoch++) {
        core_rng rng = core_rng_stream(cfg->run.seed, CORE_RNG_SHUFFLE, step, epoch);
        shuffle(order, n, &rng);
        for (int start = 0; start < n && !rc; start += mb)
            rc = minibatch_step(L, seqs, order + start, n - start < mb ? n - start : mb, step, &a, &w,
                                &gs, epoch == 0, st, err);
    }
    free(order);
    grad_sum_free(&gs);
    if (st->n_tokens) {
        st->kl /= st->n_tokens;
        st->entropy /= st->n_tokens;
    }
    if (st->n_minibatches) st->loss /= st->n_minibatches;
    if (st->n_clip_tokens) {
        st->clip_low /= st->n_clip_tokens;
        st->clip_high /= st->n_clip_tokens;
    }
    arrays_free(&a);
    workspace_free(&w);
    return rc;
}
