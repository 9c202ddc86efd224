/*
 * cmd/ — argument parsing only; each subcommand lives in cmd/<name>.c and
 * returns the process exit code: 0 ok, 1 runtime failure, 2 bad usage or
 * bad input.  Logic lives in the library folders.
 */
#ifndef GRPO_CMD_H
#define GRPO_CMD_H

#include "core/core.h"

int cmd_train(int argc, char **argv);
int cmd_pretrain(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_grade(int argc, char **argv);
int cmd_sandbox(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_runs(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_ablate(int argc, char **argv);
int cmd_distill(int argc, char **argv);
int cmd_logprobs(int argc, char **argv);

/* Shared helpers for subcommands. */
int cmd_wants_help(int argc, char **argv);  /* any of -h / --help */
/* Print err->msg as "grpo CMD: MSG" and return its exit code. */
int cmd_report_error(const char *cmd, const core_error *err);
/* 128 + the signal that stopped the work cleanly (130 Ctrl-C, 143 SIGTERM),
 * else 0: the exit status shells expect. */
int cmd_stop_status(void);
/* Load CONFIG then apply every "--set section.key=value" in argv (which
 * are removed from argv; *argc updated). */
int cmd_load_config(core_config *cfg, const char *path, int *argc, char **argv,
                    core_error *err);

/* JSONL input for the commands that read one JSON object per line
 * (tokenize, logprobs): the file is read whole at open, blank lines are
 * skipped, and every error names FILE:LINE and the field. */
typedef struct cmd_jsonl cmd_jsonl;
typedef struct cmd_jsonl_line {
    const char *path;
    int number;          /* 1-based line number */
    const struct cJSON *obj; /* valid until the next call */
} cmd_jsonl_line;
int  cmd_jsonl_open(cmd_jsonl **out, const char *path, core_error *err);
/* 1: *line holds the next object; 0: end of file, or an error (err->code set). */
int  cmd_jsonl_next(cmd_jsonl *in, cmd_jsonl_line *line, core_error *err);
int  cmd_jsonl_longest(const cmd_jsonl *in); /* bytes in the longest line */
void cmd_jsonl_close(cmd_jsonl *in);
/* The string field NAME of a line, or CORE_EINPUT naming FILE:LINE and NAME. */
int  cmd_jsonl_string(const cmd_jsonl_line *line, const char *name, const char **out,
                      core_error *err);

#endif
