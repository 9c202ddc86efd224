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

#endif
