#!/usr/bin/env bash
# `grpo ablate`: bad --vary keys and values are refused before any run; a
# sweep of 2 arms x 2 seeds writes 4 runs tied to the sweep with their arms
# and values; a sweep interrupted halfway resumes with --resume, redoing no
# finished run.
ROOT=$PWD
source "$(dirname "$0")/toy.sh"
SW=(--set db.path=sw.db --set run.steps=12 --set learner.checkpoint_every=1)

expect_refused() { # $1: text the error must contain; the rest: ablate arguments
    local want=$1; shift
    if "$GRPO" ablate "$CONFIG" "${TOY[@]}" "${SW[@]}" "$@" >out.log 2>&1; then cat out.log; echo "accepted: $*"; exit 1; fi
    grep -qE -- "$want" out.log || { cat out.log; echo "error does not name '$want'"; exit 1; }
}
expect_refused "learner.bogus" --vary learner.bogus=1,2
expect_refused "learner.lr" --vary learner.lr=1e-3,20
expect_refused "learner.advantage" --vary learner.advantage=grpo,ppo
expect_refused "weight" --vary "reward.weights=1|1,2"
expect_refused "run.seed" --vary run.seed=1,2
[ ! -e sw.db ] || [ "$(sql sw.db "SELECT count(*) FROM runs")" = 0 ] || { echo "a refused sweep started runs"; exit 1; }
echo "bad --vary refused before any run"

# Sweep files: every shipped one checks out against the demo config; a bad
# one is refused naming file, line and key; file arms cross --vary axes.
for f in "$ROOT"/configs/ablations/*.ini; do
    "$GRPO" ablate "$ROOT/configs/r1zero-arith.ini" --sweep-file "$f" --dry-run >dry.log 2>&1 ||
        { cat dry.log; echo "$f does not check out"; exit 1; }
    n=$(grep -c "^\[arm " "$f")
    grep -q "^sweep '$(basename "$f" .ini)': $n arms x 3 seeds" dry.log || { cat dry.log; echo "$f: arms"; exit 1; }
done
printf '[sweep]\nlearner.epochs = 2\n\n[arm a]\nlearner.lr = 99\n' >bad.ini
expect_refused "bad.ini:5: .*learner.lr" --sweep-file bad.ini
printf '[arm a]\nlearner.lr = 1e-3\n[arms b]\n' >bad.ini
expect_refused "bad.ini:3: \[arms b\]: expected \[sweep\] or \[arm NAME\]" --sweep-file bad.ini
printf '[sweep]\nseeds = 0\n[arm a]\nlearner.lr = 1e-3\n' >bad.ini
expect_refused "bad.ini:2: seeds: expected 1..100" --sweep-file bad.ini
expect_refused "run.seed: the sweep sets" --sweep-file <(printf '[arm a]\nrun.seed = 3\n')
printf '[sweep]\nname = cross\nseeds = 2\n[arm plain]\n[arm cispo]\nlearner.loss = cispo\nlearner.clip_low = 1\n' >arms.ini
"$GRPO" ablate "$CONFIG" "${TOY[@]}" --sweep-file arms.ini --vary learner.lr=1e-3,1e-2 --dry-run >dry.log 2>&1 ||
    { cat dry.log; exit 1; }
got=$(grep "^  arm" dry.log | tr '\n' '/')
want="  arm 0: plain learner.lr=1e-3/  arm 1: plain learner.lr=1e-2/  arm 2: cispo learner.lr=1e-3/  arm 3: cispo learner.lr=1e-2/"
[ "$got" = "$want" ] || { cat dry.log; echo "file arms x axes: $got"; exit 1; }
grep -q "sweep 'cross': 4 arms x 2 seeds = 8 runs" dry.log || { cat dry.log; exit 1; }
"$GRPO" ablate "$CONFIG" "${TOY[@]}" --sweep-file arms.ini --seeds 3 --name mine --dry-run >dry.log 2>&1
grep -q "sweep 'mine': 2 arms x 3 seeds" dry.log || { cat dry.log; echo "--seeds, --name do not win"; exit 1; }
[ ! -e sw.db ] || [ "$(sql sw.db "SELECT count(*) FROM runs")" = 0 ] || { echo "a dry run started runs"; exit 1; }
echo "sweep files checked"

# Interrupt the sweep once its first run is done, then resume it.
"$GRPO" ablate "$CONFIG" "${TOY[@]}" "${SW[@]}" --set run.name=sw --seeds 2 \
    --vary learner.loss=grpo,cispo >first.log 2>&1 &
pid=$!
for _ in $(seq 1 600); do
    n=$(sql sw.db "SELECT count(*) FROM runs WHERE status = 'done'" 2>/dev/null || echo 0)
    [ "${n:-0}" -ge 1 ] && break
    sleep 0.05
done
kill -INT $pid 2>/dev/null || { cat first.log; echo "the sweep finished before it could be interrupted"; exit 1; }
wait $pid || { cat first.log; echo "interrupted sweep exited non-zero"; exit 1; }
grep -q "stopped (continue with --resume)" first.log || { cat first.log; echo "no stop notice"; exit 1; }
[ "$(sql sw.db "SELECT status FROM sweeps")" = stopped ] || { echo "sweep not marked stopped"; exit 1; }
before=$(sql sw.db "SELECT id, name, finished FROM runs WHERE status = 'done' ORDER BY id")
n_before=$(wc -l <<<"$before")
echo "interrupted with $n_before finished run(s)"

expect_refused "other --vary" --set run.name=sw --seeds 2 --vary learner.loss=grpo,gspo --resume
expect_refused "exists" --set run.name=sw --seeds 2 --vary learner.loss=grpo,cispo
"$GRPO" ablate "$CONFIG" "${TOY[@]}" "${SW[@]}" --set run.name=sw --seeds 2 \
    --vary learner.loss=grpo,cispo --resume >second.log 2>&1 || { cat second.log; exit 1; }
grep -q "$n_before done before" second.log || { cat second.log; echo "finished runs not skipped"; exit 1; }
after=$(sql sw.db "SELECT id, name, finished FROM runs WHERE status = 'done' ORDER BY id" | head -n "$n_before")
[ "$before" = "$after" ] || { echo "a finished run was redone:"; echo "$before"; echo "$after"; exit 1; }

# Every arm x seed exactly once, done, with its arm, values and seed.
[ "$(sql sw.db "SELECT count(*) FROM runs")" = 4 ] || { sql sw.db "SELECT * FROM runs"; echo "runs duplicated"; exit 1; }
[ "$(sql sw.db "SELECT status FROM sweeps")" = done ] || { echo "sweep not done"; exit 1; }
got=$(sql sw.db "SELECT arm, seed_index, seed, status FROM sweep_runs ORDER BY arm, seed_index" | tr '\n' ' ')
[ "$got" = "0,0,1,done 0,1,2,done 1,0,1,done 1,1,2,done " ] || { echo "sweep runs: $got"; exit 1; }
vals=$(sql sw.db "SELECT arm, key, value FROM sweep_values ORDER BY arm" | tr '\n' ' ')
[ "$vals" = "0,learner.loss,grpo 1,learner.loss,cispo " ] || { echo "sweep values: $vals"; exit 1; }
# each run really trained with its arm's setting
for arm in 0 1; do
    want=$(sql sw.db "SELECT value FROM sweep_values WHERE arm = $arm")
    for cfg in $(sql sw.db "SELECT run_id FROM sweep_runs WHERE arm = $arm"); do
        sql sw.db "SELECT config FROM runs WHERE id = $cfg" | grep -q "^loss = $want" ||
            { echo "run $cfg of arm $arm did not train with loss = $want"; exit 1; }
    done
done
[ "$(sql sw.db "SELECT count(*) FROM steps")" = 48 ] || { echo "steps: $(sql sw.db "SELECT count(*) FROM steps")"; exit 1; }
echo "sweep resumed: 4 runs, each once, finished runs untouched"

# Under mpirun the ranks share the runs out and run them in parallel; each
# run is the same run as in the sequential sweep above (same seed, same arm).
mpirun -np 2 --oversubscribe "$GRPO" ablate "$CONFIG" "${TOY[@]}" "${SW[@]}" --set db.path=par.db \
    --set run.name=sw --name par --seeds 2 --vary learner.loss=grpo,cispo >par.log 2>&1 || { cat par.log; exit 1; }
[ "$(grep -c "^sweep 1: 4 run, 0 done before, 0 failed" par.log)" = 1 ] || { cat par.log; echo "totals"; exit 1; }
[ "$(sql par.db "SELECT status FROM sweeps")" = done ] || { echo "parallel sweep not done"; exit 1; }
[ "$(sql par.db "SELECT count(*) FROM sweep_runs WHERE status = 'done'")" = 4 ] || { echo "parallel runs"; exit 1; }
run_fingerprint() { # $1 db, $2 run name
    sql "$1" "SELECT e.step, e.sample, e.completion, e.reward, round(e.advantage, 9) FROM episodes e
              JOIN runs r ON r.id = e.run_id WHERE r.name = '$2' ORDER BY e.step, e.group_id, e.sample" | md5sum
}
for a in 0 1; do for k in 0 1; do
    [ "$(run_fingerprint par.db "par-a$a-s$k")" = "$(run_fingerprint sw.db "sw-a$a-s$k")" ] ||
        { echo "arm $a seed $k: the parallel run differs from the sequential one"; exit 1; }
done; done
echo "mpirun -np 2: 4 runs in parallel, each equal to its sequential run"
