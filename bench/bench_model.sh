#!/usr/bin/env bash
# model/ throughput against the PyTorch peer (bench/model_peer.py), same
# shapes and work in the same run (issue 3):
#   small  dim 256, 4 layers, 8 heads, ffn 688, seq 256 (3.3M parameters)
#   medium dim 512, 8 layers, 8 heads, ffn 1376, seq 256 (25.6M)
#   demo   dim 96, 3 layers, 4 heads (0.36M): the GRPO rollout, 16 prompts x 8
# Training = forward + backward + AdamW on 16 x 256 tokens; sampling = 128 new
# tokens after a 16-token prompt, one sequence and a group of 8.  Vocabulary
# 264 for both (ours needs the 7 special tokens).  The peer runs at its best:
# 2 threads, OMP_WAIT_POLICY=PASSIVE, the same OpenBLAS core type as ours.
# Timings are wall-clock, best of the timed steps and repeats on both sides
# (other jobs' bursts inflate single runs); the load average is printed
# first.  MODEL_BENCH_QUICK=1 skips medium.
set -u
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-.venv/bin/python3}
bin=$BUILD/bench/model_bench
mkdir -p "$BUILD/bench"
make -s BUILD="$BUILD" "$bin" || { echo "bench_model: cannot build $bin"; exit 1; }
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"

have_peer=1
"$PYTHON" -c "import torch" 2>/dev/null || { have_peer=0; echo "bench_model: no torch in $PYTHON, peer skipped"; }

# key value lines from one run, into an associative array named by $1
declare -A ours peer
run_ours() { # shape steps what
    local line
    while read -r k v; do ours["$1_$k"]=$v; done < <("$bin" "$1" "$2" "$3" 2>/tmp/bench_model_err.$$)
    core=$(sed -n 's/.*OpenBLAS \([A-Za-z0-9]*\) kernels.*/\1/p' /tmp/bench_model_err.$$ | head -1)
    rm -f /tmp/bench_model_err.$$
}
run_peer() {
    [ $have_peer = 1 ] || return 0
    while read -r k v; do peer["$1_$k"]=$v; done < <(OMP_WAIT_POLICY=PASSIVE OPENBLAS_CORETYPE=$core \
        "$PYTHON" bench/model_peer.py "$1" "$2" "$3" 2>/dev/null)
}
line() { # name key unit [higher|lower]
    local o=${ours[$2]:-} p=${peer[$2]:-}
    [ -n "$o" ] || { echo "bench: $1 failed"; return; }
    if [ -n "$p" ]; then
        awk -v n="$1" -v o="$o" -v p="$p" -v u="$3" -v d="${4:-higher}" \
            'BEGIN { r = d == "lower" ? p / o : o / p; printf "bench: %s %.1f %s vs pytorch %.2fx\n", n, o, u, r }'
    else
        echo "bench: $1 $o $3"
    fi
}

core=unknown
run_ours small 0 peak
# The peak is measured here with the widest FMA this CPU has (model_bench
# picks AVX-512 or AVX2 at run time); every "% of peak" is of this figure,
# and none is printed if it could not be measured.
PEAK=${ours[small_fma_peak_gflops]:-}
if [ -n "$PEAK" ]; then
    echo "bench: fma_peak $PEAK GFLOP/s (measured: ${ours[small_fma_peak_isa]} FMA, ${ours[small_fma_peak_threads]} threads)"
else
    echo "bench: fma_peak not measured (${ours[small_fma_peak_isa]:-model_bench failed}: no AVX2/AVX-512 FMA); no % of peak"
fi
gflops_line() { # name key
    local g=${ours[$2]:-}
    [ -n "$g" ] || { echo "bench: $1 failed"; return; }
    if [ -n "$PEAK" ]; then
        awk -v n="$1" -v g="$g" -v p="$PEAK" 'BEGIN { printf "bench: %s %.1f GFLOP/s (%.0f%% of the measured FMA peak)\n", n, g, 100 * g / p }'
    else
        echo "bench: $1 $g GFLOP/s"
    fi
}
run_ours small 3 all
run_peer small 2 all
echo "blas: OpenBLAS $core kernels (ours and the peer)"
line model_small_train small_train_tokens_per_s tokens/s
gflops_line model_small_train_gflops small_train_gflops
line model_small_sample1 small_sample1_tokens_per_s tokens/s
line model_small_sample8 small_sample8_tokens_per_s tokens/s
line model_small_peak_rss small_peak_rss_mb MB lower

if [ -z "${MODEL_BENCH_QUICK:-}" ]; then
    run_ours medium 2 all
    run_peer medium 1 all
    line model_medium_train medium_train_tokens_per_s tokens/s
    gflops_line model_medium_train_gflops medium_train_gflops
    line model_medium_sample1 medium_sample1_tokens_per_s tokens/s
    line model_medium_sample8 medium_sample8_tokens_per_s tokens/s
    line model_medium_peak_rss medium_peak_rss_mb MB lower
fi

run_ours demo 1 rollout
run_peer demo 1 rollout
line model_demo_rollout demo_rollout_tokens_per_s tokens/s
