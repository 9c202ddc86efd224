/*
 * train.c — `grpo train`: the GRPO loop on rank 0, a rollout worker on the
 * other ranks.
 *
 * One step: draw B prompts (keyed by run.seed and the step, so a resumed
 * run draws the same ones) → rollout_step (workers, or this rank alone) →
 * advantages per group → learner_update → the step's rows written in one
 * transaction → eval and checkpoint when due.  A checkpoint at step N is
 * written after step N is committed; --resume loads the newest complete
 * checkpoint, removes what the run wrote after it, and goes on from N + 1,
 * so no episode is lost or duplicated.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learner/checkpoints.h"
#include "learner/eval.h"
#include "learner/internal.h"
#include "learner/pretrain.h"

int learner_sampler_is_policy(const core_config *cfg) {
    /* asynchronous rollouts come from an older policy than the one learning */
    return !cfg->rollout.async && cfg->rollout.temperature == 1.0 && cfg->rollout.top_p >= 1.0 &&
           cfg->rollout.top_k == 0;
}

/* ---------------------------------------------------------------- set-up */

static int check_choices(learner_ctx *L, core_error *err) {
    const core_config *cfg = L->cfg;
    if (learner_objective_from_config(cfg, &L->obj, err) || learner_check_parallel(cfg, err) ||
        model_device_check(cfg->model.device, cfg->model.matmul, err))
        return err->code;
    L->adv = learner_adv_mode(cfg->learner.advantage);
    L->agg = learner_agg_kind(cfg->learner.loss_agg);
    return 0;
}

/* ------------------------------------------------------------ checkpoints */

/* The run's checkpoints still on disk, from its rows in the database (which
 * also finds those of runs written before the folder per run), each with
 * the held-out pass@1 of its step for retention. */
static int list_checkpoints(learner_ctx *L, ckpt_entry **out, int *n, core_error *err) {
    db_checkpoint *rows;
    if (db_checkpoint_list(L->db, L->run_id, &rows, n, err)) return err->code;
    *out = calloc((size_t)*n + 1, sizeof **out);
    if (!*out) return free(rows), core_fail(err, CORE_ERUNTIME, "out of memory");
    for (int i = 0; i < *n; i++) {
        (*out)[i].step = rows[i].step;
        snprintf((*out)[i].path, sizeof (*out)[i].path, "%s", rows[i].path);
        (*out)[i].score = db_eval_value(L->db, L->run_id, rows[i].step, "heldout", "pass@1");
    }
    free(rows);
    return 0;
}

/* Keep the newest learner.keep_last and (learner.keep_best) the best by
 * held-out pass@1; remove the rest's files and mark their rows pruned. */
static int prune_checkpoints(learner_ctx *L, core_error *err) {
    ckpt_entry *c;
    int n;
    if (list_checkpoints(L, &c, &n, err)) return err->code;
    int *prune = calloc((size_t)n + 1, sizeof *prune), rc = 0;
    if (!prune) rc = core_fail(err, CORE_ERUNTIME, "out of memory");
    else ckpt_choose_prune(c, n, L->cfg->learner.keep_last, L->cfg->learner.keep_best, prune);
    for (int i = 0; i < n && !rc; i++) {
        if (!prune[i]) continue;
        ckpt_remove(c[i].path);
        rc = db_checkpoint_pruned(L->db, L->run_id, c[i].step, err);
    }
    free(prune);
    free(c);
    return rc;
}

static int save_checkpoint(learner_ctx *L, int64_t step, core_error *err) {
    char path[1200], sha[65];
    ckpt_step_path(L->cfg, L->run_dir, "policy", step, path, sizeof path);
    if (ckpt_save(L->cfg, L->policy, path, sha, err) ||
        db_insert_checkpoint(L->db, L->run_id, step, path, sha, err))
        return err->code;
    return prune_checkpoints(L, err);
}

/* Load the newest checkpoint of the run that loads (falling back past a
 * corrupt one, and saying so); *step its step, 0 when there is none. */
static int load_latest_checkpoint(learner_ctx *L, int64_t *step, core_error *err) {
    ckpt_entry *c;
    int n, loaded;
    char why[1024];
    *step = 0;
    if (list_checkpoints(L, &c, &n, err)) return err->code;
    int rc = ckpt_load_newest(L->policy, c, n, &loaded, why, sizeof why, err);
    if (!rc && loaded >= 0) {
        *step = c[loaded].step;
        snprintf(L->resumed_from, sizeof L->resumed_from, "%s", c[loaded].path);
    }
    if (!rc && why[0]) {
        core_warn("resuming from the checkpoint of step %lld instead (%s)", (long long)*step, why);
        rc = db_run_event(L->db, L->run_id, "checkpoint_fallback", why, err);
    }
    free(c);
    return rc ? (err->code ? err->code : CORE_EINPUT) : 0;
}

/* ------------------------------------------------------------ one step */

typedef struct step_batch {
    int n_prompts, G;
    task_item *items;
    char **texts;
    rollout_prompt *prompts;
    rollout_group *groups;
    int **prompt_ids;
    int *prompt_len;
    double *adv;     /* n_prompts * G */
    int *graded;     /* n_prompts * G: 0 where the sandbox failed (masked out of the update) */
    int *zero_var;   /* per group */
    char **completions; /* n_prompts * G decoded texts, for the metrics and the log */
    double t_rollout;
} step_batch;

static void batch_free(step_batch *b) {
    for (int i = 0; i < b->n_prompts; i++) {
        task_item_free(&b->items[i]);
        free(b->texts[i]);
        free(b->prompt_ids[i]);
        rollout_group_free(&b->groups[i]);
    }
    free(b->items), free(b->texts), free(b->prompts), free(b->groups), free(b->prompt_ids);
    for (int k = 0; b->completions && k < b->n_prompts * b->G; k++) free(b->completions[k]);
    free(b->prompt_len), free(b->adv), free(b->graded), free(b->zero_var), free(b->completions);
    memset(b, 0, sizeof *b);
}

/* Grow every per-prompt array of b to hold `cap` prompts. */
static int batch_reserve(step_batch *b, int cap, core_error *err) {
#define GROW(field) (b->field = realloc(b->field, sizeof *b->field * (size_t)cap * mult))
    size_t mult = 1;
    int ok = GROW(items) && GROW(texts) && GROW(prompts) && GROW(groups) && GROW(prompt_ids) &&
             GROW(prompt_len) && GROW(zero_var);
    mult = b->G;
    ok = ok && GROW(adv) && GROW(graded);
#undef GROW
    return ok ? 0 : core_fail(err, CORE_ERUNTIME, "out of memory for the step's batch");
}

/* Draw `count` more prompts (indices n_prompts..) of the step. */
static int draw_prompts(learner_ctx *L, int64_t step, step_batch *b, int count, core_error *err) {
    const core_config *cfg = L->cfg;
    int first = b->n_prompts, max_seq = model_get_config(L->policy)->max_seq;
    if (batch_reserve(b, first + count, err)) return err->code;
    for (int i = first; i < first + count; i++) {
        memset(&b->items[i], 0, sizeof b->items[i]);
        b->texts[i] = NULL;
        b->prompt_ids[i] = malloc(sizeof(int) * max_seq);
        memset(&b->groups[i], 0, sizeof b->groups[i]);
        b->n_prompts = i + 1; /* from here on batch_free owns slot i */
        if (tasks_draw(L->tasks, (uint64_t)step, i, &b->items[i], err)) return err->code;
        b->texts[i] = tasks_render_prompt(cfg->tasks.template, b->items[i].question, err);
        if (!b->texts[i]) return err->code;
        b->prompts[i] = (rollout_prompt){i, b->texts[i], b->items[i].gold, b->items[i].tests};
        b->prompt_len[i] = rollout_encode_prompt(model_tokenizer(L->policy), b->texts[i],
                                                 b->prompt_ids[i], max_seq);
        if (b->prompt_len[i] < 1)
            return core_fail(err, CORE_EINPUT, "prompt of step %lld item %d does not fit model.max_seq",
                             (long long)step, i);
    }
    return 0;
}

/* The advantages of groups first..first+count-1, over the completions the
 * sandbox could grade (an infrastructure failure is no verdict). */
static void score_groups(learner_ctx *L, step_batch *b, int first, int count) {
    const core_config *cfg = L->cfg;
    double *r = malloc(sizeof(double) * b->G);
    for (int i = first; i < first + count; i++) {
        int *graded = b->graded + (size_t)i * b->G;
        for (int g = 0; g < b->G; g++) {
            r[g] = b->groups[i].c[g].reward.total;
            graded[g] = !b->groups[i].c[g].reward.infra_fail;
        }
        b->zero_var[i] = learner_advantages_masked(r, graded, b->G, L->adv, cfg->learner.adv_eps,
                                                   b->adv + (size_t)i * b->G);
    }
    free(r);
}

/* Draw `count` more prompts, sample and grade their groups, and compute
 * their advantages. */
static int add_round(learner_ctx *L, int64_t step, step_batch *b, int count,
                     const rollout_params *rp, core_error *err) {
    int first = b->n_prompts;
    if (draw_prompts(L, step, b, count, err)) return err->code;
    double t0 = core_now();
    if (rollout_step(L->comm, L->policy, L->reward, b->prompts + first, count, rp, 0,
                     b->groups + first, err))
        return err->code;
    b->t_rollout += core_now() - t0;
    score_groups(L, b, first, count);
    return 0;
}

/* Asynchronous rollouts (rollout.async, staleness k): before step s is
 * collected, every step up to s + k is launched with the weights of now,
 * the weights after step s - 1; so step j is always sampled by the weights
 * after step j - 1 - k (the base weights while j <= k + 1), which depends on
 * the step alone, never on timing, and sampling of the steps ahead overlaps
 * the learning of step s. */
static int collect_async(learner_ctx *L, int64_t step, step_batch *b, const rollout_params *rp,
                         core_error *err) {
    int k = learner_staleness(L->cfg), want = L->cfg->rollout.prompts_per_step;
    int64_t last = step + k < L->cfg->run.steps ? step + k : L->cfg->run.steps;
    double t0 = core_now();
    while (L->launched < last) {
        int64_t j = L->launched + 1;
        step_batch *a = &L->ahead[j % (k + 1)];
        a->G = b->G;
        rollout_params rj = *rp;
        rj.step = j;
        if (draw_prompts(L, j, a, want, err) ||
            rollout_launch(L->comm, L->policy, L->reward, a->prompts, want, &rj, 0, err))
            return err->code;
        L->launched = j;
    }
    *b = L->ahead[step % (k + 1)];
    memset(&L->ahead[step % (k + 1)], 0, sizeof *b);
    if (rollout_collect(L->comm, step, b->groups, b->n_prompts, err)) return err->code;
    b->t_rollout = core_now() - t0;
    score_groups(L, b, 0, b->n_prompts);
    return 0;
}

static int groups_kept(const learner_ctx *L, const step_batch *b) {
    int kept = 0;
    for (int i = 0; i < b->n_prompts; i++) kept += !(L->cfg->learner.filter_zero_var && b->zero_var[i]);
    return kept;
}

/* The step's groups: B prompts, and with learner.filter_zero_var (DAPO's
 * dynamic sampling) more rounds drawn to replace groups whose rewards all
 * agree, at most REFILL_ROUNDS times. */
enum { REFILL_ROUNDS = 3 };
static int collect_groups(learner_ctx *L, int64_t step, step_batch *b, const rollout_params *rp,
                          core_error *err) {
    int want = L->cfg->rollout.prompts_per_step;
    b->G = L->cfg->rollout.group_size;
    if (L->cfg->rollout.async) return collect_async(L, step, b, rp, err);
    if (add_round(L, step, b, want, rp, err)) return err->code;
    for (int round = 0; round < REFILL_ROUNDS && L->cfg->learner.filter_zero_var; round++) {
        int missing = want - groups_kept(L, b);
        if (missing <= 0) break;
        if (add_round(L, step, b, missing, rp, err)) return err->code;
    }
    return 0;
}

/* The completions the update learns from: dropped groups and (with
 * learner.filter_overlong) truncated completions are left out. */
static int build_sequences(learner_ctx *L, const step_batch *b, learn_seq *seqs) {
    int n = 0;
    for (int i = 0; i < b->n_prompts; i++) {
        if (L->cfg->learner.filter_zero_var && b->zero_var[i]) continue;
        for (int g = 0; g < b->G; g++) {
            const rollout_completion *c = &b->groups[i].c[g];
            if (L->cfg->learner.filter_overlong && c->finish == MODEL_FINISH_LENGTH) continue;
            if (!b->graded[(size_t)i * b->G + g]) continue; /* the sandbox failed: masked */
            double *adv = &b->adv[(size_t)i * b->G + g];
            seqs[n++] = (learn_seq){b->prompt_ids[i], c->tokens, b->prompt_len[i], c->n_tokens,
                                    c->logprob, *adv, c->reward.total, i, adv};
        }
    }
    return n;
}

/* Decode every completion once: the re-check rate and the episodes log read it. */
static int decode_completions(const tokenizer *tok, step_batch *b, core_error *err) {
    b->completions = calloc((size_t)b->n_prompts * b->G, sizeof *b->completions);
    if (!b->completions) return core_fail(err, CORE_ERUNTIME, "out of memory");
    for (int k = 0; k < b->n_prompts * b->G; k++) {
        b->completions[k] = rollout_completion_text(tok, &b->groups[k / b->G].c[k % b->G]);
        if (!b->completions[k]) return core_fail(err, CORE_ERUNTIME, "out of memory");
    }
    return 0;
}

/* Step metrics from the groups (rollout side) and the update. */
static void fill_metrics(const step_batch *b, const update_stats *u, db_step *s) {
    double sum = 0, sq = 0, correct = 0, fmt = 0, recheck = 0, len = 0, len_max = 0, zv = 0;
    int n = 0;
    for (int i = 0; i < b->n_prompts; i++) {
        zv += b->zero_var[i];
        for (int g = 0; g < b->G; g++) {
            const rollout_completion *c = &b->groups[i].c[g];
            if (c->reward.infra_fail) { /* not graded: counted, and out of the reward figures */
                s->infra_failures++;
                continue;
            }
            sum += c->reward.total;
            sq += c->reward.total * c->reward.total;
            correct += c->reward.correct;
            fmt += c->reward.format_ok;
            len += c->n_tokens;
            if (c->n_tokens > len_max) len_max = c->n_tokens;
            recheck += strstr(b->completions[i * b->G + g], "wait") != NULL;
            n++;
        }
    }
    s->reward_mean = sum / n;
    s->reward_std = sqrt(fmax(0, sq / n - s->reward_mean * s->reward_mean));
    s->accuracy = correct / n;
    s->format_rate = fmt / n;
    s->recheck_rate = recheck / n;
    s->response_len_mean = len / n;
    s->response_len_max = len_max;
    s->zero_var_frac = zv / b->n_prompts;
    s->loss = u->loss;
    s->kl = u->kl;
    s->entropy = u->entropy;
    s->grad_norm = u->grad_norm;
    s->lr = u->lr;
    s->clip_frac_low = u->clip_low;
    s->clip_frac_high = u->clip_high;
    s->clip_frac = u->clip_low + u->clip_high;
    s->skipped = u->skipped > 0;
}

/* How many completions the sandbox failed on, and the first one's reason. */
static void note_infra_failures(learner_ctx *L, const step_batch *b, const db_step *s) {
    L->infra_failures = s->infra_failures;
    L->graded_total = b->n_prompts * b->G;
    L->infra_why[0] = 0;
    for (int k = 0; k < b->n_prompts * b->G && !L->infra_why[0]; k++) {
        const reward_result *r = &b->groups[k / b->G].c[k % b->G].reward;
        if (r->infra_fail > 0 && r->infra_fail <= r->n_parts)
            snprintf(L->infra_why, sizeof L->infra_why, "%s: %s", r->parts[r->infra_fail - 1].name,
                     r->parts[r->infra_fail - 1].detail);
    }
}

/* Every row of the step, in one transaction: all there or absent. */
static int write_step(learner_ctx *L, const step_batch *b, db_step *s, core_error *err) {
    double t0 = core_now();
    if (db_begin(L->db, err)) return err->code;
    int rc = 0;
    for (int i = 0; i < b->n_prompts && !rc; i++)
        rc = learner_log_group(L->db, L->run_id, s->step, &b->items[i], &b->groups[i],
                               b->completions + (size_t)i * b->G, b->adv + (size_t)i * b->G,
                               L->cfg->learner.filter_zero_var && b->zero_var[i],
                               L->cfg->db.log_episodes, err);
    s->t_db = core_now() - t0; /* all but the step row and the commit */
    if (!rc) rc = db_insert_step(L->db, L->run_id, s, err);
    if (rc) {
        db_rollback(L->db);
        return err->code ? err->code : CORE_ERUNTIME;
    }
    return db_commit(L->db, err);
}

/* Evaluate the policy of `step`; checkpoint: the file that holds these
 * weights (the base at step 0, the step's checkpoint when one is written),
 * or "" when none will. */
static int evaluate(learner_ctx *L, int64_t step, const char *checkpoint, eval_result *res,
                    core_error *err) {
    if (eval_run(L->policy, L->reward, L->cfg, tasks_heldout(L->tasks), res, err)) return err->code;
    snprintf(res->checkpoint, sizeof res->checkpoint, "%s", checkpoint);
    int rc = eval_log(L->db, L->run_id, step, "heldout", res, err);
    eval_result_free(res); /* the figures stay for the log line */
    return rc;
}

static void show_progress(core_progress *p, int64_t step, const db_step *s) {
    char metrics[256];
    snprintf(metrics, sizeof metrics,
             "reward %.3f  acc %.3f  format %.3f  len %.1f  kl %.4f  (rollout %.2fs learn %.2fs)",
             s->reward_mean, s->accuracy, s->format_rate, s->response_len_mean, s->kl,
             s->t_collect, s->t_learn);
    core_progress_update(p, step, metrics);
}

static int run_step(learner_ctx *L, int64_t step, db_step *s, core_error *err) {
    step_batch b = {0};
    update_stats u;
    const core_config *cfg = L->cfg;
    rollout_params rp = {(uint64_t)cfg->run.seed, step, cfg->rollout.group_size,
                         {(float)cfg->rollout.temperature, (float)cfg->rollout.top_p,
                          cfg->rollout.top_k, cfg->rollout.max_new_tokens, cfg->rollout.stop},
                         0, L->policy_version};
    db_step_init(s, step);
    if (collect_groups(L, step, &b, &rp, err) || decode_completions(model_tokenizer(L->policy), &b, err))
        return batch_free(&b), err->code;
    learner_whiten_advantages_masked(L->adv, b.adv, b.graded, b.n_prompts * b.G, cfg->learner.adv_eps);
    double t1 = core_now(), t_reward = 0, t_sample = 0;
    long tokens = 0;
    for (int i = 0; i < b.n_prompts; i++)
        for (int g = 0; g < b.G; g++) {
            t_reward += b.groups[i].c[g].t_reward;
            t_sample += b.groups[i].c[g].t_sample;
            tokens += b.groups[i].c[g].n_tokens;
        }
    learn_seq *seqs = malloc(sizeof *seqs * (size_t)b.n_prompts * b.G);
    int rc = learner_update(L, seqs, build_sequences(L, &b, seqs), step, &u, err);
    free(seqs);
    double t2 = core_now();
    if (!rc) {
        L->nonfinite_streak = u.skipped ? L->nonfinite_streak + 1 : 0;
        s->policy_version = L->policy_version; /* the weights this update started from */
        s->lp_mismatch = u.lp_mismatch;
        if (u.n_updates) L->policy_version++;
        fill_metrics(&b, &u, s);
        note_infra_failures(L, &b, s);
        /* with no workers this rank decoded (t_rollout) and graded (t_reward), partly at
         * once (rollout.overlap_grading); t_collect is the wall time of both */
        s->t_rollout = rollout_comm_workers(L->comm) ? b.t_rollout : t_sample;
        s->t_reward = t_reward;
        s->t_collect = b.t_rollout;
        s->t_learn = t2 - t1;
        s->tokens_per_s = tokens / b.t_rollout;
        rc = write_step(L, &b, s, err);
    }
    batch_free(&b);
    return rc;
}

/* ------------------------------------------------------------ the run */

/* The run's own folder, locked for the life of this process. */
static int claim_run_dir(learner_ctx *L, core_error *err) {
    char what[512];
    ckpt_run_dir(L->cfg, L->run_id, L->run_dir, sizeof L->run_dir);
    snprintf(what, sizeof what, "run %lld '%s'", (long long)L->run_id, L->cfg->run.name);
    if (ckpt_make_dir(L->run_dir, err) || ckpt_lock(L->run_dir, what, &L->lock_fd, err)) return err->code;
    return 0;
}

/* --resume with settings that alter the run: refused, or with
 * LEARNER_ALLOW_CHANGED accepted, recorded and made the run's config. */
static int check_resumed_config(learner_ctx *L, const char *config_ini, int flags, core_error *err) {
    char *old = db_run_config(L->db, L->run_id), changes[2048];
    int n = old ? learner_config_changes(old, config_ini, 0, changes, sizeof changes) : 0;
    free(old);
    if (!n) return 0;
    if (!(flags & LEARNER_ALLOW_CHANGED))
        return core_fail(err, CORE_EINPUT,
                         "--resume: run %lld was started with other settings (%s); resume with "
                         "the same ones, or pass --allow-changed to continue under the new ones "
                         "(recorded in run_events)",
                         (long long)L->run_id, changes);
    core_warn("resuming run %lld with changed settings: %s", (long long)L->run_id, changes);
    if (db_run_event(L->db, L->run_id, "config_changed", changes, err) ||
        db_run_set_config(L->db, L->run_id, config_ini, err))
        return err->code;
    return 0;
}

static int open_run(learner_ctx *L, const char *config_ini, int flags, int64_t *first_step,
                    core_error *err) {
    const core_config *cfg = L->cfg;
    if (db_open(&L->db, cfg->db.path, cfg->db.busy_timeout_ms, err)) return err->code;
    db_set_lock_wait(L->db, cfg->db.lock_wait_s);
    *first_step = 1;
    int resume = flags & LEARNER_RESUME;
    int64_t run = resume ? db_run_latest(L->db, cfg->run.name, "train") : 0;
    if (resume && !run)
        return core_fail(err, CORE_EINPUT, "--resume: no train run named '%s' in %s", cfg->run.name,
                         cfg->db.path);
    if (!run) {
        int n_ranks = rollout_comm_workers(L->comm) + rollout_comm_learners(L->comm);
        if (db_run_start(L->db, cfg->run.name, "train", config_ini, cfg->run.seed, n_ranks,
                         &L->run_id, err))
            return err->code;
        return claim_run_dir(L, err);
    }
    L->run_id = run;
    /* the lock first: nothing of the run is touched while another process trains it */
    if (claim_run_dir(L, err) || check_resumed_config(L, config_ini, flags, err) ||
        db_run_finish(L->db, run, "running", err))
        return err->code;
    int64_t ckpt;
    if (load_latest_checkpoint(L, &ckpt, err)) return err->code;
    if (ckpt > 0) {
        L->policy_version = (int)ckpt; /* any value works; it only has to change with the weights */
        *first_step = ckpt + 1;
    }
    core_info("resuming run %lld '%s' at step %lld", (long long)run, cfg->run.name, (long long)*first_step);
    char detail[64];
    snprintf(detail, sizeof detail, "at step %lld", (long long)*first_step);
    if (db_run_event(L->db, run, "resumed", detail, err) ||
        db_truncate_after(L->db, run, *first_step - 1, err))
        return err->code;
    return 0;
}

/* Every prompt of the dataset (of the held-out split: the first `limit`,
 * those eval reads), as the template renders it, must leave room in
 * model.max_seq for a completion: found now, with the file and line, rather
 * than when the item is first drawn at some step of the run. */
static int check_prompts_fit(const learner_ctx *L, const task_set *set, int limit, const char *which,
                             core_error *err) {
    int max_seq = model_get_config(L->policy)->max_seq, n_long = 0, first_len = 0, rc = 0;
    int *ids = malloc(sizeof(int) * (size_t)max_seq);
    char first[300] = "";
    if (!ids) return core_fail(err, CORE_ERUNTIME, "out of memory");
    for (int i = 0; i < set->n && i < limit && !rc; i++) {
        char *text = tasks_render_prompt(L->cfg->tasks.template, set->items[i].question, err);
        if (!text) { rc = err->code; break; }
        int len = rollout_encode_prompt(model_tokenizer(L->policy), text, ids, max_seq);
        free(text);
        if (len >= 1 && len < max_seq) continue;
        if (!n_long++) {
            tasks_item_origin(&set->items[i], first, sizeof first);
            first_len = len;
        }
    }
    free(ids);
    if (rc || !n_long) return rc;
    char len_text[48] = "more than model.max_seq tokens";
    if (first_len >= max_seq) snprintf(len_text, sizeof len_text, "%d tokens", first_len);
    return core_fail(err, CORE_EINPUT,
                     "%s: %d item(s) leave no room for a completion in model.max_seq = %d tokens "
                     "with the template (the first: %s, %s); remove them or raise model.max_seq",
                     which, n_long, max_seq, first, len_text);
}

/* reward.max_infra_fail_rate means nothing without a reward that runs
 * programs; items that carry tests need one (learner_check_reward_fits). */
static int check_reward_fits_tasks(const learner_ctx *L, core_error *err) {
    if (!reward_components_grade_code(L->cfg) &&
        !core_config_is_default(L->cfg, "reward", "max_infra_fail_rate"))
        return core_fail(err, CORE_EINPUT, "reward.max_infra_fail_rate is set, but no component of "
                         "reward.components ('%s') runs programs; add accuracy_code or remove the key",
                         L->cfg->reward.components);
    if (learner_check_reward_fits(L->cfg, tasks_train(L->tasks), err) ||
        learner_check_reward_fits(L->cfg, tasks_heldout(L->tasks), err))
        return err->code;
    return 0;
}

/* [model] keys set in the config must agree with the base model they
 * describe (the checkpoint's shape wins; a disagreement would otherwise be
 * recorded in runs.config as the wrong shape). */
static int check_model_keys(const core_config *cfg, const model_config *mc, core_error *err) {
    const struct { const char *name; int config, file; } keys[] = {
        {"dim", cfg->model.dim, mc->dim},           {"n_layers", cfg->model.n_layers, mc->n_layers},
        {"n_heads", cfg->model.n_heads, mc->n_heads}, {"n_kv_heads", cfg->model.n_kv_heads, mc->n_kv_heads},
        {"ffn_dim", cfg->model.ffn_dim, mc->ffn_dim}, {"vocab", cfg->model.vocab, mc->vocab},
        {"max_seq", cfg->model.max_seq, mc->max_seq}};
    char path[1024];
    if (learner_base_source(cfg, path, sizeof path, err)) return err->code;
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (keys[i].config != keys[i].file && !core_config_is_default(cfg, "model", keys[i].name))
            return core_fail(err, CORE_EINPUT, "model.%s = %d in the config, but the base model %s "
                             "has %d; remove the key or make the two agree",
                             keys[i].name, keys[i].config, path, keys[i].file);
    return 0;
}

/* The config as the run uses it (runs.config): the model's shape as loaded. */
static int resolved_ini(const learner_ctx *L, char **ini, core_error *err) {
    core_config used = *L->cfg;
    const model_config *mc = model_get_config(L->policy);
    used.model.dim = mc->dim, used.model.n_layers = mc->n_layers, used.model.n_heads = mc->n_heads;
    used.model.n_kv_heads = mc->n_kv_heads, used.model.ffn_dim = mc->ffn_dim;
    used.model.vocab = mc->vocab, used.model.max_seq = mc->max_seq;
    *ini = core_config_to_ini(&used);
    return *ini ? 0 : core_fail(err, CORE_ERUNTIME, "out of memory");
}

static int setup_learner(learner_ctx *L, const core_config *cfg, core_error *err) {
    L->cfg = cfg;
    /* the update forwards LEARN_CHUNK sequences at a time; sampling a group needs G */
    L->max_batch = LEARN_CHUNK > cfg->rollout.group_size ? LEARN_CHUNK : cfg->rollout.group_size;
    L->lock_fd = -1;
    if (check_choices(L, err) ||
        learner_load_base(cfg, L->max_batch, &L->policy, err) || learner_load_base(cfg, LEARN_CHUNK, &L->ref, err) ||
        check_model_keys(cfg, model_get_config(L->policy), err) ||
        reward_create(&L->reward, cfg, err) || tasks_open(cfg, &L->tasks, err) ||
        check_prompts_fit(L, tasks_train(L->tasks), INT_MAX, "tasks.train", err) ||
        check_prompts_fit(L, tasks_heldout(L->tasks), cfg->eval.items, "tasks.heldout (the eval.items evaluated)", err) ||
        check_reward_fits_tasks(L, err))
        return err->code;
    return 0;
}

static void teardown_learner(learner_ctx *L) {
    for (int k = 0; L->ahead && k <= learner_staleness(L->cfg); k++) batch_free(&L->ahead[k]);
    free(L->ahead);
    model_free(L->policy);
    model_free(L->ref);
    reward_free(L->reward);
    tasks_close(L->tasks);
    db_close(L->db);
    ckpt_unlock(L->lock_fd);
}

static void log_eval(int64_t step, const eval_result *r) {
    core_info("eval @ step %lld: pass@1 %.3f  pass@%d %.3f  maj@%d %.3f  greedy %.3f  format %.3f  "
              "len %.1f  recheck %.3f  (%.1fs)",
              (long long)step, r->pass1, r->k, r->pass_k, r->k, r->maj_k, r->greedy, r->format_rate,
              r->response_len, r->recheck_rate, r->seconds);
    if (r->infra_failures)
        core_warn("eval @ step %lld: %d completions not graded (first: %s); the figures are over the %d "
                  "items with a verdict", (long long)step, r->infra_failures, r->infra_why, r->scored_items);
}

/* Why a run ended, for runs.status and the screen. */
typedef struct run_end {
    const char *status; /* done | stopped | time_limit */
    int64_t step;       /* the last step done (and checkpointed) */
    char why[160];
    eval_result eval;   /* the held-out figures at that step (eval.items = 0: none) */
} run_end;

/* Stop after this step?  Fills e when so. */
static int should_stop(const learner_ctx *L, int64_t step, double started, run_end *e) {
    const core_config *cfg = L->cfg;
    e->step = step;
    if (step >= cfg->run.steps) {
        e->status = "done";
        snprintf(e->why, sizeof e->why, "all %d steps done", cfg->run.steps);
    } else if (core_stop_signal()) {
        e->status = "stopped";
        snprintf(e->why, sizeof e->why, "stopped by %s", strsignal(core_stop_signal()));
    } else if (cfg->run.max_minutes > 0 && core_now() - started > cfg->run.max_minutes * 60) {
        e->status = "time_limit";
        snprintf(e->why, sizeof e->why, "run.max_minutes (%g) reached", cfg->run.max_minutes);
    } else {
        return 0;
    }
    return 1;
}

static int train_loop(learner_ctx *L, int64_t first_step, run_end *end, core_error *err) {
    const core_config *cfg = L->cfg;
    core_progress progress;
    eval_result ev;
    double started = core_now();
    if (first_step == 1) {
        char base[1024];
        if (learner_base_source(cfg, base, sizeof base, err) || evaluate(L, 0, base, &ev, err)) return err->code;
        log_eval(0, &ev);
    }
    memset(end, 0, sizeof *end);
    *end = (run_end){.status = "done", .step = first_step - 1, .why = "no steps left to run"};
    core_progress_start_at(&progress, "grpo step", first_step - 1, cfg->run.steps, stderr);
    L->launched = first_step - 1;
    L->ahead = calloc(learner_staleness(cfg) + 1, sizeof *L->ahead);
    if (!L->ahead) return core_fail(err, CORE_ERUNTIME, "out of memory");
    for (int64_t step = first_step; step <= cfg->run.steps; step++) {
        db_step s;
        if (run_step(L, step, &s, err)) return err->code;
        show_progress(&progress, step, &s);
        if (L->infra_failures > cfg->reward.max_infra_fail_rate * L->graded_total)
            return core_fail(err, CORE_ERUNTIME, "step %lld: the sandbox failed on %d of %d completions "
                             "(above reward.max_infra_fail_rate = %g; first: %s); stopping",
                             (long long)step, L->infra_failures, L->graded_total,
                             cfg->reward.max_infra_fail_rate, L->infra_why);
        if (L->infra_failures)
            core_warn("step %lld: the sandbox failed on %d of %d completions, masked out (%s)", (long long)step,
                      L->infra_failures, L->graded_total, L->infra_why);
        if (L->nonfinite_streak > cfg->learner.max_nonfinite)
            return core_fail(err, CORE_ERUNTIME, "step %lld: %d non-finite updates in a row; stopping",
                             (long long)step, L->nonfinite_streak);
        if (s.skipped) core_warn("step %lld: non-finite loss or gradient, update skipped", (long long)step);
        int last = should_stop(L, step, started, end);
        int due = cfg->learner.checkpoint_every > 0 && step % cfg->learner.checkpoint_every == 0;
        if ((cfg->eval.every > 0 && step % cfg->eval.every == 0) || last) {
            char ckpt[1200] = "";
            if (due || last) ckpt_step_path(cfg, L->run_dir, "policy", step, ckpt, sizeof ckpt);
            if (evaluate(L, step, ckpt, &ev, err)) return err->code;
            if (progress.is_tty) fputc('\n', stderr);
            log_eval(step, &ev);
            if (last) end->eval = ev;
        }
        if ((due || last) && save_checkpoint(L, step, err)) return err->code;
        if (last) break;
    }
    core_progress_finish(&progress);
    return 0;
}

/* The run's last words: why it ended, where its checkpoint is, how to go on. */
static void report_end(const learner_ctx *L, const run_end *e) {
    const core_config *cfg = L->cfg;
    char path[1200];
    ckpt_step_path(cfg, L->run_dir, "policy", e->step, path, sizeof path);
    core_info("run %lld '%s' %s at step %lld of %d: %s", (long long)L->run_id, cfg->run.name,
              strcmp(e->status, "done") ? "stopped" : "finished", (long long)e->step, cfg->run.steps,
              e->why);
    if (e->eval.items)
        core_info("held-out (%d items): pass@1 %.3f  pass@%d %.3f  maj@%d %.3f  format %.3f",
                  e->eval.items, e->eval.pass1, e->eval.k, e->eval.pass_k, e->eval.k, e->eval.maj_k,
                  e->eval.format_rate);
    if (strcmp(e->status, "done")) core_info("continue it with: grpo train CONFIG --resume");
    if (e->step <= 0) return;
    core_info("checkpoint: %s", path);
    core_info("curves:     grpo report %s --runs %lld --out report.html", cfg->db.path, (long long)L->run_id);
    /* the prompt exactly as training renders it, as a shell $'...' string */
    const task_set *held = tasks_heldout(L->tasks);
    core_error ignored;
    char *prompt = held->n ? tasks_render_prompt(cfg->tasks.template, held->items[0].question, &ignored) : NULL;
    if (!prompt) return;
    char quoted[600];
    size_t q = 0;
    for (const char *c = prompt; *c && q + 4 < sizeof quoted; c++) {
        if (*c == '\n') quoted[q++] = '\\', quoted[q++] = 'n';
        else if (*c == '\'' || *c == '\\') quoted[q++] = '\\', quoted[q++] = *c;
        else quoted[q++] = *c;
    }
    quoted[q] = 0;
    core_info("samples:    grpo sample --checkpoint %s --prompt $'%s' -n 4 --stop '%s'", path, quoted,
              cfg->rollout.stop);
    free(prompt);
}

static int worker_main(const core_config *cfg, rollout_comm *comm, core_error *err) {
    model *m = NULL;
    reward_fn *r = NULL;
    int batch = LEARN_CHUNK > cfg->rollout.group_size ? LEARN_CHUNK : cfg->rollout.group_size;
    int rc = learner_load_base(cfg, batch, &m, err) || reward_create(&r, cfg, err) ||
             rollout_worker_loop(comm, m, r, err);
    model_free(m);
    reward_free(r);
    return rc ? err->code : 0;
}

/* Learners 1..L-1: the same policy and reference as learner 0, then the
 * updates it sends (parallel.c). */
static int follower_main(const core_config *cfg, rollout_comm *comm, core_error *err) {
    learner_ctx L = {.cfg = cfg, .comm = comm, .lock_fd = -1};
    L.max_batch = LEARN_CHUNK > cfg->rollout.group_size ? LEARN_CHUNK : cfg->rollout.group_size;
    int rc = check_choices(&L, err) || learner_load_base(cfg, L.max_batch, &L.policy, err) ||
             learner_load_base(cfg, LEARN_CHUNK, &L.ref, err);
    /* a bad config fails learner 0 too, which reports it and says stop */
    int go = learner_recv_start(&L, rc ? NULL : err);
    if (!rc && go != 0) rc = go < 0 || learner_follow(&L, err);
    model_free(L.policy);
    model_free(L.ref);
    return rc ? err->code : 0;
}

int learner_train(const core_config *cfg, int flags, int *argc,
                  char ***argv, core_error *err) {
    rollout_comm *comm;
    int rank, n_ranks;
    if (rollout_comm_init(&comm, argc, argv, cfg->run.learners, &rank, &n_ranks, err)) return err->code;
    core_log_set_rank(rank, n_ranks);
    if (rank != 0) {
        int learner = rollout_learner_rank(comm) > 0;
        int rc = learner ? follower_main(cfg, comm, err) : worker_main(cfg, comm, err);
        if (rc) { /* learner 0 cannot go on without this rank */
            core_log(CORE_LOG_ERROR, "%s: %s", learner ? "learner" : "rollout worker", err->msg);
            rollout_comm_abort(comm, rc);
        }
        rollout_comm_finalize(comm);
        return 0;
    }
    learner_ctx L = {0};
    L.comm = comm;
    char *ini = NULL;
    int64_t first_step = 1;
    int rc = setup_learner(&L, cfg, err) || resolved_ini(&L, &ini, err) ||
             open_run(&L, ini, flags, &first_step, err);
    learner_send_start(&L, !rc);
    if (rc) rc = err->code;
    else {
        run_end end;
        rc = train_loop(&L, first_step, &end, err);
        core_error ignore;
        db_run_finish(L.db, L.run_id, rc ? "failed" : end.status, &ignore);
        if (!rc && strcmp(end.status, "done")) db_run_event(L.db, L.run_id, end.status, end.why, &ignore);
        if (!rc) report_end(&L, &end);
    }
    free(ini);
    rollout_stop_workers(comm);
    learner_stop_followers(&L);
    teardown_learner(&L);
    if (rollout_comm_broken(comm)) { /* a hung worker never reaches MPI_Finalize */
        core_log(CORE_LOG_ERROR, "%s", err->msg);
        rollout_comm_abort(comm, rc ? rc : 1);
    }
    rollout_comm_finalize(comm);
    return rc;
}
