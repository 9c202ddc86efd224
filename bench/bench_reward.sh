#!/usr/bin/env bash
# Reward grading speed on a realistic mix (template check + extraction +
# equivalence), ours vs Math-Verify on the same inputs in the same run.
#
#   bench: reward_grades_per_s_per_core VALUE grades/s vs math-verify RATIOx
#   bench: reward_demo_grades_per_s_per_core VALUE grades/s   (the arithmetic demo only)
#   bench: reward_agreement_math_verify VALUE %   (share of items where both say the same)
#
# Both sides are timed in CPU seconds of one core around the grading work
# only (bench/reward_bench.c: reward_score; bench/reward_peer.py: the regex
# template check + math_verify.parse + verify), so the figures hold on a busy
# shared machine.  Ours runs N_OURS items (default 50000) three times;
# Math-Verify, ~1000x slower, the first N_PEER (default 500).
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python3}
GRPO=${GRPO:-./grpo}
BUILD=${BUILD:-build}
CC=${CC:-gcc}
N_OURS=${N_OURS:-50000}
N_PEER=${N_PEER:-500}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[ -f "$BUILD/libgrpo.a" ] || { echo "bench: $BUILD/libgrpo.a missing (run make first)"; exit 1; }
mkdir -p "$BUILD/bench"
"$CC" -std=gnu17 -O3 -march=native -fopenmp -D_GNU_SOURCE -I. -o "$BUILD/bench/reward_bench" \
    bench/reward_bench.c "$BUILD/libgrpo.a" -lpcre2-8 -lutf8proc -lseccomp -linih -lcjson -lm -lpthread || exit 1

"$PYTHON" bench/reward_mix.py "$N_OURS" 1 >"$tmp/mix.jsonl" || exit 1
"$PYTHON" bench/reward_mix.py "$N_OURS" 2 --demo >"$tmp/demo.jsonl" || exit 1
rate() { "$BUILD/bench/reward_bench" "$1" 3 | sed -n 's/.*grades_per_cpu_s \([0-9]*\).*/\1/p'; }
ours=$(rate "$tmp/mix.jsonl")
demo=$(rate "$tmp/demo.jsonl")
[ -n "$ours" ] && [ -n "$demo" ] || { echo "bench: reward_bench failed"; exit 1; }

head -n "$N_PEER" "$tmp/mix.jsonl" >"$tmp/peer.jsonl"
"$GRPO" grade --kind math "$tmp/peer.jsonl" 2>/dev/null |
    sed -n 's/.*"correct":\(true\|false\).*/\1/p' | sed 's/true/1/; s/false/0/' >"$tmp/ours.txt"
if peer=$("$PYTHON" bench/reward_peer.py "$tmp/peer.jsonl" "$N_PEER" --verdicts "$tmp/peer.txt" 2>"$tmp/peer.err"); then
    peer_rate=$(sed -n 's/^grades_per_s //p' <<<"$peer")
    ratio=$(awk -v a="$ours" -v b="$peer_rate" 'BEGIN { printf "%.0f", a / b }')
    echo "bench: reward_grades_per_s_per_core $ours grades/s vs math-verify ${ratio}x"
    echo "bench: reward_demo_grades_per_s_per_core $demo grades/s"
    agree=$(paste "$tmp/ours.txt" "$tmp/peer.txt" | awk '{ n++; if ($1 == $2) s++ } END { printf "%.1f", 100 * s / n }')
    echo "bench: reward_agreement_math_verify $agree %"
else
    echo "bench: reward_grades_per_s_per_core $ours grades/s"
    echo "bench: reward_demo_grades_per_s_per_core $demo grades/s"
    tail -5 "$tmp/peer.err"
    echo "bench: math-verify peer did not run (make deps installs it)"
fi
