#!/usr/bin/env bash
# tests/cuda/emulate.sh [GROUP] — run tests/cuda/parity.cu on a machine
# WITHOUT a GPU: model/ops_cuda.cu's kernels are compiled as C++ against the
# CPU stand-in in tests/cuda/emu/ (blocks in sequence, a block's threads as
# pthreads, cuBLAS as a column-major reference loop).  This checks the
# kernels' logic (indexing, block reductions, barriers, += versus =, the
# row-major to column-major cuBLAS mapping and its leading dimensions)
# against ops_cpu.c; it says nothing about speed or about the GPU's own
# arithmetic, so it does not replace run_on_gpu.sh.  About a minute on 2
# busy cores (GPU threads are fibers); GROUP (e.g. attention, logprob) runs
# only the tests of that group, as parity's argv[1].
set -eu
cd "$(dirname "$0")/../.."
B=${BUILD:-build}/cuda-emu
mkdir -p "$B"
blas_inc=/usr/include/x86_64-linux-gnu/openblas-openmp
blas_lib=/usr/lib/x86_64-linux-gnu/openblas-openmp
python3 tests/cuda/emu/rewrite_launches.py model/ops_cuda.cu "$B/ops_cuda_emu.cpp"
g++ -std=c++17 -O2 -Wall -Wextra -I. -Itests/cuda/emu -c "$B/ops_cuda_emu.cpp" -o "$B/ops_cuda_emu.o"
g++ -std=c++17 -O2 -Wall -Wextra -Itests/cuda/emu -c tests/cuda/emu/emu.cpp -o "$B/emu.o"
g++ -std=c++17 -O2 -Wall -I. -x c++ -c tests/cuda/parity.cu -o "$B/parity.o"
gcc -std=gnu17 -O3 -march=native -fopenmp -D_GNU_SOURCE -I. -I$blas_inc -c model/ops_cpu.c -o "$B/ops_cpu.o"
g++ -o "$B/parity" "$B/parity.o" "$B/ops_cuda_emu.o" "$B/emu.o" "$B/ops_cpu.o" -fopenmp \
    -L$blas_lib -Wl,-rpath,$blas_lib -lopenblas -lpthread -lm
echo "emulate: parity on the CPU stand-in (not a GPU)"
"$B/parity" "$@"
