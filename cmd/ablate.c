/* ablate.c — `grpo ablate CONFIG --vary key=v1,v2 ... [--seeds N] [--set ...] [--resume]`. */
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "learner/sweep.h"

static const char usage[] =
    "usage: grpo ablate CONFIG --vary section.key=v1,v2,... [--vary ...] [--seeds N]\n"
    "                   [--set section.key=value ...] [--resume]\n"
    "A sweep: the cross product of the varied keys (the arms), each arm run with N\n"
    "seeds (run.seed, run.seed + 1, ...), one `grpo train` after another, all in\n"
    "db.path and tied by a sweep named run.name (tables sweeps, sweep_arms,\n"
    "sweep_values; runs.sweep_id, runs.arm, runs.seed_index; view sweep_runs).\n"
    "Values holding commas are separated by '|':  --vary reward.weights=0,1|0.1,1\n"
    "Every arm's config is checked before the first run starts.  Run NAME-a<arm>-s<k>\n"
    "writes its log to run.out_dir/NAME/a<arm>-s<k>.log.  --resume continues a\n"
    "stopped sweep: finished runs are skipped, stopped ones resume from their\n"
    "checkpoints.  Compare the arms with:  grpo report DB --sweep ID\n";

int cmd_ablate(int argc, char **argv) {
    if (cmd_wants_help(argc, argv)) return fputs(usage, stdout), 0;
    static sweep_plan plan;
    core_error err = {0};
    int resume = 0, n = argc - 1;
    char **args = argv + 1;
    const char *path = NULL, *varies[SWEEP_MAX_AXES + 1];
    int n_vary = 0;
    plan.n_seeds = 1;
    for (int i = 0; i < n; i++) {
        if (!strcmp(args[i], "--set")) i++;
        else if (!strcmp(args[i], "--resume")) resume = 1;
        else if (!strcmp(args[i], "--vary") && i + 1 < n) {
            if (n_vary == SWEEP_MAX_AXES) return fprintf(stderr, "grpo ablate: at most %d --vary\n", SWEEP_MAX_AXES), 2;
            varies[n_vary++] = args[++i];
        } else if (!strcmp(args[i], "--seeds") && i + 1 < n) {
            char *end;
            long s = strtol(args[++i], &end, 10);
            if (*end || s < 1 || s > SWEEP_MAX_SEEDS)
                return fprintf(stderr, "grpo ablate: --seeds %s: expected 1..%d\n", args[i], SWEEP_MAX_SEEDS), 2;
            plan.n_seeds = (int)s;
        } else if (args[i][0] == '-') return fprintf(stderr, "grpo ablate: unknown option %s\n%s", args[i], usage), 2;
        else if (!path) path = args[i];
        else return fputs(usage, stderr), 2;
    }
    if (!path || n_vary == 0) return fputs(usage, stderr), 2;
    /* --vary values are checked against the config with its --set overrides */
    if (cmd_load_config(&plan.base, path, &n, args, &err)) return cmd_report_error("ablate", &err);
    for (int i = 0; i < n_vary; i++)
        if (sweep_add_axis(&plan, varies[i], &err)) return cmd_report_error("ablate", &err);
    printf("sweep '%s': %d arms x %d seeds = %d runs in %s\n", plan.base.run.name, sweep_n_arms(&plan),
           plan.n_seeds, sweep_n_arms(&plan) * plan.n_seeds, plan.base.db.path);
    fflush(stdout);
    sweep_result res;
    if (sweep_run(&plan, resume, "/proc/self/exe", &res, &err)) return cmd_report_error("ablate", &err);
    printf("sweep %lld: %d run, %d done before, %d failed%s\n", (long long)res.sweep_id, res.ran,
           res.skipped, res.failed, res.stopped ? ", stopped (continue with --resume)" : "");
    printf("compare the arms: grpo report %s --sweep %lld\n", plan.base.db.path, (long long)res.sweep_id);
    return res.failed ? 1 : 0;
}
