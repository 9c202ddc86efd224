#!/usr/bin/env bash
# Resume is exact: a run killed with SIGKILL mid-step and resumed with
# --resume ends with the same episodes, step metrics and final weights as an
# uninterrupted run, with no episode lost or duplicated.
source "$(dirname "$0")/toy.sh"
TOY_STEPS=12
TOY+=(--set run.steps=12)
toy_train --set db.path=full.db --set run.name=full --set run.out_dir=full >full.log 2>&1 || { cat full.log; exit 1; }

toy_train --set db.path=cut.db --set run.name=full --set run.out_dir=cut >cut.log 2>&1 &
pid=$!
# Kill it once step 5 is committed: the kill lands somewhere in steps 6..12.
for _ in $(seq 1 600); do
    n=$(sql cut.db "SELECT count(*) FROM steps" 2>/dev/null || echo 0)
    [ "${n:-0}" -ge 5 ] && break
    sleep 0.05
done
kill -9 $pid 2>/dev/null || { echo "the run finished before it could be killed"; exit 1; }
wait $pid 2>/dev/null || true
killed_at=$(sql cut.db "SELECT count(*) FROM steps")
echo "killed after $killed_at committed steps"
[ "$killed_at" -lt 12 ] || { echo "the run finished before it could be killed"; exit 1; }
toy_train --set db.path=cut.db --set run.name=full --set run.out_dir=cut --resume >resume.log 2>&1 || { cat resume.log; exit 1; }
grep -q "resuming run" resume.log || { cat resume.log; exit 1; }

[ "$(sql cut.db "SELECT count(*) FROM runs")" = 1 ] || { echo "resume started a new run"; exit 1; }
[ "$(sql cut.db "SELECT status FROM runs")" = done ] || { echo "run not marked done"; exit 1; }
dups=$(sql cut.db "SELECT count(*) FROM (SELECT step, group_id, sample FROM episodes GROUP BY step, prompt_id, sample HAVING count(*) > 1)")
[ "$dups" = 0 ] || { echo "$dups duplicated episodes"; exit 1; }
[ "$(fingerprint full.db)" = "$(fingerprint cut.db)" ] || { echo "resumed run differs from the uninterrupted one"; exit 1; }
cmp full/full/policy-step000012.safetensors cut/full/policy-step000012.safetensors ||
    { echo "final weights differ"; exit 1; }
echo "resumed run equals the uninterrupted one: episodes, steps and final weights"
