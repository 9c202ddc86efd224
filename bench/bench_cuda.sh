#!/usr/bin/env bash
# CUDA figures (issue 8): one training step (forward, backward, grad clip,
# AdamW) of a ~124M-parameter Llama shape (dim 768, 12 layers, 12 heads,
# ffn 2048, vocab 50304 tied, seq 1024, batch 8) made of model/ops_cuda.cu's
# kernels, in fp32 exact mode and with TF32 tensor cores, and one batched
# decode step (64 rows at context 512).  Prints, among others:
#   bench: cuda_train_mfu VALUE %        (fp32, against the H200's 67 TFLOP/s)
#   bench: cuda_train_mfu_tf32 VALUE %   (against 494.7 TFLOP/s dense TF32)
# Without a GPU it prints `bench: cuda skipped (no GPU)` and exits 0.
# CUDA_BENCH_ARGS overrides the shape: "dim layers heads kv_heads ffn vocab
# seq batch decode_rows" (see tests/cuda/bench_train.cu).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
NVCC=$CUDA_HOME/bin/nvcc
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    echo "bench: cuda skipped (no GPU)"
    exit 0
fi
if [ ! -x "$NVCC" ]; then
    echo "bench_cuda: no nvcc at $NVCC"
    exit 1
fi
bin=$BUILD/cuda/bench_train
mkdir -p "$BUILD/cuda"
"$NVCC" -O3 -std=c++17 -I. -arch=sm_90 -Xcompiler -Wall tests/cuda/bench_train.cu model/ops_cuda.cu \
    -o "$bin" -lcublas || { echo "bench_cuda: cannot build $bin"; exit 1; }
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,power.limit --format=csv,noheader || true
# shellcheck disable=SC2086
"$bin" ${CUDA_BENCH_ARGS:-}
