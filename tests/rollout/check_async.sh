#!/usr/bin/env bash
# Asynchronous rollouts (rollout.async) stay reproducible: step s is sampled
# by the weights after step s - 1 - max_staleness whatever the timing, so an
# async run is the same twice, with 0, 1 or 2 workers, and with 2 learners;
# the episodes record the policy version that sampled them.
source "$(dirname "$0")/../learner/toy.sh"
TOY_STEPS=6
TOY+=(--set run.steps=6)
MPI=(mpirun --oversubscribe)
ASYNC=(--set rollout.async=1 --set learner.tis=token)
run() {
    local name=$1; shift
    "$@" --set db.path=$name.db --set run.name=$name >$name.log 2>&1 || { cat $name.log; echo "run $name failed"; exit 1; }
}
final_sha() { sql "$1" "SELECT sha256 FROM checkpoints WHERE step = 6"; }
same() {
    local ref=$1; shift
    for n in "$@"; do
        [ "$(fingerprint $ref.db)" = "$(fingerprint $n.db)" ] || { echo "run $n differs from $ref"; exit 1; }
        [ -n "$(final_sha $ref.db)" ] && [ "$(final_sha $ref.db)" = "$(final_sha $n.db)" ] ||
            { echo "final weights of $n differ from $ref"; exit 1; }
    done
}
# versions(db): "step:version" of every step's episodes (one version per step)
versions() { sql "$1" "SELECT group_concat(v, ' ') FROM (SELECT step || ':' || group_concat(DISTINCT policy_version) AS v FROM episodes GROUP BY step ORDER BY step)"; }

run sync toy_train
run a toy_train "${ASYNC[@]}"
run again toy_train "${ASYNC[@]}"
run w1 "${MPI[@]}" -np 2 "$GRPO" train "$CONFIG" "${TOY[@]}" "${ASYNC[@]}"
run w2 "${MPI[@]}" -np 3 "$GRPO" train "$CONFIG" "${TOY[@]}" "${ASYNC[@]}"
run l2w2 "${MPI[@]}" -np 4 "$GRPO" train "$CONFIG" "${TOY[@]}" "${ASYNC[@]}" --set run.learners=2
same a again w1 w2 l2w2
[ "$(fingerprint sync.db)" != "$(fingerprint a.db)" ] || { echo "async run equals the synchronous one"; exit 1; }
# one step off-policy: steps 1 and 2 by the base weights (version 0), step s by version s - 2
[ "$(versions a.db)" = '1:0 2:0 3:1 4:2 5:3 6:4' ] || { echo "versions: $(versions a.db)"; exit 1; }
[ "$(versions sync.db)" = '1:0 2:1 3:2 4:3 5:4 6:5' ] || { echo "sync versions: $(versions sync.db)"; exit 1; }
echo "async: same run twice, with 0, 1, 2 workers and 2 learners; versions lag by one"

# staleness (view episode_staleness): 0 for step 1, then 1
[ "$(sql a.db "SELECT group_concat(x, ' ') FROM (SELECT step || ':' || group_concat(DISTINCT staleness) AS x FROM episode_staleness GROUP BY step ORDER BY step)")" = '1:0 2:1 3:1 4:1 5:1 6:1' ] ||
    { echo "staleness wrong"; exit 1; }
# the sampler/learner log-prob mismatch: on-policy step 1 only float rounding
# (decode vs the batched training forward), stale steps far more; not
# computed (NULL) when the learner takes the sampler's log-probs as its own
[ "$(sql a.db "SELECT lp_mismatch < 1e-5 FROM steps WHERE step = 1")" = 1 ] || { echo "on-policy mismatch too large"; exit 1; }
[ "$(sql a.db "SELECT min(lp_mismatch) > 1e-3 FROM steps WHERE step > 1")" = 1 ] || { echo "stale steps show no mismatch"; exit 1; }
[ "$(sql sync.db "SELECT count(lp_mismatch) FROM steps")" = 0 ] || { echo "sync run logged a mismatch it did not compute"; exit 1; }
echo "staleness and log-prob mismatch logged per step"

S2=(--set rollout.async=1 --set rollout.max_staleness=2 --set learner.tis=sequence)
run s2 toy_train "${S2[@]}"
run s2w2 "${MPI[@]}" -np 3 "$GRPO" train "$CONFIG" "${TOY[@]}" "${S2[@]}"
same s2 s2w2
[ "$(versions s2.db)" = '1:0 2:0 3:0 4:1 5:2 6:3' ] || { echo "staleness 2 versions: $(versions s2.db)"; exit 1; }
echo "max_staleness 2: versions lag by two; 0 workers = 2 workers"

# settings async cannot honour, or that would go unused, are refused
bad() {
    set +e
    "$GRPO" train "$CONFIG" "${TOY[@]}" --set db.path=bad.db "$@" >bad.log 2>&1
    local rc=$?
    set -e
    [ $rc = 2 ] || { cat bad.log; echo "rc $rc for $*"; exit 1; }
}
bad --set rollout.max_staleness=2
grep -q "rollout.max_staleness = 2 is used only with rollout.async = 1" bad.log || { cat bad.log; exit 1; }
bad --set rollout.async=1 --set learner.filter_zero_var=1
grep -q "rollout.async = 1 with learner.filter_zero_var = 1" bad.log || { cat bad.log; exit 1; }
echo "unusable settings refused"
