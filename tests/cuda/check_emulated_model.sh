#!/usr/bin/env bash
# model.h on the CUDA backend (the CPU stand-in of tests/cuda/emu) against
# the CPU backend, three shapes (Llama GQA, Qwen2 biases, Qwen3 q/k norms):
# log-probs, entropies, gradients, one AdamW step, greedy sampling
# (tests/cuda/model_parity.c): within 1e-5 in fp32; with model.matmul =
# bf16 (inputs of every product rounded to bf16, fp32 sums) within 1e-1 of
# each array's scale, gradients within 1e-1 in direction (1 - cosine).
set -eu
bin=${BUILD:-build}/cuda-emu/model_parity
[ -x "$bin" ] || { echo "$bin is missing (make cuda-emu)"; exit 1; }
export OMP_NUM_THREADS=2
"$bin" 1e-5
"$bin" 1e-1 bf16
