#!/usr/bin/env bash
# tests/cuda/run_on_gpu.sh — the one script to run on a GPU machine (issue 8).
#   1. make CUDA=1 (in build/cuda-make/, so the CPU objects in build/ are untouched;
#      needs the project's Debian packages; a failure is reported and the
#      steps below still run, since they need only nvcc, gcc and cuBLAS)
#   2. tests/cuda/parity.cu: every ops.h op against its CUDA twin
#      (model/ops_cpu.c is compiled here with gcc as the reference, against
#      OpenBLAS when its headers are installed, else tests/cuda/cblas_shim.c)
#   3. bench/bench_cuda.sh
# Everything goes to stdout and to $OUT/cuda_run.log (build/cuda/ without $OUT).
# Exit status 0 only if the parity test and the bench passed (and the build
# did, unless CUDA_SKIP_MAKE=1).  Roughly: make 1 min, parity 1 min, bench
# 1-2 min on an H200 with 16 cores.
set -u
cd "$(dirname "$0")/../.."
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
NVCC=$CUDA_HOME/bin/nvcc
B=build/cuda
LOGDIR=${OUT:-$B}
mkdir -p "$B" "$LOGDIR"
LOG=$LOGDIR/cuda_run.log
step() { echo; echo "== $* ($(date -u +%H:%M:%S))"; }

main() {
status=0

step "machine"
echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo unknown) $(git status --porcelain 2>/dev/null | wc -l) changed files"
nvidia-smi || echo "nvidia-smi failed"
"$NVCC" --version | tail -2
nproc

step "make CUDA=1"
if [ "${CUDA_SKIP_MAKE:-0}" = 1 ]; then
    echo "skipped (CUDA_SKIP_MAKE=1)"
elif make CUDA=1 BUILD=build/cuda-make -j"$(nproc)" grpo; then
    echo "make CUDA=1: ok"
    ./grpo --version 2>/dev/null || true
else
    echo "make CUDA=1: FAILED"
    status=1
fi

step "build the parity test"
blas_inc=/usr/include/x86_64-linux-gnu/openblas-openmp
blas_lib=/usr/lib/x86_64-linux-gnu/openblas-openmp
if [ -f $blas_inc/cblas.h ] && [ -e $blas_lib/libopenblas.so ]; then
    cpu_inc="-I$blas_inc" cpu_objs="" cpu_libs="-L$blas_lib -Xlinker -rpath=$blas_lib -lopenblas"
    echo "CPU reference: OpenBLAS"
else
    gcc -std=gnu17 -O2 -Itests/cuda/shim -c tests/cuda/cblas_shim.c -o $B/cblas_shim.o || status=1
    cpu_inc="-Itests/cuda/shim" cpu_objs="$B/cblas_shim.o" cpu_libs=""
    echo "CPU reference: no OpenBLAS here, tests/cuda/cblas_shim.c"
fi
built=1
# shellcheck disable=SC2086
gcc -std=gnu17 -O3 -march=native -fopenmp -D_GNU_SOURCE -I. $cpu_inc -c model/ops_cpu.c -o $B/ops_cpu.o || built=0
"$NVCC" -O3 -std=c++17 -I. -arch=sm_90 -Xcompiler -fPIC,-Wall -c model/ops_cuda.cu -o $B/ops_cuda.o || built=0
"$NVCC" -O3 -std=c++17 -I. -arch=sm_90 -Xcompiler -Wall -c tests/cuda/parity.cu -o $B/parity.o || built=0
# shellcheck disable=SC2086
[ $built = 1 ] && "$NVCC" -arch=sm_90 -o $B/parity $B/parity.o $B/ops_cuda.o $B/ops_cpu.o $cpu_objs \
    -lcublas -lgomp -lm $cpu_libs || built=0

step "parity: CPU ops vs CUDA ops"
if [ $built = 1 ]; then
    OMP_NUM_THREADS=${OMP_NUM_THREADS:-4} $B/parity || { echo "parity: FAILED"; status=1; }
else
    echo "parity: NOT BUILT"
    status=1
fi

step "bench/bench_cuda.sh"
bench/bench_cuda.sh || { echo "bench_cuda: FAILED"; status=1; }

step "done: status $status"
return $status
}

main 2>&1 | tee "$LOG"
exit "${PIPESTATUS[0]}"
