#!/usr/bin/env bash
# One GRPO step of the demo (16 prompts x 8 samples, dim 96, 3 layers) on
# this machine: rollout (sampling + grading), learning (reference forward,
# policy forward + backward, AdamW) and logging, from the steps table of a
# 20-step run.  The base model: bench/demo_base.sh (GRPO_BENCH_BASE, the
# demo's, or a quick pretrain).  R1ZERO-NOTES.md's PyTorch prototype took 0.66 s to
# sample and 0.76 s to learn per step on 2 cores; it is not rerun here, so
# no ratio is printed.  Wall-clock: noisy when the machine is busy (the load
# average is printed first).
set -eu
source "$(dirname "$0")/demo_base.sh"
"$GRPO" train "$CONFIG" --set model.checkpoint="$BASE" --set run.steps=20 --set eval.every=0 \
    --set eval.items=1 --set run.out_dir="$W/runs" --set db.path="$W/b.db" >/dev/null 2>&1
"$GRPO" query "$W/b.db" "
    SELECT 'bench: grpo_step ' || printf('%.3f', avg(coalesce(t_collect, t_rollout + t_reward) + t_learn + t_db)) || ' s',
           'bench: grpo_rollout ' || printf('%.3f', avg(t_rollout)) || ' s',
           'bench: grpo_reward ' || printf('%.4f', avg(t_reward)) || ' s',
           'bench: grpo_learn ' || printf('%.3f', avg(t_learn)) || ' s',
           'bench: grpo_db ' || printf('%.4f', avg(t_db)) || ' s',
           'bench: grpo_sampling ' || printf('%.0f', avg(tokens_per_s)) || ' tok/s'
    FROM steps WHERE step > 2" --csv | tail -n +2 | tr ',' '\n'
