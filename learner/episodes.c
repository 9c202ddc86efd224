/*
 * episodes.c — a graded group as database rows, written the same way by
 * every command that samples from a policy (train's steps, distill's
 * teacher samples and on-policy student samples).
 */
#include <math.h>

#include "learner/internal.h"

/* Every test an item carries gets its sandbox_runs row. */
_Static_assert(TASKS_MAX_TESTS <= REWARD_CODE_MAX_TESTS, "an item may carry more tests than the code reward runs");

static int log_completion(db *d, const db_episode *e, const rollout_completion *c,
                          core_error *err) {
    int64_t episode_id;
    int rc = db_insert_episode(d, e, &episode_id, err);
    for (int p = 0; p < c->reward.n_parts && !rc; p++)
        rc = db_insert_reward_part(d, episode_id, c->reward.parts[p].name, c->reward.parts[p].value,
                                   c->reward.parts[p].detail, err);
    for (int t = 0; t < c->n_code_runs && !rc; t++) {
        const reward_code_run *cr = &c->code_runs[t];
        db_sandbox_run row = {cr->test, cr->exit_code, cr->signal, cr->verdict, cr->output,
                              cr->cpu_ms, cr->wall_ms, cr->rss_kb, cr->message[0] ? cr->message : NULL};
        rc = db_insert_sandbox_run(d, episode_id, &row, err);
    }
    return rc;
}

int learner_log_group(db *d, int64_t run_id, int64_t step, const task_item *item,
                      const rollout_group *grp, char *const *texts, const double *adv,
                      int filtered, int log_text, core_error *err) {
    int G = grp->G;
    double mean = 0, sq = 0;
    for (int g = 0; g < G; g++) {
        mean += grp->c[g].reward.total / G;
        sq += grp->c[g].reward.total * grp->c[g].reward.total / G;
    }
    int64_t prompt_id, group_id;
    int rc = db_prompt_id(d, item->gen, item->question, item->gold, item->tests, &prompt_id, err) ||
             db_insert_group(d, run_id, step, prompt_id, mean, sqrt(fmax(0, sq - mean * mean)),
                             filtered, &group_id, err);
    for (int g = 0; g < G && !rc; g++) {
        const rollout_completion *c = &grp->c[g];
        double lp = 0;
        for (int t = 0; t < c->n_tokens; t++) lp += c->logprob[t];
        db_episode e = {run_id, step, group_id, prompt_id, g, grp->worker, grp->policy_version,
                        c->n_tokens, log_text ? texts[g] : NULL, model_finish_name(c->finish),
                        c->reward.total, adv && !c->reward.infra_fail ? adv[g] : NAN,
                        c->n_tokens ? lp / c->n_tokens : NAN, c->t_sample, c->t_reward, c->reward.correct,
                        c->reward.format_ok, c->reward.infra_fail != 0};
        rc = log_completion(d, &e, c, err);
    }
    return rc ? (err->code ? err->code : CORE_ERUNTIME) : 0;
}
