/*
 * Helpers shared by the files of tasks/ (not part of its interface).
 */
#ifndef GRPO_TASKS_INTERNAL_H
#define GRPO_TASKS_INTERNAL_H

#include "tasks/tasks.h"

/* printf into a fresh malloc'd string (NULL when out of memory). */
char *tasks_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Uniform integer in [lo, hi]. */
long tasks_rand_range(core_rng *rng, long lo, long hi);
/* The code generator (code_gen.c). */
int tasks_generate_code(int difficulty, core_rng *rng, task_item *out, core_error *err);
/* 1 if a code generator item is on the held-out side (its constant K). */
int tasks_code_is_heldout(const task_item *t);
/* The ways a code generator item can be written (0 for other items):
 * version 0 is right, the others are slips, named by tasks_code_slip
 * ("off_by_one", "operator", "base_case"; NULL for version 0). */
int tasks_code_versions(const task_item *t);
const char *tasks_code_slip(const task_item *t, int version);
/* The plan (for <think>) and the whole function of one version; -1 when
 * there is no such version. */
int tasks_code_write(const task_item *t, int version, char *think, size_t think_cap, char *code,
                     size_t code_cap);

#endif
