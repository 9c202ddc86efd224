#!/usr/bin/env bash
# Every policy loss and advantage estimator beyond plain GRPO learns the toy
# reward end to end: mean reward from chance (~0.06) to above 0.9 in 25 steps.
source "$(dirname "$0")/toy.sh"
for variant in learner.loss=gspo learner.loss=cispo learner.advantage=reinforce_plus_plus \
               learner.advantage=reinforce_plus_plus_baseline learner.kl_estimator=k2; do
    db=${variant//[.=]/_}.db
    toy_train --set db.path="$db" --set run.name=v --set "$variant" >v.log 2>&1 || { cat v.log; exit 1; }
    first=$(sql "$db" "SELECT reward_mean FROM steps WHERE step = 1")
    last=$(sql "$db" "SELECT max(reward_mean) FROM steps WHERE step > 15")
    echo "$variant: step 1 $first, best of steps 16-25 $last"
    awk -v a="$first" -v b="$last" 'BEGIN { exit !(a < 0.3 && b > 0.9) }' || { echo "$variant did not learn"; exit 1; }
done
# TIS needs a sampler other than the policy: temperature 0.8 here.
toy_train --set db.path=tis.db --set run.name=v --set learner.tis=token --set rollout.temperature=0.8 >v.log 2>&1 ||
    { cat v.log; exit 1; }
last=$(sql tis.db "SELECT max(reward_mean) FROM steps WHERE step > 15")
echo "learner.tis=token at temperature 0.8: best of steps 16-25 $last"
awk -v b="$last" 'BEGIN { exit !(b > 0.9) }' || { echo "TIS did not learn"; exit 1; }
if toy_train --set db.path=bad.db --set learner.tis=token >bad.log 2>&1; then echo "TIS with the policy as sampler accepted"; exit 1; fi
grep -q "learner.tis" bad.log || { cat bad.log; exit 1; }
