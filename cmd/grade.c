/*
 * grpo grade — score responses offline: one JSON line out per JSONL line in.
 * Argument parsing, the line loop and the summary; the grading itself is
 * reward_grade_json (reward/grade.c).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "reward/reward.h"

static const char grade_usage[] =
    "usage: grpo grade [--kind math|code|format|config] [--config FILE] [--set section.key=value ...]\n"
    "                  [--quiet] [--json] FILE.jsonl|-\n"
    "\n"
    "Reads lines {\"response\": ..., \"gold\": ...} (optional: \"id\", \"n_tokens\",\n"
    "\"max_new_tokens\", \"truncated\", \"tests\") and writes one JSON line per input to stdout:\n"
    "{\"line\", \"id\", \"total\", \"format_ok\", \"correct\", \"parts\": {...}, \"detail\": {...}}.\n"
    "\n"
    "  --kind math     components format,accuracy_math (the default; gold required)\n"
    "  --kind code     components format,accuracy_code (\"tests\" run in the sandbox)\n"
    "  --kind format   component format only\n"
    "  --kind config   the components of the config as given\n"
    "  --config FILE   read [reward] from a run config (otherwise the defaults)\n"
    "  --quiet         no per-line output, only the summary\n"
    "  --json          also print the summary as a JSON object, the last line on stdout\n"
    "\n"
    "A malformed line is reported on stderr as FILE:LINE: reason and skipped; the\n"
    "others are still graded.  A line whose component could not run (the sandbox)\n"
    "is printed with its detail and reported the same way.  The summary (stderr)\n"
    "gives the mean reward, the accuracy, the format rate and grades per second on\n"
    "one core (time inside the reward alone, and end to end).  Exit 0 when every\n"
    "line graded, 2 when any line was malformed or the arguments are wrong, 1 when\n"
    "a component could not run.\n";

typedef struct grade_args {
    const char *kind, *config, *file;
    int quiet, json;
} grade_args;

typedef struct grade_stats {
    long lines, graded, malformed, failed, correct, format_ok;
    double total_sum, score_seconds, started;
} grade_stats;

static int parse_args(int argc, char **argv, grade_args *a) {
    memset(a, 0, sizeof *a);
    a->kind = "math";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--kind") && i + 1 < argc) a->kind = argv[++i];
        else if (!strcmp(argv[i], "--config") && i + 1 < argc) a->config = argv[++i];
        else if (!strcmp(argv[i], "--quiet")) a->quiet = 1;
        else if (!strcmp(argv[i], "--json")) a->json = 1;
        else if ((argv[i][0] != '-' || !strcmp(argv[i], "-")) && !a->file) a->file = argv[i];
        else {
            fprintf(stderr, "grpo grade: unexpected argument '%s'\n%s", argv[i], grade_usage);
            return 2;
        }
    }
    if (!a->file) {
        fprintf(stderr, "grpo grade: no input file\n%s", grade_usage);
        return 2;
    }
    return 0;
}

/* The value after option in argv, or def. */
static const char *option_value(int argc, char **argv, const char *option, const char *def) {
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], option)) return argv[i + 1];
    return def;
}

/* --kind picks the components before the --set overrides apply. */
static int load_config(core_config *cfg, const grade_args *a, int *argc, char **argv, core_error *err) {
    core_config_defaults(cfg);
    if (a->config && core_config_load(cfg, a->config, err)) return err->code;
    if (!strcmp(a->kind, "math") && core_config_set(cfg, "reward.components=format,accuracy_math", err))
        return err->code;
    if (!strcmp(a->kind, "code") && core_config_set(cfg, "reward.components=format,accuracy_code", err))
        return err->code;
    if (!strcmp(a->kind, "format") && core_config_set(cfg, "reward.components=format", err)) return err->code;
    if (strcmp(a->kind, "config") && core_config_set(cfg, "reward.weights=", err)) return err->code;
    int kept = 0;
    for (int i = 0; i < *argc; i++) {
        if (!strcmp(argv[i], "--set")) {
            if (i + 1 >= *argc) return core_fail(err, CORE_EINPUT, "--set needs section.key=value");
            if (core_config_set(cfg, argv[++i], err)) return err->code;
            continue;
        }
        argv[kept++] = argv[i];
    }
    *argc = kept;
    return 0;
}

static void grade_stream(const reward_fn *r, FILE *in, const char *name, const grade_args *a, grade_stats *st) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int need_gold = !strcmp(a->kind, "math");
    while ((n = getline(&line, &cap, in)) >= 0) {
        st->lines++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        size_t skip = strspn(line, " \t");
        if ((size_t)n == skip) continue; /* blank line */
        reward_graded g;
        core_error err = {0};
        if (reward_grade_json(r, line, (size_t)n, st->lines, need_gold, &g, &err)) {
            fprintf(stderr, "grpo grade: %s:%ld: %s\n", name, st->lines, err.msg);
            if (err.code == CORE_ERUNTIME) st->failed++;
            else st->malformed++;
            if (g.json && !a->quiet) puts(g.json);
            free(g.json);
            continue;
        }
        st->graded++;
        st->score_seconds += g.seconds;
        st->total_sum += g.res.total;
        st->correct += g.res.correct;
        st->format_ok += g.res.format_ok;
        if (!a->quiet) puts(g.json);
        free(g.json);
    }
    free(line);
}

static void print_summary(const grade_args *a, const grade_stats *st) {
    double wall = core_now() - st->started, g = st->graded > 0 ? (double)st->graded : 1.0;
    double score_rate = st->score_seconds > 0 ? st->graded / st->score_seconds : 0;
    double wall_rate = wall > 0 ? st->graded / wall : 0;
    fprintf(stderr,
            "grade: %s: %ld graded, %ld malformed, %ld failed; mean total %.4f, correct %.4f, format %.4f; "
            "%.0f grades/s (reward only, 1 core), %.0f lines/s end to end\n",
            a->file, st->graded, st->malformed, st->failed, st->total_sum / g, st->correct / g, st->format_ok / g, score_rate,
            wall_rate);
    if (a->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "summary", 1);
        cJSON_AddStringToObject(o, "file", a->file);
        cJSON_AddNumberToObject(o, "graded", (double)st->graded);
        cJSON_AddNumberToObject(o, "malformed", (double)st->malformed);
        cJSON_AddNumberToObject(o, "failed", (double)st->failed);
        cJSON_AddNumberToObject(o, "mean_total", st->total_sum / g);
        cJSON_AddNumberToObject(o, "accuracy", st->correct / g);
        cJSON_AddNumberToObject(o, "format_rate", st->format_ok / g);
        cJSON_AddNumberToObject(o, "grades_per_s", score_rate);
        cJSON_AddNumberToObject(o, "lines_per_s", wall_rate);
        char *text = cJSON_PrintUnformatted(o);
        if (text) puts(text);
        free(text);
        cJSON_Delete(o);
    }
}

int cmd_grade(int argc, char **argv) {
    if (cmd_wants_help(argc, argv)) return fputs(grade_usage, stdout), 0;
    core_config cfg;
    core_error err = {0};
    grade_args a;
    /* --kind and --config first: they decide what the --set overrides land on */
    memset(&a, 0, sizeof a);
    a.kind = option_value(argc, argv, "--kind", "math");
    a.config = option_value(argc, argv, "--config", NULL);
    if (strcmp(a.kind, "math") && strcmp(a.kind, "code") && strcmp(a.kind, "format") && strcmp(a.kind, "config")) {
        fprintf(stderr, "grpo grade: --kind must be math, code, format or config (got '%s')\n", a.kind);
        return 2;
    }
    if (load_config(&cfg, &a, &argc, argv, &err)) return cmd_report_error("grade", &err);
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc;
    FILE *in = strcmp(a.file, "-") ? fopen(a.file, "r") : stdin;
    if (!in) {
        fprintf(stderr, "grpo grade: cannot open %s\n", a.file);
        return 2;
    }
    reward_fn *r = NULL;
    if (reward_create(&r, &cfg, &err)) {
        if (in != stdin) fclose(in);
        return cmd_report_error("grade", &err);
    }
    grade_stats st = {0};
    st.started = core_now();
    grade_stream(r, in, a.file, &a, &st);
    if (in != stdin) fclose(in);
    reward_free(r);
    print_summary(&a, &st);
    return st.failed ? 1 : st.malformed ? 2 : 0;
}
