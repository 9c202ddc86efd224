#!/usr/bin/env bash
# GRPO learns a toy reward: the mean reward climbs from chance (~0.06) to
# above 0.9 within 25 steps, with one rank and with 3 MPI ranks, and the two
# runs are the same run (same rollouts, same updates).
source "$(dirname "$0")/toy.sh"
toy_train --set db.path=one.db --set run.name=one >one.log 2>&1 || { cat one.log; exit 1; }
mpirun -np 3 --oversubscribe "$GRPO" train "$CONFIG" "${TOY[@]}" --set db.path=three.db \
    --set run.name=one >three.log 2>&1 || { cat three.log; exit 1; }
first=$(sql one.db "SELECT reward_mean FROM steps WHERE step = 1")
last=$(sql one.db "SELECT max(reward_mean) FROM steps WHERE step > 15")
echo "toy reward: step 1 $first, best of steps 16-25 $last"
awk -v a="$first" -v b="$last" 'BEGIN { exit !(a < 0.3 && b > 0.9) }' || { echo "did not learn"; exit 1; }
workers=$(sql three.db "SELECT group_concat(worker, '+') FROM (SELECT DISTINCT worker FROM episodes ORDER BY worker)")
[ "$workers" = "1+2" ] || { echo "3 ranks: episodes came from workers '$workers', expected 1+2"; exit 1; }
[ "$(fingerprint one.db)" = "$(fingerprint three.db)" ] || { echo "1 rank and 3 ranks differ"; exit 1; }
echo "1 rank and 3 ranks: identical episodes and step metrics"

# DAPO dynamic sampling: groups whose rewards all agree are dropped and
# replaced by fresh prompts (at most 3 refill rounds), and logged as filtered.
toy_train --set db.path=dapo.db --set run.name=dapo --set run.steps=3 \
    --set learner.filter_zero_var=true >dapo.log 2>&1 || { cat dapo.log; exit 1; }
read -r groups filtered <<<"$(sql dapo.db "SELECT count(*), sum(filtered) FROM groups WHERE step = 1" | tr , ' ')"
echo "dynamic sampling, step 1: $groups groups drawn, $filtered dropped"
[ "$groups" -gt 8 ] && [ "$filtered" -gt 0 ] && [ $((groups - filtered)) -le 8 ] ||
    { echo "dynamic sampling did not refill"; exit 1; }
