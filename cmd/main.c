/*
 * grpo — the one binary.  Dispatches to cmd/<name>.c.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "model/model.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
    int runs_model; /* pick the fast BLAS kernels first (may re-execute) */
};

static const struct command commands[] = {
    {"train", cmd_train, "train CONFIG [--set section.key=value ...] [--resume]  GRPO training", 1},
    {"pretrain", cmd_pretrain, "pretrain CONFIG [--set ...]                 the base model, from the tasks corpus", 1},
    {"eval", cmd_eval, "eval CONFIG --checkpoint FILE [--json]        pass@1, pass@k, maj@k on held-out items", 1},
    {"sample", cmd_sample, "sample --checkpoint FILE --prompt TEXT        look at what a model writes", 1},
    {"grade", cmd_grade, "grade --kind math|code|format FILE.jsonl      score responses offline", 0},
    {"sandbox", cmd_sandbox, "sandbox --lang python|c|sh FILE [--json]      run one program the way rewards do", 0},
    {"tokenize", cmd_tokenize, "tokenize --model DIR FILE.jsonl [--decode]    text to token ids and back (JSON lines)", 0},
    {"query", cmd_query, "query DB \"SQL\" [--csv|--json]                 run SQL on a run database", 0},
    {"runs", cmd_runs, "runs DB                                       list the runs in a database", 0},
    {"report", cmd_report, "report DB [--sweep ID|--runs ...]             arms compared: curves, bands, final table", 0},
    {"ablate", cmd_ablate, "ablate CONFIG --vary key=v1,v2 [--seeds N]    a sweep: many runs in one DB", 0},
    {"distill", cmd_distill, "distill CONFIG --from-db DB --where SQL | --teacher CKPT --samples N  a student from a teacher's traces", 1},
    {"logprobs", cmd_logprobs, "logprobs --model PATH FILE.jsonl               per-token log-probs of completions", 1},
    {"demo", cmd_demo, "demo CONFIG                                   pretrain if needed, then GRPO, then before/after", 1},
};
static const int n_commands = sizeof commands / sizeof commands[0];

static void print_usage(FILE *out) {
    fprintf(out, "grpo %s — GRPO reinforcement learning in C\n\nusage:\n", GRPO_VERSION);
    for (int i = 0; i < n_commands; i++) fprintf(out, "  grpo %s\n", commands[i].usage);
    fprintf(out, "\nEvery command has --help.  `grpo train --help-config` lists every config key.\n"
                 "Exit codes: 0 ok, 1 runtime failure, 2 bad usage or bad input.\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        print_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("grpo %s\n", GRPO_VERSION);
        return 0;
    }
    for (int i = 0; i < n_commands; i++)
        if (!strcmp(argv[1], commands[i].name)) {
            if (commands[i].runs_model && !cmd_wants_help(argc - 1, argv + 1)) model_blas_setup(argv);
            return commands[i].run(argc - 1, argv + 1);
        }
    fprintf(stderr, "grpo: unknown command '%s' (see grpo --help)\n", argv[1]);
    return 2;
}
