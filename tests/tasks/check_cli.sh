#!/usr/bin/env bash
# grpo pretrain and grpo eval from the command line, on the smoke config:
# exit codes, the checkpoint, --json output, the steps and evals tables, and
# clear errors for bad input.
set -u
GRPO=${GRPO:-./grpo}
[ -x "$GRPO" ] || { echo "no grpo binary at $GRPO"; exit 77; }
command -v sqlite3 >/dev/null || { echo "no sqlite3"; exit 77; }
dir=$(mktemp -d /tmp/grpo-check-cli-XXXXXX)
trap 'rm -rf "$dir"' EXIT
export OMP_NUM_THREADS=1   # toy model: threads only add barrier waits
fail() { echo "FAIL: $*"; exit 1; }
sets=(--set run.out_dir="$dir" --set db.path="$dir/runs.db")

"$GRPO" pretrain --help | grep -q -- --resume || fail "pretrain --help"
"$GRPO" eval --help | grep -q -- --checkpoint || fail "eval --help"

out=$("$GRPO" pretrain configs/smoke.ini "${sets[@]}" 2>"$dir/log") || fail "pretrain: $(cat "$dir/log")"
ckpt="$dir/smoke/base.safetensors"
[ "$out" = "$ckpt" ] || fail "pretrain printed '$out', expected $ckpt"
[ -s "$ckpt" ] && [ -s "$dir/smoke/config.json" ] || fail "no checkpoint"
n=$(sqlite3 "$dir/runs.db" "SELECT count(*) FROM steps s JOIN runs r ON r.id = s.run_id WHERE r.name = 'smoke'")
[ "$n" = 60 ] || fail "expected 60 pretraining steps in the DB, got $n"

json=$("$GRPO" eval configs/smoke.ini --checkpoint "$ckpt" --json "${sets[@]}" 2>"$dir/log") \
    || fail "eval: $(cat "$dir/log")"
echo "$json"
for key in '"pass@1"' '"pass@4"' '"maj@4"' '"greedy"' '"format"' '"response_len"' '"recheck"'; do
    grep -q "$key" <<<"$json" || fail "eval --json lacks $key"
done
if [ -x "${PYTHON:-}" ]; then
    "$PYTHON" -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["items"] == 8 and d["k"] == 4, d' "$json" \
        || fail "eval --json is not the expected JSON object"
fi
n=$(sqlite3 "$dir/runs.db" "SELECT count(*) FROM evals WHERE split = 'heldout' AND step = 60")
[ "$n" = 7 ] || fail "expected 7 eval rows at step 60, got $n"
# per item and sample: 8 items x (4 samples + 1 greedy), and the checkpoint evaluated
n=$(sqlite3 "$dir/runs.db" "SELECT count(*) FROM eval_samples WHERE step = 60")
[ "$n" = 40 ] || fail "expected 40 eval_samples rows, got $n"
n=$(sqlite3 "$dir/runs.db" "SELECT count(*) FROM eval_samples WHERE step = 60 AND completion IS NOT NULL AND sample BETWEEN -1 AND 3")
[ "$n" = 40 ] || fail "eval_samples rows lack completions"
[ "$(sqlite3 "$dir/runs.db" "SELECT checkpoint FROM eval_runs WHERE step = 60")" = "$ckpt" ] || fail "eval_runs does not name $ckpt"
[ "$(sqlite3 "$dir/runs.db" "SELECT sum(correct) FROM eval_items WHERE step = 60")" = \
  "$(sqlite3 "$dir/runs.db" "SELECT round(value * 8 * 4) FROM evals WHERE step = 60 AND metric = 'pass@1'" | cut -d. -f1)" ] ||
    fail "per-item rows disagree with pass@1"

# Bad input: exit 2 and a message that names the file and the key.
printf '[tasks]\nslip_rate = 2\n' >"$dir/bad.ini"
"$GRPO" pretrain "$dir/bad.ini" 2>"$dir/log"; rc=$?
[ $rc = 2 ] || fail "bad config: exit $rc"
grep -q "bad.ini" "$dir/log" && grep -q "slip_rate" "$dir/log" || fail "bad config message: $(cat "$dir/log")"
"$GRPO" eval configs/smoke.ini 2>/dev/null; rc=$?
[ $rc = 2 ] || fail "eval without --checkpoint: exit $rc"
"$GRPO" eval configs/smoke.ini --checkpoint "$dir/missing.safetensors" "${sets[@]}" 2>"$dir/log"; rc=$?
[ $rc != 0 ] && grep -q missing.safetensors "$dir/log" || fail "missing checkpoint: exit $rc, $(cat "$dir/log")"
"$GRPO" pretrain configs/smoke.ini --set tasks.template=nope "${sets[@]}" 2>"$dir/log"; rc=$?
[ $rc = 2 ] && grep -q "tasks.template" "$dir/log" || fail "bad template: exit $rc, $(cat "$dir/log")"

# Resume of a finished run takes no step and keeps the checkpoint; a new
# pretraining of the name never overwrites it.
sum=$(sha256sum "$ckpt")
"$GRPO" pretrain configs/smoke.ini --resume "${sets[@]}" >/dev/null 2>"$dir/log" || fail "resume: $(cat "$dir/log")"
grep -q "is complete; nothing to resume" "$dir/log" || fail "resume of a finished pretraining: $(cat "$dir/log")"
"$GRPO" pretrain configs/smoke.ini "${sets[@]}" >/dev/null 2>"$dir/log"; rc=$?
[ $rc = 2 ] && grep -q "already pretrained" "$dir/log" || fail "second pretraining: exit $rc, $(cat "$dir/log")"
[ "$(sha256sum "$ckpt")" = "$sum" ] || fail "the base model changed"
echo "ok"
