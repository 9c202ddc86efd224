/*
 * report.c — `grpo report`: learning curves of one or more runs as a
 * self-contained HTML page of inline SVG charts (no script, no network).
 * One chart per metric; one polyline per run.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db/db.h"

typedef struct series {
    int64_t run_id;
    char name[128];
    int n, cap;
    double *x, *y;
} series;

static const char *palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"};

static void series_add(series *s, double x, double y) {
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->x = realloc(s->x, sizeof(double) * s->cap);
        s->y = realloc(s->y, sizeof(double) * s->cap);
        if (!s->x || !s->y) abort();
    }
    s->x[s->n] = x;
    s->y[s->n++] = y;
}

/* Points of `sql` (columns: x, y) for each run; NULL y values are skipped. */
static int load_series(sqlite3 *db, const char *sql, series *runs, int n_runs, core_error *err) {
    for (int r = 0; r < n_runs; r++) {
        sqlite3_stmt *st;
        runs[r].n = 0;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
            return core_fail(err, CORE_EINPUT, "%s", sqlite3_errmsg(db));
        sqlite3_bind_int64(st, 1, runs[r].run_id);
        while (sqlite3_step(st) == SQLITE_ROW)
            if (sqlite3_column_type(st, 1) != SQLITE_NULL)
                series_add(&runs[r], sqlite3_column_double(st, 0), sqlite3_column_double(st, 1));
        sqlite3_finalize(st);
    }
    return 0;
}

static void chart(FILE *out, const char *title, series *runs, int n_runs) {
    const double W = 560, H = 260, L = 50, B = 30, T = 24, R = 10;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int r = 0; r < n_runs; r++)
        for (int i = 0; i < runs[r].n; i++) {
            x0 = fmin(x0, runs[r].x[i]), x1 = fmax(x1, runs[r].x[i]);
            y0 = fmin(y0, runs[r].y[i]), y1 = fmax(y1, runs[r].y[i]);
        }
    fprintf(out, "<svg width='%.0f' height='%.0f' xmlns='http://www.w3.org/2000/svg'>\n"
                 "<text x='%.0f' y='16' font-size='14'>%s</text>\n", W, H, L, title);
    if (!isfinite(x0)) {
        fprintf(out, "<text x='%.0f' y='%.0f' fill='#888'>no data</text></svg>\n", L, H / 2);
        return;
    }
    if (x1 == x0) x1 = x0 + 1;
    if (y1 == y0) y1 = y0 + 1;
    double sx = (W - L - R) / (x1 - x0), sy = (H - T - B) / (y1 - y0);
    fprintf(out, "<rect x='%.0f' y='%.0f' width='%.0f' height='%.0f' fill='none' stroke='#ccc'/>\n"
                 "<text x='4' y='%.0f' font-size='11'>%.3g</text><text x='4' y='%.0f' font-size='11'>%.3g</text>\n"
                 "<text x='%.0f' y='%.0f' font-size='11'>%.0f</text><text x='%.0f' y='%.0f' font-size='11' "
                 "text-anchor='end'>step %.0f</text>\n",
            L, T, W - L - R, H - T - B, T + 10, y1, H - B, y0, L, H - 12, x0, W - R, H - 12, x1);
    for (int r = 0; r < n_runs; r++) {
        fprintf(out, "<polyline fill='none' stroke='%s' stroke-width='1.5' points='", palette[r % 6]);
        for (int i = 0; i < runs[r].n; i++)
            fprintf(out, "%.1f,%.1f ", L + (runs[r].x[i] - x0) * sx, H - B - (runs[r].y[i] - y0) * sy);
        fprintf(out, "'/>\n");
    }
    fprintf(out, "</svg>\n");
}

/* The runs to show: the ids given, or every train run. */
static int pick_runs(sqlite3 *db, const int64_t *ids, int n_ids, series **out, int *n_out,
                     core_error *err) {
    sqlite3_stmt *st;
    const char *sql = n_ids ? "SELECT id, name FROM runs WHERE id = ?"
                            : "SELECT id, name FROM runs WHERE kind = 'train' ORDER BY id";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return core_fail(err, CORE_EINPUT, "%s", sqlite3_errmsg(db));
    series *runs = calloc(n_ids ? n_ids : 64, sizeof *runs);
    int n = 0;
    for (int i = 0; i < (n_ids ? n_ids : 1); i++) {
        if (n_ids) sqlite3_bind_int64(st, 1, ids[i]);
        int found = 0;
        while (sqlite3_step(st) == SQLITE_ROW && n < 64) {
            runs[n].run_id = sqlite3_column_int64(st, 0);
            snprintf(runs[n++].name, sizeof runs[0].name, "%s", sqlite3_column_text(st, 1));
            found = 1;
        }
        sqlite3_reset(st);
        if (n_ids && !found) {
            sqlite3_finalize(st);
            free(runs);
            return core_fail(err, CORE_EINPUT, "no run with id %lld", (long long)ids[i]);
        }
    }
    sqlite3_finalize(st);
    *out = runs;
    *n_out = n;
    return 0;
}

int db_report_html(sqlite3 *db, const int64_t *run_ids, int n_ids, FILE *out, core_error *err) {
    static const char *metrics[][2] = {
        {"reward_mean", "mean reward"},       {"accuracy", "train accuracy"},
        {"format_rate", "format rate"},       {"response_len_mean", "response length (tokens)"},
        {"recheck_rate", "re-check rate"},    {"kl", "KL to the reference"},
        {"entropy", "entropy"},               {"grad_norm", "gradient norm"},
    };
    series *runs = NULL;
    int n_runs = 0;
    if (pick_runs(db, run_ids, n_ids, &runs, &n_runs, err)) return err->code;
    fprintf(out, "<!doctype html><html><head><meta charset='utf-8'><title>grpo report</title></head>"
                 "<body style='font-family:sans-serif'><h1>grpo report</h1><p>");
    for (int r = 0; r < n_runs; r++)
        fprintf(out, "<span style='color:%s'>&#9632; run %lld %s</span> ", palette[r % 6],
                (long long)runs[r].run_id, runs[r].name);
    fprintf(out, "</p>\n");
    int rc = 0;
    char sql[256];
    for (size_t m = 0; m < sizeof metrics / sizeof metrics[0] && !rc; m++) {
        snprintf(sql, sizeof sql, "SELECT step, %s FROM steps WHERE run_id = ? ORDER BY step", metrics[m][0]);
        if (!(rc = load_series(db, sql, runs, n_runs, err))) chart(out, metrics[m][1], runs, n_runs);
    }
    static const char *evals[] = {"pass@1", "format", "greedy"};
    for (int e = 0; e < 3 && !rc; e++) {
        snprintf(sql, sizeof sql, "SELECT step, value FROM evals WHERE run_id = ? AND metric = '%s' ORDER BY step", evals[e]);
        char title[64];
        snprintf(title, sizeof title, "held-out %s", evals[e]);
        if (!(rc = load_series(db, sql, runs, n_runs, err))) chart(out, title, runs, n_runs);
    }
    fprintf(out, "</body></html>\n");
    for (int r = 0; r < n_runs; r++) free(runs[r].x), free(runs[r].y);
    free(runs);
    return rc;
}
