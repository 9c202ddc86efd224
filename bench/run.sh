#!/usr/bin/env bash
# Runs every bench/bench_*.sh in turn.  Each prints lines of the form
#   bench: NAME VALUE UNIT [vs PEER RATIOx]
# (ratio > 1 means grpo.c is better), so scripts can read them.
set -u
export PYTHON=${PYTHON:-.venv/bin/python3}
export GRPO=${GRPO:-$PWD/grpo}
status=0
for b in bench/bench_*.sh; do
    [ -x "$b" ] || continue
    echo "== $b"
    "$b" || { echo "bench: $b failed"; status=1; }
done
exit $status
