/*
 * distill.c — `grpo distill`: set-up, the dataset, the loop, evals,
 * checkpoints and resume (see distill.h).
 *
 * Order of work, so that bad input writes nothing: settings checked, the
 * student and teacher loaded (vocab compared), the condition compiled and
 * counted; only then runs are created.  The distill run and its dataset are
 * written in one transaction.  A step's row (and, on-policy, its samples)
 * is one transaction; a checkpoint at step s follows step s's commit, and
 * --resume removes what the run wrote after its newest checkpoint.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "learner/checkpoints.h"
#include "learner/distill_internal.h"
#include "learner/eval.h"
#include "learner/pretrain.h"

/* ---------------------------------------------------------------- set-up */

static int check_settings(const core_config *cfg, enum distill_objective obj, core_error *err) {
    const char *teacher = cfg->distill.teacher, *where = cfg->distill.where;
    int samples = cfg->distill.samples;
    if ((int)obj < 0)
        return core_fail(err, CORE_EINPUT, "distill.objective: unknown '%s' (sft|forward_kl|on_policy)",
                         cfg->distill.objective);
    if (!cfg->db.path[0])
        return core_fail(err, CORE_EINPUT, "db.path: distillation needs a database (the traces and "
                                           "the run live there)");
    if (!teacher[0] && samples > 0)
        return core_fail(err, CORE_EINPUT, "--samples %d: rejection sampling needs --teacher CHECKPOINT",
                         samples);
    if (!teacher[0] && obj != DISTILL_SFT)
        return core_fail(err, CORE_EINPUT, "distill.objective = %s scores tokens with the teacher: "
                                           "give --teacher CHECKPOINT", cfg->distill.objective);
    if (teacher[0] && obj == DISTILL_SFT && samples == 0)
        return core_fail(err, CORE_EINPUT, "--teacher %s: sft on traces from --where does not use a "
                                           "teacher (add --samples N to sample from it, or set "
                                           "distill.objective = forward_kl)", teacher);
    if (samples == 0 && !where[strspn(where, " \t\n")])
        return core_fail(err, CORE_EINPUT, "no traces: give --where \"SQL condition on episodes\" "
                                           "or --teacher CHECKPOINT --samples N");
    return 0;
}

/* The student: the [model] base (model.checkpoint, or pretrain's), as a
 * fresh model so its optimizer starts at zero. */
static int load_student(distill_ctx *D, int max_batch, core_error *err) {
    if (learner_load_base(D->cfg, max_batch, &D->student, err))
        return core_fail_wrap(err, "loading the student");
    return 0;
}

static int load_teacher(distill_ctx *D, int max_batch, core_error *err) {
    const core_config *cfg = D->cfg;
    if (!cfg->distill.teacher[0]) return 0;
    if (model_open(&D->teacher, cfg->distill.teacher, max_batch, cfg->model.max_seq, err))
        return core_fail_wrap(err, "--teacher %s does not load", cfg->distill.teacher);
    if (model_set_device(D->teacher, cfg->model.device, cfg->model.matmul, err)) return err->code;
    int vs = model_get_config(D->student)->vocab, vt = model_get_config(D->teacher)->vocab;
    if (D->obj != DISTILL_SFT && vs != vt)
        return core_fail(err, CORE_EINPUT, "--teacher %s: vocab %d differs from the student's %d; "
                         "distill.objective = %s compares their distributions token by token",
                         cfg->distill.teacher, vt, vs, cfg->distill.objective);
    int ss = model_get_config(D->student)->max_seq, st = model_get_config(D->teacher)->max_seq;
    if (D->obj != DISTILL_SFT && st < ss)
        return core_fail(err, CORE_EINPUT, "--teacher %s: max_seq %d is shorter than the student's %d; "
                         "it could not score whole traces", cfg->distill.teacher, st, ss);
    return 0;
}

static int setup(distill_ctx *D, core_error *err) {
    const core_config *cfg = D->cfg;
    int max_batch = cfg->distill.batch > cfg->eval.k ? cfg->distill.batch : cfg->eval.k;
    int teacher_batch = cfg->distill.samples > max_batch ? cfg->distill.samples : max_batch;
    if (load_student(D, max_batch, err) || load_teacher(D, teacher_batch, err) ||
        reward_create(&D->reward, cfg, err) || tasks_open(cfg, &D->tasks, err) ||
        sft_batch_alloc(&D->bt, cfg->distill.batch, model_get_config(D->student)->max_seq, err))
        return err->code;
    if (D->obj != DISTILL_SFT) {
        size_t n = (size_t)cfg->distill.batch * D->bt.max_seq * model_get_config(D->student)->vocab;
        if (!(D->dlogits = malloc(n * sizeof *D->dlogits)))
            return core_fail(err, CORE_ERUNTIME, "out of memory for the logits' gradient");
    }
    if (db_open(&D->db, cfg->db.path, cfg->db.busy_timeout_ms, err)) return err->code;
    db_set_lock_wait(D->db, cfg->db.lock_wait_s);
    return 0;
}

static void teardown(distill_ctx *D) {
    for (int i = 0; D->prompts && i < D->n_rows; i++) free(D->prompts[i]);
    free(D->prompts);
    free(D->order);
    free(D->batch_rows);
    free(D->dlogits);
    db_distill_rows_free(D->rows, D->n_rows);
    sft_batch_free(&D->bt);
    model_free(D->student);
    model_free(D->teacher);
    reward_free(D->reward);
    tasks_close(D->tasks);
    db_close(D->db);
    if (D->lock_fd >= 0) ckpt_unlock(D->lock_fd);
}

/* ------------------------------------------------------------ the dataset */

/* The condition that selects the traces: the user's, or with rejection
 * sampling the samples run's correct episodes (and the user's). */
static char *selection(const char *where, int64_t samples_run) {
    size_t cap = strlen(where) + 96;
    char *s = malloc(cap);
    if (!s) return NULL;
    if (!samples_run) snprintf(s, cap, "%s", where);
    else if (!where[strspn(where, " \t\n")]) snprintf(s, cap, "run_id = %lld AND correct = 1", (long long)samples_run);
    else snprintf(s, cap, "run_id = %lld AND correct = 1 AND (%s)", (long long)samples_run, where);
    return s;
}

/* A new distill run with its dataset, in one transaction. */
static int create_run(distill_ctx *D, const char *cond, distill_result *out, core_error *err) {
    const core_config *cfg = D->cfg;
    char *ini = core_config_to_ini(cfg);
    int rc = db_begin(D->db, err);
    if (!rc) rc = db_run_start(D->db, cfg->run.name, "distill", ini ? ini : "", cfg->run.seed, 1,
                               &D->run_id, err);
    if (!rc) rc = db_distill_record(D->db, D->run_id, cond, cfg->distill.per_prompt, &out->n_traces, err);
    free(ini);
    if (rc) return db_rollback(D->db), err->code;
    return db_commit(D->db, err);
}

/* Check the condition, sample from the teacher if asked, then the run. */
static int start_run(distill_ctx *D, distill_result *out, core_error *err) {
    const core_config *cfg = D->cfg;
    int64_t n = 0;
    if (cfg->distill.where[strspn(cfg->distill.where, " \t\n")] &&
        db_distill_count(D->db, cfg->distill.where, cfg->distill.per_prompt, &n, err))
        return err->code;
    if (!cfg->distill.samples && n == 0)
        return core_fail(err, CORE_EINPUT, "--where \"%s\": no episode with a completion matches "
                         "(nothing written)", cfg->distill.where);
    if (cfg->distill.samples && distill_sample_teacher(D, &out->samples_run_id, err)) return err->code;
    char *cond = selection(cfg->distill.where, out->samples_run_id);
    if (!cond) return core_fail(err, CORE_ERUNTIME, "out of memory");
    int rc = db_distill_count(D->db, cond, cfg->distill.per_prompt, &n, err);
    if (!rc && n == 0)
        rc = core_fail(err, CORE_EINPUT, "the teacher's samples (run %lld) hold no correct trace%s%s",
                       (long long)out->samples_run_id, cfg->distill.where[0] ? " matching " : "",
                       cfg->distill.where);
    if (!rc) rc = create_run(D, cond, out, err);
    free(cond);
    return rc;
}

static int load_dataset(distill_ctx *D, core_error *err) {
    if (db_distill_rows(D->db, D->run_id, &D->rows, &D->n_rows, err)) return err->code;
    if (D->n_rows == 0) return core_fail(err, CORE_EINPUT, "run %lld has an empty dataset", (long long)D->run_id);
    D->prompts = calloc((size_t)D->n_rows, sizeof *D->prompts);
    D->order = malloc(sizeof *D->order * (size_t)D->n_rows);
    D->batch_rows = malloc(sizeof *D->batch_rows * (size_t)D->cfg->distill.batch);
    D->order_epoch = -1;
    if (!D->prompts || !D->order || !D->batch_rows) return core_fail(err, CORE_ERUNTIME, "out of memory");
    for (int i = 0; i < D->n_rows; i++)
        if (!(D->prompts[i] = tasks_render_prompt(D->cfg->tasks.template, D->rows[i].question, err)))
            return err->code;
    return 0;
}

/* ------------------------------------------------------ checkpoints, resume */

/* The run's folder (learner/checkpoints.h: one per run id), created and
 * locked while this process trains the run. */
static int own_run_dir(distill_ctx *D, core_error *err) {
    char what[600];
    snprintf(what, sizeof what, "run %lld '%s'", (long long)D->run_id, D->cfg->run.name);
    ckpt_run_dir(D->cfg, D->run_id, D->run_dir, sizeof D->run_dir);
    if (ckpt_make_dir(D->run_dir, err) || ckpt_lock(D->run_dir, what, &D->lock_fd, err)) return err->code;
    return 0;
}

static int save_checkpoint(distill_ctx *D, int step, char *path, size_t cap, core_error *err) {
    char sha[65];
    ckpt_step_path(D->cfg, D->run_dir, "distill", step, path, cap);
    if (ckpt_save(D->cfg, D->student, path, sha, err)) return err->code;
    return db_insert_checkpoint(D->db, D->run_id, step, path, sha, err);
}

/* Load the newest of the run's checkpoints that loads (past a corrupt one,
 * saying so); *step its step, 0 when there is none. */
static int load_latest_checkpoint(distill_ctx *D, int *step, core_error *err) {
    db_checkpoint *rows;
    int n, loaded;
    char why[1024];
    *step = 0;
    if (db_checkpoint_list(D->db, D->run_id, &rows, &n, err)) return err->code;
    ckpt_entry *c = calloc((size_t)n + 1, sizeof *c);
    if (!c) return free(rows), core_fail(err, CORE_ERUNTIME, "out of memory");
    for (int i = 0; i < n; i++) {
        c[i] = (ckpt_entry){.step = rows[i].step, .score = NAN};
        snprintf(c[i].path, sizeof c[i].path, "%s", rows[i].path);
    }
    free(rows);
    int rc = ckpt_load_newest(D->student, c, n, &loaded, why, sizeof why, err);
    if (!rc && loaded >= 0) *step = (int)c[loaded].step;
    if (!rc && why[0]) {
        core_warn("resuming from the checkpoint of step %d instead (%s)", *step, why);
        rc = db_run_event(D->db, D->run_id, "checkpoint_fallback", why, err);
    }
    free(c);
    return rc ? (err->code ? err->code : CORE_EINPUT) : 0;
}

/* The run of this name, its newest checkpoint loaded; *start its step. */
static int resume_run(distill_ctx *D, int *start, distill_result *out, core_error *err) {
    const core_config *cfg = D->cfg;
    D->run_id = db_run_latest(D->db, cfg->run.name, "distill");
    if (!D->run_id)
        return core_fail(err, CORE_EINPUT, "--resume: no distill run named '%s' in %s", cfg->run.name,
                         cfg->db.path);
    if (own_run_dir(D, err) || load_latest_checkpoint(D, start, err)) return err->code;
    core_info("resuming distill run %lld '%s' at step %d", (long long)D->run_id, cfg->run.name, *start + 1);
    if (db_truncate_after(D->db, D->run_id, *start > 0 ? *start : -1, err) ||
        db_run_finish(D->db, D->run_id, "running", err) ||
        db_run_event(D->db, D->run_id, "resumed", "", err))
        return err->code;
    out->n_traces = 0;
    return 0;
}

/* ------------------------------------------------------------ the loop */

static volatile sig_atomic_t stop_requested;
static void on_sigint(int sig) {
    (void)sig;
    stop_requested = 1;
}

static int evaluate(distill_ctx *D, int step, core_error *err) {
    eval_result r;
    if (eval_run(D->student, D->reward, D->cfg, tasks_heldout(D->tasks), &r, err)) return err->code;
    int rc = eval_log(D->db, D->run_id, step, "heldout", &r, err);
    eval_result_free(&r);
    if (rc) return rc;
    core_info("distill eval @ step %d: pass@1 %.3f  pass@%d %.3f  maj@%d %.3f  format %.3f  (%.1fs)",
              step, r.pass1, r.k, r.pass_k, r.k, r.maj_k, r.format_rate, r.seconds);
    return 0;
}

/* Step `step` (0-based) and its row, in one transaction. */
static int logged_step(distill_ctx *D, int step, distill_step_stats *st, double t_start,
                       long *tokens, core_error *err) {
    double t0 = core_now();
    if (db_begin(D->db, err)) return err->code;
    int rc = distill_step(D, step, st, err);
    if (!rc) {
        *tokens += st->tokens;
        db_step s;
        db_step_init(&s, step + 1);
        s.loss = st->loss;
        if (D->obj != DISTILL_SFT) s.kl = st->loss;
        s.accuracy = st->accuracy;
        s.grad_norm = st->grad_norm;
        s.lr = st->lr;
        s.t_learn = core_now() - t0;
        s.tokens_per_s = *tokens / (core_now() - t_start + 1e-9);
        rc = db_insert_step(D->db, D->run_id, &s, err);
    }
    if (rc) return db_rollback(D->db), err->code ? err->code : CORE_ERUNTIME;
    return db_commit(D->db, err);
}

static int train_loop(distill_ctx *D, int start, distill_result *out, core_error *err) {
    const core_config *cfg = D->cfg;
    int steps = cfg->distill.steps, step = start, rc = 0;
    double t0 = core_now(), ema = NAN;
    long tokens = 0;
    if (start == 0 && (rc = evaluate(D, 0, err))) return rc;
    core_progress prog;
    if (D->progress) core_progress_start(&prog, "distill step", steps, D->progress);
    while (step < steps && !stop_requested) {
        distill_step_stats st;
        if ((rc = logged_step(D, step, &st, t0, &tokens, err))) break;
        step++;
        if (isnan(out->first_loss)) out->first_loss = st.loss;
        out->last_loss = st.loss;
        ema = isnan(ema) ? st.loss : 0.9 * ema + 0.1 * st.loss;
        int last = step == steps || stop_requested;
        if ((cfg->distill.eval_every && step % cfg->distill.eval_every == 0) || step == steps)
            if ((rc = evaluate(D, step, err))) break;
        int due = cfg->distill.checkpoint_every && step % cfg->distill.checkpoint_every == 0;
        if ((due || last) && (rc = save_checkpoint(D, step, out->checkpoint, sizeof out->checkpoint, err)))
            break;
        if (D->progress) {
            char metrics[160];
            snprintf(metrics, sizeof metrics, "%s %.4f  lr %.2g  tok/s %.0f", cfg->distill.objective,
                     ema, st.lr, tokens / (core_now() - t0 + 1e-9));
            core_progress_update(&prog, step, metrics);
        }
    }
    if (D->progress) core_progress_finish(&prog);
    out->steps_done = step;
    out->seconds = core_now() - t0;
    if (!rc && step == start && !out->checkpoint[0]) /* nothing to train: the student as it is */
        rc = save_checkpoint(D, step, out->checkpoint, sizeof out->checkpoint, err);
    return rc;
}

int distill_run(const core_config *cfg, int resume, FILE *progress, distill_result *out,
                core_error *err) {
    memset(out, 0, sizeof *out);
    out->first_loss = out->last_loss = NAN;
    distill_ctx D = {.cfg = cfg, .progress = progress, .lock_fd = -1};
    D.obj = (enum distill_objective)distill_objective_kind(cfg->distill.objective);
    int start = 0;
    stop_requested = 0;
    signal(SIGINT, on_sigint);
    int rc = check_settings(cfg, D.obj, err) || setup(&D, err) ||
             (resume ? resume_run(&D, &start, out, err)
                     : start_run(&D, out, err) || own_run_dir(&D, err)) ||
             load_dataset(&D, err);
    if (rc) rc = err->code;
    if (!rc) {
        out->run_id = D.run_id;
        out->n_traces = D.n_rows;
        rc = train_loop(&D, start, out, err);
    }
    if (D.db && D.run_id) {
        core_error ignored;
        db_run_finish(D.db, D.run_id, rc ? "failed" : stop_requested ? "stopped" : "done", &ignored);
    }
    teardown(&D);
    signal(SIGINT, SIG_DFL);
    return rc;
}
