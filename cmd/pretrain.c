/* pretrain.c — `grpo pretrain CONFIG [--set k=v ...] [--resume]`: the base
 * model from the tasks corpus (learner/pretrain.h). */
#include <string.h>

#include "cmd/cmd.h"
#include "learner/pretrain.h"

static const char pretrain_usage[] =
    "usage: grpo pretrain CONFIG [--set section.key=value ...] [--resume [--allow-changed]]\n"
    "\n"
    "Train the base model on worked solutions of the configured tasks (loss on\n"
    "the response tokens), with the [model] shape and the [pretrain] schedule.\n"
    "Writes <run.out_dir>/<run.name>/base.safetensors (with config.json and the\n"
    "optimizer state beside it) once, at the end; never over an existing one.\n"
    "Until then partial checkpoints go to <run.out_dir>/<run.name>/run-<id>/ every\n"
    "pretrain.checkpoint_every steps and when stopped (Ctrl-C, SIGTERM, stop_at).\n"
    "Logs every step to db.path (\"\" for none).\n"
    "\n"
    "  --resume          continue the newest pretraining of run.name\n"
    "  --allow-changed   let --resume change settings that alter the run (recorded)\n"
    "  --set k=v  override a config key (any number of times)\n";

int cmd_pretrain(int argc, char **argv) {
    if (cmd_wants_help(argc, argv)) return fputs(pretrain_usage, stdout), 0;
    /* main() passed argv + 1, so argv - 1 is the whole command line, which
     * a BLAS re-exec must repeat. */
    model_blas_setup(argv - 1);
    core_config cfg;
    core_error err = {0};
    int flags = 0, kept = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--resume")) flags |= LEARNER_RESUME;
        else if (!strcmp(argv[i], "--allow-changed")) flags |= LEARNER_ALLOW_CHANGED;
        else argv[kept++] = argv[i];
    }
    argc = kept;
    if (argc < 2 || argv[1][0] == '-') {
        fputs(pretrain_usage, stderr);
        return 2;
    }
    const char *path = argv[1];
    if (cmd_load_config(&cfg, path, &argc, argv, &err)) return cmd_report_error("pretrain", &err);
    if (argc != 2) {
        fprintf(stderr, "grpo pretrain: unexpected argument '%s'\n%s", argv[2], pretrain_usage);
        return 2;
    }
    core_log_set_level(!strcmp(cfg.run.log_level, "debug") ? CORE_LOG_DEBUG
                       : !strcmp(cfg.run.log_level, "warn") ? CORE_LOG_WARN
                       : !strcmp(cfg.run.log_level, "error") ? CORE_LOG_ERROR
                                                             : CORE_LOG_INFO);
    pretrain_result res;
    core_stop_install(); /* Ctrl-C, SIGTERM, SIGHUP: checkpoint the step and stop */
    if (pretrain_run(&cfg, flags, stderr, &res, &err)) return cmd_report_error("pretrain", &err);
    core_info("pretrain: %d steps in %.1f s (%.0f tokens/s), train loss %.4f, held-out loss "
              "%.4f -> %.4f", res.steps_done, res.seconds, res.tokens_per_s, res.train_loss,
              res.first_heldout_loss, res.heldout_loss);
    if (!res.completed)
        core_info("pretrain: stopped at step %d of %d, no base model yet; continue with "
                  "`grpo pretrain CONFIG --resume`", res.steps_done, cfg.pretrain.steps);
    printf("%s\n", res.checkpoint);
    return cmd_stop_status();
}
