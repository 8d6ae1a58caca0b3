// One TMA box load through the tile layer (ops/cuda/hopper/tensor_map.h, async_copy.cuh), its shared
// memory copied back byte for byte, so tests/test_gpu_hopper_tiles.cpp can check the tensor map's
// dimensions and strides, the zero fill past the sequence end and the 128-byte swizzle alone.
// Built only with CUDA; runs only on compute capability 9.0.
#pragma once
#include <cuda_bf16.h>

#include <cstdint>

namespace seqbench {
namespace hopper {

struct TmaProbe {
  int64_t batch = 1, seq = 1, heads = 1, head_dim = 64;  // the [B, L, H, D] tensor
  int box_rows = 128;
  int column = 0, row = 0, head = 0, batch_index = 0;  // box origin: (head_dim column, token, head, batch)
};

// dst: box_rows * 64 bf16, receiving the box exactly as it lies in shared memory (swizzled).
// Synchronises the device before returning.
void tma_probe(const __nv_bfloat16* tensor, __nv_bfloat16* dst, const TmaProbe& probe);

}  // namespace hopper
}  // namespace seqbench
