/*
 * Evaluation on held-out items: pass@1, pass@k, maj@k, greedy accuracy,
 * format rate, response length and re-check rate (see eval.h).
 *
 * Prompts are decoded in batches of max_batch / k prompts × k samples with
 * model_sample_prompts, then once more greedily; every completion is graded
 * by reward_score, so eval and training agree on what "correct" and
 * "formatted" mean.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learner/eval.h"
#include "learner/internal.h"
#include "learner/pretrain.h"
#include "rollout/rollout.h"

double eval_pass_at_k(int n, int c, int k) {
    if (n <= 0 || k <= 0) return 0.0;
    if (k > n) k = n;
    if (n - c < k) return 1.0;
    /* C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k/i) */
    double fail = 1.0;
    for (int i = n - c + 1; i <= n; i++) fail *= 1.0 - (double)k / i;
    return 1.0 - fail;
}

/* One graded completion.  infra_fail: a reward component could not run
 * (the sandbox failed): no verdict, so it counts neither way. */
typedef struct graded {
    int correct, format_ok, n_tokens, recheck, infra_fail;
    char infra_why[200];  /* the failed component and its reason */
    char answer[128]; /* normalised extracted answer ("" if none) */
} graded;

typedef struct eval_work {
    const tokenizer *tok;  /* the model's */
    int P, k, max_new, max_prompt;
    int *prompt_ids;       /* (P, max_prompt) */
    const int **prompts;   /* P pointers into prompt_ids */
    int *prompt_lens;      /* P */
    model_sample *samples; /* P*k */
    int *tokens;           /* (P*k, max_new) */
    float *logprob;        /* (P*k, max_new) */
    core_rng *rng;         /* P*k */
    graded *grades;        /* P*k */
    char *text;            /* decoded completion */
    size_t text_cap;
} eval_work;

static void work_free(eval_work *w) {
    free(w->prompt_ids); free(w->prompts); free(w->prompt_lens); free(w->samples);
    free(w->tokens); free(w->logprob); free(w->rng); free(w->grades); free(w->text);
    memset(w, 0, sizeof *w);
}

static int work_alloc(eval_work *w, int P, int k, int max_new, int max_prompt, core_error *err) {
    memset(w, 0, sizeof *w);
    size_t R = (size_t)P * (size_t)k;
    w->P = P; w->k = k; w->max_new = max_new; w->max_prompt = max_prompt;
    w->prompt_ids = malloc((size_t)P * (size_t)max_prompt * sizeof *w->prompt_ids);
    w->prompts = malloc((size_t)P * sizeof *w->prompts);
    w->prompt_lens = malloc((size_t)P * sizeof *w->prompt_lens);
    w->samples = calloc(R, sizeof *w->samples);
    w->tokens = malloc(R * (size_t)max_new * sizeof *w->tokens);
    w->logprob = malloc(R * (size_t)max_new * sizeof *w->logprob);
    w->rng = malloc(R * sizeof *w->rng);
    w->grades = malloc(R * sizeof *w->grades);
    w->text_cap = (size_t)max_new * 16 + 1; /* grown by grade_one when a completion needs more */
    w->text = malloc(w->text_cap);
    if (!w->prompt_ids || !w->prompts || !w->prompt_lens || !w->samples || !w->tokens ||
        !w->logprob || !w->rng || !w->grades || !w->text) {
        work_free(w);
        return core_fail(err, CORE_ERUNTIME, "eval: out of memory");
    }
    for (size_t i = 0; i < R; i++) {
        w->samples[i].tokens = w->tokens + i * (size_t)max_new;
        w->samples[i].logprob = w->logprob + i * (size_t)max_new;
    }
    for (int p = 0; p < P; p++) w->prompts[p] = w->prompt_ids + (size_t)p * max_prompt;
    return 0;
}

static int encode_prompts(eval_work *w, const core_config *cfg, const task_set *items, int i0,
                          int n, core_error *err) {
    for (int p = 0; p < n; p++) {
        const task_item *t = &items->items[i0 + p];
        char *prompt = tasks_render_prompt(cfg->tasks.template, t->question, err);
        if (!prompt) return CORE_EINPUT;
        int len = rollout_encode_prompt(w->tok, prompt, (int *)w->prompts[p], w->max_prompt);
        free(prompt);
        if (len < 1)
            return core_fail(err, CORE_EINPUT,
                             "eval: item %s: the prompt does not fit in model.max_seq=%d with "
                             "room to answer", t->id, w->max_prompt);
        w->prompt_lens[p] = len;
    }
    return 0;
}

static void grade_one(eval_work *w, const reward_fn *r, const core_config *cfg,
                      const task_item *t, const model_sample *s, graded *g) {
    size_t len = tokenizer_decode(w->tok, s->tokens, s->n_tokens, 1, w->text, w->text_cap);
    if (len >= w->text_cap) {
        char *bigger = realloc(w->text, len + 1);
        if (bigger) {
            w->text = bigger, w->text_cap = len + 1;
            tokenizer_decode(w->tok, s->tokens, s->n_tokens, 1, w->text, w->text_cap);
        } else len = w->text_cap - 1; /* out of memory: grade the prefix that fits */
    }
    reward_input in = {.response = w->text, .response_len = len, .gold = t->gold,
                       .n_tokens = s->n_tokens, .max_new_tokens = w->max_new,
                       .truncated = s->finish == MODEL_FINISH_LENGTH, .tests = t->tests};
    reward_result res;
    memset(&res, 0, sizeof res);
    reward_score(r, &in, &res);
    g->infra_fail = res.infra_fail != 0;
    if (res.infra_fail > 0 && res.infra_fail <= res.n_parts)
        snprintf(g->infra_why, sizeof g->infra_why, "%s: %s", res.parts[res.infra_fail - 1].name,
                 res.parts[res.infra_fail - 1].detail);
    g->correct = res.correct;
    g->format_ok = res.format_ok;
    g->n_tokens = s->n_tokens;
    g->recheck = strstr(w->text, "wait") != NULL;
    char raw[REWARD_ANSWER_MAX + 1];
    g->answer[0] = 0;
    int n = reward_math_extract(w->text, len, cfg->reward.math_extract, raw, sizeof raw, NULL);
    if (n >= 0 && reward_math_normalize(raw, (size_t)n, g->answer, sizeof g->answer) < 0)
        snprintf(g->answer, sizeof g->answer, "%.*s", (int)sizeof g->answer - 1, raw);
}

/* The majority answer among the k grades that have a verdict (ties: the
 * first to reach the count); returns whether it is correct.  No answer at
 * all counts as wrong. */
static int majority_correct(const graded *g, int k) {
    int best = -1, best_count = 0;
    for (int i = 0; i < k; i++) {
        if (!g[i].answer[0] || g[i].infra_fail) continue;
        int count = 0;
        for (int j = 0; j < k; j++) count += !g[j].infra_fail && !strcmp(g[i].answer, g[j].answer);
        if (count > best_count) { best = i; best_count = count; }
    }
    return best >= 0 && g[best].correct;
}

/* Sums over items; an item counts in the sampled figures when at least one
 * of its samples has a verdict (`scored`), in greedy when its greedy
 * completion has one. */
typedef struct eval_sums {
    double pass1, pass_k, maj, greedy, format, len, recheck;
    long samples, scored, greedy_scored, infra_failures;
} eval_sums;

/* Keep the completion just graded (w->text) as a row of out. */
static int keep_row(eval_result *out, const eval_work *w, int item, int sample, const graded *g,
                    core_error *err) {
    eval_row *row = &out->rows[out->n_rows];
    *row = (eval_row){.item = item, .sample = sample, .completion = strdup(w->text),
                      .correct = g->correct && !g->infra_fail, .format_ok = g->format_ok,
                      .n_tokens = g->n_tokens, .infra_fail = g->infra_fail};
    snprintf(row->answer, sizeof row->answer, "%s", g->answer);
    if (!row->completion) return core_fail(err, CORE_ERUNTIME, "eval: out of memory");
    out->n_rows++;
    return 0;
}

/* Count a completion the rewards could not grade; the first one's reason
 * is kept for the message. */
static void note_infra_failure(eval_result *out, const graded *g, eval_sums *sum) {
    if (!g->infra_fail) return;
    if (!sum->infra_failures++)
        snprintf(out->infra_why, sizeof out->infra_why, "%s", g->infra_why);
}

static int eval_chunk(eval_work *w, model *m, const reward_fn *r, const core_config *cfg,
                      const task_set *items, int i0, int n, eval_sums *sum, eval_result *out,
                      core_error *err) {
    int k = w->k, rc = encode_prompts(w, cfg, items, i0, n, err);
    if (rc) return rc;
    model_sample_params sp = {.temperature = (float)cfg->eval.temperature, .top_p = 1.0f,
                              .top_k = 0, .max_new_tokens = w->max_new,
                              .stop = cfg->rollout.stop};
    for (int p = 0; p < n; p++)
        for (int g = 0; g < k; g++)
            w->rng[p * k + g] = core_rng_stream((uint64_t)cfg->tasks.heldout_seed, CORE_RNG_EVAL,
                                                (uint64_t)(i0 + p), (uint64_t)g);
    rc = model_sample_prompts(m, w->prompts, w->prompt_lens, n, k, &sp, w->rng, w->samples, err);
    if (rc) return rc;
    for (int p = 0; p < n; p++) {
        graded *g = &w->grades[p * k];
        int c = 0, n_graded = 0;
        for (int j = 0; j < k; j++) {
            grade_one(w, r, cfg, &items->items[i0 + p], &w->samples[p * k + j], &g[j]);
            if ((rc = keep_row(out, w, i0 + p, j, &g[j], err))) return rc;
            note_infra_failure(out, &g[j], sum);
            n_graded += !g[j].infra_fail;
            c += g[j].correct && !g[j].infra_fail;
            sum->format += g[j].format_ok;
            sum->len += g[j].n_tokens;
            sum->recheck += g[j].recheck;
        }
        sum->samples += k;
        if (!n_graded) continue;
        sum->scored++;
        sum->pass1 += (double)c / n_graded;
        sum->pass_k += eval_pass_at_k(n_graded, c, k);
        sum->maj += majority_correct(g, k);
    }
    /* Greedy: one row per prompt; the rng is not drawn at temperature 0. */
    sp.temperature = 0.0f;
    rc = model_sample_prompts(m, w->prompts, w->prompt_lens, n, 1, &sp, w->rng, w->samples, err);
    for (int p = 0; !rc && p < n; p++) {
        graded g;
        grade_one(w, r, cfg, &items->items[i0 + p], &w->samples[p], &g);
        rc = keep_row(out, w, i0 + p, -1, &g, err);
        note_infra_failure(out, &g, sum);
        sum->greedy_scored += !g.infra_fail;
        sum->greedy += g.correct && !g.infra_fail;
    }
    return rc;
}

/* Room for every row, and copies of the items (they may belong to a task
 * source eval_run closes). */
static int alloc_rows(eval_result *out, const task_set *items, int n_items, int k, core_error *err) {
    out->rows = calloc((size_t)n_items * (size_t)(k + 1), sizeof *out->rows);
    out->evaluated = calloc((size_t)n_items, sizeof *out->evaluated);
    if (!out->rows || !out->evaluated) return core_fail(err, CORE_ERUNTIME, "eval: out of memory");
    for (int i = 0; i < n_items; i++)
        if (task_item_copy(&out->evaluated[i], &items->items[i], err)) return err->code;
    out->items = n_items;
    return 0;
}

void eval_result_free(eval_result *res) {
    for (int i = 0; i < res->n_rows; i++) free(res->rows[i].completion);
    for (int i = 0; res->evaluated && i < res->items; i++) task_item_free(&res->evaluated[i]);
    free(res->rows);
    free(res->evaluated);
    res->rows = NULL;
    res->evaluated = NULL;
    res->n_rows = 0;
}

int learner_check_reward_fits(const core_config *cfg, const task_set *items, core_error *err) {
    if (reward_components_grade_code(cfg)) return 0;
    for (int i = 0; i < items->n; i++)
        if (items->items[i].kind == TASK_CODE) {
            char where[300];
            tasks_item_origin(&items->items[i], where, sizeof where);
            return core_fail(err, CORE_EINPUT, "reward.components: '%s' grades no code, but the items "
                             "carry tests (the first: %s); add accuracy_code", cfg->reward.components, where);
        }
    return 0;
}

int eval_run(model *m, const reward_fn *r, const core_config *cfg, const task_set *items,
             eval_result *out, core_error *err) {
    memset(out, 0, sizeof *out);
    double t0 = core_now();
    int k = cfg->eval.k, max_batch = model_max_batch(m), max_seq = model_get_config(m)->max_seq;
    if (k > max_batch)
        return core_fail(err, CORE_EINPUT, "eval.k: %d samples do not fit the model's batch of %d",
                         k, max_batch);
    task_source *ts = NULL;
    if (!items) {
        int rc = tasks_open(cfg, &ts, err);
        if (rc) return rc;
        items = tasks_heldout(ts);
    }
    int n_items = cfg->eval.items < items->n ? cfg->eval.items : items->n;
    if (learner_check_reward_fits(cfg, items, err)) return tasks_close(ts), err->code;
    int P = max_batch / k, max_new = cfg->rollout.max_new_tokens;
    if (max_new > max_seq - 1) max_new = max_seq - 1;
    eval_work w;
    eval_sums sum = {0};
    int rc = n_items > 0 ? work_alloc(&w, P, k, max_new, max_seq - 1, err)
                         : core_fail(err, CORE_EINPUT, "eval: no held-out items to evaluate");
    w.tok = model_tokenizer(m);
    if (!rc) rc = alloc_rows(out, items, n_items, k, err);
    for (int i0 = 0; !rc && i0 < n_items; i0 += P)
        rc = eval_chunk(&w, m, r, cfg, items, i0, n_items - i0 < P ? n_items - i0 : P, &sum, out, err);
    if (n_items > 0) work_free(&w);
    tasks_close(ts);
    if (rc) return eval_result_free(out), rc;
    if (!sum.scored) {
        rc = core_fail(err, CORE_ERUNTIME, "eval: no held-out item could be graded (%ld sandbox "
                       "failures; first: %s)", sum.infra_failures, out->infra_why);
        return eval_result_free(out), rc;
    }
    out->items = n_items;
    out->k = k;
    out->infra_failures = (int)sum.infra_failures;
    out->scored_items = (int)sum.scored;
    out->pass1 = sum.pass1 / sum.scored;
    out->pass_k = sum.pass_k / sum.scored;
    out->maj_k = sum.maj / sum.scored;
    out->greedy = sum.greedy_scored ? sum.greedy / sum.greedy_scored : NAN;
    out->format_rate = sum.format / (double)sum.samples;
    out->response_len = sum.len / (double)sum.samples;
    out->recheck_rate = sum.recheck / (double)sum.samples;
    out->seconds = core_now() - t0;
    return 0;
}

int eval_log(db *d, int64_t run_id, int64_t step, const char *split, const eval_result *res,
             core_error *err) {
    char pass_k[32], maj_k[32];
    snprintf(pass_k, sizeof pass_k, "pass@%d", res->k);
    snprintf(maj_k, sizeof maj_k, "maj@%d", res->k);
    const struct { const char *name; double value; } rows[] = {
        {"pass@1", res->pass1},          {pass_k, res->pass_k},
        {maj_k, res->maj_k},             {"greedy", res->greedy},
        {"format", res->format_rate},    {"response_len", res->response_len},
        {"recheck", res->recheck_rate},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int rc = db_insert_eval(d, run_id, step, split, rows[i].name, rows[i].value, err);
        if (rc) return rc;
    }
    if (res->infra_failures && /* only when some went ungraded: an anomaly, not a figure of every eval */
        db_insert_eval(d, run_id, step, split, "infra_failures", res->infra_failures, err))
        return err->code;
    if (db_insert_eval_run(d, run_id, step, split, res->checkpoint, res->items, res->k, err))
        return err->code;
    int64_t prompt_id = 0;
    for (int i = 0; i < res->n_rows; i++) {
        const eval_row *row = &res->rows[i];
        const task_item *t = &res->evaluated[row->item];
        if ((i == 0 || row->item != res->rows[i - 1].item) &&
            db_prompt_id(d, t->gen, t->question, t->gold, t->tests, &prompt_id, err))
            return err->code;
        db_eval_sample e = {prompt_id, row->sample, row->completion, row->answer, row->correct,
                            row->format_ok, row->n_tokens, row->infra_fail};
        if (db_insert_eval_sample(d, run_id, step, split, &e, err)) return err->code;
    }
    return 0;
}

int eval_log_run(const core_config *cfg, int64_t step, const eval_result *res, core_error *err) {
    db *d;
    int64_t run_id;
    int rc = db_open(&d, cfg->db.path, cfg->db.busy_timeout_ms, err);
    if (rc) return rc;
    db_set_lock_wait(d, cfg->db.lock_wait_s);
    char *ini = core_config_to_ini(cfg);
    rc = db_run_start(d, cfg->run.name, "eval", ini ? ini : "", cfg->run.seed, 1, &run_id, err);
    free(ini);
    if (!rc) rc = eval_log(d, run_id, step, "heldout", res, err);
    if (!rc) rc = db_run_finish(d, run_id, "done", err);
    db_close(d);
    return rc;
}

void eval_print_json(FILE *out, const eval_result *res) {
    fprintf(out,
            "{\"items\": %d, \"k\": %d, \"pass@1\": %.4f, \"pass@%d\": %.4f, \"maj@%d\": %.4f, "
            "\"greedy\": %.4f, \"format\": %.4f, \"response_len\": %.2f, \"recheck\": %.4f, "
            "\"infra_failures\": %d, \"scored_items\": %d, \"seconds\": %.2f}\n",
            res->items, res->k, res->pass1, res->k, res->pass_k, res->k, res->maj_k, res->greedy,
            res->format_rate, res->response_len, res->recheck_rate, res->infra_failures,
            res->scored_items, res->seconds);
}

void eval_print_table(FILE *out, const eval_result *res) {
    fprintf(out, "held-out items  %d, %d samples each (%.1f s)\n", res->items, res->k,
            res->seconds);
    fprintf(out, "pass@1          %.3f\n", res->pass1);
    fprintf(out, "pass@%-10d %.3f\n", res->k, res->pass_k);
    fprintf(out, "maj@%-11d %.3f\n", res->k, res->maj_k);
    fprintf(out, "greedy          %.3f\n", res->greedy);
    fprintf(out, "format          %.3f\n", res->format_rate);
    fprintf(out, "response_len    %.1f tokens\n", res->response_len);
    fprintf(out, "recheck         %.3f\n", res->recheck_rate);
    if (res->infra_failures)
        fprintf(out, "not graded      %d completions (the sandbox failed: %s); pass@ and maj@ are "
                "over the %d items with a verdict\n", res->infra_failures, res->infra_why, res->scored_items);
}
