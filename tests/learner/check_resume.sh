#!/usr/bin/env bash
# Resume is exact: a run killed with SIGKILL mid-step and resumed with
# --resume ends with the same episodes, step metrics and final weights as an
# uninterrupted run, with no episode lost or duplicated.
source "$(dirname "$0")/toy.sh"
TOY_STEPS=40
TOY+=(--set run.steps=40)
toy_train --set db.path=full.db --set run.name=full --set run.out_dir=full >full.log 2>&1 || { cat full.log; exit 1; }

# not through the toy_train function: $! must be grpo itself, not a subshell
"$GRPO" train "$CONFIG" "${TOY[@]}" --set db.path=cut.db --set run.name=full --set run.out_dir=cut >cut.log 2>&1 &
pid=$!
# Kill it once step 5 is committed: the kill lands somewhere in steps 6..12.
wait_for_steps cut.db 5
kill -9 $pid 2>/dev/null || { echo "the run finished before it could be killed"; exit 1; }
wait $pid 2>/dev/null || true
killed_at=$(sql cut.db "SELECT count(*) FROM steps")
echo "killed after $killed_at committed steps"
[ "$killed_at" -lt 40 ] || { echo "the run finished before it could be killed"; exit 1; }
toy_train --set db.path=cut.db --set run.name=full --set run.out_dir=cut --resume >resume.log 2>&1 || { cat resume.log; exit 1; }
grep -q "resuming run" resume.log || { cat resume.log; exit 1; }

[ "$(sql cut.db "SELECT count(*) FROM runs")" = 1 ] || { echo "resume started a new run"; exit 1; }
[ "$(sql cut.db "SELECT status FROM runs")" = done ] || { echo "run not marked done"; exit 1; }
dups=$(sql cut.db "SELECT count(*) FROM (SELECT step, group_id, sample FROM episodes GROUP BY step, prompt_id, sample HAVING count(*) > 1)")
[ "$dups" = 0 ] || { echo "$dups duplicated episodes"; exit 1; }
[ "$(fingerprint full.db)" = "$(fingerprint cut.db)" ] || { echo "resumed run differs from the uninterrupted one"; exit 1; }
cmp full/full/run-1/policy-step000040.safetensors cut/full/run-1/policy-step000040.safetensors ||
    { echo "final weights differ"; exit 1; }
echo "resumed run equals the uninterrupted one: episodes, steps and final weights"

# Ctrl-C stops after the current step with a checkpoint of it; resume ends the same.
"$GRPO" train "$CONFIG" "${TOY[@]}" --set db.path=int.db --set run.name=full --set run.out_dir=int >int.log 2>&1 &
pid=$!
wait_for_steps int.db 3
kill -INT $pid 2>/dev/null || { echo "the run finished before it could be interrupted"; exit 1; }
rc=0; wait $pid || rc=$?
[ $rc = 130 ] || { cat int.log; echo "interrupted run exited $rc, not 130"; exit 1; }
[ "$(sql int.db "SELECT status FROM runs")" = stopped ] || { echo "run not marked stopped"; exit 1; }
[ "$(sql int.db "SELECT max(step) FROM checkpoints")" = "$(sql int.db "SELECT max(step) FROM steps")" ] ||
    { echo "no checkpoint of the last step"; exit 1; }
toy_train --set db.path=int.db --set run.name=full --set run.out_dir=int --resume >int2.log 2>&1 || { cat int2.log; exit 1; }
[ "$(fingerprint full.db)" = "$(fingerprint int.db)" ] || { echo "interrupted and resumed run differs"; exit 1; }
echo "interrupted with SIGINT, checkpointed, resumed: same run"
