/*
 * learner/sweep.h — `grpo ablate`: a sweep is the cross product of the
 * varied config keys (the arms), each arm run with N seeds, every run a
 * `grpo train` of its own resolved config into the one database, tied to
 * the sweep by id (db: sweeps, sweep_arms, sweep_values, runs.sweep_id/arm).
 *
 * Arms come from a sweep file's [arm NAME] sections (each a set of
 * settings), crossed with the --vary axes, numbered in mixed radix with the
 * last axis fastest: with --vary a=1,2 --vary b=x,y the arms are (1,x)
 * (1,y) (2,x) (2,y); with file arms F, G too: (F,1,x) ... (G,2,y).
 *
 * A sweep file (configs/ablations/):
 *   [sweep]
 *   name = kl-beta                 ; optional: the sweep's name (default run.name)
 *   seeds = 3                      ; optional
 *   learner.epochs = 2             ; settings every arm shares (like --set)
 *   [arm gated]
 *   reward.combine = gated         ; this arm's settings
 *   [arm summed]
 *   reward.combine = sum
 * Seed index k runs with run.seed + k.  Run names are NAME-a<arm>-s<k>
 * (NAME the sweep's, run.name unless the file or --name says otherwise;
 * every run starts from run.name's base model), so
 * a stopped sweep finds its runs again: --resume skips the runs marked done
 * and resumes the others from their checkpoints.
 *
 * Every arm's config is built and checked (key exists, value in range,
 * reward and objective choices valid) before the first run starts.
 */
#ifndef GRPO_LEARNER_SWEEP_H
#define GRPO_LEARNER_SWEEP_H

#include "core/core.h"

enum { SWEEP_MAX_AXES = 8, SWEEP_MAX_VALUES = 16, SWEEP_MAX_SEEDS = 100, SWEEP_MAX_FILE_ARMS = 16,
       SWEEP_MAX_SETTINGS = 8 };

/* An arm of a sweep file: its name and settings. */
typedef struct sweep_file_arm {
    char name[64];
    int n;
    char keys[SWEEP_MAX_SETTINGS][128];
    char values[SWEEP_MAX_SETTINGS][CORE_STR_MAX];
} sweep_file_arm;

typedef struct sweep_axis {
    char key[128];                         /* section.key */
    int n;
    char values[SWEEP_MAX_VALUES][CORE_STR_MAX];
} sweep_axis;

typedef struct sweep_plan {
    core_config base;        /* CONFIG with its --set overrides */
    char name[128];          /* the sweep's; "" until set: run.name */
    int n_axes;
    sweep_axis axes[SWEEP_MAX_AXES];
    int n_file_arms;         /* 0: the axes alone */
    sweep_file_arm file_arms[SWEEP_MAX_FILE_ARMS];
    int n_seeds;             /* 0 until --seeds or the file's seeds sets it */
} sweep_plan;

/* Add one axis: "section.key=v1,v2,..." or, when a value holds commas,
 * "section.key=v1|v2|..." (e.g. reward.weights=0,1|0.1,1). */
int sweep_add_axis(sweep_plan *p, const char *spec, core_error *err);
/* Read a sweep file: its [sweep] settings go into p->base, its seeds and
 * name into p->n_seeds and p->name unless set already (--seeds, --name
 * win), its [arm NAME] sections into p->file_arms.  Errors name the file,
 * line and key. */
int sweep_load_file(sweep_plan *p, const char *path, core_error *err);
int sweep_n_arms(const sweep_plan *p);
/* The settings of arm `arm` (keys[i]=values[i], its file arm's first);
 * returns how many (at most SWEEP_MAX_SETTINGS + SWEEP_MAX_AXES). */
int sweep_arm_settings(const sweep_plan *p, int arm, const char **keys, const char **values);
/* "NAME key=value key=value" */
void sweep_arm_label(const sweep_plan *p, int arm, char *out, size_t cap);
/* The resolved config of arm × seed index. */
int sweep_run_config(const sweep_plan *p, int arm, int seed_index, core_config *out, core_error *err);
/* Build and check every arm's config; the first bad one is the error.
 * need_base: the base model must exist (not for a dry run). */
int sweep_check(const sweep_plan *p, int need_base, core_error *err);

/* Run the sweep: every arm × seed as a child `exe train RUN.ini`, one after
 * another (under mpirun: each rank a share, in parallel), its output in
 * <out_dir>/<name>/a<arm>-s<k>.log.  resume: the
 * sweep of this name must exist with the same config and axes.  Counts of
 * runs done, skipped (already done) and failed come back in the out
 * parameters (any may be NULL). */
typedef struct sweep_result {
    int64_t sweep_id;
    int ran, skipped, failed, stopped;   /* summed over the ranks under mpirun */
    int rank;                            /* this process's rank (0 alone) */
} sweep_result;
int sweep_run(const sweep_plan *p, int resume, const char *exe, sweep_result *res, core_error *err);

#endif
