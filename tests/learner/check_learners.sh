#!/usr/bin/env bash
# Data-parallel learners (run.learners = L): the same seed gives the same
# run, bit for bit, for any L and any number of rollout workers: 1 rank vs
# 2 learners vs 2 learners + 1 worker vs 3 learners + 2 workers (one of them
# owns no chunk of the batch's two); several minibatches and epochs; a
# resume with 2 learners after a worker failure.  Only learner 0 writes.
source "$(dirname "$0")/toy.sh"
TOY_STEPS=6
TOY+=(--set run.steps=6)
MPI=(mpirun --oversubscribe)
run() { # name, then the command
    local name=$1; shift
    "$@" --set db.path=$name.db --set run.name=$name >$name.log 2>&1 || { cat $name.log; echo "run $name failed"; exit 1; }
}
final_sha() { sql "$1" "SELECT sha256 FROM checkpoints WHERE step = 6"; }
same() { # reference, others: episodes, step metrics and final weights all equal
    local ref=$1; shift
    for n in "$@"; do
        [ "$(fingerprint $ref.db)" = "$(fingerprint $n.db)" ] || { echo "run $n differs from $ref"; exit 1; }
        [ -n "$(final_sha $ref.db)" ] && [ "$(final_sha $ref.db)" = "$(final_sha $n.db)" ] ||
            { echo "final weights of $n differ from $ref"; exit 1; }
    done
}

run one toy_train
run l2 "${MPI[@]}" -np 2 "$GRPO" train "$CONFIG" "${TOY[@]}" --set run.learners=2
run l2w1 "${MPI[@]}" -np 3 "$GRPO" train "$CONFIG" "${TOY[@]}" --set run.learners=2
run l3w2 "${MPI[@]}" -np 5 "$GRPO" train "$CONFIG" "${TOY[@]}" --set run.learners=3
same one l2 l2w1 l3w2
for n in l2 l2w1 l3w2; do
    [ "$(sql $n.db "SELECT count(*) FROM runs")" = 1 ] || { echo "$n: more than one run row"; exit 1; }
done
[ "$(sql l3w2.db "SELECT group_concat(w) FROM (SELECT DISTINCT worker AS w FROM episodes ORDER BY w)")" = "\"3,4\"" ] ||
    { echo "workers are not world ranks 3 and 4"; exit 1; }
echo "1 rank = 2 learners = 2 learners + 1 worker = 3 learners + 2 workers, bit for bit"

MB=(--set learner.minibatch=24 --set learner.epochs=2 --set learner.kl_reward=0.05)
run mb1 toy_train "${MB[@]}"
run mb3 "${MPI[@]}" -np 3 "$GRPO" train "$CONFIG" "${TOY[@]}" "${MB[@]}" --set run.learners=3
same mb1 mb3
[ "$(fingerprint one.db)" != "$(fingerprint mb1.db)" ] || { echo "minibatch settings changed nothing"; exit 1; }
echo "3 minibatches x 2 epochs, KL in the reward: 1 learner = 3 learners"

# a worker fails at step 4 (checkpoint at step 2); resumed with 2 learners
set +e
GRPO_FAULT_WORKER=2:4 "${MPI[@]}" -np 3 "$GRPO" train "$CONFIG" "${TOY[@]}" --set run.learners=2 \
    --set db.path=cut.db --set run.name=one >cut.log 2>&1
rc=$?
set -e
[ $rc = 1 ] && grep -q "rollout worker rank 2 failed" cut.log || { cat cut.log; echo "worker failure not reported (rc $rc)"; exit 1; }
"${MPI[@]}" -np 3 "$GRPO" train "$CONFIG" "${TOY[@]}" --set run.learners=2 --set db.path=cut.db \
    --set run.name=one --resume >resume.log 2>&1 || { cat resume.log; exit 1; }
same one cut
echo "2 learners resumed after a worker failure: same run"

# more learners than ranks is a clear error
set +e
"$GRPO" train "$CONFIG" "${TOY[@]}" --set run.learners=2 --set db.path=bad.db >bad.log 2>&1
rc=$?
set -e
[ $rc = 2 ] && grep -q "run.learners = 2, but the job has 1 MPI rank" bad.log || { cat bad.log; echo "rc $rc"; exit 1; }
echo "run.learners above the rank count refused"
