#!/usr/bin/env bash
# Grading overlaps sampling (rollout.overlap_grading): while a batch of
# groups decodes, the previous batch's programs run in the sandbox.  The run
# must be bitwise the same as with grading after each batch: every
# completion, reward, advantage, sandbox verdict and step metric, on one rank
# and from an MPI worker.  16 prompts x 4 samples make 2 decode batches of 32
# rows (model max_batch), so the overlap does happen.
source "$(dirname "$0")/../learner/toy.sh"
code_base
RUN=("${CODE[@]}" --set reward.components=format,accuracy_code --set run.steps=2
     --set rollout.prompts_per_step=16 --set rollout.group_size=4 --set rollout.max_new_tokens=150
     --set eval.every=0 --set eval.items=1 --set eval.k=1)
for overlap in true false; do
    "$GRPO" train "$CONFIG" "${RUN[@]}" --set rollout.overlap_grading=$overlap --set db.path=$overlap.db \
        >$overlap.log 2>&1 || { cat $overlap.log; exit 1; }
done
mpirun -np 2 --oversubscribe "$GRPO" train "$CONFIG" "${RUN[@]}" --set db.path=mpi.db >mpi.log 2>&1 ||
    { cat mpi.log; exit 1; }
verdicts() {
    sql "$1" "SELECT e.step, e.group_id, e.sample, s.test, s.verdict, s.message FROM sandbox_runs s
              JOIN episodes e ON e.id = s.episode_id ORDER BY e.id, s.test" | md5sum
}
runs=$(sql true.db "SELECT count(*) FROM sandbox_runs")
[ "$runs" -gt 0 ] || { echo "no program ran: nothing was graded"; exit 1; }
for db in false.db mpi.db; do
    [ "$(fingerprint true.db)" = "$(fingerprint $db)" ] || { echo "overlapped grading differs from $db"; exit 1; }
    [ "$(verdicts true.db)" = "$(verdicts $db)" ] || { echo "sandbox verdicts differ from $db"; exit 1; }
done
[ "$(sql true.db "SELECT count(*) FROM steps WHERE t_collect > 0 AND t_rollout > 0")" = 2 ] ||
    { echo "steps lack their time breakdown"; exit 1; }
echo "overlapped, sequential and 2-rank runs agree ($runs sandbox runs)"
sql true.db "SELECT step, round(t_collect, 2), round(t_rollout, 2), round(t_reward, 2) FROM steps"
sql false.db "SELECT step, round(t_collect, 2), round(t_rollout, 2), round(t_reward, 2) FROM steps"
