#!/usr/bin/env bash
# Scaling out on this machine, the demo's step (16 prompts x 8 samples,
# dim 96, 3 layers): wall-clock seconds per step, from the steps table's
# commit times of a 16-step run (steps 4..16, after the pipeline fills),
#   synchronous vs asynchronous rollouts (rollout.async, one step off) with
#   0 and 1 rollout workers; 2 data-parallel learners vs 1; 1, 2 and 4
#   workers.
# The base model is $GRPO_BENCH_BASE, else the demo's if it exists, else a
# quick 300-step pretrain.
# This machine has 2 cores shared with other jobs (the load average is
# printed first): 3 or more ranks are oversubscribed, and every figure is
# noisy; the ratios compare runs made one after another.
set -eu
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
source "$(dirname "$0")/demo_base.sh"
STEPS=16
run() { # name ranks settings...
    local name=$1 np=$2; shift 2
    mpirun --oversubscribe -np "$np" "$GRPO" train "$CONFIG" --set model.checkpoint="$BASE" \
        --set run.steps=$STEPS --set run.max_minutes=0 --set eval.every=0 --set eval.items=1 --set eval.k=1 \
        --set learner.checkpoint_every=0 --set run.out_dir="$W/runs" --set db.path="$W/$name.db" \
        --set run.name="$name" "$@" >"$W/$name.log" 2>&1 || { cat "$W/$name.log"; exit 1; }
}
step_time() { # seconds per step between the commits of step 3 and the last
    "$GRPO" query "$W/$1.db" "SELECT printf('%.3f', (julianday(max(time)) - julianday(min(time))) * 86400 / (count(*) - 1))
                              FROM steps WHERE step >= 3" --csv | tail -n +2
}
ASYNC=(--set rollout.async=1 --set learner.tis=token)
run sync1 1
run async1 1 "${ASYNC[@]}"
run sync_w1 2
run async_w1 2 "${ASYNC[@]}"
run learners2 2 --set run.learners=2
run sync_w2 3
run sync_w4 5
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
s1=$(step_time sync1) a1=$(step_time async1) sw1=$(step_time sync_w1) aw1=$(step_time async_w1)
l2=$(step_time learners2) sw2=$(step_time sync_w2) sw4=$(step_time sync_w4)
echo "bench: step_sync_1rank $s1 s"
echo "bench: step_async_1rank $a1 s vs sync_1rank $(ratio "$s1" "$a1")x"
echo "bench: step_sync_1worker $sw1 s"
echo "bench: step_async_1worker $aw1 s vs sync_1worker $(ratio "$sw1" "$aw1")x"
echo "bench: step_2learners $l2 s vs 1_learner $(ratio "$s1" "$l2")x"
echo "bench: step_sync_2workers $sw2 s vs 1_worker $(ratio "$sw1" "$sw2")x"
echo "bench: step_sync_4workers $sw4 s vs 1_worker $(ratio "$sw1" "$sw4")x"
# the phases of the one-rank synchronous step, for the scaling model
"$GRPO" query "$W/sync1.db" "
    SELECT 'bench: phase_rollout ' || printf('%.3f', avg(t_rollout)) || ' s',
           'bench: phase_reward ' || printf('%.4f', avg(t_reward)) || ' s',
           'bench: phase_learn ' || printf('%.3f', avg(t_learn)) || ' s',
           'bench: phase_db ' || printf('%.4f', avg(t_db)) || ' s'
    FROM steps WHERE step >= 3" --csv | tail -n +2 | tr ',' '\n'
"$GRPO" query "$W/learners2.db" "SELECT 'bench: phase_learn_2learners ' || printf('%.3f', avg(t_learn)) || ' s' FROM steps WHERE step >= 3" --csv | tail -n +2
"$GRPO" query "$W/async_w1.db" "SELECT 'bench: async_1worker_wait_for_rollouts ' || printf('%.3f', avg(t_rollout)) || ' s' FROM steps WHERE step >= 3" --csv | tail -n +2
