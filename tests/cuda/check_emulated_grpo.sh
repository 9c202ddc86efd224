#!/usr/bin/env bash
# `grpo train --set model.device=cuda` on the CPU stand-in for a GPU
# (build/cuda-emu/grpo: model/ops_cuda.cu's kernels compiled as C++ with
# blocks and threads emulated, see tests/cuda/emulate.sh), through the same
# model.c and sample.c as the CPU backend.  The toy GRPO run of
# tests/learner/toy.sh, at 8 prompts x 8 samples:
#   1. it learns: mean reward from chance to > 0.8 within 10 steps;
#   2. it matches the CPU backend: the same episodes (every sampled token
#      equal), sampling log-probs and step metrics (loss, KL, grad norm,
#      entropy) within 1e-5 for 5 steps (1e-4 for the next 5: lr 3e-2
#      grows the rounding with each update);
#   3. killed with SIGKILL mid-run and resumed, it ends bit for bit as the
#      uninterrupted run (episodes and step metrics at full precision, the
#      final weights), so separate runs repeat exactly;
#   4. with 3 MPI ranks (the weights broadcast to the 2 workers through
#      host memory each step) its first 3 steps are the 1-rank run's, bit
#      for bit;
#   5. a grpo without CUDA refuses model.device = cuda, naming the key.
# On a GPU machine tests/cuda/run_on_gpu.sh runs it with CUDA_GRPO=<a grpo
# built with make CUDA=1> and ON_GPU=1: then 2 and 4 are left out (the GPU
# sums in another order than the CPU; its runs must still repeat exactly);
# MATMUL=bf16 (or tf32) runs the device's products so (model.matmul).
set -eu
EMU=${CUDA_GRPO:-$PWD/${BUILD:-build}/cuda-emu/grpo}
ON_GPU=${ON_GPU:-0}
[ -x "$EMU" ] || { echo "$EMU is missing (make cuda-emu)"; exit 1; }
TOY_STEPS=10
source "$(dirname "$0")/../learner/toy.sh"
TOY+=(--set model.matmul=${MATMUL:-fp32})
emu_train() { "$EMU" train "$CONFIG" "${TOY[@]}" --set model.device=cuda --set run.name=t "$@"; }
q() { sqlite3 -csv "$1" "$2"; }

toy_train --set db.path=cpu.db --set run.name=t --set run.out_dir=cpu --set model.matmul=fp32 >cpu.log 2>&1 ||
    { cat cpu.log; exit 1; }
emu_train --set db.path=gpu.db --set run.out_dir=gpu >gpu.log 2>&1 || { cat gpu.log; exit 1; }
want=$([ "$ON_GPU" = 1 ] && echo "model: on cuda" || echo "model: on cuda: CPU emulation")
grep -q "$want" gpu.log || { cat gpu.log; echo "the run did not report the device ($want)"; exit 1; }

# 1. learning
first=$(sql gpu.db "SELECT reward_mean FROM steps WHERE step = 1")
best=$(sql gpu.db "SELECT max(reward_mean) FROM steps WHERE step > 5")
echo "stand-in toy reward: step 1 $first, best of steps 6-10 $best"
awk -v a="$first" -v b="$best" 'BEGIN { exit !(a < 0.3 && b > 0.8) }' || { echo "did not learn"; exit 1; }

# 2. against the CPU backend
if [ "$ON_GPU" != 1 ] && [ "${MATMUL:-fp32}" = fp32 ]; then
episodes() { q "$1" "SELECT step, group_id, sample, completion, n_tokens, finish_reason, reward FROM episodes ORDER BY id" | md5sum; }
[ "$(episodes cpu.db)" = "$(episodes gpu.db)" ] || { echo "the stand-in sampled other tokens than the CPU"; exit 1; }
# per step: the episodes' sampling log-probs and the step's loss, KL, grad
# norm and entropy (KL and grad norm relative); lr 3e-2 makes the two runs'
# rounding grow with every update, so the 1e-5 bound holds the first 5
# steps, and 1e-4 the rest
diffs=$(sqlite3 -separator ' ' gpu.db "ATTACH 'cpu.db' AS c;
    SELECT a.step, (SELECT max(abs(x.logprob_mean - y.logprob_mean)) FROM episodes x JOIN c.episodes y
                    ON x.id = y.id WHERE x.step = a.step),
           max(abs(a.loss - b.loss), abs(a.kl - b.kl) / max(1, abs(b.kl)),
               abs(a.grad_norm - b.grad_norm) / max(1, b.grad_norm), abs(a.entropy - b.entropy))
    FROM steps a JOIN c.steps b ON a.step = b.step ORDER BY a.step")
echo "stand-in vs CPU: same episodes; per step: max |d logprob| and max step-metric difference"
echo "$diffs" | sed 's/^/  step /'
echo "$diffs" | awk 'NF == 3 { n++; lim = $1 <= 5 ? 1e-5 : 1e-4; if (!($2 <= lim && $3 <= lim)) bad = 1 }
                     END { exit !(n == 10 && !bad) }' ||
    { echo "the stand-in differs from the CPU by more than 1e-5 (steps 1-5) or 1e-4 (steps 6-10)"; exit 1; }
fi

# 3. exact resume on the stand-in
"$EMU" train "$CONFIG" "${TOY[@]}" --set model.device=cuda --set run.name=t --set db.path=cut.db \
    --set run.out_dir=cut >cut.log 2>&1 &
pid=$!
wait_for_steps cut.db 3
kill -9 $pid 2>/dev/null || { echo "the run finished before it could be killed"; exit 1; }
wait $pid 2>/dev/null || true
killed_at=$(sql cut.db "SELECT count(*) FROM steps")
[ "$killed_at" -lt 10 ] || { echo "the run finished before it could be killed"; exit 1; }
emu_train --set db.path=cut.db --set run.out_dir=cut --resume >resume.log 2>&1 || { cat resume.log; exit 1; }
grep -q "resuming run" resume.log || { cat resume.log; exit 1; }
exact() {
    q "$1" "SELECT step, group_id, sample, completion, printf('%.17g %.17g %.17g', reward, advantage, logprob_mean)
            FROM episodes ORDER BY step, group_id, sample" | md5sum
    q "$1" "SELECT step, printf('%.17g %.17g %.17g %.17g %.17g', reward_mean, kl, loss, grad_norm, entropy)
            FROM steps ORDER BY step" | md5sum
}
[ "$(exact gpu.db)" = "$(exact cut.db)" ] || { echo "killed after $killed_at steps and resumed: differs from the uninterrupted run"; exit 1; }
cmp gpu/t/run-1/policy-step000010.safetensors cut/t/run-1/policy-step000010.safetensors ||
    { echo "final weights differ"; exit 1; }
echo "stand-in: killed after $killed_at steps and resumed = the uninterrupted run, bit for bit (episodes, steps, final weights)"

# 4. three ranks: workers sample with the broadcast weights, staged through the host
mpirun -np 3 --oversubscribe "$EMU" train "$CONFIG" "${TOY[@]}" --set model.device=cuda --set run.name=t \
    --set run.steps=3 --set db.path=mpi.db --set run.out_dir=mpi >mpi.log 2>&1 || { cat mpi.log; exit 1; }
first3() {
    q "$1" "SELECT step, sample, completion, printf('%.17g %.17g', reward, logprob_mean)
            FROM episodes WHERE step <= 3 ORDER BY step, group_id, sample" | md5sum
    q "$1" "SELECT step, printf('%.17g %.17g %.17g', kl, loss, grad_norm) FROM steps WHERE step <= 3 ORDER BY step" | md5sum
}
[ "$(q mpi.db "SELECT group_concat(worker, '+') FROM (SELECT DISTINCT worker FROM episodes ORDER BY worker)")" = "1+2" ] ||
    { echo "3 ranks: episodes not from workers 1 and 2"; exit 1; }
[ "$(first3 gpu.db)" = "$(first3 mpi.db)" ] || { echo "3 ranks differ from 1 rank"; exit 1; }
echo "3 ranks (2 workers sampling with broadcast weights): steps 1-3 bit for bit the 1-rank run's"

# 5. without CUDA (and without the stand-in) the key is refused, naming it, before anything is written
[ "$ON_GPU" = 1 ] && exit 0
rc=0
"$GRPO" train "$CONFIG" "${TOY[@]}" --set model.device=cuda --set db.path=none.db >none.log 2>&1 || rc=$?
[ $rc = 2 ] && grep -q "model.device = cuda: this grpo was built without CUDA" none.log ||
    { cat none.log; echo "model.device = cuda without CUDA: exit $rc"; exit 1; }
[ ! -e none.db ] || { echo "model.device = cuda without CUDA wrote none.db"; exit 1; }
rc=0
"$GRPO" train "$CONFIG" "${TOY[@]}" --set model.matmul=bf16 --set db.path=none.db >none.log 2>&1 || rc=$?
[ $rc = 2 ] && grep -q "model.matmul = bf16: the CPU multiplies in fp32" none.log && [ ! -e none.db ] ||
    { cat none.log; echo "model.matmul = bf16 on the CPU: exit $rc"; exit 1; }
echo "a grpo without CUDA refuses model.device = cuda, and the CPU model.matmul = bf16 (exit 2, naming the key, writing nothing)"
