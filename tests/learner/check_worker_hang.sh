#!/usr/bin/env bash
# A rollout worker that stops answering (SIGSTOP, a hang, a livelock) is
# found within rollout.worker_timeout_s: the run stops with a message naming
# its rank and is marked failed, instead of the learner waiting forever.
source "$(dirname "$0")/toy.sh"
set +e
start=$(date +%s)
GRPO_FAULT_WORKER_STOP=2:3 timeout 120 mpirun -np 3 --oversubscribe "$GRPO" train "$CONFIG" "${TOY[@]}" \
    --set run.steps=6 --set rollout.worker_timeout_s=2 --set db.path=h.db --set run.name=h >hang.log 2>&1
rc=$?
set -e
took=$(( $(date +%s) - start ))
[ $rc != 0 ] && [ $rc != 124 ] || { cat hang.log; echo "exit $rc after $took s (124: still waiting at 120 s)"; exit 1; }
grep -q "rollout worker rank 2 has sent nothing for [0-9]* s (rollout.worker_timeout_s)" hang.log || { cat hang.log; exit 1; }
[ "$(sql h.db "SELECT status FROM runs")" = failed ] || { echo "run not marked failed"; exit 1; }
[ "$(sql h.db "SELECT max(step) FROM steps")" = 2 ] || { echo "the steps before the hang are not all there"; exit 1; }
echo "stopped worker found after the 2 s bound (whole run $took s), rank named, run marked failed"
