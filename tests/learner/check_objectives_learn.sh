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
# KL in the reward: once the policy leaves the reference (step 2 on), a
# group whose rewards all agree still gets advantages (from its KLs); without
# the penalty it gets exactly 0.
toy_train --set db.path=klr.db --set run.name=v --set learner.kl_reward=0.05 >v.log 2>&1 || { cat v.log; exit 1; }
last=$(sql klr.db "SELECT max(reward_mean) FROM steps WHERE step > 15")
echo "learner.kl_reward=0.05: best of steps 16-25 $last"
awk -v b="$last" 'BEGIN { exit !(b > 0.9) }' || { echo "kl_reward did not learn"; exit 1; }
zero_var_adv() {
    sql "$1" "SELECT count(*) FROM episodes e JOIN groups g ON g.id = e.group_id
              WHERE g.reward_std = 0 AND e.step >= 2 AND abs(e.advantage) > 0.1"
}
[ "$(zero_var_adv klr.db)" -gt 0 ] || { echo "kl_reward: equal-reward groups got no advantage"; exit 1; }
[ "$(zero_var_adv learner_loss_gspo.db)" = 0 ] || { echo "without kl_reward equal-reward groups got advantages"; exit 1; }
[ "$(sql klr.db "SELECT count(*) FROM episodes e JOIN groups g ON g.id = e.group_id
                 WHERE g.reward_std = 0 AND e.step = 1 AND abs(e.advantage) > 0.05")" = 0 ] ||
    { echo "kl_reward: step 1 (policy = reference, KL only rounding) moved advantages"; exit 1; }

# TIS needs a sampler other than the policy: temperature 0.8 here.
toy_train --set db.path=tis.db --set run.name=v --set learner.tis=token --set rollout.temperature=0.8 >v.log 2>&1 ||
    { cat v.log; exit 1; }
last=$(sql tis.db "SELECT max(reward_mean) FROM steps WHERE step > 15")
echo "learner.tis=token at temperature 0.8: best of steps 16-25 $last"
awk -v b="$last" 'BEGIN { exit !(b > 0.9) }' || { echo "TIS did not learn"; exit 1; }
if toy_train --set db.path=bad.db --set learner.tis=token >bad.log 2>&1; then echo "TIS with the policy as sampler accepted"; exit 1; fi
grep -q "learner.tis" bad.log || { cat bad.log; exit 1; }
