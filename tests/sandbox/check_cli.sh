#!/usr/bin/env bash
# grpo sandbox: output, --json fields, exit codes (0 whatever the verdict,
# 2 for bad usage).  Only harmless programs here: this runs outside wrap.sh.
set -u
GRPO=${GRPO:-./grpo}
PYTHON=${PYTHON:-python3}
[ -x "$GRPO" ] || { echo "no $GRPO"; exit 1; }
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

printf 'import sys\nprint("sum", sum(map(int, sys.stdin.read().split())))\n' > "$t/sum.py"
printf '1 2 39\n' > "$t/in"
out=$("$GRPO" sandbox --lang python "$t/sum.py" --stdin "$t/in" 2>"$t/err") || fail "plain run rc=$?"
[ "$out" = "sum 42" ] || fail "stdout '$out'"
grep -q "sandbox: OK" "$t/err" || fail "summary: $(cat "$t/err")"

"$GRPO" sandbox --lang python "$t/sum.py" --stdin "$t/in" --json > "$t/json" || fail "json rc=$?"
"$PYTHON" - "$t/json" <<'PY' || fail "json content: $(cat "$t/json")"
import json, sys
o = json.load(open(sys.argv[1]))
keys = {"verdict", "exit_code", "signal", "cpu_ms", "wall_ms", "max_rss_kb", "stdout", "stderr",
        "truncated", "isolation"}
assert keys <= set(o), set(o)
assert o["verdict"] == "OK" and o["exit_code"] == 0 and o["stdout"] == "sum 42\n", o
assert o["truncated"] is False and o["wall_ms"] > 0 and o["max_rss_kb"] > 0, o
for layer in "user pid net mount ipc uts fs nnp seccomp rlimits".split():
    assert layer in o["isolation"].split(","), (layer, o["isolation"])
PY

# A failing program is still exit 0: the verdict carries the news.
printf 'while True:\n    pass\n' > "$t/spin.py"
"$GRPO" sandbox --lang python "$t/spin.py" --time-ms 300 --json > "$t/json" || fail "TLE rc=$?"
grep -q '"verdict":"TIME_LIMIT"' "$t/json" || fail "TLE verdict: $(cat "$t/json")"
printf 'int main(void){ return 7; }\n' > "$t/seven.c"
"$GRPO" sandbox --lang c "$t/seven.c" --json > "$t/json" || fail "c rc=$?"
grep -q '"verdict":"RUNTIME_ERROR","exit_code":7' "$t/json" || fail "c verdict: $(cat "$t/json")"

# Bad usage and bad input: 2, with the culprit named.
"$GRPO" sandbox --lang cobol "$t/sum.py" 2>"$t/err"; [ $? = 2 ] || fail "unknown lang rc"
grep -q cobol "$t/err" || fail "unknown lang message"
"$GRPO" sandbox --lang python "$t/missing.py" 2>"$t/err"; [ $? = 2 ] || fail "missing file rc"
grep -q missing.py "$t/err" || fail "missing file message"
"$GRPO" sandbox --lang python "$t/sum.py" --mem-mb 2 2>"$t/err"; [ $? = 2 ] || fail "bad mem rc"
grep -q -- --mem-mb "$t/err" || fail "bad mem message"
"$GRPO" sandbox 2>/dev/null; [ $? = 2 ] || fail "no args rc"
"$GRPO" sandbox --help | grep -q "usage: grpo sandbox" || fail "--help"
echo "grpo sandbox: ok"
