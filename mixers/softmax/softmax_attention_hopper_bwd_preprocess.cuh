// The Hopper attention backward's preprocess in one pass (HopperAttentionBwdOptions::fused_preprocess):
// D_i = rowsum(dO_i * O_i) in fp32, and the row's fp32 dQ accumulator zeroed, FlashAttention-3's
// preprocess (hopper/flash_bwd_preprocess_kernel.h) in place of attention_delta and a memset. Checked
// against the CPU backward in test_gpu_softmax_hopper_bwd.cpp through the whole backward.
#pragma once
#include <cuda_bf16.h>

#include <climits>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "mixers/softmax/softmax_attention.h"
#include "ops/cuda/cuda_check.h"

namespace seqbench {
namespace hopper_attention_bwd {

// One row (b, t, h) per D / 8 neighbouring lanes, each loading 8 bf16 of O and of dO by one 16-byte
// load: attention_delta_kernel loads one bf16 a lane per step of a loop of runtime length, too few
// bytes in flight to stream O and dO at full bandwidth. dq_accum null: nothing zeroed.
template <int D>
__global__ void __launch_bounds__(256)
    delta_zero_dq_kernel(const uint4* __restrict__ out, const uint4* __restrict__ dout, float* __restrict__ delta,
                         float4* __restrict__ dq_accum, int L, int H, int64_t rows) {
  constexpr int kLanes = D / 8;
  static_assert(32 % kLanes == 0, "a row's lanes lie in one warp");
  const int64_t thread = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;  // row * kLanes + lane
  const int64_t row = thread / kLanes;  // rows are (b, t, h) in memory order
  const int lane = static_cast<int>(thread % kLanes);
  if (row >= rows) return;  // a row's lanes leave together
  const uint4 o = out[thread], g = dout[thread];
  const __nv_bfloat162* o2 = reinterpret_cast<const __nv_bfloat162*>(&o);
  const __nv_bfloat162* g2 = reinterpret_cast<const __nv_bfloat162*>(&g);
  float sum = 0.0f;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 a = __bfloat1622float2(o2[i]), b = __bfloat1622float2(g2[i]);
    sum = fmaf(a.x, b.x, fmaf(a.y, b.y, sum));
  }
  const unsigned row_lanes = ((1u << kLanes) - 1) << (threadIdx.x % 32 / kLanes * kLanes);
#pragma unroll
  for (int offset = kLanes / 2; offset > 0; offset /= 2) sum += __shfl_xor_sync(row_lanes, sum, offset);
  if (dq_accum) {  // the row's D floats: two float4 per lane
    dq_accum[2 * thread] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    dq_accum[2 * thread + 1] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  }
  if (lane == 0) {
    const int64_t h = row % H, t = (row / H) % L, b = row / (static_cast<int64_t>(H) * L);
    delta[(b * H + h) * L + t] = sum;  // [B, H, L], as attention_delta
  }
}

// out, dout 16-byte aligned bf16 [B, L, H, D]; delta fp32 [B, H, L]; dq_accum fp32 [B, L, H, D],
// 16-byte aligned, or null.
template <int D>
void launch_delta_zero_dq(const __nv_bfloat16* out, const __nv_bfloat16* dout, float* delta, float* dq_accum,
                          const AttentionShape& s, cudaStream_t stream) {
  const int64_t rows = s.batch * s.seq_len * s.heads, blocks = (rows * (D / 8) + 255) / 256;
  if (blocks > INT_MAX)
    throw std::invalid_argument("softmax_attention_bwd_hopper: " + std::to_string(rows) +
                                " rows exceed the preprocess grid limit");
  delta_zero_dq_kernel<D><<<static_cast<unsigned>(blocks), 256, 0, stream>>>(
      reinterpret_cast<const uint4*>(out), reinterpret_cast<const uint4*>(dout), delta,
      reinterpret_cast<float4*>(dq_accum), static_cast<int>(s.seq_len), static_cast<int>(s.heads), rows);
  cudaCheckLaunch();
}

}  // namespace hopper_attention_bwd
}  // namespace seqbench
