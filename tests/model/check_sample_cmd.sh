#!/usr/bin/env bash
# grpo sample end to end, on a checkpoint written by Python (safetensors.torch):
# --help, bad usage (exit 2), a missing checkpoint (exit 2), N completions as
# JSON, greedy output repeatable, the same seed gives the same samples.
set -u
GRPO=${GRPO:-./grpo}
PYTHON=${PYTHON:-.venv/bin/python3}
[ -x "$GRPO" ] || { echo "no $GRPO binary"; exit 77; }
"$PYTHON" -c "import torch, safetensors" 2>/dev/null || { echo "torch/safetensors missing in $PYTHON"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$PYTHON" tests/model/make_checkpoint.py "$dir" 3 || fail "make_checkpoint.py"
"$GRPO" sample --help | grep -q -- "--checkpoint" || fail "--help"
"$GRPO" sample --prompt x >/dev/null 2>&1; [ $? = 2 ] || fail "missing --checkpoint should exit 2"
"$GRPO" sample --checkpoint "$dir/model.safetensors" --prompt x --top-p 7 >/dev/null 2>&1
[ $? = 2 ] || fail "bad --top-p should exit 2"
"$GRPO" sample --checkpoint "$dir/none.safetensors" --prompt x 2>"$dir/err"; rc=$?
[ $rc = 2 ] && grep -q none.safetensors "$dir/err" || fail "missing checkpoint: rc=$rc $(cat "$dir/err")"

out=$("$GRPO" sample --checkpoint "$dir/model.safetensors" --prompt "Q:1+2=<think>" -n 4 --max-new 12 --json --seed 5 2>/dev/null) \
    || fail "sample -n 4 failed"
[ "$(grep -c '"finish"' <<<"$out")" = 4 ] || fail "expected 4 JSON lines, got: $out"
"$PYTHON" - "$out" <<'PY' || fail "JSON content"
import json, sys
rows = [json.loads(l) for l in sys.argv[1].splitlines()]
for r in rows:
    assert 1 <= len(r["ids"]) <= 12 and len(r["ids"]) == len(r["logprobs"]), r
    assert r["finish"] in ("eos", "length"), r
    assert all(lp <= 0 for lp in r["logprobs"]), r
assert len({tuple(r["ids"]) for r in rows}) > 1, "4 samples at T=1 should not all agree"
PY
again=$("$GRPO" sample --checkpoint "$dir/model.safetensors" --prompt "Q:1+2=<think>" -n 4 --max-new 12 --json --seed 5 2>/dev/null)
[ "$out" = "$again" ] || fail "same seed, different samples"
g1=$("$GRPO" sample --checkpoint "$dir/model.safetensors" --prompt "abc" --temperature 0 --max-new 8 2>/dev/null)
g2=$("$GRPO" sample --checkpoint "$dir/model.safetensors" --prompt "abc" --temperature 0 --max-new 8 --seed 9 2>/dev/null)
[ -n "$g1" ] && [ "$g1" = "$g2" ] || fail "greedy output depends on the seed"
echo "ok"
