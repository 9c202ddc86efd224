/* sandbox.c — `grpo sandbox --lang python|c|sh|exec FILE ...`: run one
 * program the way the code reward does and print what happened. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "sandbox/sandbox.h"

static const char sandbox_usage[] =
    "usage: grpo sandbox --lang python|c|sh|exec FILE [--stdin FILE] [--time-ms N]\n"
    "                    [--mem-mb N] [--output-kb N] [--procs N] [--json] [-- ARGS...]\n"
    "Runs FILE in the sandbox (for exec, FILE is an absolute path to run) under the\n"
    "[sandbox] defaults (time 2000 ms, 256 MB, 64 KB of output per stream).  Prints the\n"
    "program's stdout and stderr, then a summary line on stderr; with --json, one object:\n"
    "verdict, exit_code, signal, cpu_ms, wall_ms, max_rss_kb, stdout, stderr, truncated,\n"
    "isolation, detail.  Exit 0 whenever the program ran, whatever its verdict; 1 when\n"
    "the sandbox failed; 2 for bad usage or an unreadable file.\n";

static int parse_int(const char *opt, const char *text, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(text ? text : "", &end, 10);
    if (!text || !*text || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "grpo sandbox: %s: expected an integer in %d..%d, got \"%s\"\n", opt, lo, hi,
                text ? text : "");
        return 2;
    }
    *out = (int)v;
    return 0;
}

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n < 2) {
            char *grown = realloc(buf, cap *= 2);
            if (!grown) free(buf);
            buf = grown;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) return free(buf), NULL;
    buf[n] = 0;
    *len = n;
    return buf;
}

static void print_json(const sandbox_result *r) {
    char iso[256];
    sandbox_isolation_names(r->isolation, iso, sizeof iso);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "verdict", sandbox_verdict_name(r->verdict));
    cJSON_AddNumberToObject(o, "exit_code", r->exit_code);
    cJSON_AddNumberToObject(o, "signal", r->signal);
    cJSON_AddNumberToObject(o, "cpu_ms", r->cpu_ms);
    cJSON_AddNumberToObject(o, "wall_ms", r->wall_ms);
    cJSON_AddNumberToObject(o, "max_rss_kb", (double)r->max_rss_kb);
    cJSON_AddStringToObject(o, "stdout", r->out ? r->out : "");
    cJSON_AddStringToObject(o, "stderr", r->err ? r->err : "");
    cJSON_AddBoolToObject(o, "truncated", r->truncated);
    cJSON_AddStringToObject(o, "isolation", iso);
    cJSON_AddStringToObject(o, "detail", r->detail);
    char *text = cJSON_PrintUnformatted(o);
    puts(text);
    free(text);
    cJSON_Delete(o);
}

static void print_plain(const sandbox_result *r) {
    char iso[256];
    sandbox_isolation_names(r->isolation, iso, sizeof iso);
    fwrite(r->out, 1, r->out_len, stdout);
    fflush(stdout);
    fwrite(r->err, 1, r->err_len, stderr);
    fprintf(stderr, "sandbox: %s (%s) exit %d signal %d cpu %.1f ms wall %.1f ms rss %ld KB%s\n"
                    "sandbox: isolation %s\n",
            sandbox_verdict_name(r->verdict), r->detail, r->exit_code, r->signal, r->cpu_ms,
            r->wall_ms, r->max_rss_kb, r->truncated ? " (output truncated)" : "", iso);
}

typedef struct options {
    const char *lang, *file, *stdin_file;
    int json;
    char **args; /* after "--" */
    sandbox_limits lim;
} options;

static int parse_options(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    sandbox_limits_default(&o->lim);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (!strcmp(a, "--")) {
            o->args = argv + i + 1;
            break;
        } else if (!strcmp(a, "--json")) o->json = 1;
        else if (!strcmp(a, "--lang") && v) o->lang = argv[++i];
        else if (!strcmp(a, "--stdin") && v) o->stdin_file = argv[++i];
        else if (!strcmp(a, "--time-ms")) rc = parse_int(a, v, 1, 3600000, &o->lim.time_ms), i++;
        else if (!strcmp(a, "--mem-mb")) rc = parse_int(a, v, 8, 1048576, &o->lim.mem_mb), i++;
        else if (!strcmp(a, "--output-kb")) rc = parse_int(a, v, 1, 1048576, &o->lim.output_kb), i++;
        else if (!strcmp(a, "--procs")) rc = parse_int(a, v, 1, 65536, &o->lim.max_procs), i++;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "grpo sandbox: unknown option or missing value: %s\n%s", a, sandbox_usage);
            return 2;
        } else if (!o->file) o->file = a;
        else {
            fprintf(stderr, "grpo sandbox: one FILE only (got %s and %s)\n", o->file, a);
            return 2;
        }
        if (rc) return rc;
    }
    if (!o->lang || !o->file) return fputs(sandbox_usage, stderr), 2;
    if (!sandbox_lang_known(o->lang)) {
        fprintf(stderr, "grpo sandbox: --lang: unknown language \"%s\" (python, c, sh, exec)\n", o->lang);
        return 2;
    }
    return 0;
}

int cmd_sandbox(int argc, char **argv) {
    if (cmd_wants_help(argc, argv)) return fputs(sandbox_usage, stdout), 0;
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc) return rc;
    size_t src_len = 0, in_len = 0;
    char *src = NULL, *in = NULL;
    const char *exec_argv[64];
    sandbox_program prog = {.lang = o.lang, .argv = (const char *const *)o.args};
    if (!strcmp(o.lang, "exec")) {
        int n = 0;
        exec_argv[n++] = o.file;
        for (int i = 0; o.args && o.args[i] && n < 63; i++) exec_argv[n++] = o.args[i];
        exec_argv[n] = NULL;
        prog.argv = exec_argv;
    } else if (!(src = read_all(o.file, &src_len))) {
        fprintf(stderr, "grpo sandbox: %s: %s\n", o.file, strerror(errno ? errno : EIO));
        return 2;
    }
    if (o.stdin_file && !(in = read_all(o.stdin_file, &in_len))) {
        fprintf(stderr, "grpo sandbox: --stdin %s: %s\n", o.stdin_file, strerror(errno ? errno : EIO));
        free(src);
        return 2;
    }
    prog.source = src;
    prog.source_len = src_len;
    sandbox_result r;
    core_error err = {0};
    rc = sandbox_run(&o.lim, &prog, in, in_len, &r, &err);
    if (rc == 0 && o.json) print_json(&r);
    else if (rc == 0) print_plain(&r);
    else cmd_report_error("sandbox", &err);
    sandbox_result_free(&r);
    free(src);
    free(in);
    return rc;
}
