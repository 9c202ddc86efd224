#!/usr/bin/env bash
# tests/cuda/run_on_gpu.sh — the one script to run on a GPU machine (issues 8
# and 18), under 8 minutes on one H100/H200 with 16 cores:
#   1. make CUDA=1 into build/cuda-make/ (BIN build/cuda-make/grpo: the CPU
#      build in build/ and ./grpo are untouched)
#   2. op parity: tests/cuda/parity.cu, every ops.h op against its CUDA twin
#      (fp32 exact mode to 1e-5; TF32 within its stated bounds)
#   3. model parity: tests/cuda/model_parity.c, the model on the GPU against
#      the CPU through model.h (log-probs, entropies, gradients, one AdamW
#      step, temperature-0 sampling; three shapes), within 1e-4; and with
#      model.matmul = bf16 within 1e-1 (gradients by direction)
#   4. the toy GRPO run with model.device = cuda (tests/cuda/check_emulated_grpo.sh
#      with ON_GPU=1): it learns, and a run killed and resumed equals the
#      uninterrupted one bit for bit (the GPU's runs repeat exactly); again
#      with model.matmul = bf16
#   5. the 124M-parameter training step's MFU: bench/bench_cuda.sh (the
#      kernels composed as model.c does) and tests/cuda/model_train_bench.c
#      (the model itself through model.h, fp32 and model.matmul = bf16;
#      goal >= 40% of the bf16 peak)
#   6. one GRPO step of a Qwen2.5-0.5B-shaped model (random weights) through
#      `grpo train --set model.device=cuda`: sampling and learning tokens/s
# Everything goes to stdout and to $OUT/cuda_run.log (build/cuda/ without
# $OUT).  Exit status 0 only if every step passed.  CUDA_SKIP_MAKE=1 reuses
# build/cuda-make; CUDA_STEPS="4 6" runs only those steps.  For trying step 6
# without a GPU: CUDA_STEPS=6 QWEN_GRPO=build/cuda-emu/grpo QWEN_OWN=1
# QWEN_DIMS="64 2 4 2 96 512" (dim layers heads kv_heads ffn vocab)
# QWEN_PROMPTS=2 QWEN_NEW=8.
set -u
cd "$(dirname "$0")/../.."
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
NVCC=$CUDA_HOME/bin/nvcc
B=build/cuda
MB=build/cuda-make
PYTHON=${PYTHON:-.venv/bin/python3}
[ -x "$PYTHON" ] || PYTHON=python3
LOGDIR=${OUT:-$B}
mkdir -p "$B" "$LOGDIR"
LOG=$LOGDIR/cuda_run.log
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
step() { echo; echo "== $* ($(date -u +%H:%M:%S))"; }

want() { case " ${CUDA_STEPS:-1 2 3 4 5 6} " in *" $1 "*) return 0 ;; esac; return 1; }

main() {
status=0
jobs=$(nproc)

step "machine"
echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo unknown) $(git status --porcelain 2>/dev/null | wc -l) changed files"
nvidia-smi || echo "nvidia-smi failed"
"$NVCC" --version | tail -2
echo "cores: $jobs"

step "1. make CUDA=1"
built_grpo=0
if ! want 1 || { [ "${CUDA_SKIP_MAKE:-0}" = 1 ] && [ -x $MB/grpo ]; }; then
    echo "skipped (CUDA_SKIP_MAKE=1 or CUDA_STEPS)"; [ -x $MB/grpo ] && built_grpo=1
elif make CUDA=1 BUILD=$MB BIN=$MB/grpo -j"$jobs" $MB/grpo $MB/tests/model_parity $MB/tests/model_train_bench; then
    echo "make CUDA=1: ok"; built_grpo=1
else
    echo "make CUDA=1: FAILED"; status=1
fi

if want 2; then
step "2. op parity: CPU ops vs CUDA ops"
blas_inc=/usr/include/x86_64-linux-gnu/openblas-openmp
blas_lib=/usr/lib/x86_64-linux-gnu/openblas-openmp
if [ -f $blas_inc/cblas.h ] && [ -e $blas_lib/libopenblas.so ]; then
    cpu_inc="-I$blas_inc" cpu_objs="" cpu_libs="-L$blas_lib -Xlinker -rpath=$blas_lib -lopenblas"
    echo "CPU reference: OpenBLAS"
else
    gcc -std=gnu17 -O2 -Itests/cuda/shim -c tests/cuda/cblas_shim.c -o $B/cblas_shim.o || status=1
    cpu_inc="-Itests/cuda/shim" cpu_objs="$B/cblas_shim.o" cpu_libs=""
    echo "CPU reference: no OpenBLAS here, tests/cuda/cblas_shim.c"
fi
built=1
# shellcheck disable=SC2086
gcc -std=gnu17 -O3 -march=native -fopenmp -D_GNU_SOURCE -I. $cpu_inc -c model/ops_cpu.c -o $B/ops_cpu.o || built=0
"$NVCC" -O3 -std=c++17 -I. -arch=sm_90 -Xcompiler -fPIC,-Wall -c model/ops_cuda.cu -o $B/ops_cuda.o || built=0
"$NVCC" -O3 -std=c++17 -I. -arch=sm_90 -Xcompiler -Wall -c tests/cuda/parity.cu -o $B/parity.o || built=0
# shellcheck disable=SC2086
[ $built = 1 ] && "$NVCC" -arch=sm_90 -o $B/parity $B/parity.o $B/ops_cuda.o $B/ops_cpu.o $cpu_objs \
    -lcublas -lgomp -lm $cpu_libs || built=0
if [ $built = 1 ]; then
    OMP_NUM_THREADS=${OMP_NUM_THREADS:-4} $B/parity || { echo "op parity: FAILED"; status=1; }
else
    echo "op parity: NOT BUILT"; status=1
fi
fi

want 3 && step "3. model parity: the model on the GPU vs the CPU (model.h)"
if ! want 3; then :
elif [ $built_grpo = 1 ]; then
    OMP_NUM_THREADS=4 $MB/tests/model_parity 1e-4 || { echo "model parity: FAILED"; status=1; }
    OMP_NUM_THREADS=4 $MB/tests/model_parity 1e-1 bf16 || { echo "model parity (bf16): FAILED"; status=1; }
else echo "model parity: NOT BUILT"; status=1; fi

want 4 && step "4. toy GRPO run with model.device = cuda"
if ! want 4; then :
elif [ $built_grpo = 1 ]; then
    GRPO=$PWD/$MB/grpo CUDA_GRPO=$PWD/$MB/grpo ON_GPU=1 tests/cuda/check_emulated_grpo.sh ||
        { echo "toy GRPO on the GPU: FAILED"; status=1; }
    GRPO=$PWD/$MB/grpo CUDA_GRPO=$PWD/$MB/grpo ON_GPU=1 MATMUL=bf16 tests/cuda/check_emulated_grpo.sh ||
        { echo "toy GRPO on the GPU, model.matmul = bf16: FAILED"; status=1; }
else echo "toy GRPO on the GPU: NOT BUILT"; status=1; fi

if want 5; then
    step "5. 124M-parameter training step, MFU: the kernels (bench/bench_cuda.sh), then the model (model.h)"
    bench/bench_cuda.sh || { echo "bench_cuda: FAILED"; status=1; }
    # dense peaks: H100/H200 SXM 67 fp32, 989 bf16 TFLOP/s; PCIe cards 51, 756
    peak32=67 peak16=989
    nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | grep -qi pcie && peak32=51 peak16=756
    if [ $built_grpo = 1 ]; then
        $MB/tests/model_train_bench fp32 $peak32 || { echo "model_train_bench fp32: FAILED"; status=1; }
        $MB/tests/model_train_bench bf16 $peak16 || { echo "model_train_bench bf16: FAILED"; status=1; }
    fi
fi

if want 6; then
    step "6. GRPO steps, Qwen2.5-0.5B shape, model.device = cuda"
    if [ $built_grpo = 1 ] || [ -n "${QWEN_GRPO:-}" ]; then qwen_step || status=1; else echo "NOT BUILT"; status=1; fi
fi

step "done: status $status"
return $status
}

# A Qwen2.5-0.5B-shaped model with random weights: bench/hf_peer.py makes
# the Hugging Face directory (q/k/v biases, its tokenizer) when transformers
# is installed; otherwise `grpo pretrain` makes our own model of the same
# dims (no biases, byte tokenizer over the same 151936-id vocabulary).
qwen_step() {
    local work dir src g=${QWEN_GRPO:-$MB/grpo}
    g=$(cd "$(dirname "$g")" && pwd)/$(basename "$g")
    read -r d_dim d_layers d_heads d_kv d_ffn d_vocab <<<"${QWEN_DIMS:-896 24 14 2 4864 151936}"
    work=$(mktemp -d /tmp/grpo-qwen.XXXXXX)
    dir=$B/qwen2.5-0.5b-shape
    bench/gsm8k_items.sh "$work"
    local common=(--set tasks.train="$work/train.jsonl" --set tasks.heldout="$work/heldout.jsonl"
        --set run.steps=2 --set run.out_dir="$work/runs" --set db.path="$work/grpo.db"
        --set rollout.prompts_per_step=${QWEN_PROMPTS:-8} --set rollout.group_size=8
        --set rollout.max_new_tokens=${QWEN_NEW:-128}
        --set eval.every=0 --set eval.items=1 --set eval.k=1 --set learner.checkpoint_every=0
        --set learner.grad_sum=float --set tasks.template=plain --set model.device=cuda)
    if [ "${QWEN_OWN:-0}" != 1 ] && { [ -f "$dir/model.safetensors" ] ||
                                       "$PYTHON" bench/hf_peer.py make "$dir" >/dev/null 2>&1; }; then
        src="the Hugging Face directory (bench/hf_peer.py)"
        "$g" train configs/gsm8k-qwen2.ini --set model.path="$dir" --set model.max_seq=512 \
            --set model.save_dtype=bfloat16 "${common[@]}" >"$work/out" 2>&1
    else
        src="our own model of its dims (no transformers here)"
        local shape=(--set model.dim=$d_dim --set model.n_layers=$d_layers --set model.n_heads=$d_heads
            --set model.n_kv_heads=$d_kv --set model.ffn_dim=$d_ffn --set model.vocab=$d_vocab
            --set model.max_seq=512 --set model.rope_theta=1000000 --set model.norm_eps=1e-6
            --set model.tie_embeddings=true --set model.save_dtype=float32)
        "$g" pretrain configs/gsm8k-qwen2.ini "${shape[@]}" --set run.name=base --set pretrain.steps=0 \
            --set run.out_dir="$work/runs" --set db.path="$work/base.db" --set tasks.kind=arith \
            >"$work/pre" 2>&1 || { tail -5 "$work/pre"; echo "qwen step: pretrain FAILED"; rm -rf "$work"; return 1; }
        "$g" train configs/gsm8k-qwen2.ini "${shape[@]}" --set model.path= \
            --set model.checkpoint="$work/runs/base/base.safetensors" "${common[@]}" >"$work/out" 2>&1
    fi
    local rc=$?
    echo "model: $src"
    tail -4 "$work/out"
    if [ $rc != 0 ]; then echo "qwen step: FAILED"; rm -rf "$work"; return 1; fi
    sqlite3 "$work/grpo.db" "SELECT step, (SELECT sum(n_tokens) FROM episodes e WHERE e.step = s.step) AS toks,
        t_rollout, t_learn FROM steps s ORDER BY step" | while IFS='|' read -r st toks tr tl; do
        awk -v s="$st" -v n="$toks" -v r="$tr" -v l="$tl" 'BEGIN {
            printf "bench: cuda_qwen05_grpo_step%d sampling %.0f new tokens/s (%d tokens, %.2f s), learning %.0f completion tokens/s (%.2f s)\n",
                   s, n / r, n, r, n / l, l }'
    done
    rm -rf "$work"
}

main 2>&1 | tee "$LOG"
exit "${PIPESTATUS[0]}"
