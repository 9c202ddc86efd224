/* logprobs.c — `grpo logprobs --model DIR FILE.jsonl`: per-token log-probs
 * of completions under the plain model distribution (no temperature).
 *
 * Each input line is {"prompt": TEXT, "completion": TEXT}; each output line
 * is {"logprobs": [...]}, one entry per completion token.  The completion's
 * tokens are those of tokenizing prompt + completion, after the prompt's
 * (as a Hugging Face user computes them), so a merge across the boundary is
 * scored the way the model would see the joined text. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "model/model.h"

static const char logprobs_usage[] =
    "usage: grpo logprobs --model PATH FILE.jsonl\n"
    "\n"
    "PATH is a Hugging Face model directory or one of our .safetensors\n"
    "checkpoints.  Reads lines {\"prompt\": ..., \"completion\": ...} and prints\n"
    "one line {\"logprobs\": [...]} per input line: log p(token | everything\n"
    "before it) for each completion token.\n";

/* One input line: the joined text's ids and where the completion starts. */
typedef struct scored_line {
    int *ids, n_ids, n_prompt;
} scored_line;

static int read_line_texts(const cmd_jsonl_line *line, const tokenizer *tok, scored_line *out,
                           core_error *err) {
    const char *prompt, *completion;
    if (cmd_jsonl_string(line, "prompt", &prompt, err) ||
        cmd_jsonl_string(line, "completion", &completion, err))
        return CORE_EINPUT;
    size_t lp = strlen(prompt), lc = strlen(completion);
    char *joined = malloc(lp + lc + 1);
    out->ids = malloc(sizeof(int) * (lp + lc + 1));
    if (!joined || !out->ids) return free(joined), core_fail(err, CORE_ERUNTIME, "out of memory");
    memcpy(joined, prompt, lp);
    memcpy(joined + lp, completion, lc + 1);
    out->n_prompt = tokenizer_encode(tok, prompt, lp, out->ids, (int)(lp + lc + 1));
    out->n_ids = tokenizer_encode(tok, joined, lp + lc, out->ids, (int)(lp + lc + 1));
    free(joined);
    if (out->n_prompt < 1)
        return core_fail(err, CORE_EINPUT, "%s:%d: field \"prompt\": empty (a first token is needed to "
                         "condition on)", line->path, line->number);
    return 0;
}

/* Log-probs of ids[n_prompt..n_ids) printed as one JSON line. */
static int score_line(model *m, const scored_line *s, float *lp, const cmd_jsonl_line *line,
                      core_error *err) {
    int max_seq = model_get_config(m)->max_seq;
    if (s->n_ids > max_seq)
        return core_fail(err, CORE_EINPUT, "%s:%d: %d tokens, more than the model's %d positions",
                         line->path, line->number, s->n_ids, max_seq);
    if (model_forward(m, s->ids, 1, s->n_ids, lp, NULL, err)) return err->code;
    cJSON *j = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(j, "logprobs");
    /* lp[t] = log p(ids[t+1] | ids[0..t]) */
    for (int t = s->n_prompt; t < s->n_ids; t++) cJSON_AddItemToArray(arr, cJSON_CreateNumber(lp[t - 1]));
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text) return core_fail(err, CORE_ERUNTIME, "out of memory");
    puts(text);
    free(text);
    return 0;
}

static int run(const char *model_path, const char *file, core_error *err) {
    cmd_jsonl *in;
    if (cmd_jsonl_open(&in, file, err)) return err->code;
    /* every token is at least one byte, so the longest line bounds the context */
    int longest = cmd_jsonl_longest(in) + 1;
    model *m;
    if (model_open(&m, model_path, 1, longest, err)) return cmd_jsonl_close(in), err->code;
    float *lp = malloc(sizeof(float) * model_get_config(m)->max_seq);
    int rc = lp ? 0 : core_fail(err, CORE_ERUNTIME, "out of memory");
    cmd_jsonl_line line;
    while (!rc && cmd_jsonl_next(in, &line, err) == 1) {
        scored_line s = {0};
        rc = read_line_texts(&line, model_tokenizer(m), &s, err);
        if (!rc) rc = score_line(m, &s, lp, &line, err);
        free(s.ids);
    }
    if (!rc) rc = err->code;
    free(lp);
    model_free(m);
    cmd_jsonl_close(in);
    return rc;
}

int cmd_logprobs(int argc, char **argv) {
    if (cmd_wants_help(argc, argv)) return fputs(logprobs_usage, stdout), 0;
    const char *model_path = NULL, *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) model_path = argv[++i];
        else if (argv[i][0] != '-' && !file) file = argv[i];
        else {
            fprintf(stderr, "grpo logprobs: unexpected argument '%s'\n%s", argv[i], logprobs_usage);
            return 2;
        }
    }
    if (!model_path || !file) return fputs(logprobs_usage, stderr), 2;
    core_error err = {0};
    if (run(model_path, file, &err)) return cmd_report_error("logprobs", &err);
    return 0;
}
