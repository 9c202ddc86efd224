#!/usr/bin/env bash
# A Hugging Face model of Qwen2.5-0.5B's shape (494M parameters, random
# weights, made here by transformers) against transformers 4.47 on the same
# machine in the same run (issue 12):
#   training = forward + backward + AdamW on 4 x 256 tokens, tokens/s (goal >= 1.2x)
#   sampling = 8 rows x 32 new tokens after a 16-token prompt, KV cache (goal >= 3x)
#   a full GRPO step (policy, reference, AdamW; 2 prompts x 4 samples, up to
#   64 new tokens) through `grpo train`: its time and peak RSS (must fit 24 GB)
# Both sides use 2 threads (OMP_WAIT_POLICY=PASSIVE, the same OpenBLAS core).
# HF_BENCH_SKIP=1 skips it (it takes several minutes and ~16 GB).
set -u
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-.venv/bin/python3}
GRPO=${GRPO:-$PWD/grpo}
[ "${HF_BENCH_SKIP:-0}" = 1 ] && { echo "bench_hf: skipped (HF_BENCH_SKIP=1)"; exit 0; }
"$PYTHON" -c "import transformers" 2>/dev/null || { echo "bench_hf: no transformers in $PYTHON, skipped"; exit 0; }
bin=$BUILD/bench/hf_bench
dir=$BUILD/bench/qwen2.5-0.5b-shape
mkdir -p "$BUILD/bench"
make -s BUILD="$BUILD" "$bin" || { echo "bench_hf: cannot build $bin"; exit 1; }
[ -f "$dir/model.safetensors" ] || "$PYTHON" bench/hf_peer.py make "$dir" 2>/dev/null \
    || { echo "bench_hf: cannot make $dir"; exit 1; }
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"

declare -A ours peer
run_ours() { # key-prefix args...
    local p=$1 k v; shift
    while read -r k v; do ours["${p}_$k"]=$v; done < <("$bin" "$dir" "$@" 2>/tmp/bench_hf_err.$$)
    core=$(sed -n 's/.*OpenBLAS \([A-Za-z0-9]*\) kernels.*/\1/p' /tmp/bench_hf_err.$$ | head -1)
    rm -f /tmp/bench_hf_err.$$
}
run_peer() {
    local p=$1 k v; shift
    while read -r k v; do peer["${p}_$k"]=$v; done < <(OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE \
        OPENBLAS_CORETYPE=${core:-} "$PYTHON" bench/hf_peer.py "$dir" "$@" 2>/dev/null)
}
line() { # name key unit
    local o=${ours[$2]:-} p=${peer[$2]:-}
    [ -n "$o" ] || { echo "bench: $1 failed"; return; }
    if [ -n "$p" ]; then
        awk -v n="$1" -v o="$o" -v p="$p" -v u="$3" \
            'BEGIN { printf "bench: %s %.2f %s vs transformers %.2fx\n", n, o, u, o / p }'
    else echo "bench: $1 $o $3"; fi
}

core=
run_ours train train 2 4 256
run_peer train train 2 4 256
line hf_qwen05_train_tokens_per_s train_train_tokens_per_s tokens/s
echo "bench: hf_qwen05_train_peak_rss ${ours[train_peak_rss_mb]:-?} MB (transformers ${peer[train_peak_rss_mb]:-?} MB)"
run_ours sample sample 8 32
run_peer sample sample 8 32
line hf_qwen05_sample8_tokens_per_s sample_sample_tokens_per_s tokens/s

# One GRPO step through the real command; /usr/bin/time gives its peak RSS.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bench/gsm8k_items.sh "$work"
/usr/bin/time -v "$GRPO" train configs/gsm8k-qwen2.ini --set model.path="$dir" --set model.max_seq=256 \
    --set tasks.train="$work/train.jsonl" --set tasks.heldout="$work/heldout.jsonl" \
    --set run.steps=1 --set run.out_dir="$work/runs" --set db.path="$work/grpo.db" \
    --set rollout.prompts_per_step=2 --set rollout.group_size=4 --set rollout.max_new_tokens=64 \
    --set eval.items=1 --set eval.k=1 --set learner.checkpoint_every=0 --set model.save_dtype=bfloat16 \
    --set learner.grad_sum=float --set tasks.template=plain \
    >"$work/out" 2>&1 || { tail -5 "$work/out"; echo "bench: hf_qwen05_grpo_step failed"; exit 1; }
rss=$(sed -n 's/.*Maximum resident set size (kbytes): \([0-9]*\).*/\1/p' "$work/out")
step=$(sqlite3 "$work/grpo.db" "SELECT printf('%.1f s (rollout %.1f, learn %.1f)', coalesce(t_collect, t_rollout + t_reward) + t_learn + t_db,
                                t_rollout, t_learn) FROM steps WHERE step = 1" 2>/dev/null)
echo "bench: hf_qwen05_grpo_step_time ${step:-?}"
echo "bench: hf_qwen05_grpo_step_peak_rss $((rss / 1024)) MB (limit 24576 MB)"
