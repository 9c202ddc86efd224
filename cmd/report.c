/* report.c — `grpo report DB [--runs ID,ID,...] [--out FILE]`. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "db/db.h"

static const char usage[] =
    "usage: grpo report DB [--runs ID,ID,...] [--out FILE]\n"
    "Learning curves (reward, accuracy, format, length, re-check rate, KL, entropy,\n"
    "grad norm, held-out evals) of the given runs (default: every train run) as one\n"
    "self-contained HTML page of SVG charts, written to FILE (default report.html).\n";

int cmd_report(int argc, char **argv) {
    if (cmd_wants_help(argc, argv)) return fputs(usage, stdout), 0;
    const char *db_path = NULL, *out_path = "report.html";
    int64_t ids[64];
    int n_ids = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc) out_path = argv[++i];
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            for (char *p = argv[++i], *end; *p && n_ids < 64; p = *end ? end + 1 : end) {
                ids[n_ids++] = strtoll(p, &end, 10);
                if (end == p || (*end && *end != ','))
                    return fprintf(stderr, "grpo report: --runs %s: expected run ids like 1,3\n", argv[i]), 2;
            }
        } else if (argv[i][0] == '-' || db_path) return fputs(usage, stderr), 2;
        else db_path = argv[i];
    }
    if (!db_path) return fputs(usage, stderr), 2;
    core_error err = {0};
    sqlite3 *s;
    if (db_open_existing(&s, db_path, &err)) return cmd_report_error("report", &err);
    FILE *out = fopen(out_path, "w");
    if (!out) {
        sqlite3_close(s);
        return fprintf(stderr, "grpo report: cannot write %s\n", out_path), 1;
    }
    int rc = db_report_html(s, ids, n_ids, out, &err);
    fclose(out);
    sqlite3_close(s);
    if (rc) return cmd_report_error("report", &err);
    printf("wrote %s\n", out_path);
    return 0;
}
