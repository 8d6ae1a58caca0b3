// Pieces the forward (gla_scalar_tc_cuda.cu) and backward (gla_scalar_tc_bwd_cuda.cu) of the bf16
// scalar-decay GLA kernels share: the chunk grid, the per-chunk cumulative decays, the decayed state scan
// (forward: the state at each chunk's start; backward, in reverse: dL/dS at each chunk's end), and the
// fragment epilogues of the chunk-parallel kernels. Math and contract: gla_scalar_bf16.cuh.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <initializer_list>
#include <string>

#include "mixers/gla/gla.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/tensor_core_bf16.cuh"

namespace seqbench {
namespace gla_tc {

using bf16 = __nv_bfloat16;
constexpr int kChunk = 64;
constexpr int kScoreStride = kChunk + 8;  // [64][72] bf16 score tiles: conflict-free ldmatrix rows

struct ChunkGrid {
  int L, H, NC;  // tokens, heads, 64-token chunks
  int BH;        // batch * heads; head bh = b * H + h
  int QK;        // heads of q and k: H, or fewer, each shared by H / QK consecutive heads (Mamba-2's B, C groups)
};

// Offset of head bh's first token in a [B, L, H, width] tensor.
__host__ __device__ inline int64_t head_offset(int bh, const ChunkGrid& d, int width) {
  return (static_cast<int64_t>(bh / d.H) * d.L * d.H + bh % d.H) * width;
}

// The same in q or k, [B, L, QK, width]: its tokens lie QK * width apart.
__host__ __device__ inline int64_t qk_head_offset(int bh, const ChunkGrid& d, int width) {
  return (static_cast<int64_t>(bh / d.H) * d.L * d.QK + (bh % d.H) / (d.H / d.QK)) * width;
}

// Floats of the workspace after its two per-token shares (at 2 * BH * NC * 64): the bf16 chunk states of the
// split forward and dL/dS of the backward, or the fp32 segment start states of the fused forward.
int64_t state_share_floats(const GlaShape& shape);

// qk_heads 0 means shape.heads.
ChunkGrid chunk_grid(const GlaShape& shape, int64_t qk_heads = 0);
bool aligned16(const void* p);

template <class Kernel>
void set_shared_bytes(Kernel kernel, int bytes) {
  cudaCheck(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
}

// Throws std::invalid_argument naming `what` unless qk_heads is 0 or divides shape.heads.
void check_qk_heads(const GlaShape& shape, int64_t qk_heads, const char* what);

// Why the tiles of either decay's kernels cannot hold a shape, or "": key_dim and value_dim each 64 or 128,
// options.chunk_size >= 1, batch * heads * chunks < 2^31.
std::string tile_shape_reason(const GlaShape& shape, const GlaOptions& options);

// Throws std::invalid_argument naming `what` for a shape `unsupported` names a reason for (the scalar- or the
// per-channel-decay kernels' check) or, when there is anything to compute, a null or misaligned buffer.
using ShapeReason = std::string (*)(const GlaShape&, const GlaOptions&);
void check_call(const GlaShape& shape, const GlaOptions& options, const char* what, const ChunkGrid& d,
                std::initializer_list<const void*> buffers, ShapeReason unsupported);

// b_t = g_{t0} + ... + g_t inside each chunk, laid out [BH, NC * 64]; positions past L repeat the last
// token's value (their g counts as 0), so b[63] of every chunk is its total decay; log_decay null counts
// every g as 0 (no decay: linear attention, the ungated delta rule). With value_scale [B, L, H], also its
// values in the same layout (0 past L) into padded_scale.
void launch_chunk_cumulative_decay(const float* log_decay, float* b, const ChunkGrid& d, cudaStream_t stream,
                                   const float* value_scale = nullptr, float* padded_scale = nullptr);

// X <- e^{b_63} X + sum_t w_t a_t u_t^T over the chunks of every head, writing X (bf16) to
// states [BH, NC, dk, dv] before each chunk is added. Forward (reverse false): a = k, u = v,
// w_t = e^{b_63 - b_t}, chunks in order, so states hold the state at each chunk's start and
// final_state (fp32, may be null) the state after the last. Backward (reverse true): a = q, u = dout,
// w_t = scale e^{b_t}, chunks last to first, so states hold dL/dS at each chunk's end.
// value_scale (forward only, laid out as b, may be null) multiplies w_t as well. b null: no decay, every
// factor e^{...} is 1 (a kernel built without the decay loads and exponentials).
void launch_decayed_state_scan(const bf16* a, const bf16* u, const float* b, bf16* states, float* final_state,
                               float scale, bool reverse, int dk, int dv, const ChunkGrid& d, cudaStream_t stream,
                               const float* value_scale = nullptr);

// The fused forward's walks over segments of the sequence (gla_scalar_tc_segments_cuda.cu). When batch * heads *
// value tiles leave most block slots idle (B = 4, H = 16 at L = 16k: 128 walks of 256 chunks for 264 slots), the
// chunks of every head split into `count` segments of `chunks` chunks, walked side by side, each from its own
// start state. Those states come from the decayed state scan run from zero over sub-segments of `sub_chunks`
// chunks (`subs` per segment; the last segment needs none), many more blocks than walks, then a short scan across
// the sub-segments. count 1 (chunks = NC) is the single walk, which reads no start state.
struct FusedSegments {
  int count = 1, chunks = 0, subs = 1, sub_chunks = 0;
  // Sub-segment states per head, [BH, states(), dk, dv] fp32 in the workspace: after the cross scan, entry
  // s subs - 1 holds the start state of segment s.
  __host__ __device__ int states() const { return (count - 1) * subs; }
  // Chunks [first, end) of sub-segment z (z = segment * subs + index inside it).
  __host__ __device__ int sub_first(int z) const { return (z / subs) * chunks + (z % subs) * sub_chunks; }
  __host__ __device__ int sub_end(int z, int nc) const {
    const int segment_end = (z / subs + 1) * chunks, end = sub_first(z) + sub_chunks;
    return end < segment_end ? (end < nc ? end : nc) : (segment_end < nc ? segment_end : nc);
  }
};

// The single walk for `d` when SEQBENCH_GLA_SCALAR_FWD_SEGMENTS is off or 1, when `allowed` is false (the
// key-sum normaliser carries z along the walk), or, under auto (the default), when the walks already fill the
// GPU's block slots or the sequence is shorter than 8 chunks; otherwise as many segments as fill one round of
// slots (auto) or the number the variable names, as far as the sub-segment states fit in `state_floats` floats
// of workspace.
FusedSegments plan_fused_segments(const ChunkGrid& d, int dk, int dv, bool allowed, int64_t state_floats);

// Plans the segments and, when there are several, writes the start state of every segment after the first into
// states (state_floats floats of workspace, layout above): the scan over the first count - 1 segments'
// sub-segments, then the cross scan. b and value_scale as in the scan. Returns the plan for launch_fused_forward.
FusedSegments fused_segment_start_states(const bf16* k, const bf16* v, const float* b, const float* value_scale,
                                         float* states, int64_t state_floats, bool allowed, int dk, int dv,
                                         const ChunkGrid& d, cudaStream_t stream);

// The forward scan (a = k, u = v) from a zero state over each sub-segment of the first seg.count - 1 segments,
// one block per (head, 64 value columns, sub-segment), writing only its end state: states [BH, seg.states(), dk,
// dv] (fp32).
void launch_sub_segment_scan(const bf16* k, const bf16* v, const float* b, const float* value_scale, float* states,
                             const FusedSegments& seg, int dk, int dv, const ChunkGrid& d, cudaStream_t stream);

// Linear attention's normaliser inside the fused forward (no decay, no value scale, one q and k per head):
// with z_t = sum_{s<=t} k_s, divide: out_t <- out_t / (q_t . z_t + eps) in fp32 before the output's rounding,
// and den [BH, L] (may be null) <- that divisor; key_sum [BH, dk] (may be null, fp32) <- z after the last token.
// The default does nothing.
struct KeySumNormaliser {
  bool divide = false;
  float* den = nullptr;
  float* key_sum = nullptr;
  float eps = 0.0f;
};

// The whole forward in one pass (gla_scalar_tc_fused_cuda.cu): one block per (segment, head, 64 value columns)
// walks the segment's chunks in order with the state on chip; states [BH, NC, dk, dv] (may be null) get each
// chunk's start state, final_state (fp32, may be null) the state after the last token; value_scale and b (null:
// no decay) as in the scan; norm as above (only with a single walk). seg.count > 1: start_states as
// launch_segment_start_states left them.
void launch_fused_forward(const bf16* q, const bf16* k, const bf16* v, const float* b, const float* value_scale,
                          bf16* out, bf16* states, float* final_state, float scale, int dk, int dv, const ChunkGrid& d,
                          cudaStream_t stream, const KeySumNormaliser& norm = {}, const FusedSegments& seg = {},
                          const float* start_states = nullptr);

// The split forward's per-chunk outputs (one block per (head, chunk)): o_i = scale e^{b_i} q_i^T S0 +
// sum_{j<=i} scale (q_i . k_j) e^{b_i - b_j} v_j, S0 from states [BH, NC, dk, dv]; value_scale as in the scan.
// The delta rule's forward runs it with its V_new for v.
void launch_chunk_output(const bf16* q, const bf16* k, const bf16* v, const bf16* states, const float* b,
                         const float* value_scale, bf16* out, float scale, int dk, int dv, const ChunkGrid& d,
                         cudaStream_t stream);

// The 64 cumulative decays of chunk c of head bh, 16 bytes per thread of the first 16.
__device__ __forceinline__ void load_chunk_decays_async(float* dst, const float* b, int bh, int c, const ChunkGrid& d) {
  if (threadIdx.x < kChunk / 4) {
    const float* src = b + (static_cast<int64_t>(bh) * d.NC + c) * kChunk + 4 * threadIdx.x;
    tc::copy_async_16(dst + 4 * threadIdx.x, src, true);
  }
}

// A state scan's state as its warps hold it: warp w has rows (w ROW_TILES + m) 16 .. + 15 of the block's tile
// (64 columns) in m16n8 accumulators acc[m][n][e]. Written to dst, rows ld apart, as bf16 pairs or as fp32.
template <int ROW_TILES>
__device__ __forceinline__ void store_scan_state(const float (&acc)[ROW_TILES][8][4], bf16* dst, int ld) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
#pragma unroll
  for (int m = 0; m < ROW_TILES; ++m)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int row = (warp * ROW_TILES + m) * 16 + lane / 4 + 8 * half;
#pragma unroll
      for (int n = 0; n < 8; ++n)
        *reinterpret_cast<uint32_t*>(dst + row * ld + 8 * n + 2 * (lane % 4)) =
            tc::pack_bf16x2(acc[m][n][2 * half], acc[m][n][2 * half + 1]);
    }
}
template <int ROW_TILES>
__device__ __forceinline__ void store_scan_state(const float (&acc)[ROW_TILES][8][4], float* dst, int ld) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
#pragma unroll
  for (int m = 0; m < ROW_TILES; ++m)
#pragma unroll
    for (int n = 0; n < 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        dst[((warp * ROW_TILES + m) * 16 + lane / 4 + 8 * (e / 2)) * ld + 8 * n + 2 * (lane % 4) + e % 2] =
            acc[m][n][e];
}

// acc rows (row0 + lane / 4 and 8 below it) multiplied by factor(row).
template <int NT, class Factor>
__device__ __forceinline__ void scale_rows(float (&acc)[NT][4], int row0, Factor factor) {
  const int g = (threadIdx.x % 32) / 4;
  const float top = factor(row0 + g), bottom = factor(row0 + g + 8);
#pragma unroll
  for (int n = 0; n < NT; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e) acc[n][e] *= e < 2 ? top : bottom;
}

// Intra-chunk scores of a 16 x 8 NT tile at (row0, col0): scale s_ij e^{b_i - b_j} for j <= i, 0 above
// the diagonal, as bf16 into dst [64][kScoreStride]. Each exponent is <= 0 when the decays are.
// col_scale (may be null) multiplies column j: a per-token value scale folded into A V. Without kDecay, b is
// not read and every factor is 1.
template <bool kDecay, int NT>
__device__ __forceinline__ void store_decayed_scores(const float (&s)[NT][4], int row0, int col0, const float* b,
                                                     float scale, bf16* dst, const float* col_scale = nullptr) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int n = 0; n < NT; ++n)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int i = row0 + lane / 4 + 8 * half, j = col0 + 8 * n + 2 * (lane % 4);
      const float c0 = col_scale ? scale * col_scale[j] : scale, c1 = col_scale ? scale * col_scale[j + 1] : scale;
      const float x0 = j <= i ? c0 * s[n][2 * half] * (kDecay ? __expf(b[i] - b[j]) : 1.0f) : 0.0f;
      const float x1 = j + 1 <= i ? c1 * s[n][2 * half + 1] * (kDecay ? __expf(b[i] - b[j + 1]) : 1.0f) : 0.0f;
      *reinterpret_cast<uint32_t*>(dst + i * kScoreStride + j) = tc::pack_bf16x2(x0, x1);
    }
}

// A 16 x 8 NT accumulator tile at (row0, col0) of a chunk starting at token t0 into a [B, L, H, width]
// tensor (dst at the head's first token, token_stride = H * width), tokens past L left alone.
template <int NT>
__device__ __forceinline__ void store_token_rows(const float (&acc)[NT][4], bf16* dst, int64_t token_stride, int t0,
                                                 int L, int row0, int col0) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int t = t0 + row0 + lane / 4 + 8 * half;
    if (t >= L) continue;
    bf16* row = dst + t * token_stride + col0 + 2 * (lane % 4);
#pragma unroll
    for (int n = 0; n < NT; ++n)
      *reinterpret_cast<uint32_t*>(row + 8 * n) = tc::pack_bf16x2(acc[n][2 * half], acc[n][2 * half + 1]);
  }
}

// Per row of a 16 x 8 NT tile at (row0, col0): sum_j x[i][col0 + j] acc[i][j], x a bf16 [64][ldx] tile,
// into out[i] (one writer per row: the lane with lane % 4 == 0, after a quad reduction).
template <int NT>
__device__ __forceinline__ void store_row_dots(const float (&acc)[NT][4], const bf16* x, int ldx, int row0, int col0,
                                               float* out) {
  const int lane = threadIdx.x % 32;
  float dot[2] = {0.0f, 0.0f};
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const bf16* row = x + (row0 + lane / 4 + 8 * half) * ldx + col0 + 2 * (lane % 4);
#pragma unroll
    for (int n = 0; n < NT; ++n) {
      const float2 pair = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(row + 8 * n));
      dot[half] += pair.x * acc[n][2 * half] + pair.y * acc[n][2 * half + 1];
    }
    dot[half] += __shfl_xor_sync(0xffffffffu, dot[half], 1);
    dot[half] += __shfl_xor_sync(0xffffffffu, dot[half], 2);
  }
  if (lane % 4 == 0) {
    out[row0 + lane / 4] = dot[0];
    out[row0 + lane / 4 + 8] = dot[1];
  }
}

}  // namespace gla_tc
}  // namespace seqbench
