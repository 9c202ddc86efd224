/*
 * tests/cuda/emu/cuda_runtime.h — a CPU stand-in for the CUDA runtime, just
 * big enough to run model/ops_cuda.cu's kernels on a machine without a GPU
 * (tests/cuda/emulate.sh).  It checks the kernels' logic (indexing, the
 * block reductions, __syncthreads placement, accumulation), not their
 * speed and not the GPU's own arithmetic (expf here is glibc's).
 *
 * A launch runs its blocks one after another; the threads of a block are
 * fibers (emu.cpp) run in rounds, so __syncthreads is the end of a round
 * and a warp shuffle an exchange between rounds.  __shared__ becomes
 * `static`: correct because only one block runs at a time.  emulate.sh rewrites
 * `k<<<grid, block, shmem>>>(args)` into emu_launch(...) before compiling
 * with g++.
 */
#ifndef GRPO_TESTS_CUDA_EMU_RUNTIME_H
#define GRPO_TESTS_CUDA_EMU_RUNTIME_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <functional>

#define __global__
#define __device__
#define __host__
#define __shared__ static

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
extern dim3 threadIdx, blockIdx, blockDim, gridDim;

void emu_launch(dim3 grid, dim3 block, size_t shmem, std::function<void()> body);
void *emu_dyn_shared(void);
void __syncthreads(void);
float __shfl_xor_sync(unsigned mask, float v, int lane_mask);
float atomicAdd(float *p, float v);

typedef enum cudaError { cudaSuccess = 0, cudaErrorMemoryAllocation = 2, cudaErrorInvalidValue = 1 } cudaError_t;
enum cudaMemcpyKind { cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3 };
typedef void *cudaStream_t;
struct cudaDeviceProp {
    char name[256];
    int major, minor;
    size_t totalGlobalMem;
};
const char *cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaSetDevice(int d);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d);
cudaError_t cudaMalloc(void **p, size_t n);
cudaError_t cudaFree(void *p);
cudaError_t cudaMallocHost(void **p, size_t n);
cudaError_t cudaFreeHost(void *p);
cudaError_t cudaMemcpy(void *d, const void *s, size_t n, cudaMemcpyKind k);
cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, cudaMemcpyKind k, cudaStream_t st);
cudaError_t cudaMemsetAsync(void *p, int v, size_t n, cudaStream_t st);
cudaError_t cudaDeviceSynchronize(void);
cudaError_t cudaGetLastError(void);

#endif
