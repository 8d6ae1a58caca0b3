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

// The same from the tile-ordered accumulator (HopperAttentionBwdOptions::tiled_dq; DqBlock::tiled), one
// 64 x 64 block at a time per CTA of kTiledPostprocessThreads: float4 e of a block is float4 i = e / 128 of
// thread tid = e % 128, registers 4 i .. 4 i + 3 of the wgmma accumulator: rows 16 (tid / 32) + tid % 32 / 4
// and 8 below it, columns 8 i + 2 (tid % 4) and the next. Each thread reads its eight float4 (a warp's reads
// contiguous), scales them into a row-major bf16 block in shared memory, and the CTA stores that block's rows
// 16 bytes a thread, 128 contiguous bytes a row; rows past L (the last block's padding) are dropped. Scattering
// the 4-byte pairs straight to [B, L, H, D] instead took twice as long as the row-major postprocess.
constexpr int kTiledPostprocessThreads = 128;

__global__ void __launch_bounds__(kTiledPostprocessThreads)
    dq_tiled_postprocess_kernel(const float4* __restrict__ src, __nv_bfloat16* __restrict__ dst, float scale, int L,
                                int H, int D, int64_t blocks) {
  constexpr int kStride = 64 + 8;  // bf16 a row: the 4-byte writes of a warp fall in 32 different banks
  __shared__ __align__(16) __nv_bfloat16 rows[64 * kStride];
  const int query_blocks = (L + 63) / 64, column_blocks = D / 64, tid = static_cast<int>(threadIdx.x);
  for (int64_t block = blockIdx.x; block < blocks; block += gridDim.x) {
    const int cb = static_cast<int>(block % column_blocks), qb = static_cast<int>(block / column_blocks % query_blocks);
    const int64_t bh = block / column_blocks / query_blocks, b = bh / H, h = bh % H;
    const float4* in = src + block * 1024;
    const int row = tid / 32 * 16 + tid % 32 / 4, col = 2 * (tid % 4);
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const float4 x = in[128 * i + tid];
      *reinterpret_cast<__nv_bfloat162*>(rows + row * kStride + 8 * i + col) =
          __floats2bfloat162_rn(x.x * scale, x.y * scale);
      *reinterpret_cast<__nv_bfloat162*>(rows + (row + 8) * kStride + 8 * i + col) =
          __floats2bfloat162_rn(x.z * scale, x.w * scale);
    }
    __syncthreads();
#pragma unroll
    for (int j = tid; j < 64 * 8; j += kTiledPostprocessThreads) {  // 8 pieces of 16 bytes a row
      const int r = j / 8, piece = j % 8, token = qb * 64 + r;
      if (token < L)
        *reinterpret_cast<uint4*>(dst + ((b * L + token) * H + h) * D + cb * 64 + 8 * piece) =
            *reinterpret_cast<const uint4*>(rows + r * kStride + 8 * piece);
    }
    __syncthreads();  // the block's rows are stored before the next block overwrites them
  }
}

}  // namespace hopper_attention_bwd
}  // namespace seqbench
