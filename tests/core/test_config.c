/* Config: good files, each kind of bad file, --set overrides, round trip. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

static char path[64];

static const char *write_ini(const char *text) {
    snprintf(path, sizeof path, "/tmp/grpo-test-%d.ini", getpid());
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static int load(core_config *cfg, const char *text, core_error *err) {
    core_config_defaults(cfg);
    int rc = core_config_load(cfg, write_ini(text), err);
    unlink(path);
    return rc;
}

Test(config, defaults_match_the_table) {
    core_config cfg;
    core_config_defaults(&cfg);
    cr_assert_eq(cfg.model.dim, 96);
    cr_assert_eq(cfg.rollout.group_size, 8);
    cr_assert_float_eq(cfg.learner.lr, 1e-4, 1e-12);
    cr_assert_str_eq(cfg.learner.kl_estimator, "k3");
    cr_assert_eq(cfg.model.tie_embeddings, 1);
}

Test(config, good_file_sets_every_type) {
    core_config cfg;
    core_error err = {0};
    int rc = load(&cfg,
                  "; comment\n[run]\nname = demo\nseed = 7\n\n[model]\ndim = 128\n"
                  "tie_embeddings = false\n[learner]\nlr = 3e-4\nkl_estimator = k1\n",
                  &err);
    cr_assert_eq(rc, 0, "%s", err.msg);
    cr_assert_str_eq(cfg.run.name, "demo");
    cr_assert_eq(cfg.run.seed, 7);
    cr_assert_eq(cfg.model.dim, 128);
    cr_assert_eq(cfg.model.tie_embeddings, 0);
    cr_assert_float_eq(cfg.learner.lr, 3e-4, 1e-15);
    cr_assert_str_eq(cfg.learner.kl_estimator, "k1");
}

Test(config, unknown_key_names_file_line_and_suggests) {
    core_config cfg;
    core_error err = {0};
    cr_assert_eq(load(&cfg, "[model]\ndim = 64\n\nn_layrs = 2\n", &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, ":4:"), "no line number: %s", err.msg);
    cr_assert(strstr(err.msg, "grpo-test-"), "no file name: %s", err.msg);
    cr_assert(strstr(err.msg, "n_layrs"), "%s", err.msg);
    cr_assert(strstr(err.msg, "did you mean 'n_layers'"), "%s", err.msg);
}

Test(config, unknown_section) {
    core_config cfg;
    core_error err = {0};
    cr_assert_eq(load(&cfg, "[modle]\ndim = 64\n", &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, ":2:") && strstr(err.msg, "[modle]"), "%s", err.msg);
}

Test(config, wrong_types_and_ranges) {
    static const struct { const char *ini, *expect; } cases[] = {
        {"[model]\ndim = 12x\n", "expected an integer"},
        {"[model]\ndim = 3.5\n", "expected an integer"},
        {"[model]\ndim = 0\n", "out of range"},
        {"[learner]\nlr = fast\n", "expected a number"},
        {"[learner]\nlr = -1\n", "out of range"},
        {"[learner]\nlr = nan\n", "expected a number"},
        {"[model]\ntie_embeddings = maybe\n", "expected true or false"},
        {"[learner]\nkl_estimator = k4\n", "expected one of k1|k2|k3"},
        {"[run]\nseed = 99999999999999999999\n", "expected an integer"},
        {"[model]\n\ndim 64\n", ":3: syntax error"},
        {"dim = 64\n", "outside any [section]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        core_config cfg;
        core_error err = {0};
        cr_assert_eq(load(&cfg, cases[i].ini, &err), CORE_EINPUT, "accepted: %s", cases[i].ini);
        cr_assert(strstr(err.msg, cases[i].expect), "case %zu: '%s' lacks '%s'", i, err.msg,
                  cases[i].expect);
    }
}

Test(config, missing_file) {
    core_config cfg;
    core_error err = {0};
    core_config_defaults(&cfg);
    cr_assert_eq(core_config_load(&cfg, "/nonexistent/x.ini", &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, "/nonexistent/x.ini"));
}

Test(config, set_overrides_with_the_same_checks) {
    core_config cfg;
    core_error err = {0};
    core_config_defaults(&cfg);
    cr_assert_eq(core_config_set(&cfg, "rollout.group_size=16", &err), 0, "%s", err.msg);
    cr_assert_eq(cfg.rollout.group_size, 16);
    cr_assert_eq(core_config_set(&cfg, "run.name=a=b", &err), 0, "%s", err.msg);
    cr_assert_str_eq(cfg.run.name, "a=b");
    cr_assert_eq(core_config_set(&cfg, "rollout.group_size=0", &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, "--set rollout.group_size=0") && strstr(err.msg, "out of range"));
    cr_assert_eq(core_config_set(&cfg, "rollout.groupsize=4", &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, "did you mean 'group_size'"), "%s", err.msg);
    cr_assert_eq(core_config_set(&cfg, "nodot=4", &err), CORE_EINPUT);
    cr_assert_eq(core_config_set(&cfg, "model.dim", &err), CORE_EINPUT);
    cr_assert_eq(cfg.rollout.group_size, 16, "a failed --set must not change the value");
}

Test(config, round_trip_is_exact) {
    core_config a, b;
    core_error err = {0};
    core_config_defaults(&a);
    cr_assert_eq(core_config_set(&a, "learner.lr=0.1", &err), 0);
    cr_assert_eq(core_config_set(&a, "learner.beta=3.3333333333333335e-07", &err), 0);
    cr_assert_eq(core_config_set(&a, "run.name=with spaces inside", &err), 0);
    cr_assert_eq(core_config_set(&a, "model.tie_embeddings=off", &err), 0);
    char *text = core_config_to_ini(&a);
    cr_assert_eq(load(&b, text, &err), 0, "%s\n%s", err.msg, text);
    cr_assert_eq(memcmp(&a, &b, sizeof a), 0, "config differs after a round trip:\n%s", text);
    char *again = core_config_to_ini(&b);
    cr_assert_str_eq(text, again);
    free(text);
    free(again);
}

Test(config, split_list) {
    char items[4][64];
    cr_assert_eq(core_split_list(" format , accuracy_math,,x ", items, 4), 3);
    cr_assert_str_eq(items[0], "format");
    cr_assert_str_eq(items[1], "accuracy_math");
    cr_assert_str_eq(items[2], "x");
    cr_assert_eq(core_split_list("", items, 4), 0);
}

Test(config, reference_lists_every_key) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    core_config_print_reference(f);
    fclose(f);
    cr_assert(strstr(buf, "model.n_kv_heads = 4"));
    cr_assert(strstr(buf, "learner.kl_estimator = k3"));
    cr_assert(strstr(buf, "one of k1|k2|k3"));
    free(buf);
}

/* Lines the INI reader cannot hold, duplicate keys, an empty file and a
 * directory are each refused with the file (and line) named. */
Test(config, long_lines_duplicates_empty_and_directories) {
    core_config cfg;
    core_error err = {0};
    char text[600];
    snprintf(text, sizeof text, "[run]\nname = a\n[reward]\nformat_pattern = %0250d\n[run]\nseed = 2\n", 7);
    cr_assert_eq(load(&cfg, text, &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, ".ini:4: line longer than 198 characters"), "%s", err.msg);
    cr_assert_eq(load(&cfg, "[run]\nseed = 1\n\n[learner]\nlr = 0.1\n[run]\nseed = 2\n", &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, ".ini:7: run.seed is set twice (first at line 2)"), "%s", err.msg);
    cr_assert_eq(load(&cfg, "", &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, "no settings in it"), "%s", err.msg);
    cr_assert_eq(load(&cfg, "; only a comment\n[run]\n", &err), CORE_EINPUT);
    core_config_defaults(&cfg);
    cr_assert_eq(core_config_load(&cfg, "/tmp", &err), CORE_EINPUT);
    cr_assert_str_eq(err.msg, "/tmp: is a directory, not a config file");
    snprintf(text, sizeof text, "[reward]\nformat_pattern = %0180d\n", 7); /* long, but fits */
    cr_assert_eq(load(&cfg, text, &err), 0, "%s", err.msg);
}
