#!/usr/bin/env bash
# `grpo distill` end to end at smoke size: rejection sampling from a teacher
# into the DB, SFT from a DB selection (the loss on the selection falls),
# forward KL and on-policy distillation (the KL falls), the dataset query,
# exact --resume, and the bad inputs (clear error, exit 2, nothing written).
set -eu
export OMP_NUM_THREADS=1 # bitwise comparisons across runs
GRPO=${GRPO:-$PWD/grpo}
CONFIG=$PWD/configs/smoke.ini
WORK=$(mktemp -d /tmp/grpo-distill.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
sql() { "$GRPO" query "$1" "$2" --csv | tail -n +2; }
fail() { echo "FAIL: $*"; exit 1; }

# teacher: the smoke model pretrained on easy sums (greedy solves ~15%);
# student: the same shape, random init
EASY=(--set tasks.difficulty=0)
"$GRPO" pretrain "$CONFIG" "${EASY[@]}" --set run.name=teacher --set pretrain.steps=300 \
    --set pretrain.lr=1e-2 --set db.path=pre.db >/dev/null 2>&1
"$GRPO" pretrain "$CONFIG" --set run.name=student --set pretrain.steps=0 --set db.path=pre.db >/dev/null 2>&1
TEACHER=runs/teacher/base.safetensors
S=(--set model.checkpoint=runs/student/base.safetensors "${EASY[@]}" --set distill.eval_every=0
   --set eval.items=4 --set eval.k=2 --set distill.lr=3e-3 --set distill.warmup=2)

# 1. rejection sampling: every sample stored, the correct ones are the dataset
"$GRPO" distill "$CONFIG" "${S[@]}" --teacher $TEACHER --samples 4 --set distill.prompts=24 \
    --set db.path=d.db --set run.name=rs --set distill.steps=30 >rs.out 2>rs.log || { cat rs.log; fail "rejection sampling"; }
[ "$(sql d.db "SELECT kind || ':' || status FROM runs WHERE name = 'rs-teacher'")" = samples:done ] || fail "no samples run"
n_samples=$(sql d.db "SELECT count(*) FROM episodes e JOIN runs r ON r.id = e.run_id WHERE r.name = 'rs-teacher'")
[ "$n_samples" = 96 ] || fail "expected 24 x 4 samples, got $n_samples"
n_correct=$(sql d.db "SELECT count(*) FROM (SELECT DISTINCT prompt_id, completion FROM episodes e JOIN runs r ON r.id = e.run_id WHERE r.name = 'rs-teacher' AND correct = 1)")
[ "$n_correct" -gt 0 ] || fail "the teacher got nothing right"
got=$(sql d.db "SELECT count(*) || ' ' || sum(correct) FROM distill_traces WHERE student = 'rs'")
[ "$got" = "$n_correct $n_correct" ] || fail "dataset '$got', want $n_correct distinct correct traces"
echo "rejection sampling: $n_correct distinct correct traces of $n_samples samples"

# 2. SFT from a DB selection (at most one per prompt): the loss on it falls
"$GRPO" distill "$CONFIG" "${S[@]}" --from-db d.db --where "run_id = 1 AND reward > 0" --per-prompt 1 \
    --set run.name=sft --set distill.steps=40 >sft.out 2>sft.log || { cat sft.log; fail "sft"; }
want=$(sql d.db "SELECT count(DISTINCT prompt_id) FROM episodes WHERE run_id = 1 AND reward > 0 AND completion IS NOT NULL")
[ "$(sql d.db "SELECT count(*) FROM distill_traces WHERE student = 'sft'")" = "$want" ] || fail "per-prompt cap"
run=$(sql d.db "SELECT id FROM runs WHERE name = 'sft'")
first=$(sql d.db "SELECT avg(loss) FROM steps WHERE run_id = $run AND step <= 5")
last=$(sql d.db "SELECT avg(loss) FROM steps WHERE run_id = $run AND step > 35")
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < 0.7 * a) }' || fail "sft loss $first -> $last"
[ "$(sql d.db "SELECT count(DISTINCT step) FROM evals WHERE run_id = $run")" = 2 ] || fail "evals at start and end"
[ -f "$(cat sft.out)" ] || fail "no final checkpoint"
echo "sft: loss $first -> $last"

# 3. forward KL on the same traces, and on-policy reverse KL: the KL falls
for obj in forward_kl on_policy; do
    "$GRPO" distill "$CONFIG" "${S[@]}" --from-db d.db --where "run_id = 1 AND correct = 1" --teacher $TEACHER \
        --set distill.objective=$obj --set run.name=$obj --set distill.steps=40 >$obj.out 2>$obj.log || { cat $obj.log; fail $obj; }
    run=$(sql d.db "SELECT id FROM runs WHERE name = '$obj'")
    first=$(sql d.db "SELECT avg(kl) FROM steps WHERE run_id = $run AND step <= 5")
    last=$(sql d.db "SELECT avg(kl) FROM steps WHERE run_id = $run AND step > 35")
    awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < 0.7 * a) }' || fail "$obj KL $first -> $last"
    echo "$obj: KL $first -> $last"
done
[ "$(sql d.db "SELECT count(*) FROM episodes e JOIN runs r ON r.id = e.run_id WHERE r.name = 'on_policy'")" = 640 ] ||
    fail "on-policy samples not logged (40 steps x 16)"

# 4. --resume after a kill equals the uninterrupted run
R=(--from-db d.db --where "run_id = 1" --set distill.steps=300 --set distill.checkpoint_every=5 --set distill.batch=4)
"$GRPO" distill "$CONFIG" "${S[@]}" "${R[@]}" --set run.name=full --set run.out_dir=full >/dev/null 2>&1 || fail "full run"
cp d.db cut.db
last_run=$(sql cut.db "SELECT max(id) FROM runs")
"$GRPO" distill "$CONFIG" "${S[@]}" "${R[@]}" --from-db cut.db --set run.name=full --set run.out_dir=cut >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 1000); do # until two checkpoints (steps 5 and 10) are recorded
    n=$(sql cut.db "SELECT count(*) FROM checkpoints WHERE run_id > $last_run" 2>/dev/null || echo 0)
    [ "${n:-0}" -ge 2 ] && break
    sleep 0.01
done
kill -9 $pid 2>/dev/null || fail "the run finished before it could be killed"
wait $pid 2>/dev/null || true
"$GRPO" distill "$CONFIG" "${S[@]}" "${R[@]}" --from-db cut.db --set run.name=full --set run.out_dir=cut --resume >/dev/null 2>resume.log ||
    { cat resume.log; fail "resume"; }
grep -q "resuming distill run" resume.log || fail "did not resume"
final() { sql "$1" "SELECT path FROM checkpoints WHERE step = 300 AND run_id = (SELECT max(id) FROM runs WHERE name = 'full')"; }
[ "$(sql cut.db "SELECT count(*) FROM runs WHERE name = 'full'")" = 2 ] || fail "resume started a new run"
cmp "$(final d.db)" "$(final cut.db)" || fail "resumed weights differ"
echo "resume: same final weights as the uninterrupted run"

# 5. bad input: exit 2, a clear message, nothing written
before=$(sql d.db "SELECT count(*) FROM runs") rows=$(sql d.db "SELECT count(*) FROM distill_examples")
expect_bad() { # MESSAGE-PATTERN ARGS...
    local pattern=$1; shift
    set +e; "$GRPO" distill "$CONFIG" "${S[@]}" --set run.name=bad "$@" >/dev/null 2>bad.log; rc=$?; set -e
    [ $rc = 2 ] || { cat bad.log; fail "exit $rc for $*"; }
    grep -q "$pattern" bad.log || { cat bad.log; fail "message for $* lacks '$pattern'"; }
}
expect_bad "no episode" --from-db d.db --where "run_id = 999"
expect_bad "no such column" --from-db d.db --where "no_column = 1"
expect_bad "syntax error" --from-db d.db --where "1; DELETE FROM runs"
expect_bad "does not load" --from-db d.db --where "run_id = 1" --teacher missing.safetensors --set distill.objective=forward_kl
expect_bad "does not load" --teacher missing.safetensors --samples 2 --set db.path=d.db
"$GRPO" pretrain "$CONFIG" --set run.name=wide --set model.vocab=300 --set pretrain.steps=0 --set db.path=pre.db >/dev/null 2>&1
expect_bad "vocab 300 differs" --from-db d.db --where "run_id = 1" --teacher runs/wide/base.safetensors --set distill.objective=forward_kl
expect_bad "does not use a teacher" --from-db d.db --where "run_id = 1" --teacher $TEACHER
expect_bad "no traces" --set db.path=d.db
[ "$(sql d.db "SELECT count(*) FROM runs")" = "$before" ] || fail "a bad input created a run"
[ "$(sql d.db "SELECT count(*) FROM distill_examples")" = "$rows" ] || fail "a bad input recorded a dataset"
echo "bad inputs refused, nothing written"
