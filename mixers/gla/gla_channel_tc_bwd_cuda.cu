// Per-channel-decay GLA backward on bf16 tensor cores (FLA's chunk_gla_bwd), per 64-token chunk with b the
// cumulative decay per key channel, S0 the state at its start, R = dL/dS at its end and dA = scale dO V^T
// (j <= i): dq_i = scale e^{b_i} (dO S0^T)_i + sum_{j<=i} dA_ij k_j e^{b_i - b_j},
// dk_j = e^{b_63 - b_j} (V R^T)_j + sum_{i>=j} dA_ij q_i e^{b_i - b_j}, dv = (k e^{b_63 - b}) R + A^T dO, and
// dL/dg_s = sum_{t >= s} (q_t dq_t - k_t dk_t) per channel (GLA Sec. 4.3), inside the chunk when fused
// (gla_channel_tc_chunk_decay_grad.cuh), else by gla_channel_tc_decay_grad_cuda.cu. Checked against GlaKernels::cpu()
// in test_gpu_gla_channel_bf16.cpp.
#include <cuda_bf16.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "mixers/gla/gla_channel_bf16.cuh"
#include "mixers/gla/gla_channel_tc_chunk_decay_grad.cuh"
#include "mixers/gla/gla_channel_tc_internal.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/tensor_core_bf16.cuh"

namespace seqbench {
namespace gla_ch {
namespace {

using tc::Stored;

// One block per (head, chunk) of THREADS / 32 warps (8 or 16, GlaChannelVariant::grad_warps16); warp w owns
// sub-chunk w % 4 (16 rows) and a 1 / (THREADS / 128) share of the columns of each gradient. Below the diagonal
// the products run over sub-chunk pairs with a reference row, as in the forward scores: each warp decays the 16
// rows of the other sub-chunk against it into its own scratch tile; the diagonal sub-chunks are summed per element
// in fp32. 207 KB at Dk = Dv = 128: one block per SM, so 16 warps give each scheduler four warps to hide shared
// memory and exp latency with instead of two (and half the registers per thread, 128 at most).
template <int DK, int DV, int THREADS>
struct GradTiles {
  static constexpr int kWarps = THREADS / 32, kColGroups = THREADS / 128;
  static constexpr int kKeyCols = DK / kColGroups, kValueCols = DV / kColGroups;
  static constexpr int kLdk = DK + 8, kLdv = DV + 8, kLdb = decay_ld<DK>(), kLdc = kKeyCols + 8;
  static_assert(kKeyCols % 16 == 0 && kValueCols % 16 == 0, "whole pairs of 8-column MMA tiles per warp");
  static constexpr int kBytes =
      (kChunk * kLdb + 4 * DK) * 4 +
      (2 * kChunk * kLdk + 2 * kChunk * kLdv + 2 * DK * kLdv + 2 * kChunk * kScoreStride + kWarps * kSub * kLdc) * 2;
};

// acc[n][e] (rows row0 + lane / 4 + 8 (e / 2), columns col0 + 8 n + 2 (lane % 4) + e % 2) *= f(row, column).
template <int NT, class F>
__device__ __forceinline__ void scale_elements(float (&acc)[NT][4], int row0, int col0, F f) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int n = 0; n < NT; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e) acc[n][e] *= f(row0 + lane / 4 + 8 * (e / 2), col0 + 8 * n + 2 * (lane % 4) + e % 2);
}

// The warp's scratch [16][ld] <- x rows row0.. (columns col0.., COLS of them) times e^{bx - by}, where one of
// bx, by is the row's own decay and the other the reference row `ref` (from_row: e^{b_row - ref}, else
// e^{ref - b_row}); scratch rows outside [live0, live1) are zero (x there is not read: its exponent could be > 0).
// Bracketed by __syncwarp: the last MMA is done with the scratch, the next sees all of it.
template <int COLS, int LDX, int LDB, int LDC>
__device__ __forceinline__ void decay_rows_into_scratch(bf16* scratch, const bf16* x, const float* b, const float* ref,
                                                        int row0, int col0, bool from_row, int live0 = 0,
                                                        int live1 = kSub) {
  constexpr int kPairs = COLS / 2;  // bf16 pairs per scratch row
  __syncwarp();
  for (int p = threadIdx.x % 32; p < kSub * kPairs; p += 32) {
    const int r = p / kPairs, c = col0 + 2 * (p % kPairs);
    const float* br = b + (row0 + r) * LDB + c;
    *reinterpret_cast<uint32_t*>(scratch + r * LDC + c - col0) =
        r < live0 || r >= live1 ? 0u
        : from_row              ? decayed_pair(x + (row0 + r) * LDX + c, br, ref + c)
                                : decayed_pair(x + (row0 + r) * LDX + c, ref + c, br);
  }
  __syncwarp();
}

// The 8 x 8 block between the two halves of a diagonal sub-chunk on tensor cores, the secondary chunking once
// more at 8 tokens: below (dq) rows 8-15 take partners 0-7 with r = b at row 8, above (dk) rows 0-7 take partners
// 8-15 with r = b at row 7, so both factors are e^{<= 0}. The fp32 loop is then left with the two 8 x 8 triangles.
template <int NT, int COLS, int LDX, int LDB, int LDC, bool kBelow>
__device__ __forceinline__ void add_between_halves(float (&acc)[NT][4], bf16* scratch, const bf16* das, const bf16* x,
                                                   const float* b, int row0, int col0) {
  constexpr int kHalf = kSub / 2, kFed = kBelow ? 1 : 0;  // kFed: the half of the rows this block adds to
  const float* ref = b + (row0 + (kBelow ? kHalf : kHalf - 1)) * LDB;
  // Partners below: rows 0-7 as x e^{r - b_j}; above: rows 8-15 as x e^{b_i - r}.
  decay_rows_into_scratch<COLS, LDX, LDB, LDC>(scratch, x, b, ref, row0, col0, !kBelow, kBelow ? 0 : kHalf,
                                               kBelow ? kHalf : kSub);
  float part[NT][4] = {};
  if constexpr (kBelow)
    tc::warp_mma<1, NT, Stored::by_row, Stored::by_row>(part, das + row0 * kScoreStride + row0, kScoreStride, scratch,
                                                        LDC);
  else  // dA^T: the dA tile read by column
    tc::warp_mma<1, NT, Stored::by_column, Stored::by_row>(part, das + row0 * kScoreStride + row0, kScoreStride,
                                                           scratch, LDC);
  const int lane = threadIdx.x % 32, row = row0 + lane / 4 + kHalf * kFed;
#pragma unroll
  for (int n = 0; n < NT; ++n)
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const int ch = col0 + 8 * n + 2 * (lane % 4) + e;
      const float own = b[row * LDB + ch];
      acc[n][2 * kFed + e] += part[n][2 * kFed + e] * __expf(kBelow ? own - ref[ch] : ref[ch] - own);
    }
}

// acc[i][ch] += sum_{j in the sub-chunk at sub0, on the proper side of i} dA(i, j) x_j,ch e^{+-(b_i,ch - b_j,ch)}
// for this lane's elements (rows row0 + lane / 4 + {0, 8}): below (dq) pairs row i with j <= i and
// dA(i, j) = das[i][j]; above (dk) pairs row j with i >= j, dA(i, j) = das[i][j] read by column. fp32 throughout.
// kHalves: partners in the row's own half of the sub-chunk only (add_between_halves has the rest).
template <int NT, int LDX, int LDB, bool kBelow, bool kHalves>
__device__ __forceinline__ void add_diagonal_block(float (&acc)[NT][4], const bf16* das, const bf16* x, const float* b,
                                                   int row0, int col0) {
  const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int own = g + 8 * half, row = row0 + own;  // own: the row's place in the sub-chunk
#pragma unroll
    for (int n = 0; n < NT; ++n) {
      const int ch = col0 + 8 * n + 2 * t;
      const float2 bo = *reinterpret_cast<const float2*>(b + row * LDB + ch);
      float s0 = 0.0f, s1 = 0.0f;
      // Below: partners 0..own (at most 8 (half + 1)); above: own..15 (from 8 half); kHalves: 8 half.. 8 half + 7.
#pragma unroll 4
      for (int m = kBelow && !kHalves ? 0 : 8 * half; m < (kBelow || kHalves ? 8 * (half + 1) : kSub); ++m) {
        if (kBelow ? m > own : m < own) continue;
        const int other = row0 + m;
        const float w = __bfloat162float(kBelow ? das[row * kScoreStride + other] : das[other * kScoreStride + row]);
        const float2 xv = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(x + other * LDX + ch));
        const float2 bp = *reinterpret_cast<const float2*>(b + other * LDB + ch);
        // e^{b_i - b_j} with i the later token: the row itself below, the partner above.
        s0 += w * xv.x * __expf(kBelow ? bo.x - bp.x : bp.x - bo.x);
        s1 += w * xv.y * __expf(kBelow ? bo.y - bp.y : bp.y - bo.y);
      }
      acc[n][2 * half] += s0;
      acc[n][2 * half + 1] += s1;
    }
  }
}

template <int DK, int DV, int THREADS, bool kDiagMma>
__global__ void __launch_bounds__(THREADS, 1)
    channel_grad_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                        const bf16* __restrict__ dout, const float* __restrict__ g, const bf16* __restrict__ states,
                        const bf16* __restrict__ dstates, bf16* __restrict__ dq, bf16* __restrict__ dk,
                        bf16* __restrict__ dv, float* __restrict__ r, float* __restrict__ r_totals,
                        float* __restrict__ dg_fused, float scale, ChunkGrid d) {
  using T = GradTiles<DK, DV, THREADS>;
  constexpr int kLdk = T::kLdk, kLdv = T::kLdv, kLdb = T::kLdb, kLdc = T::kLdc;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  float* bs = reinterpret_cast<float*>(smem_raw);          // [64][kLdb] decays, then their cumulative sum
  bf16* qs = reinterpret_cast<bf16*>(bs + kChunk * kLdb);  // [64][kLdk]
  bf16* ks = qs + kChunk * kLdk;                           // [64][kLdk] k, at the end k e^{b_63 - b}
  bf16* vs = ks + kChunk * kLdk;                           // [64][kLdv]
  bf16* dos = vs + kChunk * kLdv;                          // [64][kLdv]
  bf16* hs = dos + kChunk * kLdv;                          // [DK][kLdv] S0
  bf16* rs = hs + DK * kLdv;                               // [DK][kLdv] R
  bf16* as = rs + DK * kLdv;                               // [64][kScoreStride] A
  bf16* das = as + kChunk * kScoreStride;                  // [64][kScoreStride] dA
  bf16* scratch = das + kChunk * kScoreStride + (threadIdx.x / 32) * kSub * kLdc;  // this warp's [16][kLdc]
  // [4][DK]: the sub-chunk sums of r, or (dg_fused) the decay gradient from the later chunks
  float* sub_totals = reinterpret_cast<float*>(das + kChunk * kScoreStride + T::kWarps * kSub * kLdc);

  const int bh = blockIdx.x / d.NC, c = blockIdx.x % d.NC, t0 = c * kChunk;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, sub = warp % 4, row0 = kSub * sub;
  const int64_t k_stride = static_cast<int64_t>(d.H) * DK, v_stride = static_cast<int64_t>(d.H) * DV;
  const int64_t k_head = gla_tc::head_offset(bh, d, DK), v_head = gla_tc::head_offset(bh, d, DV);
  const int64_t state = (static_cast<int64_t>(bh) * d.NC + c) * DK * DV;
  tc::load_tile_async<kChunk, DK, kLdk, THREADS>(qs, q + k_head, k_stride, t0, d.L);
  tc::load_tile_async<kChunk, DK, kLdk, THREADS>(ks, k + k_head, k_stride, t0, d.L);
  tc::load_tile_async<kChunk, DV, kLdv, THREADS>(vs, v + v_head, v_stride, t0, d.L);
  tc::load_tile_async<kChunk, DV, kLdv, THREADS>(dos, dout + v_head, v_stride, t0, d.L);
  load_decay_tile_async<DK, THREADS>(bs, g, bh, c, d, DK);
  tc::commit_async();
  // S0 and R (needed from dq on) stay in flight through the scores.
  tc::load_tile_async<DK, DV, kLdv, THREADS>(hs, states + state, DV, 0, DK);
  tc::load_tile_async<DK, DV, kLdv, THREADS>(rs, dstates + state, DV, 0, DK);
  tc::commit_async();
  tc::wait_async<1>();
  __syncthreads();

  cumulative_decay_in_place<DK, THREADS>(bs);
  // With 16 warps the diagonal scores spread over all of them and the last eight form dA while the first six form
  // the scores below the diagonal; with 8, one after the other.
  channel_scores<DK, THREADS>(qs, ks, bs, scale, as);
  if (THREADS == 256 || warp >= 8) {  // dA = scale dO V^T, lower triangle: 16 rows x 32 columns per warp.
    const int w = warp % 8, rows = kSub * (w % 4), col0 = 32 * (w / 4);
    float s[4][4] = {};
    tc::warp_mma<DV / 16, 4, Stored::by_row, Stored::by_column>(s, dos + rows * kLdv, kLdv, vs + col0 * kLdv, kLdv);
#pragma unroll
    for (int n = 0; n < 4; ++n)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int i = rows + lane / 4 + 8 * half, j = col0 + 8 * n + 2 * (lane % 4);
        *reinterpret_cast<uint32_t*>(das + i * kScoreStride + j) =
            tc::pack_bf16x2(j <= i ? scale * s[n][2 * half] : 0.0f, j + 1 <= i ? scale * s[n][2 * half + 1] : 0.0f);
      }
  }
  tc::wait_async<0>();
  __syncthreads();  // A, dA, S0 and R visible to every warp

  constexpr int kKeyCols = T::kKeyCols, NT = kKeyCols / 8;
  const int f0 = (warp / 4) * kKeyCols;
  const float* last = bs + (kChunk - 1) * kLdb;
  // r = q dq - k dk per element, [BH, NC * 64, DK] (rows past L hold zeros): the same thread forms dq and dk of
  // an element, so q dq stays in registers through dk and r is written once, never read back.
  float qdq[NT][4];
  float* r_chunk = r ? r + (static_cast<int64_t>(bh) * d.NC + c) * kChunk * DK : nullptr;
  auto for_each_pair = [&](auto f) {  // f(n, half, row, channel) over this lane's element pairs
#pragma unroll
    for (int n = 0; n < NT; ++n)
#pragma unroll
      for (int half = 0; half < 2; ++half) f(n, half, row0 + lane / 4 + 8 * half, f0 + 8 * n + 2 * (lane % 4));
  };
  {  // dq rows of sub-chunk `sub`, key columns [f0, f0 + DK / 2): S0^T is the state read by column.
    float acc[NT][4] = {};
    tc::warp_mma<DV / 16, NT, Stored::by_row, Stored::by_column>(acc, dos + row0 * kLdv, kLdv, hs + f0 * kLdv, kLdv);
    scale_elements(acc, row0, f0, [&](int i, int ch) { return scale * __expf(bs[i * kLdb + ch]); });
    if (sub > 0) {  // earlier sub-chunks J against r = b at this sub-chunk's first row
      const float* ref = bs + row0 * kLdb;
      float part[NT][4] = {};
      for (int J = 0; J < sub; ++J) {
        decay_rows_into_scratch<kKeyCols, kLdk, kLdb, kLdc>(scratch, ks, bs, ref, kSub * J, f0, false);
        tc::warp_mma<1, NT, Stored::by_row, Stored::by_row>(part, das + row0 * kScoreStride + kSub * J, kScoreStride,
                                                            scratch, kLdc);
      }
      scale_elements(part, row0, f0, [&](int i, int ch) { return __expf(bs[i * kLdb + ch] - ref[ch]); });
#pragma unroll
      for (int n = 0; n < NT; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[n][e] += part[n][e];
    }
    if constexpr (kDiagMma)
      add_between_halves<NT, kKeyCols, kLdk, kLdb, kLdc, true>(acc, scratch, das, ks, bs, row0, f0);
    add_diagonal_block<NT, kLdk, kLdb, true, kDiagMma>(acc, das, ks, bs, row0, f0);
    for_each_pair([&](int n, int half, int i, int ch) {
      const float2 qv = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(qs + i * kLdk + ch));
      qdq[n][2 * half] = qv.x * acc[n][2 * half];
      qdq[n][2 * half + 1] = qv.y * acc[n][2 * half + 1];
    });
    gla_tc::store_token_rows(acc, dq + k_head, k_stride, t0, d.L, row0, f0);
  }
  // No barrier between dq and dk: a warp pairs its sub-chunk with the s earlier ones for dq and the 3 - s
  // later ones for dk, so every warp does the same work once both are counted.
  {  // dk rows of sub-chunk `sub`: V R^T, then later sub-chunks I against r = b at this sub-chunk's last row.
    float acc[NT][4] = {};
    tc::warp_mma<DV / 16, NT, Stored::by_row, Stored::by_column>(acc, vs + row0 * kLdv, kLdv, rs + f0 * kLdv, kLdv);
    scale_elements(acc, row0, f0, [&](int j, int ch) { return __expf(last[ch] - bs[j * kLdb + ch]); });
    if (sub < 3) {
      const float* ref = bs + (row0 + kSub - 1) * kLdb;
      float part[NT][4] = {};
      for (int I = sub + 1; I < 4; ++I) {
        decay_rows_into_scratch<kKeyCols, kLdk, kLdb, kLdc>(scratch, qs, bs, ref, kSub * I, f0, true);
        // dA^T: the dA tile read by column.
        tc::warp_mma<1, NT, Stored::by_column, Stored::by_row>(part, das + kSub * I * kScoreStride + row0, kScoreStride,
                                                               scratch, kLdc);
      }
      scale_elements(part, row0, f0, [&](int j, int ch) { return __expf(ref[ch] - bs[j * kLdb + ch]); });
#pragma unroll
      for (int n = 0; n < NT; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[n][e] += part[n][e];
    }
    if constexpr (kDiagMma)
      add_between_halves<NT, kKeyCols, kLdk, kLdb, kLdc, false>(acc, scratch, das, qs, bs, row0, f0);
    add_diagonal_block<NT, kLdk, kLdb, false, kDiagMma>(acc, das, qs, bs, row0, f0);
    if (dg_fused) {  // qdq <- r, written out once the decays are free
      for_each_pair([&](int n, int half, int j, int ch) {
        const float2 kv = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(ks + j * kLdk + ch));
        qdq[n][2 * half] -= kv.x * acc[n][2 * half];
        qdq[n][2 * half + 1] -= kv.y * acc[n][2 * half + 1];
      });
    } else if (r_chunk) {
      float column_sums[NT][2] = {};  // r over this lane's two rows, per channel
      for_each_pair([&](int n, int half, int j, int ch) {
        const float2 kv = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(ks + j * kLdk + ch));
        const float2 rv =
            make_float2(qdq[n][2 * half] - kv.x * acc[n][2 * half], qdq[n][2 * half + 1] - kv.y * acc[n][2 * half + 1]);
        *reinterpret_cast<float2*>(r_chunk + j * DK + ch) = rv;
        column_sums[n][0] += rv.x;
        column_sums[n][1] += rv.y;
      });
      // The sub-chunk's sum of r per channel, over the 8 lanes that share lane % 4 (the decay gradient's
      // chunk totals, so that it need not read r twice).
#pragma unroll
      for (int n = 0; n < NT; ++n)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          float x = column_sums[n][e];
          x += __shfl_xor_sync(0xffffffffu, x, 4);
          x += __shfl_xor_sync(0xffffffffu, x, 8);
          x += __shfl_xor_sync(0xffffffffu, x, 16);
          if (lane < 4) sub_totals[sub * DK + f0 + 8 * n + 2 * lane + e] = x;
        }
    }
    gla_tc::store_token_rows(acc, dk + k_head, k_stride, t0, d.L, row0, f0);
  }
  __syncthreads();  // every warp is done with k; the sub-chunk totals are in
  if (r_chunk && threadIdx.x < DK)
    r_totals[(static_cast<int64_t>(bh) * d.NC + c) * DK + threadIdx.x] =
        sub_totals[threadIdx.x] + sub_totals[DK + threadIdx.x] + sub_totals[2 * DK + threadIdx.x] +
        sub_totals[3 * DK + threadIdx.x];
  NextStateSlice<DK, DV, THREADS> next_state;  // in flight through the rescaling of k and dv
  if (dg_fused) next_state.load(c + 1 < d.NC ? states + state + DK * DV : nullptr);
  for (int i = threadIdx.x; i < kChunk * DK / 2; i += THREADS) {  // k <- k e^{b_63 - b}: what S1 keeps of k
    const int t = i / (DK / 2), ch = 2 * (i % (DK / 2));
    const float2 bt = *reinterpret_cast<const float2*>(bs + t * kLdb + ch);
    __nv_bfloat162* x = reinterpret_cast<__nv_bfloat162*>(ks + t * kLdk + ch);
    *x = __floats2bfloat162_rn(__expf(last[ch] - bt.x) * __low2float(*x),
                               __expf(last[ch + 1] - bt.y) * __high2float(*x));
  }
  __syncthreads();  // the decays are free
  if (dg_fused)
    for_each_pair([&](int n, int half, int i, int ch) {
      *reinterpret_cast<float2*>(bs + i * kLdb + ch) = make_float2(qdq[n][2 * half], qdq[n][2 * half + 1]);
    });
  {  // dv rows of sub-chunk `sub`, value columns [v0, v0 + DV / 2): (k e^{b_63 - b}) R + A^T dO.
    constexpr int kValueCols = T::kValueCols;
    const int v0 = (warp / 4) * kValueCols;
    float acc[kValueCols / 8][4] = {};
    tc::warp_mma<DK / 16, kValueCols / 8, Stored::by_row, Stored::by_row>(acc, ks + row0 * kLdk, kLdk, rs + v0, kLdv);
    for (int I = sub; I < 4; ++I)  // A^T is zero left of the diagonal block
      tc::warp_mma<1, kValueCols / 8, Stored::by_column, Stored::by_row>(
          acc, as + kSub * I * kScoreStride + row0, kScoreStride, dos + kSub * I * kLdv + v0, kLdv);
    gla_tc::store_token_rows(acc, dv + v_head, v_stride, t0, d.L, row0, v0);
  }
  if (dg_fused) {
    next_state.template dot_into<kLdv>(rs, sub_totals);
    __syncthreads();  // the tile of r (over the decays) and the later chunks' part are in
    write_chunk_decay_grad<DK, kLdb, THREADS>(bs, sub_totals, dg_fused + k_head, k_stride, t0, d.L);
  }
}

template <int DK, int DV, int THREADS, bool kDiagMma>
void launch_grad(const bf16* q, const bf16* k, const bf16* v, const bf16* dout, const float* g, const bf16* states,
                 const bf16* dstates, bf16* dq, bf16* dk, bf16* dv, float* r, float* r_totals, float* dg_fused,
                 float scale, const ChunkGrid& d, cudaStream_t stream) {
  using T = GradTiles<DK, DV, THREADS>;
  auto kernel = channel_grad_kernel<DK, DV, THREADS, kDiagMma>;
  gla_tc::set_shared_bytes(kernel, T::kBytes);
  kernel<<<d.BH * d.NC, THREADS, T::kBytes, stream>>>(q, k, v, dout, g, states, dstates, dq, dk, dv, r, r_totals,
                                                      dg_fused, scale, d);
  cudaCheckLaunch();
}

template <int THREADS, bool kDiagMma>
auto grad_launcher(int dk, int dv) {
  return dk == 64 ? (dv == 64 ? launch_grad<64, 64, THREADS, kDiagMma> : launch_grad<64, 128, THREADS, kDiagMma>)
                  : (dv == 64 ? launch_grad<128, 64, THREADS, kDiagMma> : launch_grad<128, 128, THREADS, kDiagMma>);
}

}  // namespace
}  // namespace gla_ch

void gla_channel_bwd_cuda(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                          const float* log_decay, const __nv_bfloat16* chunk_states, const __nv_bfloat16* dout,
                          __nv_bfloat16* dq, __nv_bfloat16* dk, __nv_bfloat16* dv, float* dlog_decay, float* workspace,
                          const GlaShape& s, const GlaOptions& o, GlaChannelVariant variant, cudaStream_t stream) {
  using namespace gla_ch;
  const ChunkGrid d = gla_tc::chunk_grid(s);
  gla_tc::check_call(s, o, "gla_channel_bwd_cuda", d, {q, k, v, log_decay, chunk_states, dout, dq, dk, dv, workspace},
                     gla_channel_tc_unsupported);
  if (d.BH == 0 || d.L == 0) return;
  if (dlog_decay && !gla_tc::aligned16(dlog_decay))
    throw std::invalid_argument("gla_channel_bwd_cuda: dlog_decay is not 16-byte aligned");
  const int dk_dim = static_cast<int>(s.key_dim), dv_dim = static_cast<int>(s.value_dim);
  const int64_t padded = static_cast<int64_t>(d.BH) * d.NC * kChunk;
  // Workspace: r, its per-chunk totals (both unused when the chunk kernel forms the decay gradient itself), the
  // state gradients.
  const bool fused_dg = dlog_decay && variant.fused_decay_grad;
  float* r = dlog_decay && !fused_dg ? workspace : nullptr;
  float* r_totals = dlog_decay && !fused_dg ? workspace + padded * dk_dim : nullptr;
  bf16* dstates = reinterpret_cast<bf16*>(workspace + padded * dk_dim + padded / kChunk * dk_dim);
  launch_channel_state_scan(q, dout, log_decay, dstates, nullptr, o.scale, true, variant.scan_rows64, dk_dim, dv_dim, d,
                            stream);
  auto grad = variant.grad_warps16 ? (variant.grad_diag_mma ? grad_launcher<512, true>(dk_dim, dv_dim)
                                                            : grad_launcher<512, false>(dk_dim, dv_dim))
                                   : (variant.grad_diag_mma ? grad_launcher<256, true>(dk_dim, dv_dim)
                                                            : grad_launcher<256, false>(dk_dim, dv_dim));
  grad(q, k, v, dout, log_decay, chunk_states, dstates, dq, dk, dv, r, r_totals, fused_dg ? dlog_decay : nullptr,
       o.scale, d, stream);
  if (r) launch_channel_decay_grad(r, r_totals, dlog_decay, dk_dim, d, stream);
}

}  // namespace seqbench
