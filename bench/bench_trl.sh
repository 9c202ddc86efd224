#!/usr/bin/env bash
# One GRPO step of the demo's shape against TRL's GRPOTrainer (issue 17),
# both at equal work in the same run: dim 96, 3 layers, 16 prompts x 8
# samples, <= 80 new tokens at T = 1, k3 KL (beta 0.02) to a frozen
# reference, clip 0.2, one iteration, AdamW, 2 threads.  Both models are
# random (ours: the demo config after one pretraining step, loss 5.47 of
# ln 264 = 5.58; TRL's: transformers' init, std 0.02), so both write
# ~70-80 tokens per completion and every reward is 0: the same work up to
# each model's EOS rate, which the completion-token counts show and the
# ratios divide out (time per completion token on each side).  Ours is `grpo train` (steps
# table: t_collect (sampling + grading) + t_learn + t_db); TRL's is bench/trl_peer.py.
# Each figure is the fastest of the timed steps on its side (the machine is
# shared: other jobs' bursts only ever add).
# The update phase is the reference forward, the policy's forward and
# backward, and AdamW on both sides.
#
# The peer needs TRL, which is not in .venv: `make bench-trl-venv` builds
# .venv-trl (TRL 0.17.0, the newest that accepts transformers 4.47.1;
# accelerate 0.34.2 and datasets 3.6.0, which accept Debian's torch 1.13).
# Without it the ratios are skipped and our own times still printed.
set -eu
GRPO=${GRPO:-$PWD/grpo}
TRL_PYTHON=${TRL_PYTHON:-$PWD/.venv-trl/bin/python3}
STEPS=${TRL_BENCH_STEPS:-4} # timed steps after one warm-up step, each side
CONFIG=$PWD/configs/r1zero-arith.ini
W=$(mktemp -d /tmp/grpo-bench-trl.XXXXXX)
trap 'rm -rf "$W"' EXIT
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"

common=(--set run.out_dir="$W/runs" --set eval.every=0 --set eval.items=1)
"$GRPO" pretrain "$CONFIG" --set pretrain.steps=1 --set pretrain.eval_every=0 "${common[@]}" \
    --set db.path="$W/base.db" >/dev/null 2>&1
# rollout.stop="": only EOS ends a completion, as in TRL (a random model
# draws our one-token </answer> as often as EOS).  Ours runs before and
# after the peer, and each figure is the fastest of both runs' timed steps.
run_ours() { # db
    "$GRPO" train "$CONFIG" --set model.checkpoint="$W/runs/r1zero-arith/base.safetensors" --set rollout.stop= \
        --set run.steps=$((STEPS + 1)) "${common[@]}" --set db.path="$1" >/dev/null 2>"$W/train.err"
    # the fastest timed step and phase: bursts of other jobs only add
    "$GRPO" query "$1" "
        SELECT min(coalesce(s.t_collect, s.t_rollout + s.t_reward) + s.t_learn + s.t_db),
               min(coalesce(s.t_collect, s.t_rollout + s.t_reward)), min(s.t_learn),
               (SELECT sum(e.n_tokens) FROM episodes e WHERE e.step > 0) * 1.0 / count(*)
        FROM steps s WHERE s.step > 0" --csv | tail -n 1 | tr ',' ' ' >>"$W/ours.txt"
}
ours_best() { # ours.txt rows: step rollout learn tokens; the minimum of each column
    awk '{ for (i = 1; i <= 4; i++) if (NR == 1 || $i < m[i]) m[i] = $i }
         END { print m[1], m[2], m[3], m[4] }' "$W/ours.txt"
}
print_ours() {
    printf 'bench: grpo_step_ours %.3f s (rollout+reward %.3f s, update %.3f s, %.0f completion tokens)\n' \
        "$o_step" "$o_roll" "$o_learn" "$o_tok"
}
run_ours "$W/b1.db"
core=$(sed -n 's/.*OpenBLAS \([A-Za-z0-9]*\) kernels.*/\1/p' "$W/train.err" | head -1) # the peer uses the same
read -r o_step o_roll o_learn o_tok < <(ours_best)

if ! "$TRL_PYTHON" -c "import trl" 2>/dev/null; then
    print_ours
    echo "bench: grpo_step_vs_trl skipped (no TRL in $TRL_PYTHON; make bench-trl-venv builds it)"
    exit 0
fi
declare -A trl
while read -r k v; do trl[$k]=$v; done < <(OMP_WAIT_POLICY=PASSIVE OPENBLAS_CORETYPE=${core:-SkylakeX} \
    "$TRL_PYTHON" bench/trl_peer.py "$STEPS" 2>/dev/null | grep -E '^[a-z_]+ [0-9.a-z]+$')
[ -n "${trl[step_s]:-}" ] || { print_ours; echo "bench: grpo_step_vs_trl failed (bench/trl_peer.py)"; exit 1; }
run_ours "$W/b2.db"
read -r o_step o_roll o_learn o_tok < <(ours_best)
print_ours
printf 'bench: grpo_step_trl %.3f s (TRL %s, torch %s: generate %.3f s, reward %.4f s, update %.3f s of which reference forward %.3f s, %.0f completion tokens)\n' \
    "${trl[step_s]}" "${trl[trl_version]}" "${trl[torch_version]}" "${trl[generate_s]}" "${trl[reward_s]}" \
    "${trl[update_s]}" "${trl[ref_s]}" "${trl[completion_tokens]}"
# At equal work: the two random models draw EOS at slightly different rates,
# so each side's time is per completion token (ours / TRL's token counts
# above) before the ratio; the raw ratio of step times is printed beside it.
ratio() { # name ours_s trl_s
    awk -v n="$1" -v o="$2" -v p="$3" -v ot="$o_tok" -v pt="${trl[completion_tokens]}" 'BEGIN {
        printf "bench: %s %.3f s vs trl %.2fx (per completion token; raw step times %.2fx)\n", n, o, (p / pt) / (o / ot), p / o }'
}
ratio grpo_step_vs_trl "$o_step" "${trl[step_s]}"
ratio grpo_update_vs_trl "$o_learn" "${trl[update_s]}"
ratio grpo_rollout_vs_trl "$o_roll" "$(awk -v g="${trl[generate_s]}" -v r="${trl[reward_s]}" 'BEGIN { print g + r }')"
