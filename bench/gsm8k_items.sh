#!/usr/bin/env bash
# bench/gsm8k_items.sh DIR — eight GSM8K-style items each in DIR/train.jsonl
# and DIR/heldout.jsonl (question, answer "#### N"), for the GRPO steps that
# bench/bench_hf.sh and tests/cuda/run_on_gpu.sh time on a real model shape.
set -eu
for f in train heldout; do
    for i in 1 2 3 4 5 6 7 8; do
        n=$((i * 12 + ${#f}))
        echo "{\"question\": \"Natalia sold $n clips in April and half as many in May. How many in all?\", \"answer\": \"#### $((n + n / 2))\"}"
    done >"$1/$f.jsonl"
done
