/*
 * reward/code.c — the code reward: run the program a completion wrote
 * against the task's tests, in the sandbox.  Internal to reward/; reward.c
 * registers the component
 *     {"accuracy_code", 1, reward_code_init, reward_code_free, reward_code_score}
 * and hands its per-test rows (reward_code_run, reward.h) to the caller's
 * reward_input.runs_out.
 *
 * The program: inside the last <answer>...</answer> if there is one, the
 * last fenced block there (or the whole answer); otherwise the last fenced
 * block of the completion.  The fence's tag picks the language (python,
 * py, c, sh, bash; none: python).
 *
 * The tests (JSON), two layouts:
 *   ["assert f(1) == 2", ...]          assert lines (MBPP, tasks/code_gen.c):
 *                                      each test is one run of the program
 *                                      with that line appended, then a line
 *                                      printing a per-call nonce, so that a
 *                                      program exiting 0 early does not pass
 *   [{"stdin": "...", "stdout": "..."}] stdin/stdout pairs ("input"/"output"
 *                                      also accepted): each a run; the output
 *                                      must equal the expected one up to
 *                                      trailing spaces on lines and trailing
 *                                      newlines
 * Score: 1 when every test passes, else 0 (reward.code_score = all; the
 * first failing batch stops the rest), or the fraction passed (fraction).
 */
#ifndef GRPO_REWARD_CODE_H
#define GRPO_REWARD_CODE_H

#include <stddef.h>

#include "reward/reward.h"
#include "sandbox/sandbox.h"

typedef struct reward_code_opts {
    sandbox_limits lim;
    int fraction;             /* 1: score = fraction passed; 0: all or nothing */
    int workers;              /* parallel runs per completion (0: one per core) */
    int warm;                 /* Python: all tests in one instance, forked from a warm
                                 interpreter (sandbox_run_python_batch) */
} reward_code_opts;

/* From cfg->sandbox (time_ms, mem_mb, output_kb, max_procs, workers,
 * warm_python) and cfg->reward.code_score. */
void reward_code_opts_from_config(reward_code_opts *o, const core_config *cfg);

/* Extract the program: writes it (NUL-terminated) to out and its language
 * ("python", "c", "sh") to *lang.  Returns the length, or -1 when there is
 * no program (or it does not fit in cap). */
long reward_code_extract(const char *completion, size_t len, char *out, size_t cap, const char **lang);

/* Run the tests.  *score in [0,1]; detail gets a one-line summary; runs
 * (may be NULL) gets one row per test that ran, *n_runs how many.  Returns
 * 0, CORE_EINPUT when tests_json is malformed (err names what), or
 * CORE_ERUNTIME when the sandbox failed (score 0). */
int reward_code_run_tests(const char *completion, size_t len, const char *tests_json,
                          const reward_code_opts *o, double *score, char *detail, size_t cap,
                          reward_code_run *runs, int max_runs, int *n_runs, core_error *err);

/* The accuracy_code component (see reward_component in reward.h). */
int reward_code_init(void **state, const core_config *cfg, core_error *err);
void reward_code_free(void *state);
int reward_code_score(const reward_fn *r, void *state, const reward_input *in, reward_part *part);

#endif
