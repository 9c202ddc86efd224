/*
 * grpo tokenize — text to token ids and back, one JSON line per line.
 * The tokenizer is model/'s (tokenizer.h); this file reads lines, checks
 * their fields and prints.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cmd.h"
#include "model/tokenizer.h"

static const char tokenize_usage[] =
    "usage: grpo tokenize --model DIR|CHECKPOINT.safetensors [--decode] FILE.jsonl|-\n"
    "\n"
    "Reads lines {\"text\": ...} and writes lines {\"ids\": [...]}, in order, as\n"
    "`tokenizer(text, add_special_tokens=False)` does: added tokens in the text\n"
    "become their ids, nothing is prepended or appended.  With --decode it reads\n"
    "lines {\"ids\": [...]} and writes lines {\"text\": ...} (special tokens kept,\n"
    "as `decode(ids)`; bytes that are not UTF-8 become U+FFFD, as in Python).\n"
    "\n"
    "  --model DIR         a Hugging Face model directory: DIR/tokenizer.json and,\n"
    "                      when present, DIR/tokenizer_config.json\n"
    "  --model FILE.safetensors   one of grpo's own checkpoints: the byte-level tokenizer\n"
    "\n"
    "A malformed line stops the command with FILE:LINE: field \"...\": reason, exit 2\n"
    "(the lines before it are already written).\n";

typedef struct tokenize_args {
    const char *model, *file;
    int decode;
} tokenize_args;

static int parse_args(int argc, char **argv, tokenize_args *a) {
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) a->model = argv[++i];
        else if (!strcmp(argv[i], "--decode")) a->decode = 1;
        else if ((argv[i][0] != '-' || !strcmp(argv[i], "-")) && !a->file) a->file = argv[i];
        else return fprintf(stderr, "grpo tokenize: unexpected argument '%s'\n%s", argv[i], tokenize_usage), 2;
    }
    if (!a->model || !a->file)
        return fprintf(stderr, "grpo tokenize: %s\n%s", a->model ? "no input file" : "--model is required",
                       tokenize_usage), 2;
    return 0;
}

/* A directory is a Hugging Face model; a .safetensors file is one of ours. */
static int open_tokenizer(const char *model, tokenizer **t, core_error *err) {
    struct stat st;
    if (stat(model, &st)) return core_fail(err, CORE_EINPUT, "--model %s: no such file or directory", model);
    if (S_ISDIR(st.st_mode)) return tokenizer_load_hf(t, model, err);
    size_t n = strlen(model);
    if (n > 12 && !strcmp(model + n - 12, ".safetensors")) {
        *t = (tokenizer *)tokenizer_bytes();
        return 0;
    }
    return core_fail(err, CORE_EINPUT, "--model %s: neither a model directory nor a .safetensors checkpoint", model);
}

/* ------------------------------------------------------------------ output */

/* s as a JSON string; bytes that are not UTF-8 become U+FFFD (core_utf8_lossy). */
static void put_json_string(const unsigned char *s, size_t n, FILE *out) {
    size_t len = 0;
    char *text = core_utf8_lossy((const char *)s, n, &len);
    putc('"', out);
    for (const unsigned char *p = (const unsigned char *)text, *end = p + (text ? len : 0); p < end; p++) {
        if (*p == '"' || *p == '\\') fprintf(out, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", out);
        else if (*p == '\r') fputs("\\r", out);
        else if (*p == '\t') fputs("\\t", out);
        else if (*p < 0x20 || *p == 0x7F) fprintf(out, "\\u%04x", *p);
        else putc(*p, out);
    }
    putc('"', out);
    free(text);
}

/* ------------------------------------------------------------------- lines */

typedef struct line_ctx {
    const char *file;
    long line;
    int *ids;
    size_t ids_cap;
    char *text;
    size_t text_cap;
} line_ctx;

static int bad_line(const line_ctx *c, core_error *err, const char *field, const char *why) {
    if (field) return core_fail(err, CORE_EINPUT, "%s:%ld: field \"%s\": %s", c->file, c->line, field, why);
    return core_fail(err, CORE_EINPUT, "%s:%ld: %s", c->file, c->line, why);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t cap2 = *cap ? *cap : 1024;
    while (cap2 < need) cap2 *= 2;
    void *q = realloc(*p, cap2 * elem);
    if (!q) return -1;
    *p = q;
    *cap = cap2;
    return 0;
}

static int encode_line(const tokenizer *t, const cJSON *j, line_ctx *c, core_error *err) {
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(j, "text");
    if (!text) return bad_line(c, err, "text", "missing");
    if (!cJSON_IsString(text)) return bad_line(c, err, "text", "not a string");
    size_t len = strlen(text->valuestring);
    int n;
    if (grow((void **)&c->ids, &c->ids_cap, len + 16, sizeof *c->ids)) return core_fail(err, CORE_ERUNTIME, "out of memory");
    while ((n = tokenizer_encode(t, text->valuestring, len, c->ids, (int)c->ids_cap)) < 0)
        if (grow((void **)&c->ids, &c->ids_cap, c->ids_cap * 2, sizeof *c->ids)) return core_fail(err, CORE_ERUNTIME, "out of memory");
    fputs("{\"ids\": [", stdout);
    for (int i = 0; i < n; i++) printf(i ? ", %d" : "%d", c->ids[i]);
    fputs("]}\n", stdout);
    return 0;
}

static int decode_line(const tokenizer *t, const cJSON *j, line_ctx *c, core_error *err) {
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(j, "ids"), *x;
    if (!ids) return bad_line(c, err, "ids", "missing");
    if (!cJSON_IsArray(ids)) return bad_line(c, err, "ids", "not an array");
    int n = 0;
    if (grow((void **)&c->ids, &c->ids_cap, (size_t)cJSON_GetArraySize(ids) + 1, sizeof *c->ids))
        return core_fail(err, CORE_ERUNTIME, "out of memory");
    cJSON_ArrayForEach(x, ids) {
        if (!cJSON_IsNumber(x) || x->valuedouble != (double)x->valueint || x->valueint < 0)
            return bad_line(c, err, "ids", "every id must be a non-negative integer");
        c->ids[n++] = x->valueint;
    }
    size_t need = tokenizer_decode(t, c->ids, n, 0, c->text, c->text_cap);
    if (need >= c->text_cap) {
        if (grow((void **)&c->text, &c->text_cap, need + 1, 1)) return core_fail(err, CORE_ERUNTIME, "out of memory");
        tokenizer_decode(t, c->ids, n, 0, c->text, c->text_cap);
    }
    fputs("{\"text\": ", stdout);
    put_json_string((const unsigned char *)c->text, need, stdout);
    fputs("}\n", stdout);
    return 0;
}

static int tokenize_stream(const tokenizer *t, FILE *in, const tokenize_args *a, core_error *err) {
    line_ctx c = {.file = a->file};
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    while (!rc && (len = getline(&line, &cap, in)) >= 0) {
        c.line++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        cJSON *j = cJSON_ParseWithLength(line, (size_t)len);
        if (!j || !cJSON_IsObject(j)) rc = bad_line(&c, err, NULL, len ? "not a JSON object" : "empty line");
        else rc = a->decode ? decode_line(t, j, &c, err) : encode_line(t, j, &c, err);
        cJSON_Delete(j);
    }
    free(line);
    free(c.ids);
    free(c.text);
    return rc;
}

int cmd_tokenize(int argc, char **argv) {
    if (cmd_wants_help(argc, argv)) return fputs(tokenize_usage, stdout), 0;
    tokenize_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc;
    core_error err = {0};
    tokenizer *t = NULL;
    if (open_tokenizer(a.model, &t, &err)) return cmd_report_error("tokenize", &err);
    FILE *in = strcmp(a.file, "-") ? fopen(a.file, "r") : stdin;
    if (!in) {
        tokenizer_free(t);
        fprintf(stderr, "grpo tokenize: cannot open %s\n", a.file);
        return 2;
    }
    rc = tokenize_stream(t, in, &a, &err);
    if (in != stdin) fclose(in);
    tokenizer_free(t);
    if (fflush(stdout) && !rc) rc = core_fail(&err, CORE_ERUNTIME, "writing the output failed");
    return rc ? cmd_report_error("tokenize", &err) : 0;
}
