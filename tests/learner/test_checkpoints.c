/* A run's checkpoints: retention keeps the newest N and the best; a corrupt
 * newest checkpoint falls back to the one before; the run lock refuses a
 * second process; a resume's changed settings are found by key. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "learner/checkpoints.h"
#include "learner/internal.h"

static ckpt_entry entry(int64_t step, double score) {
    ckpt_entry e = {.step = step, .score = score};
    return e;
}

Test(retention, keeps_newest_n_and_the_best) {
    ckpt_entry c[6] = {entry(2, 0.1), entry(4, 0.7), entry(6, NAN), entry(8, 0.3), entry(10, 0.2),
                       entry(12, NAN)};
    int prune[6];
    cr_assert_eq(ckpt_choose_prune(c, 6, 2, 1, prune), 3);
    int want[6] = {1, 0, 1, 1, 0, 0}; /* step 4 is the best; 10 and 12 the newest two */
    for (int i = 0; i < 6; i++) cr_assert_eq(prune[i], want[i], "step %lld", (long long)c[i].step);
    cr_assert_eq(ckpt_choose_prune(c, 6, 2, 0, prune), 4, "without keep_best only the newest 2");
    cr_assert_eq(ckpt_choose_prune(c, 6, 0, 0, prune), 5, "keep_last below 1 still keeps one");
    cr_assert_eq(prune[5], 0);
    ckpt_entry ties[3] = {entry(1, 0.5), entry(2, 0.5), entry(3, 0.1)};
    int p3[3];
    cr_assert_eq(ckpt_choose_prune(ties, 3, 1, 1, p3), 1);
    cr_assert(p3[0] == 1 && p3[1] == 0 && p3[2] == 0, "of equal scores the newest is kept");
}

static model *tiny(uint64_t seed) {
    model_config mc = {.dim = 16, .n_layers = 1, .n_heads = 2, .n_kv_heads = 2, .ffn_dim = 32,
                       .vocab = 264, .max_seq = 16, .rope_theta = 10000, .norm_eps = 1e-5f,
                       .tie_embeddings = 1};
    model *m;
    core_error err = {0};
    cr_assert_eq(model_create(&m, &mc, 2, &err), 0, "%s", err.msg);
    model_init(m, seed, 0.02f);
    return m;
}

Test(fallback, corrupt_newest_loads_the_one_before) {
    char dir[] = "/tmp/grpo-test-ckpt-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    core_error err = {0};
    core_config cfg; /* defaults: no model.path, so checkpoints are .safetensors files */
    core_config_defaults(&cfg);
    char sha[65];
    for (int s = 1; s <= 3; s++) {
        model *m = tiny((uint64_t)s);
        char p[1200];
        ckpt_path(dir, "policy", s, p, sizeof p);
        cr_assert_eq(ckpt_save(&cfg, m, p, sha, &err), 0, "%s", err.msg);
        model_free(m);
    }
    ckpt_entry *c;
    int n, loaded;
    cr_assert_eq(ckpt_scan(dir, "policy", &c, &n, &err), 0);
    cr_assert_eq(n, 3);
    cr_assert(c[0].step == 1 && c[2].step == 3);
    /* flip bytes in the middle of the newest weights: its sha256 no longer matches */
    FILE *f = fopen(c[2].path, "r+b");
    cr_assert_not_null(f);
    fseek(f, -64, SEEK_END);
    fputs("corrupt corrupt corrupt", f);
    fclose(f);
    model *m = tiny(99), *want = tiny(2);
    char why[512];
    cr_assert_eq(ckpt_load_newest(m, c, n, &loaded, why, sizeof why, &err), 0, "%s", err.msg);
    cr_assert_eq(loaded, 1, "fell back to step 2");
    cr_assert(strstr(why, "step 3 skipped"), "%s", why);
    cr_assert_eq(memcmp(model_params(m), model_params(want), model_n_params(m) * sizeof(float)), 0,
                 "the weights are step 2's, whole");
    /* every one corrupt: an error, never a silent start from scratch */
    ckpt_remove(c[0].path);
    ckpt_remove(c[1].path);
    cr_assert_eq(ckpt_scan(dir, "policy", &c, &n, &err), 0);
    cr_assert_eq(n, 1, "removed checkpoints are no longer listed");
    cr_assert_neq(ckpt_load_newest(m, c, n, &loaded, why, sizeof why, &err), 0);
    cr_assert(strstr(err.msg, "none of the 1 checkpoints loads"), "%s", err.msg);
    free(c);
    model_free(m);
    model_free(want);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(lock, second_process_is_refused_and_a_dead_holder_releases) {
    char dir[] = "/tmp/grpo-test-lock-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    int held[2], release[2];
    cr_assert_eq(pipe(held), 0);
    cr_assert_eq(pipe(release), 0);
    pid_t pid = fork();
    if (pid == 0) {
        core_error err = {0};
        int fd;
        close(held[0]);
        close(release[1]);
        if (ckpt_lock(dir, "run 1 'x'", &fd, &err)) _exit(3);
        close(held[1]);
        char c;
        if (read(release[0], &c, 1) < 0) _exit(4);
        _exit(0); /* dies holding the lock */
    }
    close(held[1]);
    close(release[0]);
    char c;
    cr_assert_eq(read(held[0], &c, 1), 0);
    core_error err = {0};
    int fd;
    cr_assert_eq(ckpt_lock(dir, "run 1 'x'", &fd, &err), CORE_EINPUT);
    char pid_text[32];
    snprintf(pid_text, sizeof pid_text, "pid %d", (int)pid);
    cr_assert(strstr(err.msg, "run 1 'x' is being trained by another process") && strstr(err.msg, pid_text),
              "%s", err.msg);
    close(release[1]);
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_assert_eq(ckpt_lock(dir, "run 1 'x'", &fd, &err), 0, "%s", err.msg);
    ckpt_unlock(fd);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(resume, run_altering_changes_are_named) {
    const char *old = "[run]\nname = a\nseed = 1\nsteps = 10\n\n[learner]\nlr = 0.03\nkeep_last = 3\n";
    const char *same = "[run]\nname = a\nseed = 1\nsteps = 20\n\n[learner]\nlr = 0.03\nkeep_last = 5\n"
                       "new_key = 1\n";
    const char *changed = "[run]\nname = a\nseed = 2\nsteps = 10\n\n[learner]\nlr = 0.01\nkeep_last = 3\n";
    char out[256];
    cr_assert_eq(learner_config_changes(old, same, 0, out, sizeof out), 0, "%s", out);
    cr_assert_eq(learner_config_changes(old, changed, 0, out, sizeof out), 2);
    cr_assert_str_eq(out, "run.seed: 1 -> 2; learner.lr: 0.03 -> 0.01");
    cr_assert_eq(learner_config_changes(old, changed, 1, out, sizeof out), 1, "pretraining ignores learner.*");
    cr_assert(learner_key_alters_run("model.dim", 1) && learner_key_alters_run("rollout.group_size", 0));
    cr_assert(!learner_key_alters_run("eval.every", 0) && !learner_key_alters_run("pretrain.stop_at", 1));
}
