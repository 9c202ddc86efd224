/* distill.c — `grpo distill CONFIG (--from-db DB --where COND | --teacher
 * CKPT --samples N) [...]`: a student from a teacher's traces
 * (learner/distill.h).  The flags are shorthands for [distill] keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "learner/distill.h"

static const char usage[] =
    "usage: grpo distill CONFIG --from-db DB --where \"SQL on episodes\" [--per-prompt N]\n"
    "       grpo distill CONFIG --teacher CHECKPOINT --samples N [--where ...] [--per-prompt N]\n"
    "       ... [--set section.key=value ...] [--resume]\n"
    "\n"
    "Train the student of CONFIG's [model] (model.checkpoint, or its pretrained base)\n"
    "on a teacher's traces, with CONFIG's [distill] schedule.\n"
    "  --from-db DB      the database holding the traces; the distill run is written\n"
    "                    there too (sets db.path)\n"
    "  --where COND      SQL condition on the columns of episodes, e.g.\n"
    "                    \"run_id = 2 AND correct = 1 AND step > 500\"; distinct\n"
    "                    (prompt, completion) pairs are kept (distill.where)\n"
    "  --per-prompt N    at most N traces per prompt (distill.per_prompt; 0: all)\n"
    "  --teacher CKPT    the teacher checkpoint: samples with --samples, scores\n"
    "                    tokens for distill.objective = forward_kl | on_policy\n"
    "  --samples N       rejection sampling: the teacher answers distill.prompts\n"
    "                    training prompts N times each; all samples are stored as a\n"
    "                    run of kind 'samples', the correct ones are the traces\n"
    "  --resume          continue the distill run named run.name from its newest\n"
    "                    checkpoint (its recorded dataset is reused)\n"
    "Objectives (distill.objective): sft | forward_kl | on_policy (reverse KL on the\n"
    "student's own samples).  The run is recorded with kind 'distill'; its evals go\n"
    "to `evals`, checkpoints to\n"
    "<run.out_dir>/<run.name>/run-<id>/distill-stepNNNNNN.safetensors.\n"
    "\n"
    "Which traces taught a student, and how correct were they:\n"
    "  grpo query DB \"SELECT teacher_run, count(*) AS traces, avg(correct) AS accuracy,\n"
    "                 avg(reward) AS reward FROM distill_traces WHERE student_run = ID\n"
    "                 GROUP BY teacher_run\"\n";

/* A flag with a value becomes "--set section.key=VALUE" for cmd_load_config. */
static const struct { const char *flag, *key; } shorthands[] = {
    {"--from-db", "db.path"},       {"--where", "distill.where"},
    {"--per-prompt", "distill.per_prompt"}, {"--teacher", "distill.teacher"},
    {"--samples", "distill.samples"},
};
enum { N_SHORTHANDS = sizeof shorthands / sizeof shorthands[0] };

static const char *shorthand_key(const char *flag) {
    for (int i = 0; i < N_SHORTHANDS; i++)
        if (!strcmp(flag, shorthands[i].flag)) return shorthands[i].key;
    return NULL;
}

int cmd_distill(int argc, char **argv) {
    if (cmd_wants_help(argc, argv)) return fputs(usage, stdout), 0;
    int n = 0, resume = 0, rc = 2;
    const char *path = NULL, *from_db = NULL;
    char **args = calloc((size_t)argc * 2 + 1, sizeof *args), **owned = calloc((size_t)argc + 1, sizeof *owned);
    int n_owned = 0;
    for (int i = 1; i < argc; i++) {
        const char *key = shorthand_key(argv[i]);
        if (!strcmp(argv[i], "--resume")) resume = 1;
        else if (!strcmp(argv[i], "--set") && i + 1 < argc) args[n++] = argv[i], args[n++] = argv[++i];
        else if (key && i + 1 < argc) {
            if (!strcmp(argv[i], "--from-db")) from_db = argv[i + 1];
            size_t len = strlen(key) + strlen(argv[i + 1]) + 2;
            char *set = owned[n_owned++] = malloc(len);
            snprintf(set, len, "%s=%s", key, argv[++i]);
            args[n++] = "--set", args[n++] = set;
        } else if (key || argv[i][0] == '-') {
            fprintf(stderr, "grpo distill: %s %s\n%s", argv[i], key ? "needs a value" : "is not an option", usage);
            goto done;
        } else if (!path) path = argv[i];
        else {
            fprintf(stderr, "grpo distill: unexpected argument '%s'\n%s", argv[i], usage);
            goto done;
        }
    }
    if (!path) {
        fputs(usage, stderr);
        goto done;
    }
    if (from_db && access(from_db, R_OK)) {
        fprintf(stderr, "grpo distill: --from-db %s: no such database\n", from_db);
        goto done;
    }
    core_config cfg;
    core_error err = {0};
    if (cmd_load_config(&cfg, path, &n, args, &err)) {
        rc = cmd_report_error("distill", &err);
        goto done;
    }
    distill_result res;
    if (distill_run(&cfg, resume, stderr, &res, &err)) {
        rc = cmd_report_error("distill", &err);
        goto done;
    }
    core_info("distill: run %lld, %lld traces, %d steps in %.1f s, %s %.4f -> %.4f", (long long)res.run_id,
              (long long)res.n_traces, res.steps_done, res.seconds, cfg.distill.objective, res.first_loss,
              res.last_loss);
    printf("%s\n", res.checkpoint);
    rc = 0;
done:
    for (int i = 0; i < n_owned; i++) free(owned[i]);
    free(owned);
    free(args);
    return rc;
}
