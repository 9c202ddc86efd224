#!/usr/bin/env bash
# Math verifier speed on the labelled answer pairs (tests/reward/math_pairs.tsv:
# every kind of issue 14, bare answers and whole responses), ours vs
# Math-Verify on the same pairs in the same run.
#
#   bench: math_verify_pairs_per_s VALUE pairs/s vs math-verify RATIOx
#   bench: math_verify_agreement_labels VALUE % vs math-verify VALUE %
#
# Ours (bench/math_bench.c: reward_score with accuracy_math alone, i.e.
# extraction of response and gold plus reward_math_equal) runs the pair set
# REPEAT times (default 300); Math-Verify (bench/math_peer.py: parse + verify)
# once.  Both in CPU seconds of one core around the grading work only.
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python3}
BUILD=${BUILD:-build}
CC=${CC:-gcc}
REPEAT=${REPEAT:-300}
PAIRS=tests/reward/math_pairs.tsv

[ -f "$BUILD/libgrpo.a" ] || { echo "bench: $BUILD/libgrpo.a missing (run make first)"; exit 1; }
mkdir -p "$BUILD/bench"
"$CC" -std=gnu17 -O3 -march=native -fopenmp -D_GNU_SOURCE -I. -o "$BUILD/bench/math_bench" \
    bench/math_bench.c "$BUILD/libgrpo.a" -lpcre2-8 -lseccomp -linih -lcjson -lm -lpthread || exit 1

line=$("$BUILD/bench/math_bench" "$PAIRS" "$REPEAT") || { echo "bench: math_bench failed"; exit 1; }
ours=$(sed -n 's/.*pairs_per_cpu_s \([0-9]*\).*/\1/p' <<<"$line")
ours_agree=$(sed -n 's/.*agree_labels \([0-9]*\)\/\([0-9]*\).*/\1 \2/p' <<<"$line" | awk '{ printf "%.1f", 100 * $1 / $2 }')
if peer=$("$PYTHON" bench/math_peer.py "$PAIRS" 2>/dev/null); then
    peer_rate=$(sed -n 's/^pairs_per_s \([0-9.]*\).*/\1/p' <<<"$peer")
    peer_agree=$(sed -n 's/.*agree_labels \([0-9]*\)\/\([0-9]*\).*/\1 \2/p' <<<"$peer" | awk '{ printf "%.1f", 100 * $1 / $2 }')
    ratio=$(awk -v a="$ours" -v b="$peer_rate" 'BEGIN { printf "%.0f", a / b }')
    echo "bench: math_verify_pairs_per_s $ours pairs/s vs math-verify ${ratio}x"
    echo "bench: math_verify_agreement_labels $ours_agree % vs math-verify $peer_agree %"
else
    echo "bench: math_verify_pairs_per_s $ours pairs/s"
    echo "bench: math_verify_agreement_labels $ours_agree %"
    echo "bench: math-verify peer did not run (make deps installs it)"
fi
