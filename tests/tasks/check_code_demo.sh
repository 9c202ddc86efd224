#!/usr/bin/env bash
# The code demo's pieces (configs/r1zero-code.ini, `make run-code`), fast:
#   - the corpus as the demo's config writes it, graded by `grpo grade` in the
#     sandbox: clean and re-checked solutions pass their hidden tests, slipped
#     ones fail, broken templates fail the format;
#   - the held-out items are disjoint from training by construction (K = 3
#     mod 7 only on the held-out side) and fit the model's context;
#   - the config runs end to end at toy size: pretrain, two GRPO steps whose
#     programs run in the sandbox (sandbox_runs rows), the examples script.
set -u
GRPO=${GRPO:-$PWD/grpo}
BUILD=${BUILD:-build}
TOOL=$BUILD/tests/corpus_tool
CONFIG=$PWD/configs/r1zero-code.ini
[ -x "$GRPO" ] || { echo "no grpo binary at $GRPO"; exit 77; }
[ -x "$TOOL" ] || { echo "no $TOOL (make $TOOL)"; exit 77; }
dir=$(mktemp -d /tmp/grpo-check-code-demo-XXXXXX)
trap 'rm -rf "$dir"' EXIT
export OMP_NUM_THREADS=1
fail() { echo "FAIL: $*"; exit 1; }

# --- make run-code: the demo packages and python3 (the sandbox runs the
# programs with it), no test-only ones; checked on make's dry run
run=$(make -n run-code 2>&1) || fail "make -n run-code: $run"
grep -qw "python3" <<<"$run" || fail "make run-code does not install python3"
for pkg in python3-torch libcriterion-dev chromium transformers "pip install"; do
    grep -q -- "$pkg" <<<"$run" && fail "make run-code would install $pkg"
done
grep -q "grpo demo configs/r1zero-code.ini" <<<"$run" || fail "make run-code does not run the code demo"

# --- the corpus, graded in the sandbox
"$TOOL" "$CONFIG" train 40 >"$dir/train.jsonl" || fail "corpus_tool train"
"$GRPO" grade --kind code "$dir/train.jsonl" >"$dir/graded.jsonl" 2>"$dir/grade.log" \
    || fail "grade: $(cat "$dir/grade.log")"
# one line per row: style broken correct format_ok
paste -d' ' <(sed -E 's/.*"style":"([a-z]+)","broken":(true|false).*/\1 \2/' "$dir/train.jsonl") \
            <(sed -E 's/.*"format_ok":(true|false),"correct":(true|false).*/\2 \1/;
                      s/.*"correct":(true|false).*"format_ok":(true|false).*/\1 \2/' "$dir/graded.jsonl") \
    >"$dir/rows"
awk '$2 == "false" && $4 != "true" { print "a well-formed row fails the format: " $0; bad = 1 }
     $2 == "true" && $4 != "false" { print "a broken row passes the format: " $0; bad = 1 }
     $2 == "false" && ($1 == "clean" || $1 == "recheck") && $3 != "true" { print "a right solution fails: " $0; bad = 1 }
     $2 == "false" && $1 == "slip" && $3 == "true" { slipped_pass++ }
     $1 == "slip" { slips++ }
     END { if (slips < 8) { print "only " slips " slips in 40 rows"; bad = 1 }
           if (slipped_pass > 2) { print slipped_pass " slipped solutions pass"; bad = 1 }
           exit bad }' "$dir/rows" || fail "corpus grading: $(head -3 "$dir/graded.jsonl")"
[ "$(wc -l <"$dir/rows")" = 40 ] || fail "expected 40 graded rows"

# --- disjoint by construction; prompts fit model.max_seq with room to answer
"$TOOL" "$CONFIG" train 2000 >"$dir/big.jsonl" || fail "corpus_tool train 2000"
"$TOOL" "$CONFIG" heldout 200 >"$dir/held.jsonl" || fail "corpus_tool heldout"
[ "$(grep -c '"heldout":true' "$dir/held.jsonl")" = 200 ] || fail "held-out rows not all held out"
grep -q '"heldout":true' "$dir/big.jsonl" && fail "a training row is on the held-out side"
grep -o '"k":[0-9]*' "$dir/big.jsonl" | cut -d: -f2 | awk '$1 % 7 == 3 { exit 1 }' \
    || fail "a training row has a held-out constant"
grep -o '"k":[0-9]*' "$dir/held.jsonl" | cut -d: -f2 | awk '$1 % 7 != 3 { exit 1 }' \
    || fail "a held-out row has a training constant"
sort -u <(grep -o '"question":"[^"]*"' "$dir/big.jsonl") >"$dir/q.train"
sort -u <(grep -o '"question":"[^"]*"' "$dir/held.jsonl") >"$dir/q.held"
[ -z "$(comm -12 "$dir/q.train" "$dir/q.held")" ] || fail "a question is on both sides"
longest=$(sed -E 's/.*"prompt":"(([^"\\]|\\.)*)","response":"(([^"\\]|\\.)*)".*/\1\3/; s/\\n/N/g' \
          "$dir/big.jsonl" | awk '{ if (length($0) > m) m = length($0) } END { print m }')
[ "$longest" -lt 320 ] || fail "a corpus row of $longest bytes does not fit model.max_seq = 320"

# --- the config end to end at toy size
SETS=(--set run.out_dir="$dir/runs" --set db.path="$dir/code.db" --set pretrain.steps=4
      --set pretrain.batch=4 --set pretrain.eval_every=0 --set run.steps=2
      --set rollout.prompts_per_step=2 --set rollout.group_size=2 --set eval.items=2 --set eval.k=1
      --set run.max_minutes=0)
"$GRPO" pretrain "$CONFIG" "${SETS[@]}" >"$dir/pre.log" 2>&1 || fail "pretrain: $(tail -5 "$dir/pre.log")"
"$GRPO" demo "$CONFIG" "${SETS[@]}" >"$dir/demo.log" 2>&1 || fail "demo: $(tail -5 "$dir/demo.log")"
sql() { "$GRPO" query "$dir/code.db" "$1" --csv | tail -n +2; }
[ "$(sql "SELECT count(*) FROM steps s JOIN runs r ON r.id = s.run_id WHERE r.kind = 'train'")" = 2 ] \
    || fail "expected 2 GRPO steps"
eps=$(sql "SELECT count(*) FROM episodes")
[ "$eps" = 8 ] || fail "expected 8 episodes, got $eps"
[ "$(sql "SELECT count(*) FROM reward_parts WHERE name = 'accuracy_code'")" -ge 1 ] \
    || fail "no accuracy_code reward parts"
configs/r1zero-code-examples.sh "$dir/code.db" >"$dir/examples.txt" 2>&1 \
    || fail "examples script: $(tail -5 "$dir/examples.txt")"
grep -q "Held-out" "$dir/examples.txt" || fail "examples script printed no held-out figures"
echo "ok: corpus graded, split disjoint, config runs end to end"
