// Normal draws by Box-Muller over two splitmix64 hashes of (seed, index): counter-based, so every
// element is independent of launch shape. Used for benchmark inputs only.
#include <algorithm>

#include "bench_gpu/gpu_random_fill.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/element_type.cuh"

namespace seqbench {
namespace {

__device__ __forceinline__ uint64_t splitmix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

template <class T>
__global__ void fill_normal_kernel(T* dst, int64_t n, uint64_t seed, float scale) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const uint64_t h1 = splitmix64(seed ^ (2 * static_cast<uint64_t>(i))), h2 = splitmix64(h1 + 1);
    const float u1 = ((h1 >> 40) + 1) * 0x1.0p-24f, u2 = (h2 >> 40) * 0x1.0p-24f;  // u1 in (0, 1]
    dst[i] = from_float<T>(scale * sqrtf(-2.0f * logf(u1)) * cospif(2.0f * u2));
  }
}

template <class T>
void fill(T* dst, int64_t n, uint64_t seed, float scale, cudaStream_t stream) {
  if (n == 0) return;
  const int64_t blocks = std::min<int64_t>((n + 255) / 256, 1 << 16);
  fill_normal_kernel<T><<<static_cast<unsigned>(blocks), 256, 0, stream>>>(dst, n, seed, scale);
  cudaCheckLaunch();
}

}  // namespace

void fill_normal_cuda(float* dst, int64_t n, uint64_t seed, float scale, cudaStream_t stream) {
  fill(dst, n, seed, scale, stream);
}
void fill_normal_cuda(__nv_bfloat16* dst, int64_t n, uint64_t seed, float scale, cudaStream_t stream) {
  fill(dst, n, seed, scale, stream);
}

}  // namespace seqbench
