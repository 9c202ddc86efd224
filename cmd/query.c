/* query.c — `grpo query DB "SQL" [--csv|--json]` and `grpo runs DB`. */
#include <string.h>

#include "cmd/cmd.h"
#include "db/db.h"

static const char query_usage[] =
    "usage: grpo query DB \"SQL\" [--csv | --json] [--write]\n"
    "Runs SQL on a grpo database (read while a run writes: WAL mode) and prints\n"
    "each result as an aligned table, CSV, or a JSON array of objects.\n"
    "Tables: runs steps prompts groups episodes reward_parts sandbox_runs evals checkpoints;\n"
    "views: learning_curve reward_parts_by_step recheck_by_step prompt_stats worst_prompts group_pass.\n"
    "The database is opened read-only; --write allows statements that change it\n"
    "(careful: deleting rows of a run that is training breaks it).\n"
    "Exit 2 on bad SQL (SQLite's message is printed).\n";

static int run_query(const char *cmd, const char *path, const char *sql, enum db_format fmt,
                     int writable) {
    core_error err = {0};
    sqlite3 *s;
    if (db_open_existing_mode(&s, path, writable, &err)) return cmd_report_error(cmd, &err);
    int rc = db_query_print(s, sql, fmt, stdout, &err);
    db_close_existing(s);
    if (rc && !writable && strstr(err.msg, "readonly"))
        core_fail_wrap(&err, "the database is opened read-only; add --write to change it");
    return rc ? cmd_report_error(cmd, &err) : 0;
}

int cmd_query(int argc, char **argv) {
    if (cmd_wants_help(argc, argv)) return fputs(query_usage, stdout), 0;
    enum db_format fmt = DB_FORMAT_TABLE;
    const char *pos[2] = {0};
    int n_pos = 0, writable = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--csv")) fmt = DB_FORMAT_CSV;
        else if (!strcmp(argv[i], "--write")) writable = 1;
        else if (!strcmp(argv[i], "--json")) fmt = DB_FORMAT_JSON;
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "grpo query: unknown option %s\n%s", argv[i], query_usage);
            return 2;
        } else if (n_pos < 2) pos[n_pos++] = argv[i];
        else return fputs(query_usage, stderr), 2;
    }
    if (n_pos != 2) return fputs(query_usage, stderr), 2;
    return run_query("query", pos[0], pos[1], fmt, writable);
}

int cmd_runs(int argc, char **argv) {
    const char *path = NULL;
    enum db_format fmt = DB_FORMAT_TABLE;
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) fmt = DB_FORMAT_JSON;
        else if (!strcmp(argv[i], "--csv")) fmt = DB_FORMAT_CSV;
        else if (argv[i][0] == '-' || path) bad = 1;
        else path = argv[i];
    }
    if (cmd_wants_help(argc, argv) || bad || !path) {
        int help = cmd_wants_help(argc, argv);
        fputs("usage: grpo runs DB [--json | --csv]\nLists the runs in a grpo database.\n",
              help ? stdout : stderr);
        return help ? 0 : 2;
    }
    return run_query("runs", path,
                     "SELECT r.id, r.name, r.kind, r.status, r.seed, r.started, r.finished, "
                     "(SELECT count(*) FROM steps s WHERE s.run_id = r.id) AS steps, "
                     "(SELECT count(*) FROM episodes e WHERE e.run_id = r.id) AS episodes "
                     "FROM runs r ORDER BY r.id",
                     fmt, 0);
}
