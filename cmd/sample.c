/* sample.c — `grpo sample --model PATH --prompt TEXT`: look at what a
 * model writes.  Loads a Hugging Face model directory or one of our
 * checkpoints (model_open), samples N completions of the prompt as one
 * group (model_sample_group) and prints them, or one JSON object per
 * completion with --json. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "model/model.h"

static const char sample_usage[] =
    "usage: grpo sample --model PATH --prompt TEXT [options]\n"
    "\n"
    "Continue TEXT with the model at PATH: a Hugging Face model directory, or\n"
    "one of our .safetensors checkpoints with config.json beside it\n"
    "(--checkpoint is the same flag).  TEXT is tokenized as `grpo tokenize`\n"
    "does (no special tokens added; added tokens such as <think> written in it\n"
    "are single tokens).  Decoding ends at an eos token of the model, at the\n"
    "stop text, or after the most new tokens.\n"
    "\n"
    "  -n N                completions, decoded as one batch (default 1)\n"
    "  --temperature T     0 = greedy (default 1)\n"
    "  --top-p P           nucleus mass (default 1 = off)\n"
    "  --top-k K           keep the K most likely tokens (default 0 = off)\n"
    "  --max-new-tokens N  most new tokens (default 64; --max-new is the same)\n"
    "  --stop TEXT         stop once the completion ends with TEXT (default none)\n"
    "  --seed S            sampling seed (default 1)\n"
    "  --bos               start the prompt with the model's bos token\n"
    "  --json              one JSON object per completion: ids (the new token ids), text,\n"
    "                      logprobs, finish\n";

typedef struct sample_args {
    const char *checkpoint, *prompt, *stop;
    int n, top_k, max_new, seed, bos, json;
    float temperature, top_p;
} sample_args;

static int parse_number(const char *flag, const char *text, double lo, double hi, double *out) {
    char *end;
    double v = strtod(text, &end);
    if (*text == 0 || *end != 0 || !(v >= lo && v <= hi)) {
        fprintf(stderr, "grpo sample: %s: '%s' is not a number in [%g, %g]\n", flag, text, lo, hi);
        return 2;
    }
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, sample_args *a) {
    *a = (sample_args){.n = 1, .max_new = 64, .seed = 1, .temperature = 1, .top_p = 1};
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        int has = i + 1 < argc;
        double v;
        if (!strcmp(f, "--json")) a->json = 1;
        else if (!strcmp(f, "--bos")) a->bos = 1;
        else if ((!strcmp(f, "--model") || !strcmp(f, "--checkpoint")) && has) a->checkpoint = argv[++i];
        else if (!strcmp(f, "--prompt") && has) a->prompt = argv[++i];
        else if (!strcmp(f, "--stop") && has) a->stop = argv[++i];
        else if (!strcmp(f, "-n") && has) {
            if (parse_number(f, argv[++i], 1, 4096, &v)) return 2;
            a->n = (int)v;
        } else if (!strcmp(f, "--temperature") && has) {
            if (parse_number(f, argv[++i], 0, 100, &v)) return 2;
            a->temperature = (float)v;
        } else if (!strcmp(f, "--top-p") && has) {
            if (parse_number(f, argv[++i], 1e-6, 1, &v)) return 2;
            a->top_p = (float)v;
        } else if (!strcmp(f, "--top-k") && has) {
            if (parse_number(f, argv[++i], 0, 1 << 20, &v)) return 2;
            a->top_k = (int)v;
        } else if ((!strcmp(f, "--max-new-tokens") || !strcmp(f, "--max-new")) && has) {
            if (parse_number(f, argv[++i], 1, 1 << 20, &v)) return 2;
            a->max_new = (int)v;
        } else if (!strcmp(f, "--seed") && has) {
            if (parse_number(f, argv[++i], 0, 2147483647, &v)) return 2;
            a->seed = (int)v;
        } else {
            fprintf(stderr, "grpo sample: unexpected argument '%s'\n%s", f, sample_usage);
            return 2;
        }
    }
    if (!a->checkpoint || !a->prompt) {
        fputs(sample_usage, stderr);
        return 2;
    }
    return 0;
}

static void print_completion(const sample_args *a, const tokenizer *tok, int g, const model_sample *s) {
    size_t need = tokenizer_decode(tok, s->tokens, s->n_tokens, 1, NULL, 0);
    char *text = malloc(need + 1);
    if (!text) return;
    tokenizer_decode(tok, s->tokens, s->n_tokens, 1, text, need + 1);
    if (a->json) { /* JSON must be valid UTF-8, which a token boundary may split */
        char *lossy = core_utf8_lossy(text, need, NULL);
        free(text);
        if (!(text = lossy)) return;
    }
    if (!a->json) {
        printf("--- sample %d (%d tokens, %s)\n%s%s\n", g, s->n_tokens, model_finish_name(s->finish),
               a->prompt, text);
        free(text);
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "sample", g);
    cJSON_AddStringToObject(j, "prompt", a->prompt);
    cJSON_AddStringToObject(j, "text", text);
    cJSON_AddStringToObject(j, "finish", model_finish_name(s->finish));
    cJSON *toks = cJSON_AddArrayToObject(j, "ids"), *lps = cJSON_AddArrayToObject(j, "logprobs");
    for (int i = 0; i < s->n_tokens; i++) {
        cJSON_AddItemToArray(toks, cJSON_CreateNumber(s->tokens[i]));
        cJSON_AddItemToArray(lps, cJSON_CreateNumber(s->logprob[i]));
    }
    char *line = cJSON_PrintUnformatted(j);
    if (line) puts(line);
    free(line), free(text);
    cJSON_Delete(j);
}

static int run(const sample_args *a, core_error *err) {
    model *m;
    size_t plen = strlen(a->prompt);
    /* every token is at least one byte: plen + 1 bounds the prompt (and a bos) */
    if (model_open(&m, a->checkpoint, a->n, (int)plen + 1 + a->max_new, err)) return err->code;
    const model_config *mc = model_get_config(m);
    const tokenizer *tok = model_tokenizer(m);
    int *prompt = malloc(sizeof(int) * (plen + 1)), n_prompt = 0;
    int *tokens = malloc(sizeof(int) * (size_t)a->n * a->max_new);
    float *logprob = malloc(sizeof(float) * (size_t)a->n * a->max_new);
    model_sample *out = calloc(a->n, sizeof *out);
    core_rng *rng = malloc(sizeof(core_rng) * a->n);
    int rc = 0;
    if (!prompt || !tokens || !logprob || !out || !rng) {
        rc = core_fail(err, CORE_ERUNTIME, "out of memory");
        goto done;
    }
    if (a->bos && tokenizer_bos(tok) < 0) {
        rc = core_fail(err, CORE_EINPUT, "--bos: the model's tokenizer has no bos token");
        goto done;
    }
    if (a->bos) prompt[n_prompt++] = tokenizer_bos(tok);
    n_prompt += tokenizer_encode(tok, a->prompt, plen, prompt + n_prompt, (int)plen);
    if (n_prompt >= mc->max_seq) {
        rc = core_fail(err, CORE_EINPUT, "--prompt: %d tokens, the model's context is %d", n_prompt, mc->max_seq);
        goto done;
    }
    for (int g = 0; g < a->n; g++) {
        out[g] = (model_sample){0, tokens + (size_t)g * a->max_new, logprob + (size_t)g * a->max_new, 0};
        rng[g] = core_rng_stream((uint64_t)a->seed, CORE_RNG_SAMPLE, 0, (uint64_t)g);
    }
    model_sample_params sp = {.temperature = a->temperature, .top_p = a->top_p, .top_k = a->top_k,
                              .max_new_tokens = a->max_new, .stop = a->stop};
    double t0 = core_now();
    rc = model_sample_group(m, prompt, n_prompt, a->n, &sp, rng, out, err);
    double dt = core_now() - t0;
    if (!rc) {
        long total = 0;
        for (int g = 0; g < a->n; g++) print_completion(a, tok, g, &out[g]), total += out[g].n_tokens;
        core_info("sample: %ld tokens in %.3f s (%.0f tokens/s)", total, dt, total / (dt > 0 ? dt : 1e-9));
    }
done:
    free(prompt), free(tokens), free(logprob), free(out), free(rng);
    model_free(m);
    return rc;
}

int cmd_sample(int argc, char **argv) {
    if (cmd_wants_help(argc, argv)) return fputs(sample_usage, stdout), 0;
    sample_args a;
    if (parse_args(argc, argv, &a)) return 2;
    core_error err = {0};
    if (run(&a, &err)) return cmd_report_error("sample", &err);
    return 0;
}
