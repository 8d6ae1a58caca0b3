// Storage types of the CUDA kernels (float, __nv_bfloat16) and their conversion to and from the
// fp32 that all arithmetic is carried out in.
#pragma once
#include <cuda_bf16.h>

#include <type_traits>

namespace seqbench {

__host__ __device__ __forceinline__ float to_float(float x) { return x; }
__host__ __device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

template <class T>
__host__ __device__ __forceinline__ T from_float(float x) {
  if constexpr (std::is_same_v<T, float>) {
    return x;
  } else {
    return __float2bfloat16(x);
  }
}

template <class T>
constexpr bool is_bf16 = std::is_same_v<T, __nv_bfloat16>;

}  // namespace seqbench
