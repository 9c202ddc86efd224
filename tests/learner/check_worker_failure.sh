#!/usr/bin/env bash
# A rollout worker that fails stops the run cleanly with a message naming
# its rank; the run is marked failed, keeps the steps before, and resumes.
source "$(dirname "$0")/toy.sh"
TOY+=(--set run.steps=6)
set +e
GRPO_FAULT_WORKER=2:4 mpirun -np 3 --oversubscribe "$GRPO" train "$CONFIG" "${TOY[@]}" \
    --set db.path=f.db --set run.name=f >fail.log 2>&1
rc=$?
set -e
[ $rc = 1 ] || { cat fail.log; echo "exit code $rc, expected 1"; exit 1; }
grep -q "rollout worker rank 2 failed" fail.log || { cat fail.log; exit 1; }
[ "$(sql f.db "SELECT status FROM runs")" = failed ] || { echo "run not marked failed"; exit 1; }
[ "$(sql f.db "SELECT max(step) FROM steps")" = 3 ] || { echo "steps before the failure are not all there"; exit 1; }
mpirun -np 3 --oversubscribe "$GRPO" train "$CONFIG" "${TOY[@]}" --set db.path=f.db --set run.name=f \
    --resume >resume.log 2>&1 || { cat resume.log; exit 1; }
[ "$(sql f.db "SELECT max(step) || status FROM steps, runs")" = 6done ] || { echo "resume did not finish"; exit 1; }
echo "worker failure reported with its rank; run resumed to the end"
