/*
 * demo.c — `grpo demo CONFIG` (what `make run` runs): pretrain the base
 * model if it is not there yet, run GRPO on it, then show the held-out
 * figures before and after and the SQL to look deeper.
 */
#include <string.h>
#include <sys/stat.h>

#include "cmd/cmd.h"
#include "db/db.h"
#include "learner/learner.h"
#include "learner/pretrain.h"

static const char usage[] =
    "usage: grpo demo CONFIG [--set section.key=value ...]\n"
    "The R1-Zero demo: pretrain the base model (skipped when its checkpoint\n"
    "exists), GRPO on it, then held-out pass@1, pass@k, maj@k and format rate\n"
    "before and after.  `make run` runs it on configs/r1zero-arith.ini.\n";

static int ensure_base(const core_config *cfg, core_error *err) {
    char path[1024];
    struct stat st;
    if (cfg->model.checkpoint[0]) return 0;
    pretrain_checkpoint_path(cfg, path, sizeof path);
    if (stat(path, &st) == 0) {
        core_info("demo: reusing the base model %s (delete it to pretrain again)", path);
        return 0;
    }
    core_info("demo: pretraining the base model (%d steps; an interrupted one is resumed)",
              cfg->pretrain.steps);
    pretrain_result res;
    if (pretrain_run(cfg, LEARNER_RESUME, stderr, &res, err)) return err->code;
    if (!res.completed) return core_fail(err, CORE_ERUNTIME, "pretraining stopped at step %d; run "
                                         "the demo again to continue it", res.steps_done);
    core_info("demo: base model in %.0f s, held-out loss %.3f -> %.3f", res.seconds,
              res.first_heldout_loss, res.heldout_loss);
    return 0;
}

static void print_before_after(const core_config *cfg) {
    sqlite3 *s = NULL;
    core_error err = {0};
    printf("\nHeld-out items, base model vs after GRPO:\n");
    if (db_open_existing(&s, cfg->db.path, &err) || db_print_eval_change(s, cfg->run.name, stdout, &err))
        fprintf(stderr, "grpo demo: %s\n", err.msg);
    db_close_existing(s);
    char name[256], run[400];
    size_t n = 0;
    for (const char *c = cfg->run.name; *c && n + 3 < sizeof name; c++) { /* SQL quoting: ' -> '' */
        if (*c == '\'') name[n++] = '\'';
        name[n++] = *c;
    }
    name[n] = 0;
    snprintf(run, sizeof run, "(SELECT max(id) FROM runs WHERE name = '%s' AND kind = 'train')", name);
    printf("\nLook deeper (the run is in %s):\n"
           "  ./grpo query %s \"SELECT step, reward_mean, accuracy, format_rate, response_len_mean, kl "
           "FROM learning_curve WHERE run_id = %s\"\n"
           "  ./grpo query %s \"SELECT * FROM worst_prompts WHERE run_id = %s LIMIT 5\"\n"
           "  sqlite3 %s \"SELECT completion, reward FROM episodes WHERE run_id = %s ORDER BY id DESC LIMIT 5\"\n",
           cfg->db.path, cfg->db.path, run, cfg->db.path, run, cfg->db.path, run);
}

int cmd_demo(int argc, char **argv) {
    if (cmd_wants_help(argc, argv)) return fputs(usage, stdout), 0;
    if (argc < 2) return fputs(usage, stderr), 2;
    core_config cfg;
    core_error err = {0};
    int n = argc - 2;
    if (cmd_load_config(&cfg, argv[1], &n, argv + 2, &err)) return cmd_report_error("demo", &err);
    if (n > 0) return fprintf(stderr, "grpo demo: unexpected argument %s\n%s", argv[2], usage), 2;
    core_stop_install(); /* Ctrl-C, SIGTERM, SIGHUP: checkpoint and stop */
    if (ensure_base(&cfg, &err))
        return core_stop_signal() ? cmd_stop_status() : cmd_report_error("demo", &err);
    if (learner_train(&cfg, 0, NULL, NULL, &err)) return cmd_report_error("demo", &err);
    if (core_stop_signal()) return cmd_stop_status();
    print_before_after(&cfg);
    return 0;
}
