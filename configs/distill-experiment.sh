#!/usr/bin/env bash
# The distillation experiment of issue 15, in miniature, on the demo's task:
#   teacher  the demo's GRPO policy (configs/r1zero-arith.ini: pretrain + train)
#   student  configs/distill-student.ini: a quarter of the parameters,
#            pretrained on the same imperfect corpus
#   (a) student base                 (the step-0 eval of the distill run)
#   (b) base + GRPO for as long as (c) takes in total
#   (c) base distilled from the teacher's correct traces: rejection sampling
#       (512 prompts x 8 samples) then SFT (600 steps of 32)
#   (d) (c) followed by a short GRPO (100 steps)
#   (e) (c)'s traces with distill.objective = forward_kl (the teacher's
#       whole next-token distribution on them), (f) on_policy (the student
#       samples on (c)'s prompts, the teacher scores every token, reverse KL)
# Every figure is read back from the database; wall times are the runs'
# started..finished.  Run from the repository root:
#   configs/distill-experiment.sh            (GRPO=path/to/grpo to pick the binary)
# A teacher already trained in distill-experiment.db is reused; the student
# runs must not exist yet (remove distill-experiment.db and runs/distill-student*
# to start over).
set -eu
G=${GRPO:-./grpo}
T=configs/r1zero-arith.ini S=configs/distill-student.ini DB=distill-experiment.db
q() { "$G" query "$DB" "$1" --csv | tail -n +2; }
secs() { q "SELECT CAST(round((julianday(finished) - julianday(started)) * 86400) AS INT) FROM runs WHERE name = '$1' ORDER BY id DESC LIMIT 1"; }

teachers=$(q "SELECT count(*) FROM runs WHERE name = 'r1zero-arith' AND kind = 'train' AND status = 'done'" 2>/dev/null)
if [ "${teachers:-0}" = 0 ]; then
    "$G" pretrain $T --set db.path=$DB
    "$G" train $T --set db.path=$DB
fi
students=$(q "SELECT count(*) FROM runs WHERE name LIKE 'student-%'")
[ "${students:-0}" = 0 ] ||
    { echo "student runs already in $DB; remove it (and runs/distill-student*) to rerun" >&2; exit 2; }
TEACHER=$(q "SELECT path FROM checkpoints WHERE pruned IS NULL AND run_id = (SELECT max(id) FROM runs
             WHERE name = 'r1zero-arith' AND kind = 'train') ORDER BY step DESC LIMIT 1")
echo "teacher: $TEACHER"

"$G" pretrain $S --set run.name=distill-student-base
"$G" distill $S --teacher "$TEACHER" --set run.name=student-distill          # (c) (and (a) at step 0)
c_secs=$(( $(secs student-distill-teacher) + $(secs student-distill) ))
"$G" train $S --set run.name=student-grpo --set run.max_minutes=$(awk -v s=$c_secs 'BEGIN { print s / 60 }')  # (b)
DISTILLED=$(q "SELECT path FROM checkpoints WHERE run_id = (SELECT max(id) FROM runs WHERE name = 'student-distill')
               ORDER BY step DESC LIMIT 1")
"$G" train $S --set run.name=student-distill-grpo --set model.checkpoint="$DISTILLED" --set run.steps=100  # (d)
SAMPLES_RUN=$(q "SELECT max(id) FROM runs WHERE name = 'student-distill-teacher'")
for obj in forward_kl on_policy; do                                             # (e), (f)
    "$G" distill $S --from-db $DB --where "run_id = $SAMPLES_RUN AND correct = 1" --teacher "$TEACHER" \
        --set distill.samples=0 --set distill.objective=$obj --set run.name=student-$obj
done

echo
echo "held-out split: 200 items, pass@1 and pass@8 from 8 samples at T=1, maj@8, format"
"$G" query "$DB" "
WITH arms(arm, run, at_step, secs) AS (VALUES
    ('(a) student base', 'student-distill', 0, 0),
    ('(b) base + GRPO', 'student-grpo', NULL, $(secs student-grpo)),
    ('(c) distilled (sft on teacher traces)', 'student-distill', NULL, $c_secs),
    ('(d) (c) + GRPO', 'student-distill-grpo', NULL, $c_secs + $(secs student-distill-grpo)),
    ('(e) forward KL on (c)''s traces', 'student-forward_kl', NULL, $(secs student-distill-teacher) + $(secs student-forward_kl)),
    ('(f) on-policy reverse KL', 'student-on_policy', NULL, $(secs student-distill-teacher) + $(secs student-on_policy)),
    ('teacher (demo policy)', 'r1zero-arith', NULL, NULL)),
last AS (SELECT a.arm, a.secs, r.id AS run_id, coalesce(a.at_step, (SELECT max(step) FROM evals
         WHERE run_id = r.id)) AS step FROM arms a JOIN runs r ON r.id = (SELECT max(id) FROM runs
         WHERE name = a.run AND kind IN ('train', 'distill')))
SELECT arm, step,
       (SELECT round(value, 3) FROM evals e WHERE e.run_id = l.run_id AND e.step = l.step AND metric = 'pass@1') AS pass1,
       (SELECT round(value, 3) FROM evals e WHERE e.run_id = l.run_id AND e.step = l.step AND metric = 'pass@8') AS pass8,
       (SELECT round(value, 3) FROM evals e WHERE e.run_id = l.run_id AND e.step = l.step AND metric = 'maj@8') AS maj8,
       (SELECT round(value, 3) FROM evals e WHERE e.run_id = l.run_id AND e.step = l.step AND metric = 'format') AS format,
       secs AS wall_s
FROM last l"
echo
echo "the traces that taught (c), and how correct they were:"
"$G" query "$DB" "SELECT teacher, teacher_kind, count(*) AS traces, count(DISTINCT prompt_id) AS prompts,
                         avg(correct) AS accuracy FROM distill_traces WHERE student = 'student-distill' GROUP BY teacher_run"
"$G" query "$DB" "SELECT count(*) AS teacher_samples, avg(correct) AS teacher_accuracy FROM episodes
                  WHERE run_id = (SELECT max(id) FROM runs WHERE name = 'student-distill-teacher')"
