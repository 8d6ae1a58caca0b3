// One warpgroup product through the wgmma wrappers (ops/cuda/hopper/wgmma.cuh), so a descriptor or
// fragment-layout error shows up alone in tests/test_gpu_hopper_tiles.cpp rather than inside a
// kernel. Built only with CUDA; runs only on compute capability 9.0.
#pragma once
#include <cuda_bf16.h>

namespace seqbench {
namespace hopper {

struct WgmmaProbe {
  int n = 64;                   // 64 or 128
  bool a_in_registers = false;  // A from registers (else shared memory, K-major)
  bool b_mn_major = false;      // B stored K x N, N contiguous (as V); else N x K (as K)
  int k_step = 0;               // 0..3: which k16 step of a 64-wide swizzled tile holds the operands
  // A stored K x M in shared memory, M contiguous (as dS^T [keys x queries] for the attention
  // backward's dQ = dS K): the transposed-A product; only with A in shared memory.
  bool a_mn_major = false;
};

// d[64 x n] = a[64 x 16] * b[16 x n]; device pointers, all row-major; a and b bf16, d fp32.
// Synchronises the device before returning.
void wgmma_probe(const __nv_bfloat16* a, const __nv_bfloat16* b, float* d, const WgmmaProbe& probe);

}  // namespace hopper
}  // namespace seqbench
