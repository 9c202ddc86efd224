#!/usr/bin/env bash
# The code demo's GRPO step (configs/r1zero-code.ini, as it is: prompts x
# samples decoded in batches of 32 rows), its time broken down three ways:
#   sequential  grade after each decoded batch, one completion at a time
#               (rollout.overlap_grading=false, sandbox.workers=1)
#   parallel    grade after each batch, sandbox.workers (0: one per core) at once
#   overlap     grade a batch while the next one decodes (the default)
# Prints, per arm, the step's wall time and its parts (averages over steps
# 2..STEPS; step 1 warms up), and the step time against the sequential arm.
#   BASE=FILE      the pretrained base (default: pretrain one, PRETRAIN_STEPS)
#   STEPS=N        GRPO steps per arm (default 5)
set -eu
GRPO=${GRPO:-$PWD/grpo}
CONFIG=$PWD/configs/r1zero-code.ini
WORK=$(mktemp -d /tmp/grpo-bench-code.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -z "${BASE:-}" ]; then
    "$GRPO" pretrain "$CONFIG" --set pretrain.steps=${PRETRAIN_STEPS:-300} --set db.path=base.db >pre.log 2>&1 ||
        { tail pre.log; exit 1; }
    BASE=$WORK/runs/r1zero-code/base.safetensors
fi
COMMON=(--set model.checkpoint=$BASE --set run.steps=${STEPS:-5} --set run.max_minutes=0 --set eval.every=0
        --set eval.items=2 --set eval.k=1 --set learner.checkpoint_every=0 --set db.path=bench.db)
arms=("sequential false 1" "parallel false 0" "overlap true 0")
for arm in "${arms[@]}"; do
    set -- $arm
    "$GRPO" train "$CONFIG" "${COMMON[@]}" --set run.name=$1 --set rollout.overlap_grading=$2 \
        --set sandbox.workers=$3 --set run.out_dir=runs-$1 >$1.log 2>&1 || { tail $1.log; exit 1; }
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
q() { "$GRPO" query bench.db "$1" --csv | tail -n +2 | tr -d '"'; }
avg="FROM steps s JOIN runs r ON r.id = s.run_id WHERE s.step > 1 AND r.name ="
seq_step=$(q "SELECT avg(s.t_collect + s.t_learn + s.t_db) $avg 'sequential'")
for arm in "${arms[@]}"; do
    set -- $arm
    q "SELECT printf('bench: code_step_%s_collect %.2f s (decode %.2f s, grading %.2f s summed over graders)',
                     '$1', avg(s.t_collect), avg(s.t_rollout), avg(s.t_reward)) AS line $avg '$1'"
    q "SELECT printf('bench: code_step_%s %.2f s%s', '$1', avg(s.t_collect + s.t_learn + s.t_db),
                     CASE WHEN '$1' = 'sequential' THEN ''
                          ELSE printf(' vs sequential %.2fx', $seq_step / avg(s.t_collect + s.t_learn + s.t_db)) END) AS line
       $avg '$1'"
done
