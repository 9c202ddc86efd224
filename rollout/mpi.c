/*
 * mpi.c — the protocol between the learner (rank 0) and the rollout
 * workers (ranks 1..W); see rollout.h for the message sequence.  With one
 * rank, rollout_step runs the groups itself and no message is sent.
 */
#include <limits.h>
#include <signal.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "rollout/rollout.h"

enum { TAG_GROUP = 11, TAG_ERROR = 12 };
enum { CMD_STEP = 1, CMD_STOP = 2 };

struct rollout_comm {
    int rank, n_ranks;
    MPI_Comm learners, workers; /* MPI_Comm_split by role; L = 1 today */
    int last_version_sent;
    int broken;                 /* a worker stopped answering: only MPI_Abort ends the job */
};

typedef struct step_header {
    int32_t command, weights_follow, n_prompts, policy_version;
    int64_t step;
    uint64_t batch_bytes;
} step_header;

int rollout_comm_init(rollout_comm **out, int *argc, char ***argv, int *rank, int *n_ranks,
                      core_error *err) {
    rollout_comm *c = calloc(1, sizeof *c);
    if (!c) return core_fail(err, CORE_ERUNTIME, "out of memory");
    int initialized;
    MPI_Initialized(&initialized);
    if (!initialized && MPI_Init(argc, argv) != MPI_SUCCESS) {
        free(c);
        return core_fail(err, CORE_ERUNTIME, "MPI_Init failed");
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &c->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c->n_ranks);
    int is_learner = c->rank == 0;
    MPI_Comm_split(MPI_COMM_WORLD, is_learner, c->rank, is_learner ? &c->learners : &c->workers);
    c->last_version_sent = -1;
    *rank = c->rank;
    *n_ranks = c->n_ranks;
    *out = c;
    return 0;
}

void rollout_comm_finalize(rollout_comm *c) {
    if (!c) return;
    if (c->learners != MPI_COMM_NULL && c->learners) MPI_Comm_free(&c->learners);
    if (c->workers != MPI_COMM_NULL && c->workers) MPI_Comm_free(&c->workers);
    free(c);
    MPI_Finalize();
}

int rollout_comm_workers(const rollout_comm *c) { return c->n_ranks - 1; }

void rollout_comm_abort(rollout_comm *c, int code) {
    (void)c;
    MPI_Abort(MPI_COMM_WORLD, code);
}

/* Weights travel in chunks: MPI counts are ints. */
static void bcast_floats(float *data, size_t n) {
    const size_t chunk = (size_t)1 << 28;
    for (size_t off = 0; off < n; off += chunk) {
        size_t len = n - off < chunk ? n - off : chunk;
        MPI_Bcast(data + off, (int)len, MPI_FLOAT, 0, MPI_COMM_WORLD);
    }
}

/* ------------------------------------------------------ batch (de)serialise */

static size_t put_str(char *buf, size_t off, const char *s) {
    uint32_t len = s ? (uint32_t)strlen(s) + 1 : 0; /* 0 encodes NULL */
    if (buf) memcpy(buf + off, &len, sizeof len);
    if (buf && len) memcpy(buf + off + sizeof len, s, len);
    return off + sizeof len + len;
}

static size_t pack_batch(char *buf, const rollout_prompt *p, int n) {
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        if (buf) memcpy(buf + off, &p[i].index, sizeof(int32_t));
        off += sizeof(int32_t);
        off = put_str(buf, off, p[i].text);
        off = put_str(buf, off, p[i].gold);
        off = put_str(buf, off, p[i].tests);
    }
    return off;
}

static const char *get_str(const char *buf, size_t len, size_t *off, int *bad) {
    uint32_t n;
    if (*off + sizeof n > len) return *bad = 1, NULL;
    memcpy(&n, buf + *off, sizeof n);
    *off += sizeof n;
    if (n == 0) return NULL;
    if (*off + n > len || buf[*off + n - 1] != 0) return *bad = 1, NULL;
    const char *s = buf + *off;
    *off += n;
    return s;
}

/* The prompts point into buf. */
static int unpack_batch(const char *buf, size_t len, rollout_prompt *p, int n, core_error *err) {
    size_t off = 0;
    int bad = 0;
    for (int i = 0; i < n && !bad; i++) {
        if (off + sizeof(int32_t) > len) return core_fail(err, CORE_EINPUT, "batch buffer truncated");
        memcpy(&p[i].index, buf + off, sizeof(int32_t));
        off += sizeof(int32_t);
        p[i].text = get_str(buf, len, &off, &bad);
        p[i].gold = get_str(buf, len, &off, &bad);
        p[i].tests = get_str(buf, len, &off, &bad);
        if (!p[i].text) bad = 1;
    }
    return bad || off != len ? core_fail(err, CORE_EINPUT, "batch buffer malformed") : 0;
}

/* ----------------------------------------------------------- learner side */

static int owner_of(int index, int W) { return 1 + index % W; }

/* Wait for the next message, polling (a blocking MPI_Probe spins a core
 * and never returns when a worker is stopped or livelocked).  A worker that
 * owes groups and has sent nothing for timeout_s seconds is named in an
 * error; last_heard[w] is when rank w last sent something. */
static int wait_message(rollout_comm *c, const int *received, const int *expected,
                        double *last_heard, double timeout_s, MPI_Status *st, core_error *err) {
    for (int polls = 0;; polls++) {
        int flag = 0;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, st);
        if (flag) return 0;
        double now = core_now();
        for (int w = 1; timeout_s > 0 && w < c->n_ranks; w++)
            if (expected[w] > received[w] && now - last_heard[w] > timeout_s) {
                c->broken = 1;
                return core_fail(err, CORE_ERUNTIME,
                                 "rollout worker rank %d has sent nothing for %.0f s "
                                 "(rollout.worker_timeout_s) and still owes %d group(s): it is "
                                 "stopped, hung or livelocked; stopping the run",
                                 w, now - last_heard[w], expected[w] - received[w]);
            }
        struct timespec pause = {0, polls < 1000 ? 20000L : 1000000L}; /* 20 us, then 1 ms */
        nanosleep(&pause, NULL);
    }
}

static int receive_one(rollout_comm *c, int vocab, int base, int n, rollout_group *groups,
                       int *received, int *expected, const MPI_Status *probed, core_error *err) {
    MPI_Status st = *probed;
    int count;
    MPI_Get_count(&st, MPI_BYTE, &count);
    char *buf = malloc(count > 0 ? count : 1);
    MPI_Recv(buf, count, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    int src = st.MPI_SOURCE, rc = 0;
    if (st.MPI_TAG == TAG_ERROR) {
        expected[src] = received[src]; /* it sends nothing more this step */
        rc = core_fail(err, CORE_ERUNTIME, "rollout worker rank %d failed: %.*s", src, count, buf);
    } else {
        rollout_group g;
        if (rollout_unpack(buf, count, vocab, &g, err)) {
            expected[src] = received[src];
            rc = core_fail_wrap(err, "from rank %d", src);
        } else if (g.prompt_index < base || g.prompt_index >= base + n ||
                   groups[g.prompt_index - base].c ||
                   owner_of(g.prompt_index, c->n_ranks - 1) != src) {
            rollout_group_free(&g);
            expected[src] = received[src];
            rc = core_fail(err, CORE_EINPUT, "rank %d sent a group for prompt %d it does not own",
                           src, g.prompt_index);
        } else {
            groups[g.prompt_index - base] = g;
            received[src]++;
        }
    }
    free(buf);
    return rc;
}

int rollout_step(rollout_comm *c, model *policy, const reward_fn *r, const rollout_prompt *prompts,
                 int n, const rollout_params *rp, int weights_changed, rollout_group *groups,
                 core_error *err) {
    memset(groups, 0, sizeof *groups * n);
    int W = c->n_ranks - 1;
    if (W == 0) return rollout_generate_groups(policy, r, prompts, n, rp, groups, err);

    size_t batch_bytes = pack_batch(NULL, prompts, n);
    char *batch = malloc(batch_bytes);
    if (!batch) return core_fail(err, CORE_ERUNTIME, "out of memory");
    pack_batch(batch, prompts, n);
    int send_weights = weights_changed || c->last_version_sent != rp->policy_version;
    step_header h = {CMD_STEP, send_weights, n, rp->policy_version, rp->step, batch_bytes};
    MPI_Bcast(&h, sizeof h, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (send_weights) bcast_floats(model_params(policy), model_n_params(policy));
    c->last_version_sent = rp->policy_version;
    MPI_Bcast(batch, (int)batch_bytes, MPI_BYTE, 0, MPI_COMM_WORLD);
    free(batch);

    int *received = calloc(c->n_ranks, sizeof(int)), *expected = calloc(c->n_ranks, sizeof(int));
    double *last_heard = malloc(sizeof(double) * c->n_ranks), timeout_s = reward_config(r)->rollout.worker_timeout_s;
    for (int w = 0; w < c->n_ranks; w++) last_heard[w] = core_now();
    for (int i = 0; i < n; i++) expected[owner_of(prompts[i].index, W)]++;
    int rc = 0, vocab = model_get_config(policy)->vocab;
    for (;;) {
        int pending = 0;
        for (int w = 1; w <= W; w++) pending += expected[w] - received[w];
        if (pending == 0) break;
        core_error e = {0};
        MPI_Status st;
        if (wait_message(c, received, expected, last_heard, timeout_s, &st, &e)) {
            if (!rc) rc = e.code, *err = e;
            break; /* nothing more will come */
        }
        last_heard[st.MPI_SOURCE] = core_now();
        if (receive_one(c, vocab, prompts[0].index, n, groups, received, expected, &st, &e) && !rc) {
            rc = e.code;
            *err = e;
        }
    }
    free(received);
    free(expected);
    free(last_heard);
    if (rc)
        for (int i = 0; i < n; i++) rollout_group_free(&groups[i]);
    return rc;
}

int rollout_comm_broken(const rollout_comm *c) { return c->broken; }

void rollout_stop_workers(rollout_comm *c) {
    if (c->n_ranks < 2 || c->broken) return;
    step_header h = {CMD_STOP, 0, 0, 0, 0, 0};
    MPI_Bcast(&h, sizeof h, MPI_BYTE, 0, MPI_COMM_WORLD);
}

/* ------------------------------------------------------------ worker side */

/* Fault injection for the tests: GRPO_FAULT_WORKER=RANK:STEP makes that
 * worker report a failure at that step instead of sampling. */
static int injected_fault(int rank, int64_t step) {
    const char *spec = getenv("GRPO_FAULT_WORKER");
    int r;
    long long s;
    return spec && sscanf(spec, "%d:%lld", &r, &s) == 2 && r == rank && s == step;
}

/* GRPO_FAULT_WORKER_STOP=RANK:STEP: that worker stops itself (SIGSTOP) at
 * that step, as a hung or suspended worker would look to the learner. */
static void injected_stop(int rank, int64_t step) {
    const char *spec = getenv("GRPO_FAULT_WORKER_STOP");
    int r;
    long long s;
    if (spec && sscanf(spec, "%d:%lld", &r, &s) == 2 && r == rank && s == step) raise(SIGSTOP);
}

static void send_error(const char *msg) {
    MPI_Send(msg, (int)strlen(msg), MPI_BYTE, 0, TAG_ERROR, MPI_COMM_WORLD);
}

static void serve_step(rollout_comm *c, model *policy, const reward_fn *r, const step_header *h,
                       const char *batch, const rollout_params *base) {
    int W = c->n_ranks - 1;
    core_error err = {0};
    rollout_prompt *prompts = calloc(h->n_prompts > 0 ? h->n_prompts : 1, sizeof *prompts);
    if (unpack_batch(batch, h->batch_bytes, prompts, h->n_prompts, &err)) {
        send_error(err.msg);
        free(prompts);
        return;
    }
    rollout_params rp = *base;
    rp.step = h->step;
    rp.policy_version = h->policy_version;
    rp.worker = c->rank;
    int mine = 0; /* this worker's prompts, moved to the front */
    for (int i = 0; i < h->n_prompts; i++)
        if (owner_of(prompts[i].index, W) == c->rank) prompts[mine++] = prompts[i];
    rollout_group *groups = calloc(mine > 0 ? mine : 1, sizeof *groups);
    injected_stop(c->rank, h->step);
    if (injected_fault(c->rank, h->step)) send_error("fault injected by GRPO_FAULT_WORKER");
    else if (rollout_generate_groups(policy, r, prompts, mine, &rp, groups, &err)) send_error(err.msg);
    else
        for (int i = 0; i < mine; i++) {
            void *buf;
            size_t len;
            if (rollout_pack(&groups[i], &buf, &len, &err)) {
                send_error(err.msg);
                break;
            }
            MPI_Send(buf, (int)len, MPI_BYTE, 0, TAG_GROUP, MPI_COMM_WORLD);
            free(buf);
        }
    for (int i = 0; i < mine; i++) rollout_group_free(&groups[i]);
    free(groups);
    free(prompts);
}

int rollout_worker_loop(rollout_comm *c, model *policy, const reward_fn *r, core_error *err) {
    const core_config *cfg = reward_config(r);
    rollout_params base = {
        .seed = (uint64_t)cfg->run.seed,
        .G = cfg->rollout.group_size,
        .sample = {(float)cfg->rollout.temperature, (float)cfg->rollout.top_p,
                   cfg->rollout.top_k, cfg->rollout.max_new_tokens, cfg->rollout.stop},
    };
    for (;;) {
        step_header h;
        MPI_Bcast(&h, sizeof h, MPI_BYTE, 0, MPI_COMM_WORLD);
        if (h.command == CMD_STOP) return 0;
        if (h.command != CMD_STEP || h.batch_bytes > INT_MAX)
            return core_fail(err, CORE_ERUNTIME, "rank %d: bad step header", c->rank);
        if (h.weights_follow) bcast_floats(model_params(policy), model_n_params(policy));
        char *batch = malloc(h.batch_bytes ? h.batch_bytes : 1);
        MPI_Bcast(batch, (int)h.batch_bytes, MPI_BYTE, 0, MPI_COMM_WORLD);
        serve_step(c, policy, r, &h, batch, &base);
        free(batch);
    }
}
