#!/usr/bin/env bash
# A run owns its files: two runs of one name keep separate checkpoints (the
# first one's recorded sha256s stay true); a run being trained is locked
# against a second --resume; --resume refuses run-altering settings unless
# --allow-changed (then recorded); a corrupt newest checkpoint falls back to
# the one before; retention keeps the newest learner.keep_last.
source "$(dirname "$0")/toy.sh"
TOY+=(--set db.path=runs.db --set run.name=twin --set run.out_dir=out)

# --- two runs of one name ------------------------------------------------------------
toy_train --set run.steps=6 >a.log 2>&1 || { cat a.log; exit 1; }
TOY+=(--set run.seed=2) # run 2, the one --resume continues below
toy_train --set run.steps=6 >b.log 2>&1 || { cat b.log; exit 1; }
[ -d out/twin/run-1 ] && [ -d out/twin/run-2 ] || { ls -R out; echo "no folder per run"; exit 1; }
n=0
while IFS=, read -r run step path sha; do
    [ "$(sha256sum "$path" | cut -d' ' -f1)" = "$sha" ] || { echo "run $run step $step: $path no longer matches its recorded sha256"; exit 1; }
    case $path in out/twin/run-$run/*) ;; *) echo "run $run's checkpoint $path is outside its folder"; exit 1 ;; esac
    n=$((n + 1))
done < <(sql runs.db "SELECT run_id, step, path, sha256 FROM checkpoints WHERE pruned IS NULL")
[ "$n" -ge 4 ] || { echo "only $n checkpoints recorded"; exit 1; }
echo "two runs named twin: separate folders, $n recorded sha256s all true"

# --- retention: the newest keep_last (3 by default) and the best -----------------------
on_disk=$(ls out/twin/run-1/policy-step*.safetensors | grep -vc optim)
[ "$on_disk" -le 4 ] && [ "$on_disk" -ge 3 ] || { ls out/twin/run-1; echo "retention kept $on_disk checkpoints"; exit 1; }
[ "$(sql runs.db "SELECT count(*) FROM checkpoints WHERE run_id = 1 AND pruned IS NULL")" = "$on_disk" ] ||
    { echo "pruned rows disagree with the files on disk"; exit 1; }
for s in 000004 000006; do [ -f out/twin/run-1/policy-step$s.safetensors ] || { echo "step $s pruned"; exit 1; }; done
echo "retention: $on_disk checkpoints of run 1 kept, the rest pruned and marked"

# --- --resume with changed settings ------------------------------------------------------
if toy_train --set run.steps=8 --set learner.lr=0.01 --resume >c.log 2>&1; then
    cat c.log; echo "--resume with a changed learner.lr was accepted"; exit 1
fi
grep -q "learner.lr: 0.03 -> 0.01" c.log && grep -q -- "--allow-changed" c.log || { cat c.log; exit 1; }
[ "$(sql runs.db "SELECT max(step) FROM steps WHERE run_id = 2")" = 6 ] || { echo "a refused resume wrote steps"; exit 1; }
toy_train --set run.steps=8 --set learner.lr=0.01 --resume --allow-changed >d.log 2>&1 || { cat d.log; exit 1; }
[ "$(sql runs.db "SELECT detail FROM run_events WHERE run_id = 2 AND kind = 'config_changed'")" = "learner.lr: 0.03 -> 0.01" ] ||
    { sql runs.db "SELECT * FROM run_events"; echo "the change is not recorded"; exit 1; }
grep -q "^lr = 0.01" <(sql runs.db "SELECT config FROM runs WHERE id = 2") || { echo "runs.config not updated"; exit 1; }
[ "$(sql runs.db "SELECT max(step) FROM steps WHERE run_id = 2")" = 8 ] || { echo "resume did not run"; exit 1; }
echo "changed settings: refused, then accepted with --allow-changed and recorded"

# --- a corrupt newest checkpoint ------------------------------------------------------------
newest=$(sql runs.db "SELECT path FROM checkpoints WHERE run_id = 2 AND pruned IS NULL ORDER BY step DESC LIMIT 1")
printf 'corrupt' | dd of="$newest" bs=1 seek=2000 conv=notrunc status=none
toy_train --set run.steps=10 --set learner.lr=0.01 --resume >e.log 2>&1 || { cat e.log; echo "resume failed on a corrupt checkpoint"; exit 1; }
grep -q "checkpoint of step 8 does not load" e.log && grep -q "resuming run 2 'twin' at step 7" e.log ||
    { cat e.log; echo "no fallback to step 6"; exit 1; }
[ "$(sql runs.db "SELECT count(*) FROM run_events WHERE run_id = 2 AND kind = 'checkpoint_fallback'")" = 1 ] ||
    { echo "fallback not recorded"; exit 1; }
[ "$(sql runs.db "SELECT count(*) = 10 AND max(step) = 10 FROM steps WHERE run_id = 2")" = 1 ] ||
    { echo "steps after the fallback: $(sql runs.db "SELECT count(*), max(step) FROM steps WHERE run_id = 2")"; exit 1; }
echo "corrupt step-8 checkpoint: fell back to step 6, said so, recorded it"

# --- the lock: a second --resume of a run being trained -------------------------------------
"$GRPO" train "$CONFIG" "${TOY[@]}" --set run.steps=100000 --resume --allow-changed >f.log 2>&1 &
pid=$!
for _ in $(seq 1 400); do
    [ "$(sql runs.db "SELECT max(step) FROM steps WHERE run_id = 2")" -ge 12 ] && break
    sleep 0.05
done
if toy_train --set run.steps=100000 --resume --allow-changed >g.log 2>&1; then
    kill -9 $pid; cat g.log; echo "a second --resume of a running run was accepted"; exit 1
fi
grep -q "run 2 'twin' is being trained by another process (pid $pid" g.log || { kill -9 $pid; cat g.log; exit 1; }
kill -9 $pid; wait $pid 2>/dev/null || true
# the kernel drops a dead holder's lock: a resume works again
toy_train --set run.steps=14 --resume --allow-changed >h.log 2>&1 || { cat h.log; echo "lock left behind by a killed run"; exit 1; }
dups=$(sql runs.db "SELECT count(*) FROM (SELECT 1 FROM episodes WHERE run_id = 2 GROUP BY step, group_id, sample HAVING count(*) > 1)")
[ "$dups" = 0 ] || { echo "$dups episodes written twice"; exit 1; }
echo "lock: a second --resume refused with the holder's pid; a killed holder leaves no lock"

# --- evaluations keep per-item rows and name the checkpoint they evaluated -----------------
toy_train --set run.name=ev --set run.steps=4 --set eval.every=2 --set learner.checkpoint_every=4 >ev.log 2>&1 || { cat ev.log; exit 1; }
ev=$(sql runs.db "SELECT max(id) FROM runs WHERE name = 'ev'")
[ "$(sql runs.db "SELECT count(*) FROM eval_samples WHERE run_id = $ev AND step = 2")" = 12 ] ||
    { echo "expected 4 items x (2 samples + greedy) at step 2"; exit 1; }
[ "$(sql runs.db "SELECT checkpoint FROM eval_runs WHERE run_id = $ev AND step = 0")" = runs/base/base.safetensors ] ||
    { echo "the step-0 eval does not name the base model"; exit 1; }
[ -z "$(sql runs.db "SELECT checkpoint FROM eval_runs WHERE run_id = $ev AND step = 2")" ] ||
    { echo "step 2 has no checkpoint file, yet one is named"; exit 1; }
[ "$(sql runs.db "SELECT checkpoint FROM eval_runs WHERE run_id = $ev AND step = 4")" = out/ev/run-$ev/policy-step000004.safetensors ] ||
    { sql runs.db "SELECT * FROM eval_runs"; echo "the step-4 eval does not name its checkpoint"; exit 1; }
# "which held-out items went from always wrong to always right, and when" is one query
sql runs.db "SELECT a.prompt_id, min(b.step) FROM eval_items a JOIN eval_items b USING (run_id, prompt_id)
             WHERE a.run_id = $ev AND a.step = 0 AND a.correct = 0 AND b.correct = b.k GROUP BY a.prompt_id" >/dev/null ||
    { echo "the items query fails"; exit 1; }
# the end of the run: why, the held-out figures, the checkpoint, the commands to look at it
grep -q "run $ev 'ev' finished at step 4 of 4: all 4 steps done" ev.log && grep -q "held-out (4 items): pass@1 " ev.log &&
    grep -q "curves:     grpo report runs.db --runs $ev" ev.log || { cat ev.log; echo "no end-of-run summary"; exit 1; }
cmd=$(grep -o "grpo sample --checkpoint .*" ev.log)
eval "\"\$GRPO\" ${cmd#grpo }" >sample.log 2>&1 || { cat sample.log; echo "the printed sample command fails: $cmd"; exit 1; }
echo "evals: per-item rows and the checkpoint evaluated"
