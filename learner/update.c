/*
 * update.c — one GRPO update: given the step's completions with their
 * advantages, compute reference (and, when needed, old) log-probs, then
 * mu epochs over shuffled minibatches of the clipped objective with the
 * KL penalty, each followed by grad-norm clipping and an AdamW step.
 *
 * Positions: completion token i of a sequence with a P-token prompt sits at
 * position P + i and is predicted at position P + i - 1, which is where
 * model_forward puts its log-prob.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learner/internal.h"

/* Per-sequence slices of the flat per-token arrays. */
typedef struct token_arrays {
    long *offset;          /* n_seq + 1 */
    float *old_lp, *ref_lp;
} token_arrays;

static int arrays_alloc(token_arrays *a, const learn_seq *seqs, int n, core_error *err) {
    a->offset = malloc(sizeof(long) * (n + 1));
    if (!a->offset) return core_fail(err, CORE_ERUNTIME, "out of memory");
    a->offset[0] = 0;
    for (int s = 0; s < n; s++) a->offset[s + 1] = a->offset[s] + seqs[s].n_tok;
    a->old_lp = malloc(sizeof(float) * (a->offset[n] + 1));
    a->ref_lp = malloc(sizeof(float) * (a->offset[n] + 1));
    if (!a->old_lp || !a->ref_lp) return core_fail(err, CORE_ERUNTIME, "out of memory");
    return 0;
}

static void arrays_free(token_arrays *a) {
    free(a->offset);
    free(a->old_lp);
    free(a->ref_lp);
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
} workspace;

static int workspace_alloc(workspace *w, int n_seq, int mb, int max_seq, core_error *err) {
    size_t cells = (size_t)mb * max_seq;
    w->idx = malloc(sizeof(int) * n_seq);
    w->tokens = malloc(sizeof(int) * cells);
    w->lp = malloc(sizeof(float) * cells);
    w->ent = malloc(sizeof(float) * cells);
    w->dlp = malloc(sizeof(float) * cells);
    w->dent = malloc(sizeof(float) * cells);
    w->weight = malloc(sizeof(double) * mb);
    w->n_tok = malloc(sizeof(int) * mb);
    if (!w->idx || !w->tokens || !w->lp || !w->ent || !w->dlp || !w->dent || !w->weight || !w->n_tok)
        return core_fail(err, CORE_ERUNTIME, "out of memory for the update workspace");
    return 0;
}

static void workspace_free(workspace *w) {
    free(w->idx), free(w->tokens), free(w->lp), free(w->ent), free(w->dlp), free(w->dent);
    free(w->weight), free(w->n_tok);
}

/* Reference log-probs, and old ones when the sampler's own are not the
 * policy's (temperature, top-k or top-p changed the distribution). */
static int fixed_logprobs(learner_ctx *L, const learn_seq *seqs, int n, int mb, token_arrays *a,
                          workspace *w, core_error *err) {
    int need_old = !learner_sampler_is_policy(L->cfg);
    for (int start = 0; start < n; start += mb) {
        int S = n - start < mb ? n - start : mb;
        for (int k = 0; k < S; k++) w->idx[k] = start + k;
        int T = build_tokens(seqs, w->idx, S, w->tokens);
        if (model_forward(L->ref, w->tokens, S, T, w->lp, NULL, err)) return err->code;
        for (int k = 0; k < S; k++)
            gather_completion(&seqs[start + k], w->lp, k, T, a->ref_lp + a->offset[start + k]);
        if (need_old) {
            if (model_forward(L->policy, w->tokens, S, T, w->lp, NULL, err)) return err->code;
            for (int k = 0; k < S; k++)
                gather_completion(&seqs[start + k], w->lp, k, T, a->old_lp + a->offset[start + k]);
        } else {
            for (int k = 0; k < S; k++)
                memcpy(a->old_lp + a->offset[start + k], seqs[start + k].sample_lp,
                       sizeof(float) * seqs[start + k].n_tok);
        }
    }
    return 0;
}

/* Fill dlp/dent for one minibatch from its forward; accumulate stats.
 * Returns the minibatch loss. */
static double minibatch_grads(learner_ctx *L, const learn_seq *seqs, int S, int T,
                              const token_arrays *a, workspace *w, int first_epoch,
                              update_stats *st) {
    const core_config *cfg = L->cfg;
    for (int k = 0; k < S; k++) w->n_tok[k] = seqs[w->idx[k]].n_tok;
    grpo_token_weights(w->n_tok, S, L->agg, cfg->rollout.max_new_tokens, w->weight);
    memset(w->dlp, 0, sizeof(float) * S * T);
    memset(w->dent, 0, sizeof(float) * S * T);
    double loss = 0;
    for (int k = 0; k < S; k++) {
        const learn_seq *q = &seqs[w->idx[k]];
        if (!w->n_tok[k]) continue;
        const float *old = a->old_lp + a->offset[w->idx[k]], *ref = a->ref_lp + a->offset[w->idx[k]];
        for (int i = 0; i < q->n_tok; i++) {
            size_t pos = (size_t)k * T + q->prompt_len - 1 + i;
            double dlp, kl;
            int clipped;
            double l = grpo_token_loss(&L->obj, w->lp[pos], old[i], ref[i], q->adv, &dlp, &kl, &clipped);
            l -= L->obj.entropy_coef * w->ent[pos];
            loss += w->weight[k] * l;
            w->dlp[pos] = (float)(w->weight[k] * dlp);
            w->dent[pos] = (float)(-w->weight[k] * L->obj.entropy_coef);
            st->clip_low += clipped < 0;
            st->clip_high += clipped > 0;
            st->n_clip_tokens++;
            if (first_epoch) {
                st->kl += kl;
                st->entropy += w->ent[pos];
                st->n_tokens++;
            }
        }
    }
    return loss;
}

static void shuffle(int *idx, int n, core_rng *rng) {
    for (int i = 0; i < n; i++) idx[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)core_rng_below(rng, (uint64_t)i + 1), t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
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

int learner_update(learner_ctx *L, const learn_seq *seqs, int n, int64_t step, update_stats *st,
                   core_error *err) {
    const core_config *cfg = L->cfg;
    memset(st, 0, sizeof *st);
    st->lr = model_lr_schedule((float)cfg->learner.lr, (int)step, cfg->learner.warmup,
                               cfg->run.steps, 0.1f, !strcmp(cfg->learner.schedule, "cosine"));
    if (n == 0) return 0;
    int mb = cfg->learner.minibatch > 0 && cfg->learner.minibatch < n ? cfg->learner.minibatch : n;
    if (mb > L->max_batch) mb = L->max_batch;
    token_arrays a = {0};
    workspace w = {0};
    int rc = arrays_alloc(&a, seqs, n, err) ||
             workspace_alloc(&w, n, mb, model_get_config(L->policy)->max_seq, err) ||
             fixed_logprobs(L, seqs, n, mb, &a, &w, err);
    if (rc) rc = err->code;
    for (int epoch = 0; epoch < cfg->learner.epochs && !rc; epoch++) {
        core_rng rng = core_rng_stream(cfg->run.seed, CORE_RNG_SHUFFLE, step, epoch);
        int *order = malloc(sizeof(int) * n);
        shuffle(order, n, &rng);
        for (int start = 0; start < n && !rc; start += mb) {
            int S = n - start < mb ? n - start : mb;
            memcpy(w.idx, order + start, sizeof(int) * S);
            int T = build_tokens(seqs, w.idx, S, w.tokens);
            if ((rc = model_forward(L->policy, w.tokens, S, T, w.lp, w.ent, err))) break;
            double loss = minibatch_grads(L, seqs, S, T, &a, &w, epoch == 0, st);
            if (injected_nonfinite(step)) loss = NAN;
            model_zero_grad(L->policy);
            model_backward(L->policy, w.dlp, L->obj.entropy_coef != 0 ? w.dent : NULL);
            apply_gradients(L, loss, st);
            st->loss += loss;
            st->n_minibatches++;
        }
        free(order);
    }
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
