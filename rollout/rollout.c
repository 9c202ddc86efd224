/*
 * rollout.c — one group: sample G completions of a prompt and grade them;
 * pack a group into one buffer for MPI and validate it on the way back.
 *
 * Grading overlaps sampling (rollout.overlap_grading): the prompts of a
 * call are decoded in batches of max_batch / G, and while batch k+1
 * decodes, a grader thread runs batch k's programs in the sandbox.  What a
 * completion is and how it is graded do not depend on when it is graded,
 * so the groups are bitwise the same either way; only the times differ.
 * A batch's completions are graded sandbox.workers at a time.
 */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rollout/rollout.h"

void rollout_group_free(rollout_group *g) {
    if (!g) return;
    for (int i = 0; g->c && i < g->G; i++) free(g->c[i].code_runs);
    free(g->c);
    free(g->token_store);
    free(g->logprob_store);
    memset(g, 0, sizeof *g);
}

int rollout_encode_prompt(const tokenizer *tok, const char *text, int *ids, int max_ids) {
    return tokenizer_encode(tok, text, strlen(text), ids, max_ids);
}

char *rollout_completion_text(const tokenizer *tok, const rollout_completion *c) {
    size_t need = tokenizer_decode(tok, c->tokens, c->n_tokens, 1, NULL, 0);
    char *text = malloc(need + 1);
    if (text) tokenizer_decode(tok, c->tokens, c->n_tokens, 1, text, need + 1);
    return text;
}

/* Room for G completions of up to max_new tokens each. */
static int group_alloc(rollout_group *g, int G, int max_new, core_error *err) {
    memset(g, 0, sizeof *g);
    g->G = G;
    g->c = calloc(G, sizeof *g->c);
    g->token_store = malloc(sizeof(int) * (size_t)G * (max_new > 0 ? max_new : 1));
    g->logprob_store = malloc(sizeof(float) * (size_t)G * (max_new > 0 ? max_new : 1));
    if (!g->c || !g->token_store || !g->logprob_store) {
        rollout_group_free(g);
        return core_fail(err, CORE_ERUNTIME, "out of memory for a group of %d", G);
    }
    for (int i = 0; i < G; i++) {
        g->c[i].tokens = g->token_store + (size_t)i * max_new;
        g->c[i].logprob = g->logprob_store + (size_t)i * max_new;
    }
    return 0;
}

/* Keep the code reward's per-test rows (the sandbox_runs of c). */
static int keep_code_runs(rollout_completion *c, const reward_runs_out *out) {
    c->n_code_runs = 0;
    if (out->n <= 0) return 0;
    c->code_runs = malloc(sizeof *c->code_runs * (size_t)out->n);
    if (!c->code_runs) return CORE_ERUNTIME;
    memcpy(c->code_runs, out->rows, sizeof *c->code_runs * (size_t)out->n);
    c->n_code_runs = out->n;
    return 0;
}

static int grade_completion(const tokenizer *tok, const reward_fn *r, const rollout_prompt *p,
                            const rollout_params *rp, rollout_completion *c) {
    double t0 = core_now();
    char *text = rollout_completion_text(tok, c);
    if (!text) return CORE_ERUNTIME;
    size_t need = strlen(text);
    reward_input in = {.response = text, .response_len = need, .gold = p->gold,
                       .n_tokens = c->n_tokens, .max_new_tokens = rp->sample.max_new_tokens,
                       .truncated = c->finish == MODEL_FINISH_LENGTH, .tests = p->tests};
    reward_code_run rows[REWARD_CODE_MAX_TESTS];
    reward_runs_out runs = {rows, REWARD_CODE_MAX_TESTS, 0};
    in.runs_out = &runs;
    int rc = reward_score(r, &in, &c->reward);
    free(text);
    /* The sandbox failed: no verdict on this completion.  It stays in its
     * group, marked (reward.infra_fail), for the learner to leave out. */
    if (rc == CORE_ERUNTIME && c->reward.infra_fail) rc = 0;
    if (!rc) rc = keep_code_runs(c, &runs);
    c->t_reward = core_now() - t0;
    return rc;
}

#define MAX_GRADERS 64

/* A decoded batch of P groups, to be graded (on the grader thread or here). */
typedef struct grade_job {
    const tokenizer *tok;
    const reward_fn *r;
    const rollout_prompt *p;
    const rollout_params *rp;
    rollout_group *out;
    int P, rc;
    core_error err;
    atomic_int next;     /* the next completion to grade, k = p * G + g */
    atomic_int failed;   /* the lowest k whose grading failed, or INT_MAX */
} grade_job;

/* One grader: takes completions in turn until none are left. */
static void *grade_some(void *arg) {
    grade_job *j = arg;
    int G = j->rp->G;
    for (int k; (k = atomic_fetch_add(&j->next, 1)) < j->P * G;) {
        if (grade_completion(j->tok, j->r, &j->p[k / G], j->rp, &j->out[k / G].c[k % G]) == 0) continue;
        for (int f = atomic_load(&j->failed); k < f && !atomic_compare_exchange_weak(&j->failed, &f, k);) {}
    }
    return NULL;
}

/* Grade a batch's completions, sandbox.workers at a time (each grading is
 * independent, and its result does not depend on the order). */
static void *grade_batch(void *arg) {
    grade_job *j = arg;
    int workers = reward_config(j->r)->sandbox.workers, G = j->rp->G;
    if (workers <= 0) workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (workers > j->P * G) workers = j->P * G;
    if (workers > MAX_GRADERS) workers = MAX_GRADERS;
    atomic_init(&j->next, 0);
    atomic_init(&j->failed, INT_MAX);
    pthread_t t[MAX_GRADERS];
    int started = 0;
    for (int i = 1; i < workers; i++) /* this thread is grader 0 */
        if (pthread_create(&t[started], NULL, grade_some, j) == 0) started++;
    grade_some(j);
    for (int i = 0; i < started; i++) pthread_join(t[i], NULL);
    int k = atomic_load(&j->failed);
    if (k != INT_MAX) {
        const rollout_completion *c = &j->out[k / G].c[k % G];
        j->rc = core_fail(&j->err, CORE_ERUNTIME, "prompt %d sample %d: reward failed: %s", j->p[k / G].index,
                          k % G, c->reward.n_parts ? c->reward.parts[c->reward.n_parts - 1].detail : "?");
    }
    return NULL;
}

/* P prompts' groups decoded as one batch of P*G rows (P*G <= max_batch);
 * not graded yet. */
static int decode_batch(model *m, const rollout_prompt *p, int P, const rollout_params *rp, rollout_group *out,
                        core_error *err) {
    int max_seq = model_get_config(m)->max_seq, G = rp->G, rc = 0;
    int *ids = malloc(sizeof(int) * (size_t)P * max_seq), *lens = malloc(sizeof(int) * P);
    const int **prompt_ids = malloc(sizeof(int *) * P);
    core_rng *rngs = malloc(sizeof(core_rng) * P * G);
    model_sample *samples = malloc(sizeof(model_sample) * P * G);
    memset(out, 0, sizeof *out * P);
    if (!ids || !lens || !prompt_ids || !rngs || !samples)
        rc = core_fail(err, CORE_ERUNTIME, "out of memory");
    for (int i = 0; i < P && !rc; i++) {
        prompt_ids[i] = ids + (size_t)i * max_seq;
        lens[i] = rollout_encode_prompt(model_tokenizer(m), p[i].text, ids + (size_t)i * max_seq, max_seq);
        if (lens[i] < 1 || lens[i] >= max_seq)
            rc = core_fail(err, CORE_EINPUT, "prompt %d does not fit in model.max_seq = %d tokens",
                           p[i].index, max_seq);
        else if (!(rc = group_alloc(&out[i], G, rp->sample.max_new_tokens, err))) {
            out[i].prompt_index = p[i].index;
            out[i].worker = rp->worker;
            out[i].policy_version = rp->policy_version;
        }
        for (int g = 0; g < G && !rc; g++) {
            /* keyed by (step, prompt, sample): the same on any rank and in any batch */
            rngs[i * G + g] = core_rng_stream(rp->seed, CORE_RNG_SAMPLE, (uint64_t)rp->step,
                                              (uint64_t)p[i].index * 65536u + (uint64_t)g);
            samples[i * G + g] = (model_sample){0, out[i].c[g].tokens, out[i].c[g].logprob, 0};
        }
    }
    double t0 = core_now();
    if (!rc) rc = model_sample_prompts(m, prompt_ids, lens, P, G, &rp->sample, rngs, samples, err);
    double t_sample = (core_now() - t0) / (P * G);
    for (int k = 0; k < P * G && !rc; k++) {
        rollout_completion *c = &out[k / G].c[k % G];
        c->n_tokens = samples[k].n_tokens;
        c->finish = samples[k].finish;
        c->t_sample = t_sample;
    }
    free(ids), free(lens), free(prompt_ids), free(rngs), free(samples);
    if (rc)
        for (int i = 0; i < P; i++) rollout_group_free(&out[i]);
    return rc;
}

/* Wait for the grader thread, if one runs; its failure becomes ours. */
static int finish_grading(pthread_t *t, int *running, grade_job *j, core_error *err) {
    if (*running) pthread_join(*t, NULL);
    *running = 0;
    if (j->rc) *err = j->err;
    return j->rc;
}

int rollout_generate_groups(model *m, const reward_fn *r, const rollout_prompt *prompts, int n,
                            const rollout_params *rp, rollout_group *groups, core_error *err) {
    int per_batch = model_max_batch(m) / rp->G, overlap = reward_config(r)->rollout.overlap_grading;
    if (per_batch < 1) per_batch = 1;
    grade_job job = {0};
    pthread_t grader;
    int running = 0, decoded = 0, rc = 0;
    for (int start = 0; start < n && !rc; start += per_batch) {
        int P = n - start < per_batch ? n - start : per_batch;
        rc = decode_batch(m, prompts + start, P, rp, groups + start, err); /* batch k-1 is graded meanwhile */
        if (!rc) decoded = start + P;
        if (finish_grading(&grader, &running, &job, err) || rc) {
            rc = rc ? rc : err->code;
            break;
        }
        job = (grade_job){.tok = model_tokenizer(m), .r = r, .p = prompts + start, .rp = rp,
                          .out = groups + start, .P = P};
        if (overlap && decoded < n && pthread_create(&grader, NULL, grade_batch, &job) == 0) running = 1;
        else grade_batch(&job); /* the last batch (nothing left to overlap), or overlap off */
        if (!running && job.rc) rc = finish_grading(&grader, &running, &job, err);
    }
    if (!rc) rc = finish_grading(&grader, &running, &job, err);
    else if (running) pthread_join(grader, NULL);
    if (rc)
        for (int i = 0; i < decoded; i++) rollout_group_free(&groups[i]);
    return rc;
}

/* ------------------------------------------------------------- packing */

/* Fixed-size records; the variable parts (tokens, log-probs) follow in order. */
typedef struct pack_header {
    uint32_t magic, version, header_size, completion_size;
    int32_t prompt_index, G, worker, policy_version;
    uint64_t total_tokens, total_code_runs, total_size;
} pack_header;

typedef struct pack_completion {
    int32_t n_tokens, finish, format_ok, correct, infra_fail, n_parts, n_code_runs;
    double total, t_sample, t_reward;
    reward_part parts[REWARD_MAX_PARTS];
} pack_completion;

static uint64_t packed_size(int G, uint64_t tokens, uint64_t code_runs) {
    return sizeof(pack_header) + sizeof(pack_completion) * (uint64_t)G +
           tokens * (sizeof(int32_t) + sizeof(float)) + code_runs * sizeof(reward_code_run);
}

int rollout_pack(const rollout_group *g, void **buf, size_t *len, core_error *err) {
    uint64_t total_tokens = 0, total_runs = 0;
    for (int i = 0; i < g->G; i++) {
        total_tokens += g->c[i].n_tokens;
        total_runs += g->c[i].n_code_runs;
    }
    size_t size = packed_size(g->G, total_tokens, total_runs);
    char *p = calloc(1, size);
    if (!p) return core_fail(err, CORE_ERUNTIME, "out of memory packing a group");
    pack_header h = {ROLLOUT_MAGIC, ROLLOUT_VERSION, sizeof(pack_header), sizeof(pack_completion),
                     g->prompt_index, g->G, g->worker, g->policy_version, total_tokens, total_runs, size};
    memcpy(p, &h, sizeof h);
    pack_completion *pc = (pack_completion *)(p + sizeof h);
    char *data = (char *)(pc + g->G);
    for (int i = 0; i < g->G; i++) {
        const rollout_completion *c = &g->c[i];
        pc[i] = (pack_completion){.n_tokens = c->n_tokens, .finish = c->finish,
                                  .format_ok = c->reward.format_ok, .correct = c->reward.correct,
                                  .infra_fail = c->reward.infra_fail,
                                  .n_parts = c->reward.n_parts, .n_code_runs = c->n_code_runs,
                                  .total = c->reward.total,
                                  .t_sample = c->t_sample, .t_reward = c->t_reward};
        memcpy(pc[i].parts, c->reward.parts, sizeof pc[i].parts);
        for (int t = 0; t < c->n_tokens; t++) {
            int32_t id = c->tokens[t];
            memcpy(data, &id, sizeof id);
            memcpy(data + sizeof id, &c->logprob[t], sizeof(float));
            data += sizeof id + sizeof(float);
        }
    }
    for (int i = 0; i < g->G; i++) {
        size_t bytes = sizeof(reward_code_run) * g->c[i].n_code_runs;
        if (bytes) memcpy(data, g->c[i].code_runs, bytes);
        data += bytes;
    }
    *buf = p;
    *len = size;
    return 0;
}

static int check_header(const pack_header *h, size_t len, core_error *err) {
    if (h->magic != ROLLOUT_MAGIC) return core_fail(err, CORE_EINPUT, "group buffer: bad magic");
    if (h->version != ROLLOUT_VERSION)
        return core_fail(err, CORE_EINPUT, "group buffer: version %u, expected %d", h->version,
                         ROLLOUT_VERSION);
    if (h->header_size != sizeof(pack_header) || h->completion_size != sizeof(pack_completion))
        return core_fail(err, CORE_EINPUT, "group buffer: record sizes do not match this build");
    if (h->G < 1 || h->G > 1 << 16 || h->prompt_index < 0)
        return core_fail(err, CORE_EINPUT, "group buffer: G = %d, prompt %d", h->G, h->prompt_index);
    if (h->total_tokens > len || h->total_code_runs > len)
        return core_fail(err, CORE_EINPUT, "group buffer: counts larger than the buffer");
    uint64_t want = packed_size(h->G, h->total_tokens, h->total_code_runs);
    if (h->total_size != len || want != len)
        return core_fail(err, CORE_EINPUT, "group buffer: %zu bytes, header says %llu", len,
                         (unsigned long long)h->total_size);
    return 0;
}

static int check_completion(const pack_completion *pc, int i, core_error *err) {
    if (pc->n_tokens < 0 || pc->n_parts < 0 || pc->n_parts > REWARD_MAX_PARTS ||
        pc->n_code_runs < 0 || pc->n_code_runs > REWARD_CODE_MAX_TESTS ||
        pc->finish < MODEL_FINISH_EOS || pc->finish > MODEL_FINISH_LENGTH ||
        !isfinite(pc->total))
        return core_fail(err, CORE_EINPUT, "group buffer: completion %d is malformed", i);
    return 0;
}

static int unpack_code_runs(rollout_group *g, const pack_completion *pc, const char *data,
                            core_error *err) {
    for (int i = 0; i < g->G; i++) {
        rollout_completion *c = &g->c[i];
        c->n_code_runs = pc[i].n_code_runs;
        if (!c->n_code_runs) continue;
        c->code_runs = malloc(sizeof(reward_code_run) * c->n_code_runs);
        if (!c->code_runs) return core_fail(err, CORE_ERUNTIME, "out of memory");
        memcpy(c->code_runs, data, sizeof(reward_code_run) * c->n_code_runs);
        data += sizeof(reward_code_run) * c->n_code_runs;
        for (int r = 0; r < c->n_code_runs; r++) { /* strings from another rank: terminate them */
            c->code_runs[r].verdict[sizeof c->code_runs[r].verdict - 1] = 0;
            c->code_runs[r].output[sizeof c->code_runs[r].output - 1] = 0;
            c->code_runs[r].message[sizeof c->code_runs[r].message - 1] = 0;
        }
    }
    return 0;
}

int rollout_unpack(const void *buf, size_t len, int vocab, rollout_group *out, core_error *err) {
    pack_header h;
    if (len < sizeof h) return core_fail(err, CORE_EINPUT, "group buffer: %zu bytes, too short", len);
    memcpy(&h, buf, sizeof h);
    if (check_header(&h, len, err)) return err->code;
    const pack_completion *pc = (const pack_completion *)((const char *)buf + sizeof h);
    uint64_t sum = 0, runs = 0;
    int max_new = 1;
    for (int i = 0; i < h.G; i++) {
        if (check_completion(&pc[i], i, err)) return err->code;
        sum += pc[i].n_tokens;
        runs += pc[i].n_code_runs;
        if (pc[i].n_tokens > max_new) max_new = pc[i].n_tokens;
    }
    if (sum != h.total_tokens || runs != h.total_code_runs)
        return core_fail(err, CORE_EINPUT, "group buffer: token or run counts do not add up");
    if (group_alloc(out, h.G, max_new, err)) return err->code;
    out->prompt_index = h.prompt_index;
    out->worker = h.worker;
    out->policy_version = h.policy_version;
    const char *data = (const char *)(pc + h.G);
    for (int i = 0; i < h.G; i++) {
        rollout_completion *c = &out->c[i];
        c->n_tokens = pc[i].n_tokens;
        c->finish = pc[i].finish;
        c->t_sample = pc[i].t_sample;
        c->t_reward = pc[i].t_reward;
        c->reward.total = pc[i].total;
        c->reward.format_ok = pc[i].format_ok;
        c->reward.correct = pc[i].correct;
        c->reward.infra_fail = pc[i].infra_fail >= 0 && pc[i].infra_fail <= pc[i].n_parts ? pc[i].infra_fail : 1;
        c->reward.n_parts = pc[i].n_parts;
        memcpy(c->reward.parts, pc[i].parts, sizeof c->reward.parts);
        for (int p = 0; p < REWARD_MAX_PARTS; p++) {
            c->reward.parts[p].name[sizeof c->reward.parts[p].name - 1] = 0;
            c->reward.parts[p].detail[sizeof c->reward.parts[p].detail - 1] = 0;
        }
        for (int t = 0; t < c->n_tokens; t++) {
            int32_t id;
            memcpy(&id, data, sizeof id);
            memcpy(&c->logprob[t], data + sizeof id, sizeof(float));
            data += sizeof id + sizeof(float);
            if (id < 0 || id >= vocab || !isfinite(c->logprob[t])) {
                rollout_group_free(out);
                return core_fail(err, CORE_EINPUT, "group buffer: completion %d token %d invalid", i, t);
            }
            c->tokens[t] = id;
        }
    }
    if (unpack_code_runs(out, pc, data, err)) {
        rollout_group_free(out);
        return err->code;
    }
    return 0;
}
