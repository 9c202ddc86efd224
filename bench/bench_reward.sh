#!/usr/bin/env bash
# Reward grading speed on a realistic mix (template check + extraction +
# equivalence), ours vs Math-Verify on the same inputs in the same run.
#
#   bench: reward_grades_per_s_per_core VALUE grades/s vs math-verify RATIOx
#   bench: reward_agreement_math_verify VALUE %   (share of items where both say the same)
#   bench: reward_demo_grades_per_s_per_core VALUE grades/s   (the arithmetic demo only)
#
# Ours: `grpo grade --quiet --json` on N_OURS items (time inside reward_score,
# one core).  Math-Verify: bench/reward_peer.py on the first N_PEER items
# (it is ~1000x slower).  Env: N_OURS (default 50000), N_PEER (default 500).
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python3}
GRPO=${GRPO:-./grpo}
N_OURS=${N_OURS:-50000}
N_PEER=${N_PEER:-500}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$PYTHON" bench/reward_mix.py "$N_OURS" 1 >"$tmp/mix.jsonl" || exit 1
"$PYTHON" bench/reward_mix.py "$N_OURS" 2 --demo >"$tmp/demo.jsonl" || exit 1

# best of three runs: timings on a shared machine are noisy
best_rate() {
    local best=0 rate
    for i in 1 2 3; do
        rate=$("$GRPO" grade --kind math --quiet --json "$1" 2>/dev/null |
               sed -n 's/.*"grades_per_s":\([0-9.]*\).*/\1/p')
        [ -z "$rate" ] && { echo "bench: grpo grade failed on $1" >&2; return 1; }
        best=$(awk -v a="$best" -v b="$rate" 'BEGIN { print (b > a) ? b : a }')
    done
    echo "$best"
}
best=$(best_rate "$tmp/mix.jsonl") || exit 1
demo=$(best_rate "$tmp/demo.jsonl") || exit 1

head -n "$N_PEER" "$tmp/mix.jsonl" >"$tmp/peer.jsonl"
"$GRPO" grade --kind math "$tmp/peer.jsonl" 2>/dev/null |
    sed -n 's/.*"correct":\(true\|false\).*/\1/p' | sed 's/true/1/; s/false/0/' >"$tmp/ours.txt"
if peer=$("$PYTHON" bench/reward_peer.py "$tmp/peer.jsonl" "$N_PEER" --verdicts "$tmp/peer.txt" 2>"$tmp/peer.err"); then
    peer_rate=$(sed -n 's/^grades_per_s //p' <<<"$peer")
    ratio=$(awk -v a="$best" -v b="$peer_rate" 'BEGIN { printf "%.0f", a / b }')
    printf 'bench: reward_grades_per_s_per_core %.0f grades/s vs math-verify %sx\n' "$best" "$ratio"
    agree=$(paste "$tmp/ours.txt" "$tmp/peer.txt" | awk '{ n++; if ($1 == $2) s++ } END { printf "%.1f", 100 * s / n }')
    echo "bench: reward_agreement_math_verify $agree %"
    printf 'bench: reward_demo_grades_per_s_per_core %.0f grades/s\n' "$demo"
else
    printf 'bench: reward_demo_grades_per_s_per_core %.0f grades/s\n' "$demo"
    tail -5 "$tmp/peer.err"
    printf 'bench: reward_grades_per_s_per_core %.0f grades/s\n' "$best"
    echo "bench: math-verify peer did not run (make deps installs it)"
fi
