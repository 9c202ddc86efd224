/*
 * Base-model pretraining: next-token training on the tasks corpus with the
 * loss on the response tokens (see pretrain.h for the sequence layout and
 * the checkpoint).
 *
 * One step: B training items drawn for (run.seed, step), one worked solution
 * each (imperfections drawn from CORE_RNG_CORPUS keyed by step and row),
 * forward, loss = -mean over response tokens of log p, backward with
 * dlogprob = -mask / n_masked, grad-norm clip at 1, AdamW with warmup and
 * cosine decay.  Everything random is keyed by (seed, step, row), so a
 * resumed run draws exactly what the uninterrupted one would have.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "learner/checkpoints.h"
#include "learner/internal.h"
#include "learner/pretrain.h"
#include "learner/sft.h"

#define PRETRAIN_GRAD_CLIP 1.0f
#define PRETRAIN_DB_COMMIT_EVERY 20

void pretrain_checkpoint_path(const core_config *cfg, char *out, size_t cap) {
    snprintf(out, cap, "%s/%s/base.safetensors", cfg->run.out_dir, cfg->run.name);
}

/* --------------------------------------------------------------- batches */

/* Training rows of `step`: item (seed, step, b) and its worked solution. */
static int fill_train_batch(sft_batch *bt, const tokenizer *tok, const task_source *ts,
                            const core_config *cfg, int step, core_error *err) {
    for (int b = 0; b < bt->B; b++) {
        task_item t;
        corpus_example ex;
        int rc = tasks_draw(ts, (uint64_t)step, b, &t, err);
        if (rc) return rc;
        core_rng rng = core_rng_stream((uint64_t)cfg->run.seed, CORE_RNG_CORPUS, (uint64_t)step,
                                       (uint64_t)b);
        rc = tasks_corpus_example(cfg, &t, &rng, &ex, err);
        task_item_free(&t);
        if (rc) return rc;
        sft_batch_encode_row(bt, b, tok, ex.prompt, ex.response);
        corpus_example_free(&ex);
    }
    sft_batch_finish(bt, tok);
    return 0;
}

/* -------------------------------------------------------- held-out loss */

int pretrain_heldout_loss(model *m, const core_config *cfg, const task_set *heldout,
                          double *loss, core_error *err) {
    int B = model_max_batch(m), max_seq = model_get_config(m)->max_seq;
    const tokenizer *tok = model_tokenizer(m);
    sft_batch bt;
    int rc = sft_batch_alloc(&bt, B, max_seq, err);
    double sum = 0;
    long masked = 0;
    for (int i0 = 0; !rc && i0 < heldout->n; i0 += B) {
        bt.B = heldout->n - i0 < B ? heldout->n - i0 : B;
        for (int b = 0; !rc && b < bt.B; b++) {
            corpus_example ex;
            core_rng rng = core_rng_stream((uint64_t)cfg->tasks.heldout_seed, CORE_RNG_CORPUS,
                                           UINT64_MAX, (uint64_t)(i0 + b));
            rc = tasks_corpus_example(cfg, &heldout->items[i0 + b], &rng, &ex, err);
            if (!rc) sft_batch_encode_row(&bt, b, tok, ex.prompt, ex.response);
            corpus_example_free(&ex);
        }
        if (rc) break;
        sft_batch_finish(&bt, tok);
        rc = model_forward(m, bt.tokens, bt.B, bt.T, bt.logprob, NULL, err);
        if (!rc) {
            sum += sft_batch_loss(&bt, 0) * bt.n_masked;
            masked += bt.n_masked;
        }
    }
    sft_batch_free(&bt);
    *loss = masked ? sum / (double)masked : NAN;
    return rc;
}

/* ------------------------------------------------------------ the run */

typedef struct pretrain_state {
    const core_config *cfg;
    int flags;          /* LEARNER_RESUME | LEARNER_ALLOW_CHANGED */
    model *m;
    task_source *ts;
    db *d;
    int64_t run_id;     /* 0 without a database */
    int in_tx;          /* a transaction of steps is open */
    int lock_fd;        /* out_dir/name/lock: one pretraining of a name at a time */
    char final[1024];   /* the finished base model: written once, at the end */
    char run_dir[1024]; /* this run's partial checkpoints (checkpoints.h) */
    FILE *progress;
} pretrain_state;

/* Partial checkpoints kept: the newest and the one before (a fallback). */
enum { PRETRAIN_KEEP = 2 };

static int record_checkpoint(pretrain_state *st, int step, const char *path, const char *sha,
                             core_error *err) {
    return st->d ? db_insert_checkpoint(st->d, st->run_id, step, path, sha, err) : 0;
}

/* Remove this run's partial checkpoints but the newest `keep`. */
static void prune_partials(pretrain_state *st, int keep) {
    ckpt_entry *c;
    int n;
    core_error ignored;
    if (ckpt_scan(st->run_dir, "base", &c, &n, &ignored)) return;
    for (int i = 0; i < n - keep; i++) {
        ckpt_remove(c[i].path);
        if (st->d) db_checkpoint_pruned(st->d, st->run_id, c[i].step, &ignored);
    }
    free(c);
}

/* A resumable checkpoint of an unfinished pretraining (never the base). */
static int save_partial(pretrain_state *st, int step, core_error *err) {
    char path[1200], sha[65];
    ckpt_path(st->run_dir, "base", step, path, sizeof path);
    if (ckpt_save(st->cfg, st->m, path, sha, err) || record_checkpoint(st, step, path, sha, err)) return err->code;
    prune_partials(st, PRETRAIN_KEEP);
    return 0;
}

/* The finished base model under its final name, written only now, so
 * train and demo never pick up a half-trained one. */
static int publish_base(pretrain_state *st, int step, core_error *err) {
    char sha[65];
    if (ckpt_save(st->cfg, st->m, st->final, sha, err) || record_checkpoint(st, step, st->final, sha, err))
        return err->code;
    prune_partials(st, 0); /* the base holds everything they held */
    return 0;
}

/* Find the run to resume (the newest pretraining of run.name) or start one. */
static int open_db(pretrain_state *st, core_error *err) {
    const core_config *cfg = st->cfg;
    if (!cfg->db.path[0]) return 0;
    int rc = db_open(&st->d, cfg->db.path, cfg->db.busy_timeout_ms, err);
    if (rc) return rc;
    db_set_lock_wait(st->d, cfg->db.lock_wait_s);
    char *ini = core_config_to_ini(cfg);
    if (!ini) return core_fail(err, CORE_ERUNTIME, "out of memory");
    st->run_id = st->flags & LEARNER_RESUME ? db_run_latest(st->d, cfg->run.name, "pretrain") : 0;
    if (st->run_id > 0) {
        char *old = db_run_config(st->d, st->run_id), changes[2048];
        int n = old ? learner_config_changes(old, ini, 1, changes, sizeof changes) : 0;
        free(old);
        if (n && !(st->flags & LEARNER_ALLOW_CHANGED))
            rc = core_fail(err, CORE_EINPUT,
                           "--resume: pretraining run %lld was started with other settings (%s); "
                           "resume with the same ones, or pass --allow-changed",
                           (long long)st->run_id, changes);
        else if (n)
            rc = db_run_event(st->d, st->run_id, "config_changed", changes, err) ||
                 db_run_set_config(st->d, st->run_id, ini, err);
        if (!rc) rc = db_run_finish(st->d, st->run_id, "running", err);
    } else {
        rc = db_run_start(st->d, cfg->run.name, "pretrain", ini, cfg->run.seed, 1, &st->run_id, err);
    }
    free(ini);
    return rc ? (err->code ? err->code : CORE_ERUNTIME) : 0;
}

/* The name's folder, locked; a finished base there is never overwritten
 * (with --resume: PRETRAIN_ALREADY_DONE, nothing to do). */
enum { PRETRAIN_ALREADY_DONE = -1 };
static int claim_name(pretrain_state *st, core_error *err) {
    const core_config *cfg = st->cfg;
    char dir[1024], what[400];
    pretrain_checkpoint_path(cfg, st->final, sizeof st->final);
    snprintf(dir, sizeof dir, "%s/%s", cfg->run.out_dir, cfg->run.name);
    snprintf(what, sizeof what, "the base model '%s'", cfg->run.name);
    if (ckpt_make_dir(dir, err) || ckpt_lock(dir, what, &st->lock_fd, err)) return err->code;
    if (access(st->final, F_OK) == 0 && (st->flags & LEARNER_RESUME)) {
        core_info("pretrain: %s is complete; nothing to resume", st->final);
        return PRETRAIN_ALREADY_DONE;
    }
    if (access(st->final, F_OK) == 0)
        return core_fail(err, CORE_EINPUT,
                         "%s: the base model of run.name '%s' is already pretrained; delete it "
                         "(and its .optim file) to pretrain again, or choose another run.name",
                         st->final, cfg->run.name);
    return 0;
}

/* Create the model (fresh, or from this run's newest partial checkpoint that
 * loads): the steps already done in *start. */
static int setup_model(pretrain_state *st, int *start, core_error *err) {
    const core_config *cfg = st->cfg;
    model_config mc;
    int rc = model_config_from(&mc, cfg, err);
    if (!rc) rc = model_create(&st->m, &mc, cfg->pretrain.batch, err);
    if (rc) return rc;
    model_init(st->m, (uint64_t)cfg->run.seed, (float)cfg->model.init_std);
    if (model_set_device(st->m, cfg->model.device, cfg->model.matmul, err)) return err->code;
    *start = 0;
    if (!(st->flags & LEARNER_RESUME)) return 0;
    ckpt_entry *c;
    int n, loaded;
    char why[1024];
    if (ckpt_scan(st->run_dir, "base", &c, &n, err)) return err->code;
    rc = ckpt_load_newest(st->m, c, n, &loaded, why, sizeof why, err);
    if (!rc && loaded >= 0) {
        *start = model_adamw_t(st->m);
        core_info("pretrain: resuming %s at step %d", c[loaded].path, *start);
        if (why[0] && st->d) rc = db_run_event(st->d, st->run_id, "checkpoint_fallback", why, err);
    } else if (!rc) {
        core_warn("pretrain: --resume but no checkpoint in %s yet; starting from scratch", st->run_dir);
    }
    free(c);
    if (rc) return core_fail_wrap(err, "pretrain --resume");
    if (st->d) rc = db_truncate_after(st->d, st->run_id, *start, err);
    return rc;
}

/* Steps are written in transactions of PRETRAIN_DB_COMMIT_EVERY; a
 * checkpoint commits first, so the DB never lags a checkpoint it could be
 * resumed from. */
static int commit_steps(pretrain_state *st, core_error *err) {
    if (!st->in_tx) return 0;
    st->in_tx = 0;
    return db_commit(st->d, err);
}

static int log_step(pretrain_state *st, int step, double loss, double heldout, float lr,
                    float gnorm, double tok_s, core_error *err) {
    if (!st->d) return 0;
    db_step s;
    db_step_init(&s, step);
    s.loss = loss;
    s.heldout_loss = heldout;
    s.lr = lr;
    s.grad_norm = gnorm;
    s.tokens_per_s = tok_s;
    int rc = 0;
    if (!st->in_tx && !(rc = db_begin(st->d, err))) st->in_tx = 1;
    if (!rc) rc = db_insert_step(st->d, st->run_id, &s, err);
    if (!rc && step % PRETRAIN_DB_COMMIT_EVERY == 0) rc = commit_steps(st, err);
    return rc;
}

static int train_loop(pretrain_state *st, int start, pretrain_result *out, core_error *err) {
    const core_config *cfg = st->cfg;
    const task_set *held = tasks_heldout(st->ts);
    int steps = cfg->pretrain.steps, rc = 0;
    sft_batch bt;
    if ((rc = sft_batch_alloc(&bt, cfg->pretrain.batch, cfg->model.max_seq, err))) return rc;
    model_adamw hp = {.beta1 = 0.9f, .beta2 = 0.99f, .eps = 1e-8f,
                      .weight_decay = (float)cfg->pretrain.weight_decay};
    double t0 = core_now(), loss_ema = NAN, heldout = NAN, recent = 0;
    long tokens = 0;
    int n_recent = 0, step = start, heldout_step = start;
    if ((rc = pretrain_heldout_loss(st->m, cfg, held, &heldout, err))) goto done;
    out->first_heldout_loss = heldout;
    core_info("pretrain: step %d held-out loss %.4f", start, heldout);
    core_progress prog;
    if (st->progress) core_progress_start_at(&prog, "pretrain", start, steps, st->progress);
    while (step < steps) {
        if (cfg->pretrain.stop_at && step >= cfg->pretrain.stop_at) break;
        if (core_stop_signal()) {
            core_info("pretrain: stopping at step %d (signal %d); continue with --resume", step,
                      core_stop_signal());
            break;
        }
        if (cfg->pretrain.max_seconds > 0 && core_now() - t0 > cfg->pretrain.max_seconds) {
            core_info("pretrain: pretrain.max_seconds reached at step %d", step);
            break;
        }
        if ((rc = fill_train_batch(&bt, model_tokenizer(st->m), st->ts, cfg, step, err))) break;
        if ((rc = model_forward(st->m, bt.tokens, bt.B, bt.T, bt.logprob, NULL, err))) break;
        double loss = sft_batch_loss(&bt, 1);
        model_zero_grad(st->m);
        model_backward(st->m, bt.dlogprob, NULL);
        float gnorm = model_grad_norm(st->m);
        if (gnorm > PRETRAIN_GRAD_CLIP) model_scale_grads(st->m, PRETRAIN_GRAD_CLIP / gnorm);
        hp.lr = model_lr_schedule((float)cfg->pretrain.lr, step, cfg->pretrain.warmup, steps,
                                  (float)cfg->pretrain.min_lr_frac, 1);
        model_adamw_step(st->m, &hp, step + 1);
        step++;
        tokens += bt.n_tokens;
        loss_ema = isnan(loss_ema) ? loss : 0.95 * loss_ema + 0.05 * loss;
        if (steps - step < 50) { recent += loss; n_recent++; }
        double held_now = NAN;
        int eval_now = cfg->pretrain.eval_every && step % cfg->pretrain.eval_every == 0;
        if (eval_now || step == steps) {
            if ((rc = pretrain_heldout_loss(st->m, cfg, held, &held_now, err))) break;
            heldout = held_now;
            heldout_step = step;
        }
        double tok_s = tokens / (core_now() - t0 + 1e-9);
        if ((rc = log_step(st, step, loss, held_now, hp.lr, gnorm, tok_s, err))) break;
        if (cfg->pretrain.checkpoint_every && step % cfg->pretrain.checkpoint_every == 0 &&
            step < steps && ((rc = commit_steps(st, err)) || (rc = save_partial(st, step, err))))
            break;
        if (st->progress) {
            char metrics[160];
            snprintf(metrics, sizeof metrics, "loss=%.3f heldout=%.3f lr=%.2g tok/s=%.0f",
                     loss_ema, heldout, hp.lr, tok_s);
            core_progress_update(&prog, step, metrics);
        }
    }
    if (st->progress) core_progress_finish(&prog);
    if (rc && st->in_tx) {
        st->in_tx = 0;
        db_rollback(st->d);
    }
    if (!rc) rc = commit_steps(st, err);
    if (!rc && step > start && heldout_step != step) /* stopped between evaluations */
        rc = pretrain_heldout_loss(st->m, cfg, held, &heldout, err);
    if (!rc) rc = step >= steps ? publish_base(st, step, err) : save_partial(st, step, err);
    if (step >= steps) snprintf(out->checkpoint, sizeof out->checkpoint, "%s", st->final);
    else ckpt_path(st->run_dir, "base", step, out->checkpoint, sizeof out->checkpoint);
    out->completed = step >= steps;
    out->steps_done = step;
    out->heldout_loss = heldout;
    out->train_loss = n_recent ? recent / n_recent : loss_ema;
    out->seconds = core_now() - t0;
    out->tokens_per_s = tokens / (out->seconds + 1e-9);
done:
    sft_batch_free(&bt);
    return rc;
}

int pretrain_run(const core_config *cfg, int flags, FILE *progress, pretrain_result *out,
                 core_error *err) {
    memset(out, 0, sizeof *out);
    if (cfg->model.path[0]) /* checked before anything is opened or written */
        return core_fail(err, CORE_EINPUT, "model.path (%s) is set, but pretrain trains a fresh model of "
                         "the [model] shape; a Hugging Face model is trained with `grpo train` (or distilled "
                         "into with `grpo distill`)", cfg->model.path);
    pretrain_state st = {.cfg = cfg, .flags = flags, .progress = progress, .lock_fd = -1};
    int start = 0;
    int rc = tasks_open(cfg, &st.ts, err);
    if (!rc) rc = claim_name(&st, err);
    if (rc == PRETRAIN_ALREADY_DONE) {
        snprintf(out->checkpoint, sizeof out->checkpoint, "%s", st.final);
        out->completed = 1;
        out->steps_done = cfg->pretrain.steps;
        rc = 0;
        goto done;
    }
    if (!rc) rc = open_db(&st, err);
    if (!rc) {
        ckpt_run_dir(cfg, st.run_id, st.run_dir, sizeof st.run_dir);
        rc = ckpt_make_dir(st.run_dir, err);
    }
    if (!rc) rc = setup_model(&st, &start, err);
    if (!rc) rc = train_loop(&st, start, out, err);
    if (st.d) {
        if (st.run_id > 0) {
            core_error ignored;
            db_run_finish(st.d, st.run_id, rc ? "failed" : out->completed ? "done" : "stopped", &ignored);
        }
        db_close(st.d);
    }
done:
    model_free(st.m);
    tasks_close(st.ts);
    ckpt_unlock(st.lock_fd);
    return rc;
}
