/*
 * query.c — `grpo query`: run SQL against a run database and print each
 * result set as an aligned table, CSV or JSON (one array of objects per
 * statement that returns rows).
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "db/db.h"

void db_close_existing(sqlite3 *s) { sqlite3_close(s); }

int db_print_eval_change(sqlite3 *s, const char *run_name, FILE *out, core_error *err) {
    char *sql = sqlite3_mprintf(
        "WITH run AS (SELECT max(id) AS id FROM runs WHERE name = %Q AND kind = 'train'),"
        " first AS (SELECT min(step) AS s FROM evals, run WHERE run_id = run.id),"
        " last AS (SELECT max(step) AS s FROM evals, run WHERE run_id = run.id) "
        "SELECT b.metric, round(b.value, 3) AS base, round(a.value, 3) AS after_grpo,"
        " printf('%%+.3f', a.value - b.value) AS change "
        "FROM evals b JOIN evals a ON a.metric = b.metric AND a.run_id = b.run_id, run, first, last "
        "WHERE b.run_id = run.id AND b.step = first.s AND a.step = last.s AND b.split = 'heldout' "
        "ORDER BY b.metric",
        run_name);
    if (!sql) return core_fail(err, CORE_ERUNTIME, "out of memory");
    int rc = db_query_print(s, sql, DB_FORMAT_TABLE, out, err);
    sqlite3_free(sql);
    return rc;
}

int db_open_existing(sqlite3 **out, const char *path, core_error *err) {
    return db_open_existing_mode(out, path, 0, err);
}

int db_open_existing_mode(sqlite3 **out, const char *path, int writable, core_error *err) {
    int mode = writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
    if (sqlite3_open_v2(path, out, mode, NULL) != SQLITE_OK) {
        core_fail(err, CORE_EINPUT, "%s: cannot open database: %s", path, sqlite3_errmsg(*out));
        sqlite3_close(*out);
        *out = NULL;
        return CORE_EINPUT;
    }
    sqlite3_busy_timeout(*out, 5000);
    return 0;
}

/* Text of a cell as printed: NULL becomes "NULL" in tables, "" in CSV. */
static const char *cell_text(sqlite3_stmt *st, int col, const char *null_text) {
    if (sqlite3_column_type(st, col) == SQLITE_NULL) return null_text;
    return (const char *)sqlite3_column_text(st, col);
}

static void print_csv_field(FILE *out, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void print_csv_row(FILE *out, sqlite3_stmt *st, int n, int header) {
    for (int c = 0; c < n; c++) {
        if (c) fputc(',', out);
        print_csv_field(out, header ? sqlite3_column_name(st, c) : cell_text(st, c, ""));
    }
    fputc('\n', out);
}

static cJSON *json_string(const char *s) {
    char *clean = core_utf8_lossy(s, strlen(s), NULL); /* every --json line parses */
    cJSON *j = cJSON_CreateString(clean ? clean : "");
    free(clean);
    return j;
}

static cJSON *json_cell(sqlite3_stmt *st, int c) {
    switch (sqlite3_column_type(st, c)) {
    case SQLITE_NULL: return cJSON_CreateNull();
    case SQLITE_INTEGER: return cJSON_CreateNumber((double)sqlite3_column_int64(st, c));
    case SQLITE_FLOAT: return cJSON_CreateNumber(sqlite3_column_double(st, c));
    default: return json_string((const char *)sqlite3_column_text(st, c));
    }
}

/* An aligned table needs every row before the first is printed. */
typedef struct table {
    int n_cols, n_rows, cap_rows;
    char **cells; /* (n_rows + 1) x n_cols, row 0 the header */
} table;

static void table_add_row(table *t, sqlite3_stmt *st, int header) {
    if (t->n_rows + 1 >= t->cap_rows) {
        t->cap_rows = t->cap_rows ? t->cap_rows * 2 : 64;
        t->cells = realloc(t->cells, sizeof(char *) * t->cap_rows * t->n_cols);
        if (!t->cells) abort();
    }
    char **row = t->cells + (size_t)(header ? 0 : t->n_rows + 1) * t->n_cols;
    for (int c = 0; c < t->n_cols; c++)
        row[c] = strdup(header ? sqlite3_column_name(st, c) : cell_text(st, c, "NULL"));
    if (!header) t->n_rows++;
}

static void table_print(FILE *out, table *t) {
    int *width = calloc(t->n_cols, sizeof *width);
    for (int r = 0; r <= t->n_rows; r++)
        for (int c = 0; c < t->n_cols; c++) {
            int w = strlen(t->cells[(size_t)r * t->n_cols + c]);
            if (w > width[c]) width[c] = w;
        }
    for (int r = 0; r <= t->n_rows; r++) {
        for (int c = 0; c < t->n_cols; c++)
            fprintf(out, "%s%-*s", c ? "  " : "", c == t->n_cols - 1 ? 0 : width[c],
                    t->cells[(size_t)r * t->n_cols + c]);
        fputc('\n', out);
        if (r == 0) {
            for (int c = 0; c < t->n_cols; c++) {
                fprintf(out, "%s", c ? "  " : "");
                for (int i = 0; i < width[c]; i++) fputc('-', out);
            }
            fputc('\n', out);
        }
    }
    fprintf(out, "(%d row%s)\n", t->n_rows, t->n_rows == 1 ? "" : "s");
    free(width);
}

static void table_free(table *t) {
    if (!t->cells) return;
    /* the header row exists once any row was added */
    for (size_t i = 0; i < (size_t)(t->n_rows + 1) * t->n_cols; i++) free(t->cells[i]);
    free(t->cells);
}

/* Step through one prepared statement, printing its rows. */
static int print_statement(sqlite3 *s, sqlite3_stmt *st, enum db_format fmt, FILE *out,
                           core_error *err) {
    int n = sqlite3_column_count(st), rc;
    table t = {n, 0, 0, NULL};
    cJSON *rows = fmt == DB_FORMAT_JSON ? cJSON_CreateArray() : NULL;
    int first = 1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (fmt == DB_FORMAT_CSV) {
            if (first) print_csv_row(out, st, n, 1);
            print_csv_row(out, st, n, 0);
        } else if (fmt == DB_FORMAT_JSON) {
            cJSON *obj = cJSON_CreateObject();
            for (int c = 0; c < n; c++) {
                const char *raw = sqlite3_column_name(st, c);
                char *name = core_utf8_lossy(raw, strlen(raw), NULL);
                cJSON_AddItemToObject(obj, name ? name : "?", json_cell(st, c));
                free(name);
            }
            cJSON_AddItemToArray(rows, obj);
        } else {
            if (first) table_add_row(&t, st, 1);
            table_add_row(&t, st, 0);
        }
        first = 0;
    }
    if (rc != SQLITE_DONE) {
        cJSON_Delete(rows);
        table_free(&t);
        return core_fail(err, CORE_EINPUT, "SQL error: %s", sqlite3_errmsg(s));
    }
    if (n > 0 && fmt == DB_FORMAT_JSON) {
        char *text = cJSON_PrintUnformatted(rows);
        fprintf(out, "%s\n", text);
        free(text);
    } else if (n > 0 && fmt == DB_FORMAT_TABLE) {
        if (first) table_add_row(&t, st, 1); /* header even for zero rows */
        table_print(out, &t);
    }
    table_free(&t);
    cJSON_Delete(rows);
    return 0;
}

int db_query_print(sqlite3 *s, const char *sql, enum db_format fmt, FILE *out, core_error *err) {
    const char *tail = sql;
    while (tail && *tail) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(s, tail, -1, &st, &tail) != SQLITE_OK)
            return core_fail(err, CORE_EINPUT, "SQL error: %s", sqlite3_errmsg(s));
        if (!st) break; /* only whitespace or a comment left */
        int rc = print_statement(s, st, fmt, out, err);
        sqlite3_finalize(st);
        if (rc) return rc;
    }
    return 0;
}
