/* common.c — helpers every subcommand uses: help flags, error reporting,
 * loading a config with its --set overrides. */
#include <string.h>

#include "cmd/cmd.h"

int cmd_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return 1;
    return 0;
}

int cmd_report_error(const char *cmd, const core_error *err) {
    fprintf(stderr, "grpo %s: %s\n", cmd, err->msg);
    return err->code ? err->code : 1;
}

int cmd_load_config(core_config *cfg, const char *path, int *argc, char **argv, core_error *err) {
    core_config_defaults(cfg);
    if (path && core_config_load(cfg, path, err)) return err->code;
    int kept = 0;
    for (int i = 0; i < *argc; i++) {
        if (!strcmp(argv[i], "--set")) {
            if (i + 1 >= *argc)
                return core_fail(err, CORE_EINPUT, "--set needs section.key=value");
            if (core_config_set(cfg, argv[++i], err)) return err->code;
            continue;
        }
        argv[kept++] = argv[i];
    }
    *argc = kept;
    argv[kept] = NULL;
    return 0;
}

int cmd_stop_status(void) {
    return core_stop_signal() ? 128 + core_stop_signal() : 0;
}
