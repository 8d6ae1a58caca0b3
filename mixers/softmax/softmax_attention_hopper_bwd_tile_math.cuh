// The steps of a Hopper attention backward tile that both schedules of its consumers share
// (softmax_attention_hopper_bwd_consumer.cuh): the row products' wgmma issue, and the per-element work in
// the consumers' accumulator layout (lane 4 g + t: keys key_lo and key_lo + 8, queries 8 i + 2 t and + 1):
// P^T = exp2(S^T scale log2e - lse) with the causal and length masks, dS^T = P^T (dP^T - D), dS^T's store
// to shared memory for the dQ product, and the final dK and dV stores. Checked by
// test_gpu_softmax_hopper_bwd.cpp through the whole backward.
#pragma once
#include <cuda_bf16.h>

#include <cstdint>

#include "mixers/softmax/online_softmax_wgmma.cuh"
#include "mixers/softmax/softmax_attention_hopper_bwd_dq.cuh"
#include "mixers/softmax/softmax_attention_hopper_bwd_layout.cuh"
#include "ops/cuda/hopper/wgmma.cuh"

namespace seqbench {
namespace hopper_attention_bwd {

#if SEQBENCH_HOPPER_WGMMA
namespace hp = hopper;

// acc[64 keys x N rows of b] (kAccumulate: +)= a[64 rows] . b[N rows] over head_dim (both K-major, as
// the forward's Q K^T); committed, not awaited. a_sub / b_sub: bytes between the operands' 64-column
// sub-tiles.
template <int D, bool kAccumulate = false, int R>
__device__ __forceinline__ void issue_row_products(float (&acc)[R], uint32_t a_addr, int a_sub, uint32_t b_addr,
                                                   int b_sub) {
#pragma unroll
  for (int ks = 0; ks < D / 16; ++ks)  // k16 step ks: sub-tile ks / 4, 32 bytes per step inside it
    hp::mma_k16_ss<0>(acc, hp::k_major_descriptor(a_addr + (ks / 4) * a_sub + (ks % 4) * 32),
                      hp::k_major_descriptor(b_addr + (ks / 4) * b_sub + (ks % 4) * 32), kAccumulate || ks > 0 ? 1 : 0);
  hp::commit_group();
}

// acc[64 keys x D] += a (registers, 64 keys x kBlockQ queries) * b (kBlockQ x D in shared memory,
// MN-major: 16 query rows of 128 bytes per k16 step, the 64-column sub-tiles `sub` bytes apart).
template <int D, int kBlockQ>
__device__ __forceinline__ void issue_key_gradient(float (&acc)[D / 2], const uint32_t (&a)[kBlockQ / 16][4],
                                                   uint32_t b_addr, int sub) {
#pragma unroll
  for (int kk = 0; kk < kBlockQ / 16; ++kk)
    hp::mma_k16_rs<1>(acc, a[kk], hp::mn_major_descriptor(b_addr + kk * 2048, sub), 1);
}

// kFoldDelta: dP^T's accumulator started at -D (negated_deltas), so dS^T = P^T dP^T.
template <int D, bool kCausal, bool kFoldDelta, class Layout>
struct BwdTileMath {
  static constexpr int BQ = Layout::kBlockQ;
  const BwdTile& tile;
  unsigned char* smem;
  int key_lo;  // this thread's keys: key_lo and key_lo + 8 (wgmma.cuh's accumulator rows)

  // P^T in place of S^T, from slot s's lse (log2 units); dP^T may still be on the tensor cores.
  __device__ void probabilities(float (&st)[BQ / 2], int s, int qt0) const {
    const float* lse = reinterpret_cast<const float*>(smem + Layout::vectors) + s * 2 * BQ;
    const int t = threadIdx.x % 4;
    // Keys >= L (zero rows of K and V) would get P = exp2(-lse), which may overflow: masked too.
    const bool masked = kCausal ? qt0 < tile.k0 + kBlockKeys : tile.k0 + kBlockKeys > tile.L;
#pragma unroll
    for (int i = 0; i < BQ / 8; ++i) {
      const float2 l = *reinterpret_cast<const float2*>(lse + 8 * i + 2 * t);
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        float p = wgmma_softmax::fast_exp2(fmaf(st[4 * i + e], tile.scale_log2, -((e & 1) ? l.y : l.x)));
        if (masked) {
          const int query = qt0 + 8 * i + 2 * t + (e & 1), key = key_lo + 8 * (e >> 1);
          if ((kCausal && query < key) || key >= tile.L) p = 0.0f;
        }
        st[4 * i + e] = p;
      }
    }
  }

  // dS^T = P^T (dP^T - D) in place of dP^T, from slot s's D (kFoldDelta: already in dP^T).
  __device__ void score_gradients(const float (&pt)[BQ / 2], float (&dpt)[BQ / 2], int s) const {
    if constexpr (kFoldDelta) {
#pragma unroll
      for (int i = 0; i < BQ / 2; ++i) dpt[i] *= pt[i];
      return;
    }
    const float* delta = reinterpret_cast<const float*>(smem + Layout::vectors) + s * 2 * BQ + BQ;
    const int t = threadIdx.x % 4;
#pragma unroll
    for (int i = 0; i < BQ / 8; ++i) {
      const float2 d = *reinterpret_cast<const float2*>(delta + 8 * i + 2 * t);
#pragma unroll
      for (int e = 0; e < 4; ++e) dpt[4 * i + e] = pt[4 * i + e] * (dpt[4 * i + e] - ((e & 1) ? d.y : d.x));
    }
  }

  // -D of slot s's queries in dP^T's accumulator layout (columns 8 i + 2 t, + 1), its starting value
  // with kFoldDelta.
  __device__ void negated_deltas(float (&dpt)[BQ / 2], int s) const {
    const float* delta = reinterpret_cast<const float*>(smem + Layout::vectors) + s * 2 * BQ + BQ;
    const int t = threadIdx.x % 4;
#pragma unroll
    for (int i = 0; i < BQ / 8; ++i) {
      const float2 d = *reinterpret_cast<const float2*>(delta + 8 * i + 2 * t);
      dpt[4 * i] = dpt[4 * i + 2] = -d.x;
      dpt[4 * i + 1] = dpt[4 * i + 3] = -d.y;
    }
  }

  // dS^T (bf16, the same rounding as the A fragments) into buffer `buf`: [128 keys x BQ queries] as
  // 64-query sub-tiles in the 128-byte swizzle; lane 4 g + t writes chunk i ^ g, word t (no conflicts).
  __device__ void store_ds(const uint32_t (&ds)[BQ / 16][4], int buf) const {
    const int tid = threadIdx.x % 128, t = tid % 4, g = (tid % 32) / 4;
    unsigned char* base = smem + Layout::ds + buf * Layout::kDsTileBytes;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int row = tile.consumer * 64 + (tid / 32) * 16 + g + 8 * r;
#pragma unroll
      for (int i = 0; i < BQ / 8; ++i)  // accumulator block i = A fragment i / 2, registers 2 (i % 2) + r
        *reinterpret_cast<uint32_t*>(base + (i / 8) * Layout::kKeySubTileBytes + row * 128 +
                                     (((i % 8) ^ (row % 8)) * 16) + 4 * t) = ds[i / 2][2 * (i % 2) + r];
    }
  }

  // dK (scaled) and dV straight from registers: lane 4 g + t stores columns 8 i + 2 t, + 1 of its keys.
  __device__ void write_gradients(const float (&dk)[D / 2], const float (&dv)[D / 2],
                                  __nv_bfloat16* __restrict__ dk_out, __nv_bfloat16* __restrict__ dv_out) const {
    const int t = threadIdx.x % 4;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int key = key_lo + 8 * r;
      if (key >= tile.L) continue;
      const int64_t offset = ((static_cast<int64_t>(tile.b) * tile.L + key) * tile.H + tile.h) * D + 2 * t;
#pragma unroll
      for (int i = 0; i < D / 8; ++i) {
        *reinterpret_cast<__nv_bfloat162*>(dk_out + offset + 8 * i) =
            __floats2bfloat162_rn(dk[4 * i + 2 * r] * tile.scale, dk[4 * i + 2 * r + 1] * tile.scale);
        *reinterpret_cast<__nv_bfloat162*>(dv_out + offset + 8 * i) =
            __floats2bfloat162_rn(dv[4 * i + 2 * r], dv[4 * i + 2 * r + 1]);
      }
    }
  }
};
#endif  // SEQBENCH_HOPPER_WGMMA

}  // namespace hopper_attention_bwd
}  // namespace seqbench
