#!/usr/bin/env bash
# A dataset item whose prompt leaves no room for a completion in
# model.max_seq is found when the dataset is loaded, with its file:line and
# the count, before any step (not when it is first drawn, mid-run).
source "$(dirname "$0")/toy.sh"
long=$(printf '1+%.0s' $(seq 1 60))1
{
    echo '{"question": "2+3", "answer": "5"}'
    echo "{\"question\": \"$long\", \"answer\": \"61\"}"
    echo '{"question": "4+4", "answer": "8"}'
    echo "{\"question\": \"$long+1\", \"answer\": \"62\"}"
    for i in $(seq 1 20); do echo "{\"question\": \"$i+$i\", \"answer\": \"$((2 * i))\"}"; done
} >items.jsonl
set +e
toy_train --set tasks.kind=jsonl --set tasks.train=items.jsonl --set db.path=d.db --set run.name=d >d.log 2>&1
rc=$?
set -e
[ $rc = 2 ] || { cat d.log; echo "exit $rc, expected 2"; exit 1; }
grep -q "tasks.train: 2 item(s) leave no room for a completion in model.max_seq = 64 tokens with the template (the first: items.jsonl:2, " d.log ||
    { cat d.log; exit 1; }
[ ! -e d.db ] || [ "$(sql d.db "SELECT count(*) FROM steps")" = 0 ] || { echo "steps were run"; exit 1; }
grep -v "$long" items.jsonl >fits.jsonl
toy_train --set tasks.kind=jsonl --set tasks.train=fits.jsonl --set db.path=d.db --set run.name=d \
    --set run.steps=1 >ok.log 2>&1 || { cat ok.log; echo "a dataset that fits was refused"; exit 1; }
echo "over-long items found at load: file:line and count, before any step"

# items that carry tests are never graded by a math reward alone
{
    echo '{"task_id": "HumanEval/1", "prompt": "add", "canonical_solution": "    return a + b\n", "test": "def check(candidate):\n    assert candidate(2, 3) == 5\n", "entry_point": "add"}'
    cat fits.jsonl
} >mixed.jsonl
set +e
toy_train --set tasks.kind=jsonl --set tasks.train=mixed.jsonl --set reward.components=format,accuracy_math \
    --set db.path=m.db --set run.name=m >m.log 2>&1
rc=$?
set -e
[ $rc = 2 ] && grep -q "reward.components: 'format,accuracy_math' grades no code, but the items carry tests (the first: mixed.jsonl:1); add accuracy_code" m.log ||
    { cat m.log; echo "exit $rc: code items under a math reward"; exit 1; }
echo "code items under a math-only reward refused, naming the first"

# a setting the chosen mode does not read, and [model] keys that disagree
# with the base model, are errors naming both; runs.config records the shape used
set +e
toy_train --set tasks.train=fits.jsonl --set db.path=k.db --set run.name=k >k.log 2>&1; rc=$?
set -e
[ $rc = 2 ] && grep -q "tasks.train is set, but tasks.kind=arith does not read it" k.log || { cat k.log; echo "exit $rc"; exit 1; }
set +e
toy_train --set model.dim=64 --set db.path=k.db --set run.name=k >k.log 2>&1; rc=$?
set -e
[ $rc = 2 ] && grep -q "model.dim = 64 in the config, but the base model runs/base/base.safetensors has 32" k.log ||
    { cat k.log; echo "exit $rc"; exit 1; }
toy_train --set model.n_layers=2 --set run.steps=1 --set db.path=k.db --set run.name=k >k.log 2>&1 &&
    { echo "model.n_layers=2 against a 1-layer base accepted"; exit 1; }
toy_train --set model.dim=96 --set run.steps=1 --set db.path=k.db --set run.name=k >k.log 2>&1 || { cat k.log; exit 1; }
grep -q "^dim = 32$" <(sql k.db "SELECT config FROM runs") || { echo "runs.config does not record the base model's dim 32"; exit 1; }
echo "unread keys and [model] keys against the base model refused; runs.config has the shape used"
