// Standard-normal device buffers drawn on the GPU from (seed, index), so benchmark inputs of
// gigabytes need no host generation or transfer. Deterministic for a seed.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

namespace seqbench {

void fill_normal_cuda(float* dst, int64_t n, uint64_t seed, float scale = 1.0f, cudaStream_t stream = nullptr);
void fill_normal_cuda(__nv_bfloat16* dst, int64_t n, uint64_t seed, float scale = 1.0f, cudaStream_t stream = nullptr);

}  // namespace seqbench
