// Scalar-decay GLA forward in one pass (FLA's fused_chunk): per 64-token chunk with b its cumulative decay,
// o_i = scale e^{b_i} q_i^T S + sum_{j<=i} scale (q_i . k_j) e^{b_i - b_j} v_j, then S <- e^{b_63} S +
// sum_j e^{b_63 - b_j} k_j v_j^T. Checked against gla_fwd_cpu in test_gpu_gla.cpp (both forward variants); the
// key-sum normaliser (linear attention's denominator) through linear_attention_fwd_cuda in test_gpu_linear.cpp.
#include <cuda_bf16.h>

#include <cstdint>
#include <stdexcept>

#include "mixers/gla/gla_scalar_bf16.cuh"
#include "mixers/gla/gla_scalar_tc_internal.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/tensor_core_bf16.cuh"

namespace seqbench {
namespace gla_tc {
namespace {

using tc::Stored;

// One block per (head, 64 value columns), 8 warps, the two value tiles of a head adjacent in the grid so
// the second one's q and k reads hit L2. The split forward writes and reads every chunk state (2 Dk Dv
// bytes per chunk, as much as q, k and v together at Dk = Dv = 128); here the state stays in fp32
// registers and only its bf16 copy for Q S goes through shared memory. The scores are recomputed per
// value tile, which costs less than the state traffic they replace.
constexpr int kFusedThreads = 256;

template <int DK>
struct FusedTiles {
  static constexpr int kLdk = DK + 8, kLdv = 64 + 8;
  // State rows per warp: 16. DK = 128 spreads 8 warps over the rows; DK = 64 also splits the columns.
  static constexpr int kRowWarps = DK / 16, kStateCols = 64 * kRowWarps / 8;
  // q once, k and v double-buffered, the bf16 state, the scores, u; 106 KB at DK = 128: two blocks per SM.
  static constexpr int kBytes = (3 * kChunk * kLdk + 2 * kChunk * kLdv + DK * kLdv + 2 * kChunk * kLdv) * 2 +
                                4 * kChunk * 4;
  // The key-sum normaliser's z [DK], column-sum partials [512 / DK][DK] (2 KB), row sums of the scores [2][64] and
  // q_t . z [64], fp32; allocated only when it runs, so the plain forward keeps its footprint.
  static constexpr int kColumnGroups = 512 / DK, kNormaliserBytes = (DK + 512 + 2 * kChunk + kChunk) * 4;
};

// The warp's share of the state (fp32 accumulators, rows row0.., columns col0..) as bf16 into dst, ld apart.
template <int NT>
__device__ __forceinline__ void store_state_tile(const float (&acc)[NT][4], bf16* dst, int ld, int row0, int col0) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    bf16* row = dst + (row0 + lane / 4 + 8 * half) * ld + col0 + 2 * (lane % 4);
#pragma unroll
    for (int n = 0; n < NT; ++n)
      *reinterpret_cast<uint32_t*>(row + 8 * n) = tc::pack_bf16x2(acc[n][2 * half], acc[n][2 * half + 1]);
  }
}

// Per row i of a 16 x 8 NT score tile at (row0, col0): sum_{j <= i} s_ij (fp32), into dst[i] (one writer per row,
// the lane with lane % 4 == 0, after a quad reduction).
template <int NT>
__device__ __forceinline__ void store_masked_row_sums(const float (&s)[NT][4], int row0, int col0, float* dst) {
  const int lane = threadIdx.x % 32;
  float sum[2] = {0.0f, 0.0f};
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int i = row0 + lane / 4 + 8 * half;
#pragma unroll
    for (int n = 0; n < NT; ++n) {
      const int j = col0 + 8 * n + 2 * (lane % 4);
      sum[half] += (j <= i ? s[n][2 * half] : 0.0f) + (j + 1 <= i ? s[n][2 * half + 1] : 0.0f);
    }
    sum[half] += __shfl_xor_sync(0xffffffffu, sum[half], 1);
    sum[half] += __shfl_xor_sync(0xffffffffu, sum[half], 2);
  }
  if (lane % 4 == 0) {
    dst[row0 + lane / 4] = sum[0];
    dst[row0 + lane / 4 + 8] = sum[1];
  }
}

// qz[t] <- q_t . z for the chunk's 64 rows of qs (bf16, ld LDK) and z (fp32 [DK]): four threads per row, thread p
// taking the feature pairs p, p + 4, ... so a warp's q reads fall in distinct banks and its z reads broadcast.
template <int DK, int LDK>
__device__ __forceinline__ void store_query_key_sums(const bf16* qs, const float* zs, float* qz) {
  static_assert(kFusedThreads == 4 * kChunk, "four threads per row");
  const int row = threadIdx.x / 4, p = threadIdx.x % 4;
  float dot = 0.0f;
#pragma unroll
  for (int j = p; j < DK / 2; j += 4) {
    const float2 x = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(qs + row * LDK + 2 * j));
    const float2 z = *reinterpret_cast<const float2*>(zs + 2 * j);
    dot += x.x * z.x + x.y * z.y;
  }
  dot += __shfl_xor_sync(0xffffffffu, dot, 1);
  dot += __shfl_xor_sync(0xffffffffu, dot, 2);
  if (p == 0) qz[row] = dot;
}

// zp[g][f] <- the sum of k[t][f] over the chunk's rows g 64 / G .. (g + 1) 64 / G - 1: one column pair and row group
// per thread, summed later in a fixed order (deterministic, unlike shared-memory atomics).
template <int DK, int LDK, int G>
__device__ __forceinline__ void store_column_sum_partials(const bf16* K, float* zp) {
  static_assert(G * DK / 2 == kFusedThreads, "one column pair and row group per thread");
  constexpr int kRows = kChunk / G;
  const int pair = threadIdx.x % (DK / 2), g = threadIdx.x / (DK / 2);
  float2 sum = {0.0f, 0.0f};
#pragma unroll
  for (int r = g * kRows; r < (g + 1) * kRows; ++r) {
    const float2 x = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(K + r * LDK + 2 * pair));
    sum.x += x.x;
    sum.y += x.y;
  }
  *reinterpret_cast<float2*>(zp + g * DK + 2 * pair) = sum;
}

// The reverse of the final state's store: the warp's share of a fp32 state (rows ld apart) into its accumulators.
template <int NT>
__device__ __forceinline__ void load_state_tile(float (&acc)[NT][4], const float* src, int ld, int row0, int col0) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int n = 0; n < NT; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e)
      acc[n][e] = src[(row0 + lane / 4 + 8 * (e / 2)) * ld + col0 + 8 * n + 2 * (lane % 4) + e % 2];
}

template <int DK, bool kDecay>
__global__ void __launch_bounds__(kFusedThreads, 2)
    fused_forward_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                         const float* __restrict__ b, const float* __restrict__ value_scale, bf16* __restrict__ out,
                         bf16* __restrict__ states, float* __restrict__ final_state, float scale, int dv, ChunkGrid d,
                         KeySumNormaliser norm, FusedSegments seg, const float* __restrict__ start_states) {
  using T = FusedTiles<DK>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* qs = reinterpret_cast<bf16*>(smem_raw);                 // [64][kLdk]
  bf16* ks = qs + kChunk * T::kLdk;                             // [2][64][kLdk]
  bf16* vs = ks + 2 * kChunk * T::kLdk;                         // [2][64][kLdv] this block's value columns
  bf16* hs = vs + 2 * kChunk * T::kLdv;                         // [DK][kLdv] the state at the chunk's start
  bf16* as = hs + DK * T::kLdv;                                 // [64][kLdv] decayed, masked scores
  bf16* us = as + kChunk * T::kLdv;                             // [64][kLdv] e^{b_63 - b_j} v_j
  float* bs = reinterpret_cast<float*>(us + kChunk * T::kLdv);  // [2][64] cumulative decays
  float* ds = bs + 2 * kChunk;                                  // [2][64] value scales
  float* zs = ds + 2 * kChunk;                                  // [DK] z before the chunk (normaliser only)
  float* zp = zs + DK;                                          // [kColumnGroups][DK] the chunk's column sums of k
  float* rs = zp + 512;                                         // [2][64] masked score row sums, per column half
  float* qz = rs + 2 * kChunk;                                  // [64] q_t . z
  static_assert(T::kLdv == kScoreStride, "scores share the value tiles' row stride");

  const int tiles = dv / 64, c0 = (blockIdx.x % tiles) * 64, walk = blockIdx.x / tiles, warp = threadIdx.x / 32;
  const int bh = walk % d.BH, segment = walk / d.BH;  // segment 0 alone: the whole sequence
  const int first = segment * seg.chunks, end = min(d.NC, first + seg.chunks);
  const int row0 = 16 * (warp % 4), half = warp / 4;  // scores and output: 16 rows x 32 columns
  const int srow = 16 * (warp % T::kRowWarps), scol = (warp / T::kRowWarps) * T::kStateCols;
  const bf16* q_h = q + qk_head_offset(bh, d, DK);
  const bf16* k_h = k + qk_head_offset(bh, d, DK);
  const bf16* v_h = v + head_offset(bh, d, dv) + c0;
  bf16* out_h = out + head_offset(bh, d, dv) + c0;
  const int64_t qk_stride = static_cast<int64_t>(d.QK) * DK, v_stride = static_cast<int64_t>(d.H) * dv;
  auto load_kv = [&](int c, int buf) {
    tc::load_tile_async<kChunk, DK, T::kLdk, kFusedThreads>(ks + buf * kChunk * T::kLdk, k_h, qk_stride, c * kChunk,
                                                            d.L);
    tc::load_tile_async<kChunk, 64, T::kLdv, kFusedThreads>(vs + buf * kChunk * T::kLdv, v_h, v_stride, c * kChunk,
                                                            d.L);
    if (kDecay) load_chunk_decays_async(bs + buf * kChunk, b, bh, c, d);
    if (value_scale) load_chunk_decays_async(ds + buf * kChunk, value_scale, bh, c, d);
    tc::commit_async();
  };
  auto load_q = [&](int c) {
    tc::load_tile_async<kChunk, DK, T::kLdk, kFusedThreads>(qs, q_h, qk_stride, c * kChunk, d.L);
    tc::commit_async();
  };

  // Without a decay or a value scale u_j = v_j: the state update reads the value tile itself.
  const bool weigh = kDecay || value_scale;
  // Normaliser: den_t = q_t . z_t + eps with z_t = sum_{s<=t} k_s = z (before the chunk) + the masked score row
  // sums, in fp32 from the score accumulators; every value tile computes it, the first one stores it.
  const bool key_sums = norm.divide || norm.key_sum, writer = c0 == 0;
  if (key_sums)
    for (int i = threadIdx.x; i < DK; i += kFusedThreads) zs[i] = 0.0f;
  float acc[T::kStateCols / 8][4] = {};
  if (segment > 0)  // the state before the segment, from the sub-segment scans
    load_state_tile(acc,
                    start_states + (static_cast<int64_t>(bh) * seg.states() + segment * seg.subs - 1) * DK * dv + c0,
                    dv, srow, scol);
  store_state_tile(acc, hs, T::kLdv, srow, scol);
  load_q(first);
  load_kv(first, first & 1);
  for (int c = first; c < end; ++c) {
    const int buf = c & 1;
    tc::wait_async<0>();
    __syncthreads();  // chunk c's tiles and state are visible; chunk c - 1's k, v, scores and u are free
    if (c + 1 < end) load_kv(c + 1, buf ^ 1);
    if (states) store_state_tile(acc, states + (static_cast<int64_t>(bh) * d.NC + c) * DK * dv + c0, dv, srow, scol);
    const bf16* K = ks + buf * kChunk * T::kLdk;
    const bf16* V = vs + buf * kChunk * T::kLdv;
    const float* bc = bs + buf * kChunk;

    {  // Scores of rows row0.. and columns 32 half..; tiles wholly above the diagonal are only zeroed.
      float s[4][4] = {};
      if (32 * half <= row0 + 15)
        tc::warp_mma<DK / 16, 4, Stored::by_row, Stored::by_column>(s, qs + row0 * T::kLdk, T::kLdk,
                                                                    K + 32 * half * T::kLdk, T::kLdk);
      store_decayed_scores<kDecay>(s, row0, 32 * half, bc, scale, as, value_scale ? ds + buf * kChunk : nullptr);
      if (norm.divide) store_masked_row_sums(s, row0, 32 * half, rs + half * kChunk);
    }
    if (norm.divide) store_query_key_sums<DK, T::kLdk>(qs, zs, qz);
    // u_j = e^{b_63 - b_j} v_j (times its value scale), what each token adds to the state at the chunk's end;
    // rows past L are zero.
    for (int i = threadIdx.x; weigh && i < kChunk * 8; i += kFusedThreads) {
      const int t = i / 8;
      const float w = (kDecay ? __expf(bc[kChunk - 1] - bc[t]) : 1.0f) * (value_scale ? ds[buf * kChunk + t] : 1.0f);
      const __nv_bfloat162* x = reinterpret_cast<const __nv_bfloat162*>(V + t * T::kLdv + (i % 8) * 8);
      __nv_bfloat162* y = reinterpret_cast<__nv_bfloat162*>(us + t * T::kLdv + (i % 8) * 8);
#pragma unroll
      for (int e = 0; e < 4; ++e) y[e] = __floats2bfloat162_rn(w * __low2float(x[e]), w * __high2float(x[e]));
    }
    __syncthreads();  // scores and u complete

    {  // O = scale e^{b_i} Q S + A V over this warp's 16 rows and 32 columns.
      float o[4][4] = {};
      tc::warp_mma<DK / 16, 4, Stored::by_row, Stored::by_row>(o, qs + row0 * T::kLdk, T::kLdk, hs + 32 * half,
                                                               T::kLdv);
      scale_rows(o, row0, [&](int i) { return kDecay ? scale * __expf(bc[i]) : scale; });
      // A is zero right of the diagonal block: rows row0.. need the first row0 / 16 + 1 token blocks only.
      for (int kk = 0; kk <= row0 / 16; ++kk)
        tc::warp_mma<1, 4, Stored::by_row, Stored::by_row>(o, as + row0 * T::kLdv + 16 * kk, T::kLdv,
                                                           V + 16 * kk * T::kLdv + 32 * half, T::kLdv);
      if (norm.divide) {
        // Divide in fp32 before the single bf16 rounding of the output.
        auto den = [&](int i) { return qz[i] + rs[i] + rs[kChunk + i] + norm.eps; };
        scale_rows(o, row0, [&](int i) { return 1.0f / den(i); });
        const int lane = threadIdx.x % 32;
        if (writer && half == 0 && lane % 4 == 0 && norm.den)
          for (int r = row0 + lane / 4; r < row0 + 16; r += 8)
            if (c * kChunk + r < d.L) norm.den[static_cast<int64_t>(bh) * d.L + c * kChunk + r] = den(r);
      }
      store_token_rows(o, out_h, v_stride, c * kChunk, d.L, row0, 32 * half);
    }
    if (key_sums) store_column_sum_partials<DK, T::kLdk, T::kColumnGroups>(K, zp);
    __syncthreads();  // every warp is done with q and the state copy: q of the next chunk loads during the update
    if (c + 1 < end) load_q(c + 1);
    // z <- z + this chunk's keys (rows past L are zero); read again only after the next chunk's first barrier.
    if (key_sums)
      for (int i = threadIdx.x; i < DK; i += kFusedThreads) {
        float z = zs[i];
#pragma unroll
        for (int g = 0; g < T::kColumnGroups; ++g) z += zp[g * DK + i];
        zs[i] = z;
      }
    // S <- e^{b_63} S + K^T U (K^T: the k tile read by column); no warp reads the state copy until the next chunk.
    if constexpr (kDecay) {
      const float decay = __expf(bc[kChunk - 1]);
#pragma unroll
      for (int n = 0; n < T::kStateCols / 8; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[n][e] *= decay;
    }
    tc::warp_mma<kChunk / 16, T::kStateCols / 8, Stored::by_column, Stored::by_row>(acc, K + srow, T::kLdk,
                                                                                    (weigh ? us : V) + scol, T::kLdv);
    store_state_tile(acc, hs, T::kLdv, srow, scol);
  }

  if (writer && norm.key_sum)  // each thread reads back only the z entries it wrote
    for (int i = threadIdx.x; i < DK; i += kFusedThreads) norm.key_sum[static_cast<int64_t>(bh) * DK + i] = zs[i];
  if (final_state && end == d.NC) {
    const int lane = threadIdx.x % 32;
    float* dst = final_state + static_cast<int64_t>(bh) * DK * dv + c0;
#pragma unroll
    for (int n = 0; n < T::kStateCols / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        dst[(srow + lane / 4 + 8 * (e / 2)) * dv + scol + 8 * n + 2 * (lane % 4) + e % 2] = acc[n][e];
  }
}

template <int DK>
void launch(const bf16* q, const bf16* k, const bf16* v, const float* b, const float* value_scale, bf16* out,
            bf16* states, float* final_state, float scale, int dv, const ChunkGrid& d, const KeySumNormaliser& norm,
            FusedSegments seg, const float* start_states, cudaStream_t stream) {
  auto kernel = b ? fused_forward_kernel<DK, true> : fused_forward_kernel<DK, false>;
  const bool key_sums = norm.divide || norm.key_sum;
  if (seg.count <= 1) {
    seg = FusedSegments{};
    seg.chunks = seg.sub_chunks = d.NC;
  } else if (key_sums || !start_states) {
    throw std::logic_error("launch_fused_forward: segments need start states and no key-sum normaliser");
  }
  const int bytes = FusedTiles<DK>::kBytes + (key_sums ? FusedTiles<DK>::kNormaliserBytes : 0);
  set_shared_bytes(kernel, FusedTiles<DK>::kBytes + FusedTiles<DK>::kNormaliserBytes);
  // Block x: value tile fastest, then head, then segment.
  kernel<<<d.BH*(dv / 64) * seg.count, kFusedThreads, bytes, stream>>>(
      q, k, v, b, value_scale, out, states, final_state, scale, dv, d, norm, seg, start_states);
  cudaCheckLaunch();
}

}  // namespace

void launch_fused_forward(const bf16* q, const bf16* k, const bf16* v, const float* b, const float* value_scale,
                          bf16* out, bf16* states, float* final_state, float scale, int dk, int dv, const ChunkGrid& d,
                          cudaStream_t stream, const KeySumNormaliser& norm, const FusedSegments& seg,
                          const float* start_states) {
  (dk == 64 ? launch<64> : launch<128>)(q, k, v, b, value_scale, out, states, final_state, scale, dv, d, norm, seg,
                                        start_states, stream);
}

}  // namespace gla_tc

void gla_scalar_key_normalised_fwd_cuda(const gla_tc::bf16* q, const gla_tc::bf16* k, const gla_tc::bf16* v,
                                        gla_tc::bf16* out, bool divide, float* den, float* key_sum, float eps,
                                        float* final_state, float* workspace, const GlaShape& s, cudaStream_t stream) {
  using namespace gla_tc;
  GlaOptions o;
  o.scale = 1.0f;
  const ChunkGrid d = chunk_grid(s);
  check_call(s, o, "gla_scalar_key_normalised_fwd_cuda", d, {q, k, v, out, workspace}, gla_scalar_tc_unsupported);
  if (d.BH == 0 || d.L == 0) return;
  if (final_state && !aligned16(final_state))
    throw std::invalid_argument("gla_scalar_key_normalised_fwd_cuda: final_state is not 16-byte aligned");
  KeySumNormaliser norm;
  norm.divide = divide, norm.den = den, norm.key_sum = key_sum, norm.eps = eps;
  const int dk = static_cast<int>(s.key_dim), dv = static_cast<int>(s.value_dim);
  // z is carried along the walk, so only the plain sum (unnormalised, no key sum out) walks in segments.
  float* state_share = workspace + 2 * static_cast<int64_t>(d.BH) * d.NC * kChunk;
  const FusedSegments seg = fused_segment_start_states(k, v, nullptr, nullptr, state_share, state_share_floats(s),
                                                       !divide && !key_sum, dk, dv, d, stream);
  launch_fused_forward(q, k, v, nullptr, nullptr, out, nullptr, final_state, 1.0f, dk, dv, d, stream, norm, seg,
                       state_share);
}

}  // namespace seqbench
