/*
 * mpi.c — the protocol between the learner (rank 0) and the rollout
 * workers (ranks 1..W); see rollout.h for the message sequence.  With one
 * rank, rollout_step runs the groups itself and no message is sent.
 */
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include <mpi.h>

#include "rollout/rollout.h"

/* Tags carry the step (mod TAG_STEPS), so groups of several launched steps
 * can be in flight at once and each lands in its own launch. */
enum { TAG_GROUP = 100, TAG_ERROR = 100 + 4096, TAG_STEPS = 4096 };
enum { CMD_STEP = 1, CMD_STOP = 2 };
enum { MAX_IN_FLIGHT = 128 };

/* One launched step, on the learner, until rollout_collect hands it over. */
typedef struct launch {
    int64_t step;
    int n, base;                /* prompts base..base+n-1 */
    rollout_group *groups;      /* n; filled as they arrive (or at once when local) */
    int *expected, *received;   /* per rollout-comm rank */
    int rc;                     /* first error of this launch */
    core_error err;
} launch;

struct rollout_comm {
    int rank, n_ranks, n_learners;
    MPI_Comm learners;          /* world ranks 0..L-1 (learners only) */
    MPI_Comm workers;           /* world ranks L..N-1 (workers only) */
    MPI_Comm rollout;           /* rank 0 and the workers: 0 = learner, 1..W = workers */
    int last_version_sent;
    int vocab;                  /* of the policy last launched with (validates groups) */
    double timeout_s;           /* rollout.worker_timeout_s */
    double *last_heard;         /* per rollout-comm rank: when it last sent something */
    int broken;                 /* a worker stopped answering: only MPI_Abort ends the job */
    MPI_Datatype i128;          /* 16 bytes, summed by op_sum_i128 */
    MPI_Op sum_i128;
    launch flight[MAX_IN_FLIGHT]; /* launched, not yet collected: a FIFO */
    int n_flight, head;
};

typedef struct step_header {
    int32_t command, weights_follow, n_prompts, policy_version;
    int64_t step;
    uint64_t batch_bytes;
} step_header;

/* Integer addition is associative: any reduction order gives the same bits. */
static void op_sum_i128(void *in, void *inout, int *len, MPI_Datatype *type) {
    (void)type;
    const __int128 *a = in;
    __int128 *b = inout;
    for (int i = 0; i < *len; i++) b[i] = (__int128)((unsigned __int128)a[i] + (unsigned __int128)b[i]);
}

int rollout_comm_init(rollout_comm **out, int *argc, char ***argv, int n_learners, int *rank,
                      int *n_ranks, core_error *err) {
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
    *rank = c->rank;
    *n_ranks = c->n_ranks;
    if (n_learners < 1 || n_learners > c->n_ranks) {
        free(c);
        return core_fail(err, CORE_EINPUT,
                         "run.learners = %d, but the job has %d MPI rank%s (start it with mpirun -np N, N >= %d)",
                         n_learners, *n_ranks, *n_ranks == 1 ? "" : "s", n_learners);
    }
    c->n_learners = n_learners;
    c->learners = c->workers = c->rollout = MPI_COMM_NULL;
    int is_learner = c->rank < n_learners;
    MPI_Comm_split(MPI_COMM_WORLD, is_learner, c->rank, is_learner ? &c->learners : &c->workers);
    int in_rollout = c->rank == 0 || !is_learner;
    MPI_Comm_split(MPI_COMM_WORLD, in_rollout ? 0 : MPI_UNDEFINED, c->rank, &c->rollout);
    MPI_Type_contiguous(16, MPI_BYTE, &c->i128);
    MPI_Type_commit(&c->i128);
    MPI_Op_create(op_sum_i128, 1, &c->sum_i128);
    c->last_version_sent = -1;
    c->last_heard = calloc(c->n_ranks + 1, sizeof *c->last_heard);
    *out = c;
    return 0;
}

void rollout_comm_finalize(rollout_comm *c) {
    if (!c) return;
    MPI_Comm *comms[] = {&c->learners, &c->workers, &c->rollout};
    for (int i = 0; i < 3; i++)
        if (*comms[i] != MPI_COMM_NULL) MPI_Comm_free(comms[i]);
    MPI_Type_free(&c->i128);
    MPI_Op_free(&c->sum_i128);
    free(c->last_heard);
    free(c);
    MPI_Finalize();
}

int rollout_comm_workers(const rollout_comm *c) { return c->n_ranks - c->n_learners; }
int rollout_comm_learners(const rollout_comm *c) { return c->n_learners; }

void rollout_comm_abort(rollout_comm *c, int code) {
    (void)c;
    MPI_Abort(MPI_COMM_WORLD, code);
}

/* A rollout-comm rank (1..W) as the world rank users see in messages. */
static int world_rank_of(const rollout_comm *c, int rollout_rank) {
    return rollout_rank == 0 ? 0 : c->n_learners - 1 + rollout_rank;
}

/* A broadcast whose receivers may wait long for it (a worker between
 * steps, a learner while learner 0 samples): MPI_Ibcast and a polling wait
 * that sleeps (20 us, then 1 ms), because OpenMPI's blocking calls spin a
 * core while they wait, which on a shared or oversubscribed machine takes
 * it from the ranks doing the work.  Root and receivers both call this:
 * nonblocking collectives do not match blocking ones. */
static void bcast_idle(void *buf, int len, MPI_Comm comm) {
    MPI_Request req;
    MPI_Ibcast(buf, len, MPI_BYTE, 0, comm, &req);
    for (int polls = 0;; polls++) {
        int done = 0;
        MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        if (done) return;
        struct timespec pause = {0, polls < 1000 ? 20000L : 1000000L};
        nanosleep(&pause, NULL);
    }
}

/* Weights travel in chunks: MPI counts are ints. */
static void bcast_floats(float *data, size_t n, MPI_Comm comm) {
    const size_t chunk = (size_t)1 << 28;
    for (size_t off = 0; off < n; off += chunk) {
        size_t len = n - off < chunk ? n - off : chunk;
        MPI_Bcast(data + off, (int)len, MPI_FLOAT, 0, comm);
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
static int tag_of(int base, int64_t step) { return base + (int)(step % TAG_STEPS); }

static launch *flight_at(rollout_comm *c, int k) { return &c->flight[(c->head + k) % MAX_IN_FLIGHT]; }

static void launch_free(launch *l) {
    for (int i = 0; l->groups && i < l->n; i++) rollout_group_free(&l->groups[i]);
    free(l->groups), free(l->expected), free(l->received);
    memset(l, 0, sizeof *l);
}

static int launch_pending(const rollout_comm *c, const launch *l) {
    int pending = 0;
    for (int w = 1; w < c->n_ranks - c->n_learners + 1; w++) pending += l->expected[w] - l->received[w];
    return pending;
}

/* The in-flight launch a message tag belongs to, or NULL. */
static launch *launch_of_tag(rollout_comm *c, int tag) {
    for (int k = 0; k < c->n_flight; k++) {
        launch *l = flight_at(c, k);
        if (tag == tag_of(TAG_GROUP, l->step) || tag == tag_of(TAG_ERROR, l->step)) return l;
    }
    return NULL;
}

static void launch_fail(launch *l, int src, core_error *e) {
    l->expected[src] = l->received[src]; /* it sends nothing more for this step */
    if (!l->rc) {
        l->rc = e->code;
        l->err = *e;
    }
}

/* Wait for the next message, polling (a blocking MPI_Probe spins a core
 * and never returns when a worker is stopped or livelocked).  A worker that
 * owes groups of launch l and has sent nothing for rollout.worker_timeout_s
 * seconds is named in an error. */
static int wait_message(rollout_comm *c, const launch *l, MPI_Status *st, core_error *err) {
    for (int polls = 0;; polls++) {
        int flag = 0;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, c->rollout, &flag, st);
        if (flag) return 0;
        double now = core_now();
        for (int w = 1; c->timeout_s > 0 && w <= rollout_comm_workers(c); w++)
            if (l->expected[w] > l->received[w] && now - c->last_heard[w] > c->timeout_s) {
                c->broken = 1;
                return core_fail(err, CORE_ERUNTIME,
                                 "rollout worker rank %d has sent nothing for %.0f s "
                                 "(rollout.worker_timeout_s) and still owes %d group(s) of step %lld: "
                                 "it is stopped, hung or livelocked; stopping the run",
                                 world_rank_of(c, w), now - c->last_heard[w],
                                 l->expected[w] - l->received[w], (long long)l->step);
            }
        struct timespec pause = {0, polls < 1000 ? 20000L : 1000000L}; /* 20 us, then 1 ms */
        nanosleep(&pause, NULL);
    }
}

/* Receive the probed message and file it under its launch. */
static void receive_one(rollout_comm *c, int vocab, MPI_Status st) {
    int count;
    c->last_heard[st.MPI_SOURCE] = core_now();
    MPI_Get_count(&st, MPI_BYTE, &count);
    char *buf = malloc(count > 0 ? count : 1);
    MPI_Recv(buf, count, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, c->rollout, MPI_STATUS_IGNORE);
    int src = st.MPI_SOURCE, who = world_rank_of(c, src);
    launch *l = launch_of_tag(c, st.MPI_TAG);
    core_error e = {0};
    if (!l) {
        free(buf);
        return; /* cannot happen: every tag belongs to a launch still in flight */
    }
    if (st.MPI_TAG >= TAG_ERROR) {
        core_fail(&e, CORE_ERUNTIME, "rollout worker rank %d failed: %.*s", who, count, buf);
        launch_fail(l, src, &e);
    } else {
        rollout_group g;
        if (rollout_unpack(buf, count, vocab, &g, &e)) {
            core_fail_wrap(&e, "from rank %d", who);
            launch_fail(l, src, &e);
        } else if (g.prompt_index < l->base || g.prompt_index >= l->base + l->n ||
                   l->groups[g.prompt_index - l->base].c ||
                   owner_of(g.prompt_index, c->n_ranks - c->n_learners) != src) {
            core_fail(&e, CORE_EINPUT, "rank %d sent a group for prompt %d it does not own", who,
                      g.prompt_index);
            rollout_group_free(&g);
            launch_fail(l, src, &e);
        } else {
            l->groups[g.prompt_index - l->base] = g;
            l->received[src]++;
        }
    }
    free(buf);
}

/* Broadcast a step to the workers: header, weights when they changed, prompts. */
static int send_step(rollout_comm *c, model *policy, const rollout_prompt *prompts, int n,
                     const rollout_params *rp, int weights_changed, core_error *err) {
    size_t batch_bytes = pack_batch(NULL, prompts, n);
    if (batch_bytes > INT_MAX) return core_fail(err, CORE_EINPUT, "step %lld: prompts too large to send",
                                                (long long)rp->step);
    char *batch = malloc(batch_bytes ? batch_bytes : 1);
    if (!batch) return core_fail(err, CORE_ERUNTIME, "out of memory");
    pack_batch(batch, prompts, n);
    int send_weights = weights_changed || c->last_version_sent != rp->policy_version;
    step_header h = {CMD_STEP, send_weights, n, rp->policy_version, rp->step, batch_bytes};
    bcast_idle(&h, sizeof h, c->rollout);
    if (send_weights) bcast_floats(model_params(policy), model_n_params(policy), c->rollout);
    c->last_version_sent = rp->policy_version;
    MPI_Bcast(batch, (int)batch_bytes, MPI_BYTE, 0, c->rollout);
    free(batch);
    return 0;
}

int rollout_launch(rollout_comm *c, model *policy, const reward_fn *r, const rollout_prompt *prompts,
                   int n, const rollout_params *rp, int weights_changed, core_error *err) {
    if (c->n_flight == MAX_IN_FLIGHT)
        return core_fail(err, CORE_EINPUT, "more than %d steps launched and not collected", MAX_IN_FLIGHT);
    int W = rollout_comm_workers(c);
    c->vocab = model_get_config(policy)->vocab;
    c->timeout_s = reward_config(r)->rollout.worker_timeout_s;
    launch *l = flight_at(c, c->n_flight);
    memset(l, 0, sizeof *l);
    l->step = rp->step;
    l->n = n;
    l->base = n > 0 ? prompts[0].index : 0;
    l->groups = calloc(n > 0 ? n : 1, sizeof *l->groups);
    l->expected = calloc(W + 1, sizeof(int));
    l->received = calloc(W + 1, sizeof(int));
    if (!l->groups || !l->expected || !l->received) {
        launch_free(l);
        return core_fail(err, CORE_ERUNTIME, "out of memory");
    }
    if (W == 0) { /* no workers: sample now, with the weights of now */
        if (rollout_generate_groups(policy, r, prompts, n, rp, l->groups, err)) {
            launch_free(l);
            return err->code;
        }
    } else {
        for (int i = 0; i < n; i++) l->expected[owner_of(prompts[i].index, W)]++;
        if (send_step(c, policy, prompts, n, rp, weights_changed, err)) {
            launch_free(l);
            return err->code;
        }
    }
    c->n_flight++;
    return 0;
}

int rollout_collect(rollout_comm *c, int64_t step, rollout_group *groups, int n, core_error *err) {
    launch *l = c->n_flight ? flight_at(c, 0) : NULL;
    if (!l || l->step != step || l->n != n)
        return core_fail(err, CORE_EINPUT, "collect of step %lld: not the oldest launched step",
                         (long long)step);
    double now = core_now();
    for (int w = 1; w <= rollout_comm_workers(c); w++) c->last_heard[w] = now;
    int rc = 0;
    while (!rc && launch_pending(c, l) > 0) {
        MPI_Status st;
        if (wait_message(c, l, &st, err)) rc = err->code; /* nothing more will come */
        else receive_one(c, c->vocab, st);
    }
    if (!rc && (rc = l->rc)) *err = l->err;
    else {
        memcpy(groups, l->groups, sizeof *groups * n);
        memset(l->groups, 0, sizeof *l->groups * n);
    }
    launch_free(l);
    c->head = (c->head + 1) % MAX_IN_FLIGHT;
    c->n_flight--;
    return rc;
}

int rollout_in_flight(const rollout_comm *c) { return c->n_flight; }

int rollout_comm_broken(const rollout_comm *c) { return c->broken; }

int rollout_step(rollout_comm *c, model *policy, const reward_fn *r, const rollout_prompt *prompts,
                 int n, const rollout_params *rp, int weights_changed, rollout_group *groups,
                 core_error *err) {
    memset(groups, 0, sizeof *groups * n);
    if (rollout_launch(c, policy, r, prompts, n, rp, weights_changed, err)) return err->code;
    return rollout_collect(c, rp->step, groups, n, err);
}

void rollout_stop_workers(rollout_comm *c) {
    if (c->broken) return;
    while (c->n_flight > 0 && !c->broken) { /* drain what was launched (a run that stops early) */
        launch *l = flight_at(c, 0);
        rollout_group *g = calloc(l->n > 0 ? l->n : 1, sizeof *g);
        core_error ignore;
        if (g && !rollout_collect(c, l->step, g, l->n, &ignore))
            for (int i = 0; i < l->n; i++) rollout_group_free(&g[i]);
        free(g);
    }
    if (rollout_comm_workers(c) == 0 || c->rollout == MPI_COMM_NULL || c->broken) return;
    step_header h = {CMD_STOP, 0, 0, 0, 0, 0};
    bcast_idle(&h, sizeof h, c->rollout);
}

/* ------------------------------------------------------------ worker side */

/* Groups go out with MPI_Isend and their buffers are kept until the send
 * completes: the learner may be busy in the next step's broadcast (async
 * rollouts) before it receives, and a blocking send would wait for it. */
typedef struct sends {
    MPI_Request *req;
    void **buf;
    int n, cap;
} sends;

static int sends_add(sends *s, void *buf, size_t len, int tag, MPI_Comm comm) {
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        MPI_Request *r = realloc(s->req, sizeof *r * cap);
        if (r) s->req = r;
        void **b = realloc(s->buf, sizeof *b * cap);
        if (b) s->buf = b;
        if (!r || !b) return CORE_ERUNTIME;
        s->cap = cap;
    }
    MPI_Isend(buf, (int)len, MPI_BYTE, 0, tag, comm, &s->req[s->n]);
    s->buf[s->n++] = buf;
    return 0;
}

/* Free the buffers of completed sends (all of them when wait). */
static void sends_reap(sends *s, int wait) {
    int k = 0;
    for (int i = 0; i < s->n; i++) {
        int done = 1;
        if (wait) MPI_Wait(&s->req[i], MPI_STATUS_IGNORE);
        else MPI_Test(&s->req[i], &done, MPI_STATUS_IGNORE);
        if (done) free(s->buf[i]);
        else {
            s->req[k] = s->req[i];
            s->buf[k++] = s->buf[i];
        }
    }
    s->n = k;
}

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

static void send_error(rollout_comm *c, sends *out, int64_t step, const char *msg) {
    char *copy = strdup(msg);
    if (copy) sends_add(out, copy, strlen(copy), tag_of(TAG_ERROR, step), c->rollout);
}

static void serve_step(rollout_comm *c, model *policy, const reward_fn *r, const step_header *h,
                       const char *batch, const rollout_params *base, sends *out) {
    int W = rollout_comm_workers(c), me;
    MPI_Comm_rank(c->rollout, &me);
    core_error err = {0};
    rollout_prompt *prompts = calloc(h->n_prompts > 0 ? h->n_prompts : 1, sizeof *prompts);
    if (unpack_batch(batch, h->batch_bytes, prompts, h->n_prompts, &err)) {
        send_error(c, out, h->step, err.msg);
        free(prompts);
        return;
    }
    rollout_params rp = *base;
    rp.step = h->step;
    rp.policy_version = h->policy_version;
    rp.worker = c->rank;
    int mine = 0; /* this worker's prompts, moved to the front */
    for (int i = 0; i < h->n_prompts; i++)
        if (owner_of(prompts[i].index, W) == me) prompts[mine++] = prompts[i];
    rollout_group *groups = calloc(mine > 0 ? mine : 1, sizeof *groups);
    injected_stop(c->rank, h->step);
    if (injected_fault(c->rank, h->step)) send_error(c, out, h->step, "fault injected by GRPO_FAULT_WORKER");
    else if (rollout_generate_groups(policy, r, prompts, mine, &rp, groups, &err))
        send_error(c, out, h->step, err.msg);
    else
        for (int i = 0; i < mine; i++) {
            void *buf;
            size_t len;
            if (rollout_pack(&groups[i], &buf, &len, &err)) {
                send_error(c, out, h->step, err.msg);
                break;
            }
            if (sends_add(out, buf, len, tag_of(TAG_GROUP, h->step), c->rollout)) {
                free(buf);
                send_error(c, out, h->step, "out of memory");
                break;
            }
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
    sends out = {0};
    int rc = 0;
    for (;;) {
        step_header h;
        sends_reap(&out, 0);
        bcast_idle(&h, sizeof h, c->rollout);
        if (h.command == CMD_STOP) break;
        if (h.command != CMD_STEP || h.batch_bytes > INT_MAX) {
            rc = core_fail(err, CORE_ERUNTIME, "rank %d: bad step header", c->rank);
            break;
        }
        if (h.weights_follow) {
            bcast_floats(model_params(policy), model_n_params(policy), c->rollout);
            model_params_commit(policy); /* the host copy to the device (nothing on the CPU) */
        }
        char *batch = malloc(h.batch_bytes ? h.batch_bytes : 1);
        MPI_Bcast(batch, (int)h.batch_bytes, MPI_BYTE, 0, c->rollout);
        serve_step(c, policy, r, &h, batch, &base, &out);
        free(batch);
    }
    sends_reap(&out, 1);
    free(out.req), free(out.buf);
    return rc;
}

/* ------------------------------------------------------- learner group */

int rollout_learner_rank(const rollout_comm *c) { return c->rank < c->n_learners ? c->rank : -1; }

void rollout_learners_bcast_idle(rollout_comm *c, void *buf, size_t len) {
    if (c->n_learners < 2) return;
    bcast_idle(buf, (int)len, c->learners);
}

void rollout_learners_bcast(rollout_comm *c, void *buf, size_t len) {
    if (c->n_learners < 2) return;
    const size_t chunk = (size_t)1 << 30;
    for (size_t off = 0; off < len; off += chunk)
        MPI_Bcast((char *)buf + off, (int)(len - off < chunk ? len - off : chunk), MPI_BYTE, 0,
                  c->learners);
}

int rollout_learners_allgather(rollout_comm *c, const void *mine, const size_t *lens, void *all,
                               core_error *err) {
    int L = c->n_learners, me = c->rank;
    if (L < 2) {
        memcpy(all, mine, lens[0]);
        return 0;
    }
    int *counts = malloc(sizeof(int) * L), *displs = malloc(sizeof(int) * L);
    size_t off = 0;
    for (int r = 0; r < L && counts && displs; r++) {
        counts[r] = (int)lens[r];
        displs[r] = (int)off;
        off += lens[r];
    }
    int rc = 0;
    if (!counts || !displs) rc = core_fail(err, CORE_ERUNTIME, "out of memory");
    else if (off > INT_MAX) rc = core_fail(err, CORE_ERUNTIME, "learner exchange of %zu bytes too large", off);
    else MPI_Allgatherv(mine, counts[me], MPI_BYTE, all, counts, displs, MPI_BYTE, c->learners);
    free(counts), free(displs);
    return rc;
}

void rollout_learners_sum_i128(rollout_comm *c, __int128 *v, size_t n) {
    if (c->n_learners < 2) return;
    const size_t chunk = (size_t)1 << 26;
    for (size_t off = 0; off < n; off += chunk)
        MPI_Allreduce(MPI_IN_PLACE, v + off, (int)(n - off < chunk ? n - off : chunk), c->i128,
                      c->sum_i128, c->learners);
}

void rollout_learners_sum_doubles(rollout_comm *c, double *v, size_t n) {
    if (c->n_learners < 2) return;
    MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_DOUBLE, MPI_SUM, c->learners);
}
