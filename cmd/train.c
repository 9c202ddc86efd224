/* train.c — `grpo train CONFIG [--set section.key=value ...] [--resume [--allow-changed]]`. */
#include <string.h>

#include "cmd/cmd.h"
#include "learner/learner.h"

static const char usage[] =
    "usage: grpo train CONFIG [--set section.key=value ...] [--resume [--allow-changed]]\n"
    "       grpo train --help-config\n"
    "GRPO training (R1-Zero style) from the base model of the config.  One process\n"
    "runs everything; under mpirun rank 0 learns and ranks 1..W sample and grade:\n"
    "  mpirun -np 3 ./grpo train configs/r1zero-arith.ini\n"
    "--resume continues the newest run named run.name from its newest checkpoint\n"
    "that loads (a corrupt one is skipped, with a warning).  It refuses settings\n"
    "that alter the run (seed, learning rate, group size, model shape...) unless\n"
    "--allow-changed is given; the change is then recorded in run_events.\n"
    "Checkpoints: <run.out_dir>/<run.name>/run-<id>/, locked while the run trains.\n"
    "Every step, group, episode and reward part goes to db.path (SQLite).\n";

int cmd_train(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help-config")) return core_config_print_reference(stdout), 0;
    if (cmd_wants_help(argc, argv)) return fputs(usage, stdout), 0;
    core_config cfg;
    core_error err = {0};
    int resume = 0, n = argc - 1;
    char **args = argv + 1;
    const char *path = NULL;
    for (int i = 0; i < n; i++)
        if (!strcmp(args[i], "--set")) i++;
        else if (!strcmp(args[i], "--resume")) resume |= LEARNER_RESUME;
        else if (!strcmp(args[i], "--allow-changed")) resume |= LEARNER_ALLOW_CHANGED;
        else if (args[i][0] == '-') return fprintf(stderr, "grpo train: unknown option %s\n%s", args[i], usage), 2;
        else if (!path) path = args[i];
        else return fputs(usage, stderr), 2;
    if (!path) return fputs(usage, stderr), 2;
    if (resume == LEARNER_ALLOW_CHANGED)
        return fprintf(stderr, "grpo train: --allow-changed goes with --resume\n%s", usage), 2;
    if (cmd_load_config(&cfg, path, &n, args, &err)) return cmd_report_error("train", &err);
    core_stop_install(); /* Ctrl-C, SIGTERM, SIGHUP: finish the step, checkpoint, stop */
    if (learner_train(&cfg, resume, &argc, &argv, &err)) return cmd_report_error("train", &err);
    return cmd_stop_status();
}
