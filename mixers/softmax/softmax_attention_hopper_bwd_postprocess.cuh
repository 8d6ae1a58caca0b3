// The Hopper attention backward's postprocess: dq (bf16 [B, L, H, D]) = scale * the fp32 dQ accumulator,
// from the row-major accumulator or from FlashAttention-3's tile-ordered one (tiled_dq). Checked against the
// CPU backward in test_gpu_softmax_hopper_bwd.cpp through the whole backward.
#pragma once
#include <cuda_bf16.h>

#include <cstdint>

#include "ops/cuda/launch_grid.cuh"

namespace seqbench {
namespace hopper_attention_bwd {

// dq = scale * accumulator, four elements per thread (n is a multiple of 64); launched as element_blocks(n4)
// blocks of kElementThreads.
__global__ void dq_postprocess_kernel(const float4* __restrict__ src, __nv_bfloat162* __restrict__ dst, float scale,
                                      int64_t n4) {
  for (int64_t i = first_element(); i < n4; i += element_stride()) {
    const float4 x = src[i];
    dst[2 * i] = __floats2bfloat162_rn(x.x * scale, x.y * scale);
    dst[2 * i + 1] = __floats2bfloat162_rn(x.z * scale, x.w * scale);
  }
}

// The same from the tile-ordered accumulator (HopperAttentionBwdOptions::tiled_dq; DqBlock::tiled):
// float4 e is float4 i = e % 1024 / 128 of thread tid = e % 128 in block e / 1024, that is registers
// 4 i .. 4 i + 3 of the wgmma accumulator: rows 16 (tid / 32) + tid % 32 / 4 and 8 below it, columns
// 8 i + 2 (tid % 4) and the next; rows past L (the last block's padding) are dropped.
__global__ void dq_tiled_postprocess_kernel(const float4* __restrict__ src, __nv_bfloat162* __restrict__ dst,
                                            float scale, int L, int H, int D, int64_t n4) {
  const int query_blocks = (L + 63) / 64, column_blocks = D / 64;
  for (int64_t e = first_element(); e < n4; e += element_stride()) {
    const int64_t block = e / 1024;
    const int i = static_cast<int>(e % 1024) / 128, tid = static_cast<int>(e % 128);
    const int cb = static_cast<int>(block % column_blocks), qb = static_cast<int>(block / column_blocks % query_blocks);
    const int64_t bh = block / column_blocks / query_blocks, b = bh / H, h = bh % H;
    const int row = qb * 64 + tid / 32 * 16 + tid % 32 / 4, col = cb * 64 + 8 * i + 2 * (tid % 4);
    const float4 x = src[e];
    if (row < L) dst[(((b * L + row) * H + h) * D + col) / 2] = __floats2bfloat162_rn(x.x * scale, x.y * scale);
    if (row + 8 < L) dst[(((b * L + row + 8) * H + h) * D + col) / 2] = __floats2bfloat162_rn(x.z * scale, x.w * scale);
  }
}

}  // namespace hopper_attention_bwd
}  // namespace seqbench
