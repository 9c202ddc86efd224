/*
 * learner/sweep.h — `grpo ablate`: a sweep is the cross product of the
 * varied config keys (the arms), each arm run with N seeds, every run a
 * `grpo train` of its own resolved config into the one database, tied to
 * the sweep by id (db: sweeps, sweep_arms, sweep_values, runs.sweep_id/arm).
 *
 * Arms are numbered in mixed radix over the axes, the last axis fastest:
 * with --vary a=1,2 --vary b=x,y the arms are (1,x) (1,y) (2,x) (2,y).
 * Seed index k runs with run.seed + k.  Run names are NAME-a<arm>-s<k>, so
 * a stopped sweep finds its runs again: --resume skips the runs marked done
 * and resumes the others from their checkpoints.
 *
 * Every arm's config is built and checked (key exists, value in range,
 * reward and objective choices valid) before the first run starts.
 */
#ifndef GRPO_LEARNER_SWEEP_H
#define GRPO_LEARNER_SWEEP_H

#include "core/core.h"

enum { SWEEP_MAX_AXES = 8, SWEEP_MAX_VALUES = 16, SWEEP_MAX_SEEDS = 100 };

typedef struct sweep_axis {
    char key[128];                         /* section.key */
    int n;
    char values[SWEEP_MAX_VALUES][CORE_STR_MAX];
} sweep_axis;

typedef struct sweep_plan {
    core_config base;        /* CONFIG with its --set overrides */
    int n_axes;
    sweep_axis axes[SWEEP_MAX_AXES];
    int n_seeds;
} sweep_plan;

/* Add one axis: "section.key=v1,v2,..." or, when a value holds commas,
 * "section.key=v1|v2|..." (e.g. reward.weights=0,1|0.1,1). */
int sweep_add_axis(sweep_plan *p, const char *spec, core_error *err);
int sweep_n_arms(const sweep_plan *p);
/* The value of axis `axis` in arm `arm`. */
const char *sweep_arm_value(const sweep_plan *p, int arm, int axis);
/* "key=value key=value" */
void sweep_arm_label(const sweep_plan *p, int arm, char *out, size_t cap);
/* The resolved config of arm × seed index. */
int sweep_run_config(const sweep_plan *p, int arm, int seed_index, core_config *out, core_error *err);
/* Build and check every arm's config; the first bad one is the error. */
int sweep_check(const sweep_plan *p, core_error *err);

/* Run the sweep: every arm × seed as a child `exe train RUN.ini`, one after
 * another, its output in <out_dir>/<name>/a<arm>-s<k>.log.  resume: the
 * sweep of this name must exist with the same config and axes.  Counts of
 * runs done, skipped (already done) and failed come back in the out
 * parameters (any may be NULL). */
typedef struct sweep_result {
    int64_t sweep_id;
    int ran, skipped, failed, stopped;
} sweep_result;
int sweep_run(const sweep_plan *p, int resume, const char *exe, sweep_result *res, core_error *err);

#endif
