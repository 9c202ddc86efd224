/* ablate.c — `grpo ablate CONFIG [--sweep-file FILE] [--vary key=v1,v2 ...] [--seeds N] [--name NAME]
 *                         [--set ...] [--resume] [--dry-run]`. */
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "learner/sweep.h"

static const char usage[] =
    "usage: grpo ablate CONFIG [--sweep-file FILE] [--vary section.key=v1,v2,...]... [--seeds N]\n"
    "                   [--name NAME] [--set section.key=value ...] [--resume] [--dry-run]\n"
    "A sweep: the arms of FILE (configs/ablations/; [arm NAME] sections of settings)\n"
    "crossed with the --vary axes, each arm run with N seeds (run.seed, run.seed + 1,\n"
    "...), one `grpo train` after another, all in db.path and tied by a sweep named\n"
    "NAME (--name, the file's name = ..., or run.name; tables sweeps, sweep_arms,\n"
    "sweep_values; runs.sweep_id, runs.arm, runs.seed_index; view sweep_runs).  Every\n"
    "run starts from the base model of run.name (as `grpo train` would).  Settings\n"
    "apply in the order CONFIG, the file's [sweep] section, --set, each arm's own;\n"
    "--seeds and --name win over the file's seeds and name.\n"
    "Values holding commas are separated by '|':  --vary reward.weights=0,1|0.1,1\n"
    "Every arm's config is checked before the first run starts; --dry-run checks and\n"
    "lists the arms and runs nothing.  Run NAME-a<arm>-s<k> writes its log to\n"
    "run.out_dir/NAME/a<arm>-s<k>.log.  --resume continues a stopped sweep: finished\n"
    "runs are skipped, stopped ones resume from their checkpoints.  Under mpirun\n"
    "the runs are shared out over the ranks and run in parallel (each one a\n"
    "single-process learner):  mpirun -np 4 ./grpo ablate CONFIG ...\n"
    "Compare the arms with:  grpo report DB --sweep ID\n";

typedef struct ablate_args {
    const char *config, *file, *name;
    const char *varies[SWEEP_MAX_AXES], *sets[256];
    int n_vary, n_sets, seeds, resume, dry_run;
} ablate_args;

static int parse_args(int argc, char **argv, ablate_args *a) {
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "--resume")) a->resume = 1;
        else if (!strcmp(arg, "--dry-run")) a->dry_run = 1;
        else if (!next && arg[0] == '-') return fprintf(stderr, "grpo ablate: %s needs a value\n", arg), 2;
        else if (!strcmp(arg, "--set") && a->n_sets < 256) a->sets[a->n_sets++] = argv[++i];
        else if (!strcmp(arg, "--sweep-file")) a->file = argv[++i];
        else if (!strcmp(arg, "--name")) a->name = argv[++i];
        else if (!strcmp(arg, "--vary")) {
            if (a->n_vary == SWEEP_MAX_AXES) return fprintf(stderr, "grpo ablate: at most %d --vary\n", SWEEP_MAX_AXES), 2;
            a->varies[a->n_vary++] = argv[++i];
        } else if (!strcmp(arg, "--seeds")) {
            char *end;
            long s = strtol(argv[++i], &end, 10);
            if (*end || s < 1 || s > SWEEP_MAX_SEEDS)
                return fprintf(stderr, "grpo ablate: --seeds %s: expected 1..%d\n", argv[i], SWEEP_MAX_SEEDS), 2;
            a->seeds = (int)s;
        } else if (arg[0] == '-') return fprintf(stderr, "grpo ablate: unknown option %s\n%s", arg, usage), 2;
        else if (!a->config) a->config = arg;
        else return fputs(usage, stderr), 2;
    }
    if (!a->config || (a->n_vary == 0 && !a->file)) return fputs(usage, stderr), 2;
    return 0;
}

/* CONFIG, the file's [sweep] settings and arms, --set, then the axes. */
static int build_plan(const ablate_args *a, sweep_plan *plan, core_error *err) {
    core_config_defaults(&plan->base);
    plan->n_seeds = a->seeds;
    if (a->name) {
        if (!*a->name || strlen(a->name) >= sizeof plan->name || strpbrk(a->name, " \t/"))
            return core_fail(err, CORE_EINPUT, "--name %s: one word of at most %zu characters, no '/'", a->name,
                             sizeof plan->name - 1);
        snprintf(plan->name, sizeof plan->name, "%s", a->name);
    }
    if (core_config_load(&plan->base, a->config, err)) return err->code;
    if (a->file && sweep_load_file(plan, a->file, err)) return err->code;
    for (int i = 0; i < a->n_sets; i++)
        if (core_config_set(&plan->base, a->sets[i], err)) return err->code;
    for (int i = 0; i < a->n_vary; i++)
        if (sweep_add_axis(plan, a->varies[i], err)) return err->code;
    if (plan->n_seeds == 0) plan->n_seeds = 1;
    return 0;
}

int cmd_ablate(int argc, char **argv) {
    if (cmd_wants_help(argc, argv)) return fputs(usage, stdout), 0;
    static ablate_args args;
    static sweep_plan plan;
    core_error err = {0};
    int rc = parse_args(argc, argv, &args);
    if (rc) return rc;
    if (build_plan(&args, &plan, &err)) return cmd_report_error("ablate", &err);
    int n_arms = sweep_n_arms(&plan);
    printf("sweep '%s': %d arms x %d seeds = %d runs in %s\n", plan.name[0] ? plan.name : plan.base.run.name,
           n_arms, plan.n_seeds,
           n_arms * plan.n_seeds, plan.base.db.path);
    if (args.dry_run) {
        if (sweep_check(&plan, 0, &err)) return cmd_report_error("ablate", &err);
        for (int arm = 0; arm < n_arms; arm++) {
            char label[1024];
            sweep_arm_label(&plan, arm, label, sizeof label);
            printf("  arm %d: %s\n", arm, label);
        }
        printf("every arm checked; nothing run (--dry-run)\n");
        return 0;
    }
    fflush(stdout);
    sweep_result res;
    if (sweep_run(&plan, args.resume, "/proc/self/exe", &res, &err)) return cmd_report_error("ablate", &err);
    if (res.rank != 0) return res.failed ? 1 : 0;
    printf("sweep %lld: %d run, %d done before, %d failed%s\n", (long long)res.sweep_id, res.ran,
           res.skipped, res.failed, res.stopped ? ", stopped (continue with --resume)" : "");
    printf("compare the arms: grpo report %s --sweep %lld\n", plan.base.db.path, (long long)res.sweep_id);
    return res.failed ? 1 : 0;
}
