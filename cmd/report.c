/* report.c — `grpo report DB [--sweep ID | --runs ID,ID,...] [--baseline ARM] [--out FILE]`. */
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "db/db.h"

static const char usage[] =
    "usage: grpo report DB [--sweep ID | --runs ID,ID,...] [--baseline ARM] [--out FILE]\n"
    "One self-contained HTML page (inline SVG, no network) comparing arms: the arms\n"
    "of a sweep (`grpo ablate`; each a set of seeds), or the runs given, or every\n"
    "train run (each run its own arm).  A chart per metric (held-out pass@1,\n"
    "pass@k and format; reward and its parts, training accuracy, format, response\n"
    "length, KL, entropy, clip fraction, grad norm, step time) with a line per arm\n"
    "(the mean over its seeds) and a band of ± one sd; then the final held-out\n"
    "scores per arm, mean ± sd over seeds, with Welch's t-test of pass@1 against\n"
    "the baseline arm (--baseline: a sweep's arm number, or the position of a run\n"
    "in --runs counting from 0; default 0).  Written to FILE (default report.html).\n";

static int parse_ids(const char *text, int64_t *ids, int max, int *n) {
    *n = 0;
    for (const char *p = text; *p;) {
        char *end;
        if (*n == max) return -1;
        ids[(*n)++] = strtoll(p, &end, 10);
        if (end == p || (*end && *end != ',')) return -1;
        p = *end ? end + 1 : end;
    }
    return *n ? 0 : -1;
}

static int parse_int(const char *text, long long *out) {
    char *end;
    *out = strtoll(text, &end, 10);
    return end == text || *end || *out < 0 ? -1 : 0;
}

int cmd_report(int argc, char **argv) {
    if (cmd_wants_help(argc, argv)) return fputs(usage, stdout), 0;
    const char *db_path = NULL, *out_path = "report.html";
    int64_t ids[64];
    long long sweep = 0, baseline = 0;
    db_report_opts o = {ids, 0, 0, 0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc) out_path = argv[++i];
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            if (parse_ids(argv[++i], ids, 64, &o.n_ids))
                return fprintf(stderr, "grpo report: --runs %s: expected up to 64 run ids like 1,3\n", argv[i]), 2;
        } else if (!strcmp(argv[i], "--sweep") && i + 1 < argc) {
            if (parse_int(argv[++i], &sweep) || sweep == 0)
                return fprintf(stderr, "grpo report: --sweep %s: expected a sweep id\n", argv[i]), 2;
        } else if (!strcmp(argv[i], "--baseline") && i + 1 < argc) {
            if (parse_int(argv[++i], &baseline))
                return fprintf(stderr, "grpo report: --baseline %s: expected an arm number\n", argv[i]), 2;
        } else if (argv[i][0] == '-' || db_path) return fputs(usage, stderr), 2;
        else db_path = argv[i];
    }
    if (!db_path) return fputs(usage, stderr), 2;
    if (sweep && o.n_ids) return fputs("grpo report: --sweep and --runs exclude each other\n", stderr), 2;
    o.sweep_id = sweep;
    o.baseline = (int)baseline;
    core_error err = {0};
    sqlite3 *s;
    if (db_open_existing(&s, db_path, &err)) return cmd_report_error("report", &err);
    /* written to a temporary name first: a failed report leaves an old page in place */
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", out_path);
    FILE *out = fopen(tmp, "w");
    if (!out) {
        db_close_existing(s);
        return fprintf(stderr, "grpo report: cannot write %s\n", tmp), 1;
    }
    int rc = db_report_page(s, &o, out, &err);
    if (fclose(out) && !rc) rc = core_fail(&err, CORE_ERUNTIME, "writing %s failed", tmp);
    db_close_existing(s);
    if (rc) return remove(tmp), cmd_report_error("report", &err);
    if (rename(tmp, out_path)) return fprintf(stderr, "grpo report: cannot write %s\n", out_path), 1;
    printf("wrote %s\n", out_path);
    return 0;
}
