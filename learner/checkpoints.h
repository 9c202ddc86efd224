/*
 * learner/checkpoints.h — where a run keeps its checkpoints, which of them
 * are whole, which load, which to keep; the run's lock.  Private to
 * learner/ (train.c, pretrain.c and distill.c).  This file and checkpoints.c are the
 * only places that know a checkpoint's file layout:
 *
 *   <run.out_dir>/<run.name>/run-<id>/     one folder per run, by runs.id, so a
 *                                          second run of the same name never
 *                                          touches the first one's files
 *       lock                               flock'ed while a process trains the run
 *       config.json                        the model shape (model_save writes it)
 *       <stem>-step000040.safetensors      weights after step 40
 *       <stem>-step000040.optim.safetensors  AdamW state (exact resume)
 *
 *   <stem>-step000040/                 a run on a Hugging Face model (model.path):
 *                                          a model directory (model_save_hf) that
 *                                          transformers loads, plus optimizer.safetensors
 *
 * stem is "policy" for GRPO and "base" for pretraining.  A checkpoint is
 * complete when both files are there (each is renamed into place whole; a
 * directory is renamed into place whole).
 */
#ifndef GRPO_LEARNER_CHECKPOINTS_H
#define GRPO_LEARNER_CHECKPOINTS_H

#include <stdint.h>

#include "core/core.h"
#include "model/model.h"

/* <run.out_dir>/<run.name>/run-<id>; run_id 0 (no database) gives run-nodb. */
void ckpt_run_dir(const core_config *cfg, int64_t run_id, char *out, size_t cap);
/* <dir>/<stem>-step%06d.safetensors */
void ckpt_path(const char *dir, const char *stem, int64_t step, char *out, size_t cap);
/* The checkpoint of a step: <dir>/<stem>-step%06d, a Hugging Face model
 * directory when the run trains one (model.path), else ckpt_path's file. */
void ckpt_step_path(const core_config *cfg, const char *dir, const char *stem, int64_t step, char *out,
                    size_t cap);
/* mkdir -p dir */
int ckpt_make_dir(const char *dir, core_error *err);

/* 1 when the weights and the optimizer state of path are both on disk. */
int ckpt_is_complete(const char *path);

/* Write weights + optimizer state to path (from ckpt_step_path); sha256 of
 * the weights file into sha.  A run on a Hugging Face model writes a model
 * directory: tensors in model.save_dtype, model.path's config and tokenizer
 * files. */
int ckpt_save(const core_config *cfg, const model *m, const char *path, char sha[65], core_error *err);
/* Remove the weights and optimizer files of path, or its directory (retention). */
void ckpt_remove(const char *path);

typedef struct ckpt_entry {
    int64_t step;
    char path[1024];
    double score;   /* held-out pass@1 at this step, NAN if not evaluated (retention) */
} ckpt_entry;

/* The complete checkpoints <stem>-stepN in dir, oldest first (*out malloc'd). */
int ckpt_scan(const char *dir, const char *stem, ckpt_entry **out, int *n, core_error *err);

/* Load the newest of c[0..n) (oldest first) that loads and verifies into m;
 * a newer one that does not is named in a warning and skipped (falls back to
 * the previous one).  *loaded: its index, or -1 when n = 0.  Every one
 * failing is an error (never a silent restart from scratch).  why: on a
 * fallback, what was skipped and why (for the run's events; "" otherwise). */
int ckpt_load_newest(model *m, const ckpt_entry *c, int n, int *loaded, char *why, size_t why_cap,
                     core_error *err);

/* Retention: which of c[0..n) (oldest first) to remove, keeping the newest
 * keep_last (at least 1) and, with keep_best, the best score (the newest of
 * equals).  prune[i] = 1 for each to remove.  Returns how many. */
int ckpt_choose_prune(const ckpt_entry *c, int n, int keep_last, int keep_best, int *prune);

/* Take dir/lock (flock, exclusive, non-blocking) for the life of the
 * process or until ckpt_unlock.  Held by another process: CORE_EINPUT
 * naming the holder's pid.  what: "run 3 'demo'" for the message. */
int ckpt_lock(const char *dir, const char *what, int *fd, core_error *err);
void ckpt_unlock(int fd);

#endif
