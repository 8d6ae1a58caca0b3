// Launch shapes for one-thread-per-element kernels: a grid-stride loop over n elements, blocks of
// kElementThreads, the grid capped so that very large n reuse threads instead of overflowing gridDim.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

namespace seqbench {

constexpr int kElementThreads = 256;

// At least one block (callers return early on n == 0), at most 2^16.
inline unsigned element_blocks(int64_t n) {
  return static_cast<unsigned>(
      std::max<int64_t>(1, std::min<int64_t>((n + kElementThreads - 1) / kElementThreads, int64_t{1} << 16)));
}

// for (int64_t i = first_element(); i < n; i += element_stride()): each element visited once.
__device__ __forceinline__ int64_t first_element() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t element_stride() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

}  // namespace seqbench
