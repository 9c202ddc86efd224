#!/usr/bin/env bash
# Every stop is clean: SIGTERM and SIGHUP stop a run like Ctrl-C (the step
# finished, checkpointed, runs.status 'stopped', exit 128 + signal); a run
# that reaches run.max_minutes says so and is 'time_limit', not 'done'; an
# interrupted `grpo pretrain` leaves no base model for `grpo train` to pick
# up, and --resume finishes it.
source "$(dirname "$0")/toy.sh"

stop_with() { # SIGNAL EXIT_STATUS NAME
    "$GRPO" train "$CONFIG" "${TOY[@]}" --set run.steps=100000 --set db.path=$3.db --set run.name=$3 >$3.log 2>&1 &
    local pid=$! rc=0
    wait_for_steps $3.db 2
    kill -$1 $pid
    wait $pid || rc=$?
    [ $rc = $2 ] || { cat $3.log; echo "SIG$1: exit $rc, expected $2"; exit 1; }
    [ "$(sql $3.db "SELECT status FROM runs")" = stopped ] || { echo "SIG$1: run not marked stopped"; exit 1; }
    [ "$(sql $3.db "SELECT max(step) FROM checkpoints")" = "$(sql $3.db "SELECT max(step) FROM steps")" ] ||
        { echo "SIG$1: no checkpoint of the last step"; exit 1; }
    grep -q "continue it with: grpo train CONFIG --resume" $3.log || { cat $3.log; exit 1; }
    echo "SIG$1: step finished, checkpointed, status stopped, exit $rc"
}
stop_with TERM 143 term
stop_with HUP 129 hup

toy_train --set run.steps=100000 --set run.max_minutes=0.0001 --set db.path=tl.db --set run.name=tl >tl.log 2>&1 ||
    { cat tl.log; exit 1; }
[ "$(sql tl.db "SELECT status FROM runs")" = time_limit ] || { echo "max_minutes: status $(sql tl.db "SELECT status FROM runs")"; exit 1; }
grep -q "run.max_minutes (0.0001) reached" tl.log || { cat tl.log; exit 1; }
echo "run.max_minutes: status time_limit, said so"

# pretraining stopped by SIGTERM: no base model, partial checkpoints only
P=(--set run.name=pre --set db.path=pre.db --set pretrain.steps=100000 --set pretrain.checkpoint_every=0)
"$GRPO" pretrain "$CONFIG" "${P[@]}" >pre.log 2>&1 &
pid=$!
wait_for_steps pre.db 20
kill -TERM $pid
rc=0; wait $pid || rc=$?
[ $rc = 143 ] || { cat pre.log; echo "pretrain SIGTERM: exit $rc"; exit 1; }
[ ! -e runs/pre/base.safetensors ] || { echo "an interrupted pretraining left runs/pre/base.safetensors"; exit 1; }
[ "$(sql pre.db "SELECT status FROM runs")" = stopped ] || { echo "pretraining not marked stopped"; exit 1; }
ls runs/pre/run-1/base-step*.safetensors >/dev/null || { echo "no partial checkpoint to resume from"; exit 1; }
if "$GRPO" train "$CONFIG" --set run.name=pre --set db.path=pre.db --set run.steps=1 >tr.log 2>&1; then
    echo "grpo train started from an unfinished base model"; exit 1
fi
grep -q "grpo pretrain" tr.log || { cat tr.log; exit 1; }
done_steps=$(sql pre.db "SELECT max(step) FROM steps")
"$GRPO" pretrain "$CONFIG" "${P[@]}" --set pretrain.steps=100000 --set pretrain.stop_at=$((done_steps + 5)) --resume >pre2.log 2>&1 ||
    { cat pre2.log; exit 1; }
grep -q "resuming .*base-step0*$done_steps.safetensors at step $done_steps" pre2.log || { cat pre2.log; exit 1; }
echo "pretrain SIGTERM: exit 143, no base model, train refuses, --resume continues from step $done_steps"

# under mpirun: SIGTERM (and Ctrl-C, which mpirun forwards as SIGTERM) to mpirun
# reaches every rank; the learner finishes the step, checkpoints, marks 'stopped'
mpirun -np 3 --oversubscribe "$GRPO" train "$CONFIG" "${TOY[@]}" --set run.steps=100000 --set db.path=mpi.db \
    --set run.name=mpi >mpi.log 2>&1 &
pid=$!
wait_for_steps mpi.db 3
kill -TERM $pid
rc=0; wait $pid || rc=$?
[ $rc != 0 ] || { echo "mpirun stopped by SIGTERM exited 0"; exit 1; }
[ "$(sql mpi.db "SELECT status FROM runs")" = stopped ] || { cat mpi.log; echo "mpirun SIGTERM: run left '$(sql mpi.db "SELECT status FROM runs")'"; exit 1; }
[ "$(sql mpi.db "SELECT max(step) FROM checkpoints")" = "$(sql mpi.db "SELECT max(step) FROM steps")" ] ||
    { echo "mpirun SIGTERM: no checkpoint of the last step"; exit 1; }
echo "mpirun SIGTERM: every rank stopped cleanly, run stopped with a checkpoint of its last step"

# one pretraining of a name at a time; a second Ctrl-C stops at once
"$GRPO" pretrain "$CONFIG" --set run.name=twice --set db.path=tw.db --set pretrain.steps=100000 >tw1.log 2>&1 &
pid=$!
wait_for_steps tw.db 20
rc=0; "$GRPO" pretrain "$CONFIG" --set run.name=twice --set db.path=tw.db --set pretrain.steps=100000 >tw2.log 2>&1 || rc=$?
[ $rc = 2 ] && grep -q "the base model 'twice' is being trained by another process (pid $pid" tw2.log ||
    { kill -9 $pid; cat tw2.log; echo "a second pretraining of the same name: exit $rc"; exit 1; }
kill -INT $pid; kill -INT $pid
rc=0; wait $pid || rc=$?
[ $rc = 130 ] || { cat tw1.log; echo "two Ctrl-C: exit $rc"; exit 1; }
echo "a second pretraining of a name refused with the holder's pid; two Ctrl-C end it with 130"
