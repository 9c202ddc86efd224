/*
 * report.c — `grpo report`: one self-contained HTML page comparing arms
 * (inline SVG, no script, no network; readable at a laptop's width).
 *
 * An arm is a set of runs: the seeds of one arm of a sweep, or one run.
 * The page's runs sit in a temporary table (arm, run_id), so every chart is
 * one SQL query per arm that averages over the arm's runs at each step:
 * the line is the mean, the band mean ± one sample sd (where >= 2 seeds).
 * Then a table of the final held-out scores (each run's last eval), mean ±
 * sd per arm, and Welch's t-test of pass@1 against the baseline arm.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db/db.h"

enum { MAX_ARMS = 32 };

typedef struct arm {
    int id;            /* the sweep's arm number, or the index of the run */
    char name[512];
    int n_runs;
} arm;

/* One arm's curve of a metric: mean and sd over its runs at each step. */
typedef struct curve {
    int n, cap;
    double *x, *mean, *sd;
} curve;

static const char *palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"};
static const char *color(int i) { return palette[i % 10]; }

static void html_escaped(FILE *out, const char *s) {
    for (; *s; s++) switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '\'': fputs("&#39;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc(*s, out);
        }
}

static int sql_error(sqlite3 *db, core_error *err) {
    return core_fail(err, CORE_EINPUT, "report: %s", sqlite3_errmsg(db));
}

/* ------------------------------------------------------------- the arms */

static int exec(sqlite3 *db, const char *sql, core_error *err) {
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK) return 0;
    return err ? sql_error(db, err) : CORE_ERUNTIME;
}

/* Fill temp.report_runs(arm, run_id) and the arms' names. */
static int load_sweep(sqlite3 *db, int64_t sweep, arm *arms, int *n, core_error *err) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT arm, name, (SELECT count(*) FROM runs r WHERE r.sweep_id = a.sweep_id "
                               "AND r.arm = a.arm) FROM sweep_arms a WHERE sweep_id = ? ORDER BY arm",
                           -1, &st, NULL) != SQLITE_OK)
        return core_fail(err, CORE_EINPUT, "report --sweep: %s (a database from before `grpo ablate`?)",
                         sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, sweep);
    while (sqlite3_step(st) == SQLITE_ROW && *n < MAX_ARMS) {
        arm *a = &arms[(*n)++];
        a->id = sqlite3_column_int(st, 0);
        snprintf(a->name, sizeof a->name, "%s", (const char *)sqlite3_column_text(st, 1));
        a->n_runs = sqlite3_column_int(st, 2);
    }
    sqlite3_finalize(st);
    if (*n == 0) return core_fail(err, CORE_EINPUT, "report: no sweep with id %lld", (long long)sweep);
    char sql[200];
    snprintf(sql, sizeof sql, "INSERT INTO temp.report_runs SELECT arm, id FROM runs WHERE sweep_id = %lld",
             (long long)sweep);
    return exec(db, sql, err);
}

/* Each run its own arm: the ids given, or every train run. */
static int load_runs(sqlite3 *db, const int64_t *ids, int n_ids, arm *arms, int *n, core_error *err) {
    sqlite3_stmt *st;
    const char *sql = n_ids ? "SELECT id, name FROM runs WHERE id = ?"
                            : "SELECT id, name FROM runs WHERE kind = 'train' ORDER BY id";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return sql_error(db, err);
    int64_t run_ids[MAX_ARMS];
    if (n_ids > MAX_ARMS) {
        sqlite3_finalize(st);
        return core_fail(err, CORE_EINPUT, "report: %d runs; at most %d fit one page", n_ids, MAX_ARMS);
    }
    for (int i = 0; i < (n_ids ? n_ids : 1); i++) {
        if (n_ids) sqlite3_bind_int64(st, 1, ids[i]);
        int found = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (*n == MAX_ARMS) {
                sqlite3_finalize(st);
                return core_fail(err, CORE_EINPUT, "report: more than %d train runs; pick some with "
                                 "--runs or a sweep with --sweep", MAX_ARMS);
            }
            arm *a = &arms[*n];
            a->id = *n;
            a->n_runs = 1;
            run_ids[*n] = sqlite3_column_int64(st, 0);
            snprintf(a->name, sizeof a->name, "run %lld %s", (long long)run_ids[*n], sqlite3_column_text(st, 1));
            (*n)++, found = 1;
        }
        sqlite3_reset(st);
        if (n_ids && !found) {
            sqlite3_finalize(st);
            return core_fail(err, CORE_EINPUT, "report: no run with id %lld", (long long)ids[i]);
        }
    }
    sqlite3_finalize(st);
    for (int i = 0; i < *n; i++) {
        char ins[128];
        snprintf(ins, sizeof ins, "INSERT INTO temp.report_runs VALUES(%d, %lld)", i, (long long)run_ids[i]);
        if (exec(db, ins, err)) return err->code;
    }
    return 0;
}

/* ----------------------------------------------------------- the curves */

static void curve_add(curve *c, double x, double mean, double sd) {
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 256;
        c->x = realloc(c->x, sizeof(double) * c->cap);
        c->mean = realloc(c->mean, sizeof(double) * c->cap);
        c->sd = realloc(c->sd, sizeof(double) * c->cap);
        if (!c->x || !c->mean || !c->sd) abort();
    }
    c->x[c->n] = x, c->mean[c->n] = mean, c->sd[c->n++] = sd;
}

/* `inner` selects (run, step, v) for arm ?1 (and ?2 = param when given).
 * Each run's v is first smoothed by a trailing mean over `window` steps;
 * the curve is then the mean and sd of those over the arm's runs at each
 * step. */
static int load_curve(sqlite3 *db, const char *inner, const char *param, int arm_id, int window, curve *c,
                      core_error *err) {
    char sql[1400];
    snprintf(sql, sizeof sql, "SELECT step, avg(v), sum(v * v), count(v) FROM (SELECT step, avg(v) OVER "
                              "(PARTITION BY run ORDER BY step ROWS BETWEEN %d PRECEDING AND CURRENT ROW) AS v "
                              "FROM (%s)) WHERE v IS NOT NULL GROUP BY step ORDER BY step", window - 1, inner);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return sql_error(db, err);
    sqlite3_bind_int(st, 1, arm_id);
    if (param) sqlite3_bind_text(st, 2, param, -1, SQLITE_TRANSIENT);
    c->n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        double mean = sqlite3_column_double(st, 1), sumsq = sqlite3_column_double(st, 2);
        int n = sqlite3_column_int(st, 3);
        double var = n > 1 ? (sumsq - n * mean * mean) / (n - 1) : NAN;
        curve_add(c, sqlite3_column_double(st, 0), mean, n > 1 ? sqrt(fmax(0, var)) : NAN);
    }
    sqlite3_finalize(st);
    return 0;
}

/* ------------------------------------------------------------ the chart */

/* About 5 round tick values covering [lo, hi]: step 1, 2 or 5 x 10^k. */
static double tick_step(double lo, double hi) {
    double raw = (hi - lo) / 5, p = pow(10, floor(log10(raw)));
    return raw / p < 1.5 ? p : raw / p < 3.5 ? 2 * p : raw / p < 7.5 ? 5 * p : 10 * p;
}

typedef struct frame {
    double x0, x1, y0, y1;         /* data range */
    double W, H, L, R, T, B;       /* the SVG and its margins, in px */
} frame;

static double px(const frame *f, double x) { return f->L + (x - f->x0) / (f->x1 - f->x0) * (f->W - f->L - f->R); }
static double py(const frame *f, double y) { return f->H - f->B - (y - f->y0) / (f->y1 - f->y0) * (f->H - f->T - f->B); }

static void frame_fit(frame *f, curve *curves, int n) {
    f->x0 = f->y0 = INFINITY, f->x1 = f->y1 = -INFINITY;
    for (int a = 0; a < n; a++)
        for (int i = 0; i < curves[a].n; i++) {
            double sd = isnan(curves[a].sd[i]) ? 0 : curves[a].sd[i];
            f->x0 = fmin(f->x0, curves[a].x[i]), f->x1 = fmax(f->x1, curves[a].x[i]);
            f->y0 = fmin(f->y0, curves[a].mean[i] - sd), f->y1 = fmax(f->y1, curves[a].mean[i] + sd);
        }
    if (f->x1 == f->x0) f->x1 = f->x0 + 1;
    if (f->y1 == f->y0 && f->y0 >= 0 && f->y0 <= 1) f->y0 = 0, f->y1 = 1; /* a constant fraction */
    else if (f->y1 == f->y0) f->y0 -= 0.5, f->y1 += 0.5;
    double pad = (f->y1 - f->y0) * 0.05;
    f->y0 -= pad, f->y1 += pad;
}

static void axes(FILE *out, const frame *f, const char *y_label) {
    fprintf(out, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='#fff' stroke='#999'/>\n", f->L, f->T,
            f->W - f->L - f->R, f->H - f->T - f->B);
    double s = tick_step(f->y0, f->y1);
    for (double v = ceil(f->y0 / s) * s; v <= f->y1; v += s) {
        double y = py(f, v);
        fprintf(out, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='#eee'/>"
                     "<text x='%.1f' y='%.1f' font-size='11' text-anchor='end'>%.4g</text>\n",
                f->L, f->W - f->R, y, y, f->L - 4, y + 4, fabs(v) < s * 1e-6 ? 0 : v);
    }
    s = tick_step(f->x0, f->x1);
    if (s < 1) s = 1; /* steps are whole */
    for (double v = ceil(f->x0 / s) * s; v <= f->x1; v += s)
        fprintf(out, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='#999'/>"
                     "<text x='%.1f' y='%.1f' font-size='11' text-anchor='middle'>%.0f</text>\n",
                px(f, v), px(f, v), f->H - f->B, f->H - f->B + 4, px(f, v), f->H - f->B + 16, v);
    fprintf(out, "<text x='%.1f' y='%.1f' font-size='12' text-anchor='middle'>GRPO step</text>\n",
            (f->L + f->W - f->R) / 2, f->H - 6);
    fprintf(out, "<text transform='translate(14,%.1f) rotate(-90)' font-size='12' text-anchor='middle'>",
            (f->T + f->H - f->B) / 2);
    html_escaped(out, y_label);
    fputs("</text>\n", out);
}

/* The band (mean ± sd where defined) then the mean line of one arm. */
static void draw_curve(FILE *out, const frame *f, const curve *c, const char *col) {
    int banded = 0;
    for (int i = 0; i < c->n; i++) banded += !isnan(c->sd[i]);
    if (banded > 1) {
        fprintf(out, "<polygon fill='%s' fill-opacity='0.18' stroke='none' points='", col);
        for (int i = 0; i < c->n; i++)
            if (!isnan(c->sd[i])) fprintf(out, "%.1f,%.1f ", px(f, c->x[i]), py(f, c->mean[i] + c->sd[i]));
        for (int i = c->n - 1; i >= 0; i--)
            if (!isnan(c->sd[i])) fprintf(out, "%.1f,%.1f ", px(f, c->x[i]), py(f, c->mean[i] - c->sd[i]));
        fputs("'/>\n", out);
    }
    if (c->n == 1)
        fprintf(out, "<circle cx='%.1f' cy='%.1f' r='3' fill='%s'/>\n", px(f, c->x[0]), py(f, c->mean[0]), col);
    fprintf(out, "<polyline fill='none' stroke='%s' stroke-width='2.5' stroke-linejoin='round' points='", col);
    for (int i = 0; i < c->n; i++) fprintf(out, "%.1f,%.1f ", px(f, c->x[i]), py(f, c->mean[i]));
    fputs("'/>\n", out);
}

static void legend(FILE *out, const arm *arms, int n) {
    fputs("<div class='legend'>", out);
    for (int a = 0; a < n; a++) {
        fprintf(out, "<span><i style='background:%s'></i>", color(a));
        html_escaped(out, arms[a].name);
        fputs("</span>", out);
    }
    fputs("</div>\n", out);
}

static void chart(FILE *out, const char *title, const char *y_label, const arm *arms, curve *curves, int n) {
    frame f = {.W = 640, .H = 300, .L = 62, .R = 14, .T = 12, .B = 40};
    fputs("<figure class='chart'><figcaption>", out);
    html_escaped(out, title);
    fprintf(out, "</figcaption>\n<svg viewBox='0 0 %.0f %.0f' xmlns='http://www.w3.org/2000/svg' role='img'>\n",
            f.W, f.H);
    frame_fit(&f, curves, n);
    if (!isfinite(f.x0)) {
        fprintf(out, "<text x='%.0f' y='%.0f' fill='#888'>no data</text></svg>", f.W / 2 - 30, f.H / 2);
    } else {
        axes(out, &f, y_label);
        for (int a = 0; a < n; a++) draw_curve(out, &f, &curves[a], color(a));
        fputs("</svg>\n", out);
    }
    legend(out, arms, n);
    fputs("</figure>\n", out);
}

/* One chart: the curve of every arm from `inner` (see load_curve). */
static int metric_chart(sqlite3 *db, FILE *out, const char *title, const char *y_label, const char *inner,
                        const char *param, int window, const arm *arms, int n, core_error *err) {
    curve curves[MAX_ARMS] = {0};
    int rc = 0;
    for (int a = 0; a < n && !rc; a++) rc = load_curve(db, inner, param, arms[a].id, window, &curves[a], err);
    if (!rc) chart(out, title, y_label, arms, curves, n);
    for (int a = 0; a < n; a++) free(curves[a].x), free(curves[a].mean), free(curves[a].sd);
    return rc;
}

static const char *const step_inner =
    "SELECT s.run_id AS run, s.step AS step, (%s) AS v FROM steps s JOIN temp.report_runs a ON a.run_id = s.run_id "
    "WHERE a.arm = ?1";
static const char *const eval_inner =
    "SELECT e.run_id AS run, e.step AS step, e.value AS v FROM evals e JOIN temp.report_runs a ON a.run_id = e.run_id "
    "WHERE a.arm = ?1 AND e.split = 'heldout' AND e.metric = ?2";
static const char *const part_inner =
    "SELECT e.run_id AS run, e.step AS step, avg(p.value) AS v FROM reward_parts p JOIN episodes e ON e.id = p.episode_id "
    "JOIN temp.report_runs a ON a.run_id = e.run_id WHERE a.arm = ?1 AND p.name = ?2 "
    "GROUP BY e.run_id, e.step";

/* Names from a one-column query over the page's runs (reward parts, pass@k). */
static int names_of(sqlite3 *db, const char *sql, char names[][64], int max) {
    sqlite3_stmt *st;
    int n = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return 0;
    while (sqlite3_step(st) == SQLITE_ROW && n < max)
        snprintf(names[n++], 64, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return n;
}

/* Per-step metrics are smoothed over about 1/30 of the run: noise from one
 * batch of prompts would otherwise hide the trend and widen every band. */
static int smoothing_window(sqlite3 *db) {
    sqlite3_stmt *st;
    int last = 0;
    if (sqlite3_prepare_v2(db, "SELECT max(step) FROM steps s JOIN temp.report_runs a ON a.run_id = s.run_id",
                           -1, &st, NULL) != SQLITE_OK)
        return 1;
    if (sqlite3_step(st) == SQLITE_ROW) last = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return last / 30 > 1 ? last / 30 : 1;
}

static int all_charts(sqlite3 *db, FILE *out, const arm *arms, int n, int window, core_error *err) {
    static const char *step_metrics[][3] = {
        {"reward_mean", "mean reward (train)", "reward per completion"},
        {"accuracy", "training accuracy", "fraction correct"},
        {"format_rate", "format rate (train)", "fraction of completions"},
        {"response_len_mean", "response length", "tokens per completion"},
        {"kl", "KL to the reference", "nats per token"},
        {"entropy", "entropy of the policy", "nats per token"},
        {"clip_frac", "clip fraction", "fraction of tokens clipped"},
        {"grad_norm", "gradient norm (before clipping)", "L2 norm"},
        {"coalesce(t_collect, t_rollout + coalesce(t_reward, 0)) + t_learn + coalesce(t_db, 0)", "step time", "seconds per step"},
    };
    char inner[1024], title[160], names[16][64];
    int rc = 0;
    int n_evals = names_of(db, "SELECT DISTINCT metric FROM evals e JOIN temp.report_runs a ON a.run_id = e.run_id "
                               "WHERE e.split = 'heldout' AND (e.metric IN ('pass@1', 'format') OR e.metric LIKE 'pass@%') "
                               "ORDER BY e.metric = 'format', length(e.metric), e.metric", names, 16);
    for (int i = 0; i < n_evals && !rc; i++) {
        snprintf(title, sizeof title, "held-out %s", names[i]);
        rc = metric_chart(db, out, title, "fraction of held-out items", eval_inner, names[i], 1, arms, n, err);
    }
    for (size_t m = 0; m < sizeof step_metrics / sizeof step_metrics[0] && !rc; m++) {
        snprintf(inner, sizeof inner, step_inner, step_metrics[m][0]);
        rc = metric_chart(db, out, step_metrics[m][1], step_metrics[m][2], inner, NULL, window, arms, n, err);
        if (m == 0) { /* the reward's parts next to it */
            int n_parts = names_of(db, "SELECT DISTINCT p.name FROM reward_parts p JOIN episodes e ON "
                                       "e.id = p.episode_id JOIN temp.report_runs a ON a.run_id = e.run_id "
                                       "ORDER BY p.name", names, 16);
            for (int i = 0; i < n_parts && !rc; i++) {
                snprintf(title, sizeof title, "reward part: %s", names[i]);
                rc = metric_chart(db, out, title, "mean value per completion", part_inner, names[i], window,
                                  arms, n, err);
            }
        }
    }
    return rc;
}

/* ------------------------------------------------- the final held-out table */

/* Each run's value of `metric` at its last held-out eval, for one arm. */
static int final_values(sqlite3 *db, int arm_id, const char *metric, double *v, int max) {
    sqlite3_stmt *st;
    int n = 0;
    if (sqlite3_prepare_v2(db, "SELECT e.value FROM evals e JOIN temp.report_runs a ON a.run_id = e.run_id "
                               "WHERE a.arm = ?1 AND e.split = 'heldout' AND e.metric = ?2 AND e.step = "
                               "(SELECT max(step) FROM evals x WHERE x.run_id = e.run_id AND "
                               "x.split = 'heldout' AND x.metric = ?2) ORDER BY e.run_id",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int(st, 1, arm_id);
    sqlite3_bind_text(st, 2, metric, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW && n < max) v[n++] = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return n;
}

static double mean_of(const double *v, int n) {
    double m = 0;
    for (int i = 0; i < n; i++) m += v[i] / n;
    return m;
}

/* "mean ± sd" of an arm's seeds; for an arm other than the baseline also
 * the difference of means and Welch's p against the baseline's seeds. */
static void score_cell(FILE *out, const double *v, int n, const double *base, int nb, int is_base) {
    if (n == 0) return (void)fputs("<td>—</td>", out);
    double m = mean_of(v, n), s = 0;
    for (int i = 0; i < n; i++) s += (v[i] - m) * (v[i] - m);
    if (n > 1) fprintf(out, "<td>%.3f ± %.3f", m, sqrt(s / (n - 1)));
    else fprintf(out, "<td>%.3f", m);
    db_welch w;
    if (!is_base && nb > 0) {
        fprintf(out, "<br><small>Δ %+.3f", m - mean_of(base, nb));
        if (db_welch_test(v, n, base, nb, &w) == 0) fprintf(out, ", p = %.2g%s", w.p, w.p < 0.05 ? " *" : "");
        else fputs(", p —", out);
        fputs("</small>", out);
    }
    fputs("</td>", out);
}

enum { MAX_SEEDS_SHOWN = 256 };

static void final_table(sqlite3 *db, FILE *out, const arm *arms, int n, int base) {
    char metrics[8][64];
    int n_m = names_of(db, "SELECT DISTINCT metric FROM evals e JOIN temp.report_runs a ON a.run_id = e.run_id "
                           "WHERE e.split = 'heldout' AND (metric IN ('pass@1', 'format', 'response_len') "
                           "OR metric LIKE 'pass@%') ORDER BY metric = 'format', metric = 'response_len', "
                           "length(metric), metric", metrics, 8);
    fputs("<h2>Final held-out scores</h2>\n<table><tr><th>arm</th><th>seeds</th>", out);
    for (int m = 0; m < n_m; m++) fprintf(out, "<th>%s</th>", metrics[m]);
    fputs("</tr>\n", out);
    static double bv[MAX_SEEDS_SHOWN], v[MAX_SEEDS_SHOWN];
    for (int a = 0; a < n; a++) {
        fprintf(out, "<tr><td><i style='background:%s'></i>", color(a));
        html_escaped(out, arms[a].name);
        fprintf(out, "%s</td><td>%d</td>", a == base ? " <b>(baseline)</b>" : "",
                final_values(db, arms[a].id, "pass@1", v, MAX_SEEDS_SHOWN));
        for (int m = 0; m < n_m; m++) {
            int nb = final_values(db, arms[base].id, metrics[m], bv, MAX_SEEDS_SHOWN);
            int nv = final_values(db, arms[a].id, metrics[m], v, MAX_SEEDS_SHOWN);
            score_cell(out, v, nv, bv, nb, a == base);
        }
        fputs("</tr>\n", out);
    }
    fputs("</table>\n<p class='note'>Each run's last held-out evaluation; mean ± sample sd over an arm's "
          "seeds.  Δ: the arm's mean minus the baseline's; p: Welch's two-sided t-test against the "
          "baseline's seeds (needs ≥ 2 seeds in both and some spread; * p &lt; 0.05, unadjusted for the "
          "number of comparisons: with few seeds a hint, not a proof).</p>\n",
          out);
}

/* ------------------------------------------------------------- the page */

static const char *const style =
    "body{font-family:system-ui,sans-serif;margin:16px 24px;color:#222;max-width:1500px}"
    "h1{font-size:22px}h2{font-size:18px;margin-top:28px}"
    ".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:14px}"
    ".chart{margin:0;border:1px solid #ddd;border-radius:6px;padding:8px;background:#fafafa}"
    ".chart figcaption{font-weight:600;font-size:14px;margin-bottom:4px}.chart svg{width:100%;height:auto}"
    ".legend{font-size:12px;display:flex;flex-wrap:wrap;gap:4px 12px;margin-top:4px}"
    "i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}"
    "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
    ".note{font-size:12px;color:#555;max-width:900px}";

static void page_head(FILE *out, const char *title, const arm *arms, int n, int window) {
    fprintf(out, "<!doctype html><html><head><meta charset='utf-8'><title>grpo report</title>"
                 "<style>%s</style></head><body>\n<h1>", style);
    html_escaped(out, title);
    fputs("</h1>\n<table><tr><th>arm</th><th>runs (seeds)</th></tr>\n", out);
    for (int a = 0; a < n; a++) {
        fprintf(out, "<tr><td><i style='background:%s'></i>", color(a));
        html_escaped(out, arms[a].name);
        fprintf(out, "</td><td>%d</td></tr>\n", arms[a].n_runs);
    }
    fprintf(out, "</table>\n<p class='note'>Lines: the mean over an arm's seeds at each step; shaded band: "
                 "± one sample standard deviation (arms with ≥ 2 seeds).  Training metrics are each run's "
                 "trailing mean over %d step%s; held-out evals are as measured.</p>\n",
            window, window == 1 ? "" : "s");
}

int db_report_page(sqlite3 *db, const db_report_opts *o, FILE *out, core_error *err) {
    arm arms[MAX_ARMS];
    int n = 0, base = 0;
    if (exec(db, "DROP TABLE IF EXISTS temp.report_runs; "
                 "CREATE TEMP TABLE report_runs(arm INTEGER, run_id INTEGER)", err))
        return err->code;
    int rc = o->sweep_id ? load_sweep(db, o->sweep_id, arms, &n, err)
                         : load_runs(db, o->run_ids, o->n_ids, arms, &n, err);
    if (!rc && n == 0) rc = core_fail(err, CORE_EINPUT, "report: no train runs in the database");
    if (!rc) {
        base = -1;
        for (int a = 0; a < n; a++)
            if (arms[a].id == o->baseline) base = a;
        if (base < 0) rc = core_fail(err, CORE_EINPUT, "report --baseline %d: no such arm", o->baseline);
    }
    if (!rc) {
        char title[128];
        if (o->sweep_id) snprintf(title, sizeof title, "grpo report: sweep %lld", (long long)o->sweep_id);
        else snprintf(title, sizeof title, "grpo report: %d run%s", n, n == 1 ? "" : "s");
        int window = smoothing_window(db);
        page_head(out, title, arms, n, window);
        fputs("<h2>Learning curves</h2>\n<div class='grid'>\n", out);
        rc = all_charts(db, out, arms, n, window, err);
        fputs("</div>\n", out);
        if (!rc) final_table(db, out, arms, n, base);
        fputs("</body></html>\n", out);
    }
    exec(db, "DROP TABLE IF EXISTS temp.report_runs", NULL);
    return rc;
}

int db_report_html(sqlite3 *db, const int64_t *run_ids, int n_ids, FILE *out, core_error *err) {
    db_report_opts o = {run_ids, n_ids, 0, 0};
    return db_report_page(db, &o, out, err);
}
