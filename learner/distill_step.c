/*
 * distill_step.c — one optimizer step of distillation.
 *
 * Step s (0-based) trains on dataset rows s*B .. s*B+B-1 of an endless
 * sequence of passes, each pass a permutation drawn from
 * (run.seed, CORE_RNG_SHUFFLE, pass): a resumed run sees exactly the rows
 * the uninterrupted one would have.  The objective's gradient reaches the
 * student through model_backward (sft: d/d log p of the trace's tokens) or
 * model_backward_logits (the KL objectives: d/d logits at every masked
 * position); then grad-norm clip, AdamW with warmup and cosine decay.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learner/distill_internal.h"

#define SHUFFLE_KEY 0x64697374ull /* "dist": keeps these streams apart from train's */

model_sample_params distill_sample_params(const core_config *cfg) {
    return (model_sample_params){(float)cfg->rollout.temperature, (float)cfg->rollout.top_p,
                                 cfg->rollout.top_k, cfg->rollout.max_new_tokens, cfg->rollout.stop};
}

/* Dataset row of the k-th example seen since step 0. */
static int row_at(distill_ctx *D, long k) {
    int pass = (int)(k / D->n_rows);
    if (pass != D->order_epoch) {
        core_rng rng = core_rng_stream((uint64_t)D->cfg->run.seed, CORE_RNG_SHUFFLE, SHUFFLE_KEY,
                                       (uint64_t)pass);
        for (int i = 0; i < D->n_rows; i++) D->order[i] = i;
        for (int i = D->n_rows - 1; i > 0; i--) { /* Fisher-Yates */
            int j = (int)(core_rng_uniform(&rng) * (i + 1));
            if (j > i) j = i;
            int t = D->order[i];
            D->order[i] = D->order[j], D->order[j] = t;
        }
        D->order_epoch = pass;
    }
    return D->order[k % D->n_rows];
}

/* The student answers the batch's prompts once each (rollout path, graded),
 * its samples become the rows, and they are logged as the run's episodes
 * of this step (inside the caller's transaction). */
static int fill_on_policy(distill_ctx *D, int step, const int *rows, distill_step_stats *st,
                          core_error *err) {
    const core_config *cfg = D->cfg;
    int B = D->bt.B, max_seq = D->bt.max_seq, rc = 0;
    const tokenizer *tok = model_tokenizer(D->student);
    rollout_prompt *prompts = calloc((size_t)B, sizeof *prompts);
    rollout_group *groups = calloc((size_t)B, sizeof *groups);
    int *ids = malloc(sizeof *ids * (size_t)max_seq);
    if (!prompts || !groups || !ids) rc = core_fail(err, CORE_ERUNTIME, "out of memory");
    for (int b = 0; b < B && !rc; b++) {
        const db_distill_row *r = &D->rows[rows[b]];
        prompts[b] = (rollout_prompt){b, D->prompts[rows[b]], r->gold, NULL};
    }
    rollout_params rp = {(uint64_t)cfg->run.seed, step, 1, distill_sample_params(cfg), 0, step};
    if (!rc) rc = rollout_generate_groups(D->student, D->reward, prompts, B, &rp, groups, err);
    double correct = 0;
    for (int b = 0; b < B && !rc; b++) {
        const db_distill_row *r = &D->rows[rows[b]];
        const rollout_completion *c = &groups[b].c[0];
        int np = rollout_encode_prompt(tok, D->prompts[rows[b]], ids, max_seq);
        if (np < 1) {
            rc = core_fail(err, CORE_EINPUT, "the prompt of episode %lld does not fit model.max_seq",
                           (long long)r->episode_id);
            break;
        }
        sft_batch_set_row(&D->bt, b, ids, np, c->tokens, c->n_tokens);
        correct += c->reward.correct;
        char *text = rollout_completion_text(tok, c);
        task_item item = {.question = r->question, .gold = r->gold};
        snprintf(item.gen, sizeof item.gen, "%s", r->task);
        rc = text ? learner_log_group(D->db, D->run_id, step + 1, &item, &groups[b], &text, NULL, 0,
                                      cfg->db.log_episodes, err)
                  : core_fail(err, CORE_ERUNTIME, "out of memory");
        free(text);
    }
    st->accuracy = correct / B;
    for (int b = 0; b < B; b++) rollout_group_free(&groups[b]);
    free(prompts), free(groups), free(ids);
    return rc;
}

/* Sum over masked positions of the KL (forward or reverse) between the
 * student's and the teacher's next-token distributions, each position
 * weighted 1 / n_masked; its gradient w.r.t. the student's logits goes to
 * D->dlogits.  Both models have just run forward on the batch. */
static double kl_loss(distill_ctx *D) {
    sft_batch *bt = &D->bt;
    int V = model_get_config(D->student)->vocab;
    size_t N = (size_t)bt->B * bt->T;
    const float *zs = model_last_logits(D->student), *zt = model_last_logits(D->teacher);
    memset(D->dlogits, 0, sizeof(float) * N * V);
    float w = bt->n_masked ? 1.0f / (float)bt->n_masked : 0.0f;
    double loss = 0;
    for (size_t n = 0; n < N; n++) {
        if (bt->mask[n] == 0) continue;
        size_t o = n * (size_t)V;
        loss += w * (D->obj == DISTILL_FORWARD_KL
                         ? distill_forward_kl(zs + o, zt + o, V, w, D->dlogits + o)
                         : distill_reverse_kl(zs + o, zt + o, V, w, D->dlogits + o));
    }
    return loss;
}

static int objective_backward(distill_ctx *D, distill_step_stats *st, core_error *err) {
    sft_batch *bt = &D->bt;
    if (D->obj != DISTILL_SFT &&
        model_forward(D->teacher, bt->tokens, bt->B, bt->T, bt->logprob, NULL, err))
        return err->code;
    if (model_forward(D->student, bt->tokens, bt->B, bt->T, bt->logprob, NULL, err)) return err->code;
    model_zero_grad(D->student);
    if (D->obj == DISTILL_SFT) {
        st->loss = sft_batch_loss(bt, 1);
        model_backward(D->student, bt->dlogprob, NULL);
    } else {
        st->loss = kl_loss(D);
        model_backward_logits(D->student, D->dlogits);
    }
    return 0;
}

int distill_step(distill_ctx *D, int step, distill_step_stats *st, core_error *err) {
    const core_config *cfg = D->cfg;
    int B = cfg->distill.batch, *rows = D->batch_rows;
    const tokenizer *tok = model_tokenizer(D->student);
    st->accuracy = NAN;
    D->bt.B = B;
    for (int b = 0; b < B; b++) rows[b] = row_at(D, (long)step * B + b);
    if (D->obj == DISTILL_ON_POLICY) {
        if (fill_on_policy(D, step, rows, st, err)) return err->code;
    } else {
        for (int b = 0; b < B; b++)
            sft_batch_encode_row(&D->bt, b, tok, D->prompts[rows[b]], D->rows[rows[b]].completion);
    }
    sft_batch_finish(&D->bt, tok);
    if (objective_backward(D, st, err)) return err->code;
    if (!isfinite(st->loss))
        return core_fail(err, CORE_ERUNTIME, "step %d: the loss is not finite (%g)", step + 1, st->loss);
    st->grad_norm = model_grad_norm(D->student);
    if (cfg->distill.grad_clip > 0 && st->grad_norm > cfg->distill.grad_clip)
        model_scale_grads(D->student, (float)(cfg->distill.grad_clip / st->grad_norm));
    model_adamw hp = {.lr = model_lr_schedule((float)cfg->distill.lr, step, cfg->distill.warmup,
                                              cfg->distill.steps, (float)cfg->distill.min_lr_frac, 1),
                      .beta1 = 0.9f, .beta2 = 0.99f, .eps = 1e-8f,
                      .weight_decay = (float)cfg->distill.weight_decay};
    model_adamw_step(D->student, &hp, step + 1);
    st->lr = hp.lr;
    st->tokens = D->bt.n_tokens;
    return 0;
}
