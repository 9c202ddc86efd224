# Sourced by the benches that run the demo's GRPO step (bench_grpo.sh,
# bench_scale.sh): sets GRPO, CONFIG (the demo's), W (a work folder removed
# on exit) and BASE: $GRPO_BENCH_BASE, else the demo's base model if
# `make run` made it, else a quick 300-step pretrain in W.  Prints the load
# average first: every figure after it is wall clock on a shared machine.
GRPO=${GRPO:-$PWD/grpo}
CONFIG=$PWD/configs/r1zero-arith.ini
BASE=${GRPO_BENCH_BASE:-$PWD/runs/r1zero-arith/base.safetensors}
W=$(mktemp -d /tmp/grpo-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ ! -f "$BASE" ]; then
    "$GRPO" pretrain "$CONFIG" --set pretrain.steps=300 --set run.out_dir="$W/runs" \
        --set db.path="$W/base.db" >/dev/null 2>&1
    BASE=$W/runs/r1zero-arith/base.safetensors
fi
