# Sourced by the learner's check scripts: a toy GRPO run on a random-init
# tiny model whose reward is 1 when the 4-token completion contains "7".
# By chance about 1.5% of tokens are "7", so a completion starts near 6%.
set -eu
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMP_NUM_THREADS=1 # same thread count on every rank and every run: bitwise comparisons
GRPO=${GRPO:-$PWD/grpo}
CONFIG=$PWD/configs/smoke.ini
WORK=$(mktemp -d /tmp/grpo-toy.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

# The random-init base model every toy run starts from.
"$GRPO" pretrain "$CONFIG" --set run.name=base --set pretrain.steps=0 --set db.path=base.db >/dev/null 2>&1

TOY=(--set model.checkpoint=runs/base/base.safetensors --set run.steps=${TOY_STEPS:-25}
     --set rollout.prompts_per_step=8 --set rollout.group_size=8 --set rollout.max_new_tokens=4
     --set rollout.stop= --set reward.components=format --set reward.format_pattern=7
     --set reward.format_strict=false --set learner.lr=3e-2 --set learner.beta=0.01
     --set eval.every=0 --set eval.items=4 --set eval.k=2 --set learner.checkpoint_every=2)

toy_train() { "$GRPO" train "$CONFIG" "${TOY[@]}" "$@"; }

# For the tests that grade programs: code tasks at a context that fits them,
# and code_base pretrains their base (runs/code/base.safetensors) briefly.
CODE=(--set run.name=code --set model.max_seq=256 --set model.dim=64 --set tasks.kind=code)
code_base() {
    "$GRPO" pretrain "$CONFIG" "${CODE[@]}" --set pretrain.steps=150 --set db.path=base.db >pre.log 2>&1 ||
        { cat pre.log; exit 1; }
}

sql() { "$GRPO" query "$1" "$2" --csv | tail -n +2; }

# Everything a run wrote that must be identical between two equivalent runs.
fingerprint() {
    sql "$1" "SELECT e.step, e.sample, p.text, e.completion, e.reward, round(e.advantage, 9), e.policy_version
              FROM episodes e JOIN prompts p ON p.id = e.prompt_id ORDER BY e.step, e.group_id, e.sample" | md5sum
    sql "$1" "SELECT step, round(reward_mean, 9), round(kl, 7), round(loss, 7), round(grad_norm, 6)
              FROM steps ORDER BY step" | md5sum
}

# Wait (at most 30 s) until database $1 holds at least $2 committed steps.
wait_for_steps() {
    for _ in $(seq 1 600); do
        n=$(sql "$1" "SELECT count(*) FROM steps" 2>/dev/null || echo 0)
        [ "${n:-0}" -ge "$2" ] && return 0
        sleep 0.05
    done
}
