// fp32 <-> bf16 conversion (round to nearest even, as the host's __float2bfloat16); checked in
// tests/test_gpu_ops.cpp.
#include <type_traits>

#include "ops/cuda/cuda_check.h"
#include "ops/cuda/current_stream.cuh"
#include "ops/cuda/launch_grid.cuh"
#include "ops/cuda/matmul_bf16.cuh"

namespace seqbench {
namespace {

template <class From, class To>
__global__ void convert_kernel(const From* src, To* dst, int64_t n) {
  for (int64_t i = first_element(); i < n; i += element_stride()) {
    if constexpr (std::is_same_v<To, float>)
      dst[i] = __bfloat162float(src[i]);
    else
      dst[i] = __float2bfloat16(src[i]);
  }
}

}  // namespace

void convert_cuda(const float* src, __nv_bfloat16* dst, int64_t n) {
  if (n == 0) return;
  convert_kernel<<<element_blocks(n), kElementThreads, 0, current_stream()>>>(src, dst, n);
  cudaCheckLaunch();
}

void convert_cuda(const __nv_bfloat16* src, float* dst, int64_t n) {
  if (n == 0) return;
  convert_kernel<<<element_blocks(n), kElementThreads, 0, current_stream()>>>(src, dst, n);
  cudaCheckLaunch();
}

}  // namespace seqbench
