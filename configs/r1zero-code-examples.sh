#!/usr/bin/env bash
# What the code demo's policy learned, from the run database (what
# `make run-code` prints after training; run it again any time):
#   configs/r1zero-code-examples.sh [DB] [RUN_NAME]     (grpo.db, r1zero-code)
# The held-out figures (evals), the learning curve (learning_curve view), how
# the training completions changed between the first and the last 10 steps
# (episodes), and before/after programs for the same function: a wrong but
# well-formed completion of step 1 next to a passing one of the last 10 steps.
set -eu
DB=${1:-grpo.db}
NAME=${2:-r1zero-code}
GRPO=${GRPO:-./grpo}
[ -f "$DB" ] || { echo "no database $DB" >&2; exit 2; }
q() { "$GRPO" query "$DB" "$1"; }
name=${NAME//\'/\'\'}
RUN="(SELECT max(id) FROM runs WHERE name = '$name' AND kind = 'train')"
[ -n "$("$GRPO" query "$DB" "SELECT $RUN" --csv | tail -n +2)" ] ||
    { echo "no GRPO run named $NAME in $DB" >&2; exit 2; }
LAST="(SELECT max(step) FROM episodes WHERE run_id = $RUN)"
FN="substr(p.text, instr(p.text, 'function ') + 9, instr(p.text, '(') - instr(p.text, 'function ') - 9)"

echo "== Held-out items (evals; K = 3 mod 7, never seen in training)"
q "SELECT step, round(max(CASE WHEN metric = 'pass@1' THEN value END), 3) AS pass_at_1,
          round(max(CASE WHEN metric = 'greedy' THEN value END), 3) AS greedy,
          round(max(CASE WHEN metric = 'format' THEN value END), 3) AS format,
          round(max(CASE WHEN metric = 'recheck' THEN value END), 3) AS recheck
   FROM evals WHERE run_id = $RUN AND split = 'heldout' GROUP BY step ORDER BY step"

echo
echo "== Learning curve (learning_curve view, every 10th step)"
q "SELECT step, round(reward_mean, 3) AS reward, round(accuracy, 3) AS accuracy,
          round(format_rate, 3) AS format, round(recheck_rate, 3) AS recheck,
          round(response_len_mean, 1) AS len, round(kl, 4) AS kl
   FROM learning_curve WHERE run_id = $RUN AND (step % 10 = 0 OR step = 1) ORDER BY step"

echo
echo "== Training completions, first vs last 10 steps (episodes)"
q "SELECT CASE WHEN step <= 10 THEN 'first 10 steps' ELSE 'last 10 steps' END AS steps,
          count(*) AS completions, round(avg(correct), 3) AS pass,
          round(avg(1 - format_ok), 3) AS format_broken,
          round(avg(format_ok AND NOT correct), 3) AS well_formed_but_wrong,
          round(avg(completion LIKE '%wait%'), 3) AS says_wait
   FROM episodes WHERE run_id = $RUN AND (step <= 10 OR step > $LAST - 10)
   GROUP BY 1 ORDER BY 1"

echo
echo "== Why well-formed programs failed, first vs last 10 steps (sandbox_runs, first failing test)"
q "SELECT CASE WHEN e.step <= 10 THEN 'first 10 steps' ELSE 'last 10 steps' END AS steps,
          s.verdict, count(*) AS programs
   FROM episodes e JOIN sandbox_runs s ON s.episode_id = e.id
   WHERE e.run_id = $RUN AND e.format_ok AND NOT e.correct AND (e.step <= 10 OR e.step > $LAST - 10)
     AND s.test = (SELECT min(test) FROM sandbox_runs x WHERE x.episode_id = e.id AND x.verdict <> 'OK')
   GROUP BY 1, 2 ORDER BY 1, 3 DESC"

echo
echo "== Before and after: the same function at step 1 (wrong) and in the last 10 steps (passing)"
q "SELECT e.step, $FN AS function, e.reward, e.completion
   FROM episodes e JOIN prompts p ON p.id = e.prompt_id
   WHERE e.id IN (
     SELECT min(e.id) FROM episodes e JOIN prompts p ON p.id = e.prompt_id
       WHERE e.run_id = $RUN AND e.step = 1 AND e.format_ok AND NOT e.correct GROUP BY $FN
     UNION ALL
     SELECT max(e.id) FROM episodes e JOIN prompts p ON p.id = e.prompt_id
       WHERE e.run_id = $RUN AND e.step > $LAST - 10 AND e.correct AND e.format_ok
         AND $FN IN (SELECT $FN FROM episodes e JOIN prompts p ON p.id = e.prompt_id
                     WHERE e.run_id = $RUN AND e.step = 1 AND e.format_ok AND NOT e.correct)
       GROUP BY $FN)
   ORDER BY function, e.step"
