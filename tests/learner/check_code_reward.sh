#!/usr/bin/env bash
# GRPO on code tasks: completions are graded by running their programs in
# the sandbox, and every test run lands in sandbox_runs, on one rank and
# when the runs come back from an MPI worker.
source "$(dirname "$0")/toy.sh"
code_base
RUN=("${CODE[@]}" --set reward.components=format,accuracy_code --set run.steps=2
     --set rollout.prompts_per_step=2 --set rollout.group_size=4 --set rollout.max_new_tokens=150
     --set eval.every=0 --set eval.items=1 --set eval.k=1)
"$GRPO" train "$CONFIG" "${RUN[@]}" --set db.path=one.db >one.log 2>&1 || { cat one.log; exit 1; }
mpirun -np 2 "$GRPO" train "$CONFIG" "${RUN[@]}" --set db.path=two.db >two.log 2>&1 || { cat two.log; exit 1; }
for db in one.db two.db; do
    runs=$(sql $db "SELECT count(*) FROM sandbox_runs")
    bad=$(sql $db "SELECT count(*) FROM sandbox_runs s JOIN episodes e ON e.id = s.episode_id
                   WHERE s.verdict NOT IN ('OK', 'WRONG_ANSWER', 'RUNTIME_ERROR', 'TIME_LIMIT',
                                           'MEMORY_LIMIT', 'OUTPUT_LIMIT', 'SANDBOX_ERROR')
                      OR s.wall_ms IS NULL OR e.id NOT IN (SELECT episode_id FROM reward_parts
                                                           WHERE name = 'accuracy_code')")
    echo "$db: $runs sandbox runs logged"
    [ "$runs" -gt 0 ] && [ "$bad" = 0 ] || { echo "$db: $runs runs, $bad malformed"; exit 1; }
    # Why each failing test failed is one query: a message on every failed
    # row (the Python exception and the statement that raised it), none on a
    # passed one.
    unexplained=$(sql $db "SELECT count(*) FROM sandbox_runs WHERE (verdict = 'OK') = (message IS NOT NULL)")
    python_errors=$(sql $db "SELECT count(*) FROM sandbox_runs WHERE verdict IN ('WRONG_ANSWER', 'RUNTIME_ERROR')
                             AND message GLOB '*Error*'")
    [ "$unexplained" = 0 ] && [ "$python_errors" -gt 0 ] ||
        { echo "$db: $unexplained rows without a message or with one they should not have, $python_errors Python errors";
          sql $db "SELECT verdict, message FROM sandbox_runs LIMIT 20"; exit 1; }
    sql $db "SELECT e.id, s.test, s.verdict, s.message FROM sandbox_runs s JOIN episodes e ON e.id = s.episode_id
             WHERE s.verdict != 'OK' LIMIT 3"
done
[ "$(fingerprint one.db)" = "$(fingerprint two.db)" ] || { echo "1 rank and 2 ranks differ"; exit 1; }
