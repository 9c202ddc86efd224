/*
 * Task items and sets, the train/held-out split, the task source a run
 * draws from, and prompt templates.
 *
 * The split is decided by a hash of the question text alone, so a question
 * is on the same side in every run, every file and every rank; training
 * draws skip held-out questions, which makes the two sides disjoint by
 * construction rather than by bookkeeping.  The code generator's items
 * are split by their constant instead (tasks_item_is_heldout): a held-out
 * item's K never occurs in training, a stronger split than new seeds.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tasks/internal.h"
#include "tasks/tasks.h"

/* ------------------------------------------------------------------ items */

void task_item_free(task_item *t) {
    if (!t) return;
    free(t->question);
    free(t->gold);
    free(t->tests);
    free(t->meta);
    memset(t, 0, sizeof *t);
}

static int dup_field(char **dst, const char *src, core_error *err) {
    *dst = NULL;
    if (!src) return 0;
    *dst = strdup(src);
    return *dst ? 0 : core_fail(err, CORE_ERUNTIME, "tasks: out of memory");
}

int task_item_copy(task_item *dst, const task_item *src, core_error *err) {
    *dst = *src;
    dst->question = dst->gold = dst->tests = dst->meta = NULL;
    if (dup_field(&dst->question, src->question, err) || dup_field(&dst->gold, src->gold, err) ||
        dup_field(&dst->tests, src->tests, err) || dup_field(&dst->meta, src->meta, err)) {
        task_item_free(dst);
        return CORE_ERUNTIME;
    }
    return 0;
}

int task_set_push(task_set *s, task_item *item, core_error *err) {
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 64;
        task_item *items = realloc(s->items, (size_t)cap * sizeof *items);
        if (!items) return core_fail(err, CORE_ERUNTIME, "tasks: out of memory");
        s->items = items;
        s->cap = cap;
    }
    s->items[s->n++] = *item;
    memset(item, 0, sizeof *item);
    return 0;
}

void task_set_free(task_set *s) {
    for (int i = 0; i < s->n; i++) task_item_free(&s->items[i]);
    free(s->items);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------------ split */

static uint64_t hash_text(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, then a splitmix finaliser */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    h ^= h >> 30; h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27; h *= 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

int tasks_is_heldout(const char *question) { return hash_text(question) % 10 == 0; }

int tasks_item_is_heldout(const task_item *t) {
    if (!strcmp(t->gen, "code") && t->n_operands >= 3) return tasks_code_is_heldout(t);
    return tasks_is_heldout(t->question);
}

/* A set of question hashes, open addressing; enough to dedupe and to keep a
 * JSONL training file clear of the held-out file's questions. */
typedef struct hash_set { uint64_t *slots; size_t cap; } hash_set;

static int hash_set_init(hash_set *h, size_t n, core_error *err) {
    h->cap = 64;
    while (h->cap < 2 * n + 2) h->cap *= 2;
    h->slots = calloc(h->cap, sizeof *h->slots);
    return h->slots ? 0 : core_fail(err, CORE_ERUNTIME, "tasks: out of memory");
}

/* Returns 1 if inserted, 0 if it was already there.  Hash 0 maps to 1. */
static int hash_set_add(hash_set *h, uint64_t key) {
    key = key ? key : 1;
    for (size_t i = key & (h->cap - 1);; i = (i + 1) & (h->cap - 1)) {
        if (h->slots[i] == key) return 0;
        if (!h->slots[i]) { h->slots[i] = key; return 1; }
    }
}

static int hash_set_has(const hash_set *h, uint64_t key) {
    key = key ? key : 1;
    for (size_t i = key & (h->cap - 1);; i = (i + 1) & (h->cap - 1)) {
        if (h->slots[i] == key) return 1;
        if (!h->slots[i]) return 0;
    }
}

/* ----------------------------------------------------------------- source */

struct task_source {
    char gen[16];        /* generator name, or "jsonl" */
    int difficulty;
    uint64_t seed;
    task_set heldout;
    task_set train;      /* jsonl only */
};

const task_set *tasks_heldout(const task_source *ts) { return &ts->heldout; }
const task_set *tasks_train(const task_source *ts) { return &ts->train; }

void tasks_item_origin(const task_item *t, char *out, size_t cap) {
    cJSON *meta = t->meta ? cJSON_Parse(t->meta) : NULL;
    const cJSON *src = cJSON_GetObjectItem(meta, "source"), *line = cJSON_GetObjectItem(meta, "line");
    if (cJSON_IsString(src) && cJSON_IsNumber(line)) snprintf(out, cap, "%s:%d", src->valuestring, line->valueint);
    else snprintf(out, cap, "%s", t->id);
    cJSON_Delete(meta);
}

void tasks_close(task_source *ts) {
    if (!ts) return;
    task_set_free(&ts->heldout);
    task_set_free(&ts->train);
    free(ts);
}

/* The fixed held-out split of a generator: draws from heldout_seed until
 * n distinct held-out questions are found.  A generator whose problem space
 * is too small to give n gets a warning and keeps what it found. */
static int heldout_from_generator(task_source *ts, uint64_t heldout_seed, int n,
                                  core_error *err) {
    hash_set seen;
    if (hash_set_init(&seen, (size_t)n, err)) return CORE_ERUNTIME;
    core_rng rng = core_rng_stream(heldout_seed, CORE_RNG_TASKS, UINT64_MAX, 0);
    long attempts = 0, max_attempts = 2000L * (n + 1);
    int rc = 0;
    while (ts->heldout.n < n && attempts++ < max_attempts) {
        task_item t;
        if ((rc = tasks_generate(ts->gen, ts->difficulty, &rng, &t, err))) break;
        if (tasks_item_is_heldout(&t) && hash_set_add(&seen, hash_text(t.question))) {
            if ((rc = task_set_push(&ts->heldout, &t, err))) break;
        } else {
            task_item_free(&t);
        }
    }
    free(seen.slots);
    if (!rc && ts->heldout.n < n)
        core_warn("tasks: %s at difficulty %d has only %d held-out questions (asked for %d)",
                  ts->gen, ts->difficulty, ts->heldout.n, n);
    return rc;
}

/* JSONL: the held-out file when given (its first n items), else the
 * held-out side of the training file by hash.  Training keeps the rest. */
static int split_jsonl(task_source *ts, const core_config *cfg, core_error *err) {
    task_set all = {0}, held = {0};
    int rc = tasks_load_jsonl(cfg->tasks.train, &all, err);
    if (!rc && cfg->tasks.heldout[0]) rc = tasks_load_jsonl(cfg->tasks.heldout, &held, err);
    hash_set heldq = {0};
    if (!rc) rc = hash_set_init(&heldq, (size_t)(all.n + held.n), err);
    int n = cfg->tasks.heldout_items;
    for (int i = 0; !rc && i < held.n && ts->heldout.n < n; i++)
        if (hash_set_add(&heldq, hash_text(held.items[i].question)))
            rc = task_set_push(&ts->heldout, &held.items[i], err);
    for (int i = 0; !rc && i < all.n; i++) {
        task_item *t = &all.items[i];
        uint64_t h = hash_text(t->question);
        if (!cfg->tasks.heldout[0] && tasks_is_heldout(t->question)) {
            if (ts->heldout.n < n && hash_set_add(&heldq, h))
                rc = task_set_push(&ts->heldout, t, err);
        } else if (!hash_set_has(&heldq, h)) {
            rc = task_set_push(&ts->train, t, err);
        }
    }
    free(heldq.slots);
    task_set_free(&all);
    task_set_free(&held);
    if (!rc && ts->train.n == 0)
        rc = core_fail(err, CORE_EINPUT, "%s: tasks.train: no training items left after the split",
                       cfg->tasks.train);
    return rc;
}

/* A setting the chosen tasks.kind does not read is an error, not ignored. */
static int check_keys_read(const core_config *cfg, core_error *err) {
    int jsonl = !strcmp(cfg->tasks.kind, "jsonl");
    static const char *const jsonl_only[] = {"train", "heldout"};
    for (int i = 0; i < 2 && !jsonl; i++)
        if (!core_config_is_default(cfg, "tasks", jsonl_only[i]))
            return core_fail(err, CORE_EINPUT, "tasks.%s is set, but tasks.kind=%s does not read "
                             "it (only tasks.kind=jsonl does)", jsonl_only[i], cfg->tasks.kind);
    if (jsonl && !core_config_is_default(cfg, "tasks", "difficulty"))
        return core_fail(err, CORE_EINPUT, "tasks.difficulty is set, but tasks.kind=jsonl does not "
                         "read it (only the generators do)");
    return 0;
}

int tasks_open(const core_config *cfg, task_source **out, core_error *err) {
    *out = NULL;
    if (tasks_check_template(cfg->tasks.template, err) || check_keys_read(cfg, err)) return CORE_EINPUT;
    task_source *ts = calloc(1, sizeof *ts);
    if (!ts) return core_fail(err, CORE_ERUNTIME, "tasks: out of memory");
    snprintf(ts->gen, sizeof ts->gen, "%s", cfg->tasks.kind);
    ts->difficulty = cfg->tasks.difficulty;
    ts->seed = (uint64_t)cfg->run.seed;
    int rc;
    if (!strcmp(ts->gen, "jsonl")) {
        rc = cfg->tasks.train[0]
                 ? split_jsonl(ts, cfg, err)
                 : core_fail(err, CORE_EINPUT, "tasks.train: tasks.kind=jsonl needs a JSONL file");
    } else {
        rc = heldout_from_generator(ts, (uint64_t)cfg->tasks.heldout_seed,
                                    cfg->tasks.heldout_items, err);
    }
    if (rc) { tasks_close(ts); return rc; }
    *out = ts;
    return 0;
}

int tasks_draw(const task_source *ts, uint64_t step, int index, task_item *out,
               core_error *err) {
    core_rng rng = core_rng_stream(ts->seed, CORE_RNG_TASKS, step, (uint64_t)index);
    if (ts->train.n > 0)
        return task_item_copy(out, &ts->train.items[core_rng_below(&rng, (uint64_t)ts->train.n)],
                              err);
    for (int attempt = 0; attempt < 10000; attempt++) {
        int rc = tasks_generate(ts->gen, ts->difficulty, &rng, out, err);
        if (rc) return rc;
        if (!tasks_item_is_heldout(out)) return 0;
        task_item_free(out);
    }
    return core_fail(err, CORE_ERUNTIME, "tasks: %s drew only held-out questions", ts->gen);
}

/* --------------------------------------------------------------- template */

/* Byte tokens and a 128-token context leave no room for DeepSeek's long
 * system text, so "r1zero" is its shortest form: the question after "Q:",
 * and the response opens with <think>.  "chat" is the paper's wording, for
 * models with the context for it. */
#define R1_SYSTEM                                                                              \
    "You are a helpful assistant. You first think about the reasoning process and then give "  \
    "the answer. The reasoning process and answer are enclosed within <think> </think> and "   \
    "<answer> </answer> tags, respectively."
static const struct { const char *name, *text; } templates[] = {
    {"r1zero", "Q:{question}\n"},
    {"plain", "{question}\n"},
    {"chat", "A conversation between User and Assistant. The user asks a question, and the "
             "Assistant solves it. The assistant first thinks about the reasoning process in "
             "the mind and then provides the user with the answer. The reasoning process and "
             "answer are enclosed within <think> </think> and <answer> </answer> tags, "
             "respectively.\nUser: {question}\nAssistant: "},
    /* The chat formats of the Hugging Face families, for instruct models:
     * the same instruction as "chat" in the system turn, the question as the
     * user turn, and the assistant turn left open.  Their tags are the
     * tokenizer's added tokens, so they encode as single ids. */
    {"chatml", "<|im_start|>system\n" R1_SYSTEM "<|im_end|>\n<|im_start|>user\n{question}<|im_end|>\n"
               "<|im_start|>assistant\n"},
    {"llama3", "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" R1_SYSTEM
               "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n{question}<|eot_id|>"
               "<|start_header_id|>assistant<|end_header_id|>\n\n"},
};

static const char *template_text(const char *name) {
    for (size_t i = 0; i < sizeof templates / sizeof templates[0]; i++)
        if (!strcmp(name, templates[i].name)) return templates[i].text;
    return strstr(name, "{question}") ? name : NULL;
}

int tasks_check_template(const char *template_, core_error *err) {
    if (template_text(template_)) return 0;
    return core_fail(err, CORE_EINPUT,
                     "tasks.template: '%s' is neither r1zero, plain, chat, chatml, llama3 nor a text with "
                     "{question}", template_);
}

char *tasks_render_prompt(const char *template_, const char *question, core_error *err) {
    const char *text = template_text(template_);
    if (!text) { tasks_check_template(template_, err); return NULL; }
    const char *at = strstr(text, "{question}");
    size_t head = (size_t)(at - text), qlen = strlen(question), tail = strlen(at + 10);
    char *out = malloc(head + qlen + tail + 1);
    if (!out) { core_fail(err, CORE_ERUNTIME, "tasks: out of memory"); return NULL; }
    memcpy(out, text, head);
    memcpy(out + head, question, qlen);
    memcpy(out + head + qlen, at + 10, tail + 1);
    return out;
}
