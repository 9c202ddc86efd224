/*
 * distill_teacher.c — rejection sampling for `grpo distill --teacher
 * --samples N` (R1's rejection-sampling SFT data): the teacher answers
 * distill.prompts training prompts N times each through the rollout path
 * (rollout_generate_groups, the configured sampler and reward), and every
 * sample is written as an episode of a run of kind 'samples', correct or
 * not, so the data and its rejection rate stay queryable.  The distill run
 * then selects the correct ones.
 *
 * Prompt i is tasks_draw(step 0, index i): training-split items, the same
 * for any seed-equal run.  Sampling streams are keyed by (run.seed, step 0,
 * prompt, sample) as in train.
 */
#include <stdlib.h>
#include <string.h>

#include "learner/distill_internal.h"

enum { TEACHER_CHUNK = 16 }; /* prompts per transaction */

typedef struct chunk {
    int n, G;
    task_item items[TEACHER_CHUNK];
    char *texts[TEACHER_CHUNK];
    rollout_prompt prompts[TEACHER_CHUNK];
    rollout_group groups[TEACHER_CHUNK];
    char **completions; /* n * G */
} chunk;

static void chunk_free(chunk *c) {
    for (int i = 0; i < c->n; i++) {
        task_item_free(&c->items[i]);
        free(c->texts[i]);
        rollout_group_free(&c->groups[i]);
    }
    for (int k = 0; c->completions && k < c->n * c->G; k++) free(c->completions[k]);
    free(c->completions);
    memset(c, 0, sizeof *c);
}

/* Draw, render, sample and grade prompts first..first+count-1. */
static int chunk_sample(distill_ctx *D, int first, int count, chunk *c, core_error *err) {
    const core_config *cfg = D->cfg;
    c->G = cfg->distill.samples;
    for (int i = 0; i < count; i++) {
        memset(&c->items[i], 0, sizeof c->items[i]);
        c->texts[i] = NULL;
        memset(&c->groups[i], 0, sizeof c->groups[i]);
        c->n = i + 1;
        if (tasks_draw(D->tasks, 0, first + i, &c->items[i], err)) return err->code;
        c->texts[i] = tasks_render_prompt(cfg->tasks.template, c->items[i].question, err);
        if (!c->texts[i]) return err->code;
        c->prompts[i] = (rollout_prompt){first + i, c->texts[i], c->items[i].gold, c->items[i].tests};
    }
    rollout_params rp = {(uint64_t)cfg->run.seed, 0, c->G, distill_sample_params(cfg), 0, 0};
    if (rollout_generate_groups(D->teacher, D->reward, c->prompts, count, &rp, c->groups, err)) {
        memset(c->groups, 0, sizeof c->groups); /* freed by rollout on failure */
        return err->code;
    }
    c->completions = calloc((size_t)count * c->G, sizeof *c->completions);
    if (!c->completions) return core_fail(err, CORE_ERUNTIME, "out of memory");
    for (int k = 0; k < count * c->G; k++)
        if (!(c->completions[k] = rollout_completion_text(model_tokenizer(D->teacher),
                                                          &c->groups[k / c->G].c[k % c->G])))
            return core_fail(err, CORE_ERUNTIME, "out of memory");
    return 0;
}

static int chunk_write(distill_ctx *D, int64_t run_id, const chunk *c, long *correct,
                       core_error *err) {
    if (db_begin(D->db, err)) return err->code;
    int rc = 0;
    for (int i = 0; i < c->n && !rc; i++) {
        rc = learner_log_group(D->db, run_id, 0, &c->items[i], &c->groups[i],
                               c->completions + (size_t)i * c->G, NULL, 0, 1, err);
        for (int g = 0; g < c->G; g++) *correct += c->groups[i].c[g].reward.correct;
    }
    if (rc) return db_rollback(D->db), rc;
    return db_commit(D->db, err);
}

int distill_sample_teacher(distill_ctx *D, int64_t *samples_run, core_error *err) {
    const core_config *cfg = D->cfg;
    core_config tc = *cfg; /* the samples run records the teacher as its model */
    snprintf(tc.model.checkpoint, sizeof tc.model.checkpoint, "%s", cfg->distill.teacher);
    char name[600], *ini = core_config_to_ini(&tc);
    snprintf(name, sizeof name, "%s-teacher", cfg->run.name);
    int rc = db_run_start(D->db, name, "samples", ini ? ini : "", cfg->run.seed, 1, samples_run, err);
    free(ini);
    if (rc) return rc;
    int n = cfg->distill.prompts;
    long correct = 0;
    core_progress prog;
    if (D->progress) core_progress_start(&prog, "teacher samples", n, D->progress);
    for (int first = 0; first < n && !rc; first += TEACHER_CHUNK) {
        chunk c = {0};
        int count = n - first < TEACHER_CHUNK ? n - first : TEACHER_CHUNK;
        rc = chunk_sample(D, first, count, &c, err) || chunk_write(D, *samples_run, &c, &correct, err);
        chunk_free(&c);
        if (!rc && D->progress) {
            char metrics[96];
            snprintf(metrics, sizeof metrics, "correct %.3f",
                     correct / (double)((first + count) * (long)cfg->distill.samples));
            core_progress_update(&prog, first + count, metrics);
        }
    }
    if (D->progress) core_progress_finish(&prog);
    core_error ignored;
    db_run_finish(D->db, *samples_run, rc ? "failed" : "done", &ignored);
    if (rc) return err->code ? err->code : CORE_ERUNTIME;
    core_info("teacher: %ld of %ld samples correct (run %lld '%s', kind 'samples')", correct,
              (long)n * cfg->distill.samples, (long long)*samples_run, name);
    return 0;
}
