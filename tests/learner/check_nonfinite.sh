#!/usr/bin/env bash
# A non-finite loss skips the update (logged as skipped) and, after
# learner.max_nonfinite of them in a row, stops the run with a clear error.
source "$(dirname "$0")/toy.sh"
set +e
GRPO_FAULT_NONFINITE=3 "$GRPO" train "$CONFIG" "${TOY[@]}" --set run.steps=8 --set learner.max_nonfinite=2 \
    --set db.path=nf.db --set run.name=nf >nf.log 2>&1
rc=$?
set -e
[ $rc = 1 ] || { cat nf.log; echo "exit code $rc, expected 1"; exit 1; }
grep -q "3 non-finite updates in a row; stopping" nf.log || { cat nf.log; exit 1; }
[ "$(sql nf.db "SELECT group_concat(step || ':' || skipped, ' ') FROM steps")" = "1:0 2:0 3:1 4:1 5:1" ] ||
    { echo "steps: $(sql nf.db "SELECT group_concat(step || ':' || skipped, ' ') FROM steps")"; exit 1; }
[ "$(sql nf.db "SELECT status FROM runs")" = failed ] || { echo "run not marked failed"; exit 1; }
# skipped updates leave the policy as it was: steps 3-5 sample from the same version
[ "$(sql nf.db "SELECT group_concat(DISTINCT policy_version) FROM episodes WHERE step >= 3")" = 2 ] ||
    { echo "policy changed during skipped updates"; exit 1; }
echo "non-finite updates skipped, logged, and the run stopped after 3"
