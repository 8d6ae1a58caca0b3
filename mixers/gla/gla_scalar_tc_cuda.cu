// Scalar-decay GLA forward on bf16 tensor cores, chunked in 64 tokens: with b the cumulative decay inside
// a chunk, o_i = scale e^{b_i} q_i^T S0 + sum_{j<=i} scale (q_i . k_j) e^{b_i - b_j} v_j and
// S1 = e^{b_63} S0 + sum_j e^{b_63 - b_j} k_j v_j^T. Checked against gla_fwd_cpu in test_gpu_gla.cpp.
#include <cuda_bf16.h>

#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "mixers/gla/gla_scalar_bf16.cuh"
#include "mixers/gla/gla_scalar_tc_internal.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/tensor_core_bf16.cuh"

namespace seqbench {
namespace gla_tc {
namespace {

using tc::Stored;

// One warp per (head, chunk): two 32-token halves, each an inclusive warp scan.
__global__ void chunk_cumulative_decay_kernel(const float* __restrict__ g, float* __restrict__ b,
                                              const float* __restrict__ value_scale, float* __restrict__ padded_scale,
                                              ChunkGrid d) {
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (warp >= static_cast<int64_t>(d.BH) * d.NC) return;
  const int bh = static_cast<int>(warp / d.NC), c = static_cast<int>(warp % d.NC);
  float carry = 0.0f;
  for (int half = 0; half < 2; ++half) {
    const int t = c * kChunk + 32 * half + lane;
    float x = g && t < d.L ? g[head_offset(bh, d, 1) + static_cast<int64_t>(t) * d.H] : 0.0f;
#pragma unroll
    for (int off = 1; off < 32; off *= 2) {
      const float y = __shfl_up_sync(0xffffffffu, x, off);
      if (lane >= off) x += y;
    }
    b[warp * kChunk + 32 * half + lane] = carry + x;
    if (value_scale)
      padded_scale[warp * kChunk + 32 * half + lane] =
          t < d.L ? value_scale[head_offset(bh, d, 1) + static_cast<int64_t>(t) * d.H] : 0.0f;
    carry += __shfl_sync(0xffffffffu, x, 31);
  }
}

// One block per (head, 64 value columns), 4 warps; warp w holds state rows [w DK / 4, (w + 1) DK / 4) in
// fp32 registers through the whole sequence. Tiles of the next chunk load (cp.async) while this one runs.
constexpr int kScanThreads = 128;

template <int DK>
struct ScanTiles {
  static constexpr int kLda = DK + 8, kLdu = 64 + 8, kRowTiles = DK / 64;  // 16-row tiles per warp
  static constexpr int kBytes = 2 * kChunk * (kLda + kLdu) * 2 + 4 * kChunk * 4;
};

template <int DK, bool kReverse, bool kDecay>
__global__ void __launch_bounds__(kScanThreads, 4)
    decayed_state_scan_kernel(const bf16* __restrict__ a, const bf16* __restrict__ u, const float* __restrict__ b,
                              const float* __restrict__ value_scale, bf16* __restrict__ states,
                              float* __restrict__ final_state, float scale, int dv, ChunkGrid d, FusedSegments range) {
  using T = ScanTiles<DK>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* as = reinterpret_cast<bf16*>(smem_raw);      // [2][64][kLda] a rows, double-buffered
  bf16* us = as + 2 * kChunk * T::kLda;              // [2][64][kLdu] u rows (this block's columns)
  float* bs = reinterpret_cast<float*>(us + 2 * kChunk * T::kLdu);  // [2][64] cumulative decays
  float* ds = bs + 2 * kChunk;                                      // [2][64] value scales

  const int bh = blockIdx.x, c0 = blockIdx.y * 64, warp = threadIdx.x / 32;
  const bf16* a_h = a + qk_head_offset(bh, d, DK);  // a is q or k
  const bf16* u_h = u + head_offset(bh, d, dv) + c0;
  const int64_t a_stride = static_cast<int64_t>(d.QK) * DK, u_stride = static_cast<int64_t>(d.H) * dv;
  // Forward: the chunks of sub-segment blockIdx.z (all of them when the grid has one), from a zero state.
  // Reverse: always every chunk.
  const int first = range.sub_first(blockIdx.z), count = range.sub_end(blockIdx.z, d.NC) - first;
  auto chunk_of = [&](int it) { return kReverse ? d.NC - 1 - it : first + it; };
  auto load = [&](int it, int buf) {
    const int c = chunk_of(it);
    tc::load_tile_async<kChunk, DK, T::kLda, kScanThreads>(as + buf * kChunk * T::kLda, a_h, a_stride, c * kChunk, d.L);
    tc::load_tile_async<kChunk, 64, T::kLdu, kScanThreads>(us + buf * kChunk * T::kLdu, u_h, u_stride, c * kChunk, d.L);
    if (kDecay) load_chunk_decays_async(bs + buf * kChunk, b, bh, c, d);
    if (value_scale) load_chunk_decays_async(ds + buf * kChunk, value_scale, bh, c, d);
    tc::commit_async();
  };
  // Without a decay, a value scale or a backward scale other than 1 every w_t is 1: u is used as loaded.
  const bool weigh = kDecay || value_scale || (kReverse && scale != 1.0f);

  float acc[T::kRowTiles][8][4] = {};
  load(0, 0);
  for (int it = 0; it < count; ++it) {
    const int buf = it & 1, c = chunk_of(it);
    __syncthreads();  // iteration it - 1 is done with the other buffer
    if (it + 1 < count) {
      load(it + 1, buf ^ 1);
      tc::wait_async<1>();
    } else {
      tc::wait_async<0>();
    }
    __syncthreads();  // this chunk's tiles are visible to every warp
    const bf16* A = as + buf * kChunk * T::kLda;
    bf16* U = us + buf * kChunk * T::kLdu;
    const float* bc = bs + buf * kChunk;

    // X before this chunk, straight from the registers (bf16 pairs).
    if (states) store_scan_state(acc, states + (static_cast<int64_t>(bh) * d.NC + c) * DK * dv + c0, dv);

    // u_t *= w_t in place, 8 columns per step; rows past L are zero and stay zero.
    const float total = kDecay ? bc[kChunk - 1] : 0.0f;
    if (weigh) {  // the same for every thread of the block
      for (int i = threadIdx.x; i < kChunk * 8; i += kScanThreads) {
        const int t = i / 8;
        float w = kReverse ? scale * (kDecay ? __expf(bc[t]) : 1.0f) : (kDecay ? __expf(total - bc[t]) : 1.0f);
        if (value_scale) w *= ds[buf * kChunk + t];
        __nv_bfloat162* x = reinterpret_cast<__nv_bfloat162*>(U + t * T::kLdu + (i % 8) * 8);
#pragma unroll
        for (int e = 0; e < 4; ++e) x[e] = __floats2bfloat162_rn(w * __low2float(x[e]), w * __high2float(x[e]));
      }
      __syncthreads();
    }

#pragma unroll
    for (int m = 0; m < T::kRowTiles; ++m) {
      if constexpr (kDecay) {
        const float decay = __expf(total);
#pragma unroll
        for (int n = 0; n < 8; ++n)
#pragma unroll
          for (int e = 0; e < 4; ++e) acc[m][n][e] *= decay;
      }
      // a^T (rows: key channels, contraction: tokens) is the a tile read by column.
      tc::warp_mma<kChunk / 16, 8, Stored::by_column, Stored::by_row>(acc[m], A + (warp * T::kRowTiles + m) * 16,
                                                                      T::kLda, U, T::kLdu);
    }
  }

  // [BH, gridDim.z, DK, dv]: one state per head when the grid has one sub-segment.
  if (final_state)
    store_scan_state(acc, final_state + (static_cast<int64_t>(bh) * gridDim.z + blockIdx.z) * DK * dv + c0, dv);
}

// One block per (head, chunk), 8 warps: warp w owns chunk rows 16 (w % 4) .. + 15 and half the columns of
// the scores (32) and of the output (Dv / 2). The chunk's state comes from the scan.
constexpr int kChunkThreads = 256;

template <int DK, int DV>
struct OutputTiles {
  static constexpr int kLdk = DK + 8, kLdv = DV + 8;
  static constexpr int kBytes = (2 * kChunk * kLdk + kChunk * kLdv + DK * kLdv + kChunk * kScoreStride) * 2 +
                                2 * kChunk * 4;
};

template <int DK, int DV, bool kDecay>
__global__ void __launch_bounds__(kChunkThreads, 2)
    chunk_output_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                        const bf16* __restrict__ states, const float* __restrict__ b,
                        const float* __restrict__ value_scale, bf16* __restrict__ out,
                        float scale, ChunkGrid d) {
  using T = OutputTiles<DK, DV>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* qs = reinterpret_cast<bf16*>(smem_raw);  // [64][kLdk]
  bf16* ks = qs + kChunk * T::kLdk;              // [64][kLdk]
  bf16* vs = ks + kChunk * T::kLdk;              // [64][kLdv]
  bf16* hs = vs + kChunk * T::kLdv;              // [DK][kLdv] state at the chunk's start
  bf16* as = hs + DK * T::kLdv;                  // [64][kScoreStride] decayed, masked scores
  float* bs = reinterpret_cast<float*>(as + kChunk * kScoreStride);  // [64] cumulative decays
  float* ds = bs + kChunk;                                           // [64] value scales

  const int bh = blockIdx.x / d.NC, c = blockIdx.x % d.NC, t0 = c * kChunk;
  const int warp = threadIdx.x / 32, row0 = 16 * (warp % 4), half = warp / 4;
  const int64_t qk_stride = static_cast<int64_t>(d.QK) * DK, v_stride = static_cast<int64_t>(d.H) * DV;
  // Two copy groups: the scores need only Q, K and the decays, so they start while V and S0 load.
  tc::load_tile_async<kChunk, DK, T::kLdk, kChunkThreads>(qs, q + qk_head_offset(bh, d, DK), qk_stride, t0, d.L);
  tc::load_tile_async<kChunk, DK, T::kLdk, kChunkThreads>(ks, k + qk_head_offset(bh, d, DK), qk_stride, t0, d.L);
  if (kDecay) load_chunk_decays_async(bs, b, bh, c, d);
  if (value_scale) load_chunk_decays_async(ds, value_scale, bh, c, d);
  tc::commit_async();
  tc::load_tile_async<kChunk, DV, T::kLdv, kChunkThreads>(vs, v + head_offset(bh, d, DV), v_stride, t0, d.L);
  tc::load_tile_async<DK, DV, T::kLdv, kChunkThreads>(hs, states + (static_cast<int64_t>(bh) * d.NC + c) * DK * DV,
                                                      DV, 0, DK);
  tc::commit_async();
  tc::wait_async<1>();
  __syncthreads();

  {  // A = scale (Q K^T) e^{b_i - b_j}, lower triangle: this warp's 16 rows x 32 columns.
    float s[4][4] = {};
    tc::warp_mma<DK / 16, 4, Stored::by_row, Stored::by_column>(s, qs + row0 * T::kLdk, T::kLdk,
                                                                ks + 32 * half * T::kLdk, T::kLdk);
    store_decayed_scores<kDecay>(s, row0, 32 * half, bs, scale, as, value_scale ? ds : nullptr);
  }
  tc::wait_async<0>();
  __syncthreads();  // every warp's scores are in `as`; V and S0 are visible
  // O = scale e^{b_i} Q S0 + A V over this warp's Dv / 2 columns.
  constexpr int kCols = DV / 2;
  float o[kCols / 8][4] = {};
  tc::warp_mma<DK / 16, kCols / 8, Stored::by_row, Stored::by_row>(o, qs + row0 * T::kLdk, T::kLdk,
                                                                   hs + half * kCols, T::kLdv);
  scale_rows(o, row0, [&](int i) { return kDecay ? scale * __expf(bs[i]) : scale; });
  for (int kk = 0; kk <= row0 / 16; ++kk)  // A is zero right of the diagonal block
    tc::warp_mma<1, kCols / 8, Stored::by_row, Stored::by_row>(o, as + row0 * kScoreStride + 16 * kk, kScoreStride,
                                                               vs + 16 * kk * T::kLdv + half * kCols, T::kLdv);
  store_token_rows(o, out + head_offset(bh, d, DV), v_stride, t0, d.L, row0, half * kCols);
}

template <int DK, int DV>
void launch_output(const bf16* q, const bf16* k, const bf16* v, const bf16* states, const float* b,
                   const float* value_scale, bf16* out, float scale, const ChunkGrid& d, cudaStream_t stream) {
  auto kernel = b ? chunk_output_kernel<DK, DV, true> : chunk_output_kernel<DK, DV, false>;
  set_shared_bytes(kernel, OutputTiles<DK, DV>::kBytes);
  kernel<<<d.BH * d.NC, kChunkThreads, OutputTiles<DK, DV>::kBytes, stream>>>(q, k, v, states, b, value_scale, out,
                                                                              scale, d);
  cudaCheckLaunch();
}

template <int DK, bool kReverse>
void launch_scan(const bf16* a, const bf16* u, const float* b, const float* value_scale, bf16* states,
                 float* final_state, float scale, int dv, const ChunkGrid& d, cudaStream_t stream,
                 const FusedSegments& range, int sub_segments) {
  auto kernel = b ? decayed_state_scan_kernel<DK, kReverse, true> : decayed_state_scan_kernel<DK, kReverse, false>;
  set_shared_bytes(kernel, ScanTiles<DK>::kBytes);
  const dim3 grid(static_cast<unsigned>(d.BH), static_cast<unsigned>(dv / 64), static_cast<unsigned>(sub_segments));
  kernel<<<grid, kScanThreads, ScanTiles<DK>::kBytes, stream>>>(a, u, b, value_scale, states, final_state, scale, dv, d,
                                                                range);
  cudaCheckLaunch();
}

}  // namespace

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

void launch_chunk_cumulative_decay(const float* log_decay, float* b, const ChunkGrid& d, cudaStream_t stream,
                                   const float* value_scale, float* padded_scale) {
  const int64_t threads = static_cast<int64_t>(d.BH) * d.NC * 32;
  chunk_cumulative_decay_kernel<<<static_cast<unsigned>((threads + 255) / 256), 256, 0, stream>>>(
      log_decay, b, value_scale, padded_scale, d);
  cudaCheckLaunch();
}

void launch_decayed_state_scan(const bf16* a, const bf16* u, const float* b, bf16* states, float* final_state,
                               float scale, bool reverse, int dk, int dv, const ChunkGrid& d, cudaStream_t stream,
                               const float* value_scale) {
  auto scan = dk == 64 ? (reverse ? launch_scan<64, true> : launch_scan<64, false>)
                       : (reverse ? launch_scan<128, true> : launch_scan<128, false>);
  FusedSegments whole;  // one sub-segment: every chunk
  whole.chunks = whole.sub_chunks = d.NC;
  scan(a, u, b, value_scale, states, final_state, scale, dv, d, stream, whole, 1);
}

void launch_sub_segment_scan(const bf16* k, const bf16* v, const float* b, const float* value_scale, float* states,
                             const FusedSegments& seg, int dk, int dv, const ChunkGrid& d, cudaStream_t stream) {
  (dk == 64 ? launch_scan<64, false> : launch_scan<128, false>)(k, v, b, value_scale, nullptr, states, 1.0f, dv, d,
                                                                stream, seg, seg.states());
}

void launch_chunk_output(const bf16* q, const bf16* k, const bf16* v, const bf16* states, const float* b,
                         const float* value_scale, bf16* out, float scale, int dk, int dv, const ChunkGrid& d,
                         cudaStream_t stream) {
  auto output = dk == 64 ? (dv == 64 ? launch_output<64, 64> : launch_output<64, 128>)
                         : (dv == 64 ? launch_output<128, 64> : launch_output<128, 128>);
  output(q, k, v, states, b, value_scale, out, scale, d, stream);
}

ChunkGrid chunk_grid(const GlaShape& s, int64_t qk_heads) {
  return {static_cast<int>(s.seq_len), static_cast<int>(s.heads),
          static_cast<int>((s.seq_len + kChunk - 1) / kChunk), static_cast<int>(s.batch * s.heads),
          static_cast<int>(qk_heads > 0 ? qk_heads : s.heads)};
}

void check_qk_heads(const GlaShape& s, int64_t qk_heads, const char* what) {
  if (qk_heads < 0 || (qk_heads > 0 && s.heads % qk_heads != 0))
    throw std::invalid_argument(std::string(what) + ": qk_heads=" + std::to_string(qk_heads) +
                                " must be 0 or divide heads=" + std::to_string(s.heads));
}

void check_call(const GlaShape& s, const GlaOptions& o, const char* what, const ChunkGrid& d,
                std::initializer_list<const void*> buffers, ShapeReason unsupported) {
  const std::string why = unsupported(s, o);
  if (!why.empty()) throw std::invalid_argument(std::string(what) + ": " + why);
  if (d.BH == 0 || d.L == 0) return;  // nothing to read or write
  int i = 0;
  for (const void* p : buffers) {
    if (!p) throw std::invalid_argument(std::string(what) + ": required buffer #" + std::to_string(i) + " is null");
    if (!aligned16(p))
      throw std::invalid_argument(std::string(what) + ": buffer #" + std::to_string(i) +
                                  " is not 16-byte aligned (the tiles load 16 bytes at a time)");
    ++i;
  }
}

}  // namespace gla_tc

std::string gla_scalar_tc_unsupported(const GlaShape& s, const GlaOptions& o) {
  if (s.channel_decay) return "per-channel decay: the bf16 tensor-core GLA takes one decay per (token, head)";
  return gla_tc::tile_shape_reason(s, o);
}

std::string gla_tc::tile_shape_reason(const GlaShape& s, const GlaOptions& o) {
  auto dim_ok = [](int64_t x) { return x == 64 || x == 128; };
  if (!dim_ok(s.key_dim) || !dim_ok(s.value_dim))
    return "key_dim and value_dim must each be 64 or 128, got key_dim=" + std::to_string(s.key_dim) +
           " value_dim=" + std::to_string(s.value_dim);
  if (o.chunk_size < 1) return "chunk_size must be >= 1, got " + std::to_string(o.chunk_size);
  if (s.batch < 0 || s.seq_len < 0 || s.heads < 1)
    return "bad shape batch=" + std::to_string(s.batch) + " seq_len=" + std::to_string(s.seq_len) +
           " heads=" + std::to_string(s.heads);
  const int64_t chunks = s.batch * s.heads * ((s.seq_len + gla_tc::kChunk - 1) / gla_tc::kChunk);
  if (chunks >= (int64_t{1} << 31) || s.seq_len >= (int64_t{1} << 30))
    return "too many chunks: batch * heads * ceil(seq_len / 64) must be < 2^31, got " + std::to_string(chunks);
  return {};
}

int64_t gla_scalar_chunk_state_elements(const GlaShape& s) {
  return s.batch * s.heads * ((s.seq_len + gla_tc::kChunk - 1) / gla_tc::kChunk) * s.key_dim * s.value_dim;
}

int64_t gla_tc::state_share_floats(const GlaShape& s) { return (gla_scalar_chunk_state_elements(s) + 1) / 2; }

int64_t gla_scalar_workspace_floats(const GlaShape& s) {
  const int64_t padded_tokens = s.batch * s.heads * ((s.seq_len + gla_tc::kChunk - 1) / gla_tc::kChunk) * gla_tc::kChunk;
  return 2 * padded_tokens + gla_tc::state_share_floats(s);  // decays, q.dq - k.dk, bf16 dL/dS
}

GlaScalarFwdVariant gla_scalar_fwd_variant() {
  static const GlaScalarFwdVariant chosen = [] {
    const char* env = std::getenv("SEQBENCH_GLA_SCALAR_FWD");
    const std::string name = env ? env : "";
    if (name.empty() || name == "fused") return GlaScalarFwdVariant::fused;
    if (name == "split") return GlaScalarFwdVariant::split;
    throw std::invalid_argument("SEQBENCH_GLA_SCALAR_FWD='" + name + "'; expected fused or split");
  }();
  return chosen;
}

const char* gla_scalar_fwd_variant_name(GlaScalarFwdVariant variant) {
  return variant == GlaScalarFwdVariant::fused ? "fused" : "split";
}

void gla_scalar_fwd_cuda(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                         const float* log_decay, __nv_bfloat16* out, __nv_bfloat16* chunk_states, float* final_state,
                         float* workspace, const GlaShape& s, const GlaOptions& o, GlaScalarFwdVariant variant,
                         int64_t qk_heads, const float* value_scale, cudaStream_t stream) {
  using namespace gla_tc;
  check_qk_heads(s, qk_heads, "gla_scalar_fwd_cuda");
  const ChunkGrid d = chunk_grid(s, qk_heads);
  check_call(s, o, "gla_scalar_fwd_cuda", d, {q, k, v, out, workspace}, gla_scalar_tc_unsupported);
  if (d.BH == 0 || d.L == 0) return;
  for (const void* p : {static_cast<const void*>(chunk_states), static_cast<const void*>(final_state)})
    if (p && !aligned16(p)) throw std::invalid_argument("gla_scalar_fwd_cuda: an output state is not 16-byte aligned");
  const int dk = static_cast<int>(s.key_dim), dv = static_cast<int>(s.value_dim);
  // Workspace: cumulative decays, the value scales in the same padded layout (backward's q.dq - k.dk share),
  // and, for the split forward without the caller's states, the states (backward's dL/dS share). Without a
  // decay b stays null, which selects the kernels that neither load nor exponentiate one.
  const int64_t padded_tokens = static_cast<int64_t>(d.BH) * d.NC * kChunk;
  float* b = log_decay ? workspace : nullptr;
  float* scales = value_scale ? workspace + padded_tokens : nullptr;
  if (log_decay || value_scale) launch_chunk_cumulative_decay(log_decay, workspace, d, stream, value_scale, scales);
  // The fused forward's segment start states use the split forward's state share of the workspace.
  float* state_share = workspace + 2 * padded_tokens;
  if (variant == GlaScalarFwdVariant::fused) {
    const FusedSegments seg =
        fused_segment_start_states(k, v, b, scales, state_share, state_share_floats(s), true, dk, dv, d, stream);
    launch_fused_forward(q, k, v, b, scales, out, chunk_states, final_state, o.scale, dk, dv, d, stream, {}, seg,
                         state_share);
    return;
  }
  bf16* states = chunk_states ? chunk_states : reinterpret_cast<bf16*>(state_share);
  launch_decayed_state_scan(k, v, b, states, final_state, 1.0f, false, dk, dv, d, stream, scales);
  launch_chunk_output(q, k, v, states, b, scales, out, o.scale, dk, dv, d, stream);
}

void gla_scalar_chunk_states_cuda(const __nv_bfloat16* k, const __nv_bfloat16* v, const float* log_decay,
                                  __nv_bfloat16* chunk_states, float* final_state, float* workspace, const GlaShape& s,
                                  const GlaOptions& o, int64_t qk_heads, cudaStream_t stream) {
  using namespace gla_tc;
  check_qk_heads(s, qk_heads, "gla_scalar_chunk_states_cuda");
  const ChunkGrid d = chunk_grid(s, qk_heads);
  check_call(s, o, "gla_scalar_chunk_states_cuda", d, {k, v, chunk_states, workspace}, gla_scalar_tc_unsupported);
  if (d.BH == 0 || d.L == 0) return;
  float* b = log_decay ? workspace : nullptr;
  if (log_decay) launch_chunk_cumulative_decay(log_decay, b, d, stream);
  launch_decayed_state_scan(k, v, b, chunk_states, final_state, 1.0f, false, static_cast<int>(s.key_dim),
                            static_cast<int>(s.value_dim), d, stream);
}

}  // namespace seqbench
