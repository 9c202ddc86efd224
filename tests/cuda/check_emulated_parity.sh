#!/usr/bin/env bash
# The CUDA kernels (model/ops_cuda.cu) against the CPU ops, run on the CPU
# stand-in of tests/cuda/emu because CI has no GPU.  Checks their logic, not
# the GPU's arithmetic or speed: tests/cuda/run_on_gpu.sh does that on a GPU.
exec "$(dirname "$0")/emulate.sh"
