/* common.c — helpers every subcommand uses: help flags, error reporting,
 * loading a config with its --set overrides, reading JSONL input. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"

int cmd_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return 1;
    return 0;
}

int cmd_report_error(const char *cmd, const core_error *err) {
    fprintf(stderr, "grpo %s: %s\n", cmd, err->msg);
    return err->code ? err->code : 1;
}

int cmd_load_config(core_config *cfg, const char *path, int *argc, char **argv, core_error *err) {
    core_config_defaults(cfg);
    if (path && core_config_load(cfg, path, err)) return err->code;
    int kept = 0;
    for (int i = 0; i < *argc; i++) {
        if (!strcmp(argv[i], "--set")) {
            if (i + 1 >= *argc)
                return core_fail(err, CORE_EINPUT, "--set needs section.key=value");
            if (core_config_set(cfg, argv[++i], err)) return err->code;
            continue;
        }
        argv[kept++] = argv[i];
    }
    *argc = kept;
    argv[kept] = NULL;
    return 0;
}

int cmd_stop_status(void) {
    return core_stop_signal() ? 128 + core_stop_signal() : 0;
}

/* ------------------------------------------------------------------ JSONL */

struct cmd_jsonl {
    char *path, *text, *at; /* the whole file; at: the next unread line */
    int number, longest;
    cJSON *obj;             /* the current line's object */
};

int cmd_jsonl_open(cmd_jsonl **out, const char *path, core_error *err) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return core_fail(err, CORE_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    cmd_jsonl *in = calloc(1, sizeof *in);
    size_t cap = 0, len = 0, got;
    char chunk[65536];
    while (in && (got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + got + 1 > cap) {
            cap = 2 * (len + got + 1);
            char *bigger = realloc(in->text, cap);
            if (!bigger) break;
            in->text = bigger;
        }
        memcpy(in->text + len, chunk, got);
        len += got;
    }
    int failed = !in || ferror(f) || !feof(f);
    fclose(f);
    if (!failed && !in->text) failed = !(in->text = calloc(1, 1));
    if (!failed) failed = !(in->path = strdup(path));
    if (failed) {
        cmd_jsonl_close(in);
        return core_fail(err, CORE_ERUNTIME, "%s: cannot read", path);
    }
    in->text[len] = 0;
    in->at = in->text;
    for (char *p = in->text; *p;) {
        char *nl = strchr(p, '\n');
        int n = (int)(nl ? nl - p : (ptrdiff_t)strlen(p));
        if (n > in->longest) in->longest = n;
        p += n + (nl != NULL);
    }
    *out = in;
    return 0;
}

static int blank(const char *s) {
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r') return 0;
    return 1;
}

int cmd_jsonl_next(cmd_jsonl *in, cmd_jsonl_line *line, core_error *err) {
    cJSON_Delete(in->obj);
    in->obj = NULL;
    while (*in->at) {
        char *nl = strchr(in->at, '\n'), *text = in->at;
        if (nl) *nl = 0;
        in->at = nl ? nl + 1 : text + strlen(text);
        in->number++;
        if (blank(text)) continue;
        in->obj = cJSON_Parse(text);
        if (!cJSON_IsObject(in->obj))
            return core_fail(err, CORE_EINPUT, "%s:%d: not a JSON object", in->path, in->number), 0;
        *line = (cmd_jsonl_line){in->path, in->number, in->obj};
        return 1;
    }
    return 0;
}

int cmd_jsonl_longest(const cmd_jsonl *in) { return in->longest; }

void cmd_jsonl_close(cmd_jsonl *in) {
    if (!in) return;
    cJSON_Delete(in->obj);
    free(in->text), free(in->path), free(in);
}

int cmd_jsonl_string(const cmd_jsonl_line *line, const char *name, const char **out,
                     core_error *err) {
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(line->obj, name);
    if (!cJSON_IsString(f))
        return core_fail(err, CORE_EINPUT, "%s:%d: field \"%s\": %s", line->path, line->number,
                         name, f ? "not a string" : "missing");
    *out = f->valuestring;
    return 0;
}
