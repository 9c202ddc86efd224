/* eval.c — `grpo eval CONFIG --checkpoint FILE [--json]`: pass@1, pass@k,
 * maj@k, greedy accuracy and format rate on the held-out items
 * (learner/eval.h), written to the evals table when db.path is set. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "learner/eval.h"

static const char eval_usage[] =
    "usage: grpo eval CONFIG --model PATH [--json] [--set section.key=value ...]\n"
    "\n"
    "PATH is one of our .safetensors checkpoints or a Hugging Face model\n"
    "directory (a run's checkpoint, or a base model); --checkpoint is the same\n"
    "flag.\n"
    "Sample eval.k completions per held-out item (eval.items of them) at\n"
    "eval.temperature, plus one greedy completion, and grade them with the\n"
    "[reward] functions.  Prints pass@1, pass@k, maj@k, greedy accuracy, format\n"
    "rate, mean response length and re-check rate; --json prints one JSON object.\n"
    "With db.path set (\"\" for none), the figures go to the evals table under a\n"
    "run named run.name of kind 'eval', at the checkpoint's optimizer step.\n";

typedef struct eval_args {
    const char *config, *checkpoint;
    int json;
} eval_args;

/* After --set removal: CONFIG plus our flags.  Returns 0 or 2. */
static int parse_args(int argc, char **argv, eval_args *a) {
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) a->json = 1;
        else if ((!strcmp(argv[i], "--model") || !strcmp(argv[i], "--checkpoint")) && i + 1 < argc)
            a->checkpoint = argv[++i];
        else if (argv[i][0] != '-' && !a->config) a->config = argv[i];
        else {
            fprintf(stderr, "grpo eval: unexpected argument '%s'\n%s", argv[i], eval_usage);
            return 2;
        }
    }
    if (!a->config || !a->checkpoint) {
        fputs(eval_usage, stderr);
        return 2;
    }
    return 0;
}

int cmd_eval(int argc, char **argv) {
    if (cmd_wants_help(argc, argv)) return fputs(eval_usage, stdout), 0;
    model_blas_setup(argv - 1); /* main() passed argv + 1: argv - 1 is the whole line */
    core_config cfg;
    core_error err = {0};
    eval_args a;
    const char *config = argc > 1 && argv[1][0] != '-' ? argv[1] : NULL;
    if (cmd_load_config(&cfg, config, &argc, argv, &err)) return cmd_report_error("eval", &err);
    if (parse_args(argc, argv, &a)) return 2;
    if (access(a.checkpoint, R_OK)) {
        fprintf(stderr, "grpo eval: %s: cannot read the model (grpo pretrain writes "
                        "<run.out_dir>/<run.name>/base.safetensors)\n", a.checkpoint);
        return 2;
    }
    /* Enough rows for several prompts at once; at least eval.k. */
    int max_batch = cfg.eval.k * (cfg.eval.k < 128 ? 128 / cfg.eval.k : 1);
    model *m = NULL;
    reward_fn *r = NULL;
    eval_result res;
    int rc = model_open(&m, a.checkpoint, max_batch, cfg.model.max_seq, &err);
    if (!rc) rc = model_set_device(m, cfg.model.device, cfg.model.matmul, &err);
    if (!rc) rc = reward_create(&r, &cfg, &err);
    if (!rc) rc = eval_run(m, r, &cfg, NULL, &res, &err);
    if (!rc) snprintf(res.checkpoint, sizeof res.checkpoint, "%s", a.checkpoint);
    if (!rc && cfg.db.path[0]) rc = eval_log_run(&cfg, model_adamw_t(m), &res, &err);
    if (!rc) eval_result_free(&res);
    reward_free(r);
    model_free(m);
    if (rc) return cmd_report_error("eval", &err);
    if (a.json) eval_print_json(stdout, &res);
    else eval_print_table(stdout, &res);
    return 0;
}
