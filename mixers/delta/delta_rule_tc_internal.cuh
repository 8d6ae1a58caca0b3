// Pieces the bf16 tensor-core delta rule's forward (delta_rule_tc_cuda.cu) and backward
// (delta_rule_tc_bwd_cuda.cu) share: the chunk grid and argument checks, the workspace layout, and the
// launchers of the per-chunk WY preparation and the state scans. Math and contract: delta_rule_bf16.cuh.
// The chunk grid, decay layout and tile helpers are the scalar-decay GLA's (gla_scalar_tc_internal.cuh):
// the delta rule's decay is the same per-(token, head) scalar, cumulated per 64-token chunk.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <initializer_list>

#include "mixers/delta/delta_rule.h"
#include "mixers/delta/delta_rule_bf16.cuh"
#include "mixers/gla/gla_scalar_tc_internal.cuh"
#include "ops/cuda/tensor_core_bf16.cuh"

namespace seqbench {
namespace delta_tc {

using bf16 = __nv_bfloat16;
using gla_tc::ChunkGrid;
using gla_tc::kChunk;

ChunkGrid chunk_grid(const DeltaRuleShape& shape);

// Throws std::invalid_argument naming `what` for an unsupported shape or, when there is anything to
// compute, a null or misaligned buffer among `buffers`.
void check_call(const DeltaRuleShape& shape, const char* what, const ChunkGrid& d,
                std::initializer_list<const void*> buffers);

// Throws std::invalid_argument naming `what` for reverse_stages not 1 or 2 or walk_columns not 32 or 64.
void check_variant(const DeltaRuleTcVariant& variant, const char* what);

// The workspace carved into its parts, each 16-byte aligned; [BH, NC * 64] per-token fp32 rows are "padded",
// [B, L, H, width] bf16 tensors are "token" layout. Forward uses the first five (and t when it keeps T for the
// backward); backward all.
struct Workspace {
  float* decay;   // padded: cumulative log decay inside each chunk (0 ungated)
  bf16* w;        // token, Dk: W = T diag(beta e^G) K
  bf16* v_new;    // token, Dv: U, overwritten by V_new = U - W H in the forward scan
  bf16* states;   // [BH, NC, Dk, Dv]: H at each chunk's start when the caller keeps none
  float* beta;    // padded: beta (0 past L)
  bf16* t;        // [BH, NC, 64, 64]: T = (I + A)^{-1}
  bf16* dv_new;   // token, Dv: dL/dV_new (the state's share included)
  bf16* dstates;  // [BH, NC, Dk, Dv]: dL/dH at each chunk's end
  bf16* dw;       // token, Dk: dL/dW
  float* dgate;   // padded: dL/dG (G the cumulative decay), before the reverse cumulative sum
};
// The parts at `base` (null: only *floats_used is meaningful), *floats_used (may be null) getting the total.
Workspace carve_workspace(float* base, const DeltaRuleShape& shape, int64_t* floats_used = nullptr);

// Cumulative decays (log_decay null: zeros) and beta, both padded, into ws.decay and ws.beta (the GLA's
// cumulative decay kernel, beta riding along as its value scale).
void launch_gates(const float* log_decay, const float* beta, const Workspace& ws, const ChunkGrid& d,
                  cudaStream_t stream);

// One block per (head, chunk): A, T = (I + A)^{-1} (into t when non-null), W and U (token layout); T solved
// in 16 x 16 blocks on tensor cores (blocked, delta_rule_tc_wy_blocked_cuda.cu) or column by column (serial).
void launch_wy_prepare(const bf16* k, const bf16* v, const float* beta_padded, const float* decay, bf16* w, bf16* u,
                       bf16* t, int dk, int dv, bool blocked, const ChunkGrid& d, cudaStream_t stream);
void launch_wy_prepare_blocked(const bf16* k, const bf16* v, const float* beta_padded, const float* decay, bf16* w,
                               bf16* u, bf16* t, int dk, int dv, const ChunkGrid& d, cudaStream_t stream);

// One block per (head, `cols` value columns: 32 or 64), chunks in order: v_new holds U on entry and V_new = U - W H
// on exit; states get H (bf16) at each chunk's start, final_state (fp32, may be null) H after the last token.
void launch_state_scan(const bf16* k, const bf16* w, bf16* v_new, const float* decay, bf16* states, float* final_state,
                       int dk, int dv, int cols, const ChunkGrid& d, cudaStream_t stream);

// The fused forward (delta_rule_tc_fused_cuda.cu): one block per (head, `cols` value columns) forms V_new, O and
// H chunk by chunk from W and U; states (may be null) get H at each chunk's start, final_state (may be null) the last;
// keep_v_new: V_new overwrites U in u (for a backward that reuses it), else u is only read.
void launch_fused_forward(const bf16* q, const bf16* k, const bf16* w, bf16* u, const float* decay, bf16* out,
                          bf16* states, float* final_state, bool keep_v_new, int dk, int dv, int cols,
                          const ChunkGrid& d, cudaStream_t stream);

// Backward (delta_rule_tc_bwd_*.cu). One block per (head, chunk): dV_local = (K Q^T (.) [i >= j] e^{G_i - G_j}) dO,
// the intra-chunk output's share of dL/dV_new, into dv_local (token layout).
void launch_dv_local(const bf16* q, const bf16* k, const bf16* dout, const float* decay, bf16* dv_local, int dk_dim,
                     int dv_dim, const ChunkGrid& d, cudaStream_t stream);

// One block per (head, `cols` value columns), chunks last to first: dv_new holds dV_local on entry and dL/dV_new
// on exit; dstates get dL/dH at each chunk's end. stages 2 double-buffers the chunk tiles, 1 does not.
void launch_reverse_scan(const bf16* q, const bf16* k, const bf16* w, const bf16* dout, bf16* dv_new,
                         const float* decay, bf16* dstates, int dk, int dv, int stages, int cols, const ChunkGrid& d,
                         cudaStream_t stream);

// One block per (head, chunk), from U (u; u_is_v_new: V_new = U - W H itself, the forward's, w then unread) and
// the chunk states: dq (final), dk (the output's and state's share, finished by launch_wy_bwd), dw = dL/dW, and
// dgate (padded, may be null: ungated) = dL/dG per token.
void launch_chunk_grads(const bf16* q, const bf16* k, const bf16* w, const bf16* u, bool u_is_v_new, const bf16* states,
                        const bf16* dout, const bf16* dv_new, const bf16* dstates, const float* decay, bf16* dq,
                        bf16* dk, bf16* dw, float* dgate, int dk_dim, int dv_dim, const ChunkGrid& d,
                        cudaStream_t stream);

// One block per (head, chunk), through W = T diag(beta e^G) K, U = T diag(beta) V and T = (I + A)^{-1}: adds
// to dk, writes dv, dbeta and (dgate and dlog_decay non-null) dlog_decay, the reverse cumulative sum of dG.
void launch_wy_bwd(const bf16* t, const bf16* k, const bf16* v, const float* beta_padded, const float* decay,
                   const bf16* dw, const bf16* du, const float* dgate, bf16* dk, bf16* dv, float* dbeta,
                   float* dlog_decay, int dk_dim, int dv_dim, const ChunkGrid& d, cudaStream_t stream);

// The chunk walks (state pass, fused forward, reverse pass) hold a [DK, cols] state in fp32 registers across 4
// warps: warp w owns rows [w DK / 4, (w + 1) DK / 4), as ROW_TILES 16-row tiles of NT 8-column m16n8 fragments.
template <int ROW_TILES, int NT>
using WalkState = float[ROW_TILES][NT][4];

// The state as bf16 pairs into smem (rows ld apart) and, when global is non-null, into global (rows
// global_ld apart).
template <int ROW_TILES, int NT>
__device__ __forceinline__ void store_walk_state(const WalkState<ROW_TILES, NT>& h, bf16* smem, int ld, bf16* global,
                                                 int global_ld) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
#pragma unroll
  for (int m = 0; m < ROW_TILES; ++m)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int row = (warp * ROW_TILES + m) * 16 + lane / 4 + 8 * half;
#pragma unroll
      for (int n = 0; n < NT; ++n) {
        const int col = 8 * n + 2 * (lane % 4);
        const uint32_t pair = tc::pack_bf16x2(h[m][n][2 * half], h[m][n][2 * half + 1]);
        *reinterpret_cast<uint32_t*>(smem + row * ld + col) = pair;
        if (global) *reinterpret_cast<uint32_t*>(global + static_cast<int64_t>(row) * global_ld + col) = pair;
      }
    }
}

// The state in fp32 into out (rows ld apart).
template <int ROW_TILES, int NT>
__device__ __forceinline__ void store_walk_state_fp32(const WalkState<ROW_TILES, NT>& h, float* out, int ld) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
#pragma unroll
  for (int m = 0; m < ROW_TILES; ++m)
#pragma unroll
    for (int n = 0; n < NT; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        out[static_cast<int64_t>((warp * ROW_TILES + m) * 16 + lane / 4 + 8 * (e / 2)) * ld + 8 * n + 2 * (lane % 4) +
            e % 2] = h[m][n][e];
}

// state <- factor * state + sum over the (a, u) pairs of a^T u: a [64 tokens][lda] (this warp's rows of a^T are
// its state rows), u [64 tokens][ldu] (the block's columns), both in shared memory.
template <int ROW_TILES, int NT, int PAIRS>
__device__ __forceinline__ void decay_and_add_outer(WalkState<ROW_TILES, NT>& h, float factor,
                                                    const bf16* const (&a)[PAIRS], int lda,
                                                    const bf16* const (&u)[PAIRS], int ldu) {
  const int warp = threadIdx.x / 32;
#pragma unroll
  for (int m = 0; m < ROW_TILES; ++m) {
#pragma unroll
    for (int n = 0; n < NT; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) h[m][n][e] *= factor;
        // a^T (rows: state rows, contraction: tokens) is the a tile read by column.
#pragma unroll
    for (int p = 0; p < PAIRS; ++p)
      tc::warp_mma<kChunk / 16, NT, tc::Stored::by_column, tc::Stored::by_row>(h[m], a[p] + (warp * ROW_TILES + m) * 16,
                                                                               lda, u[p], ldu);
  }
}

}  // namespace delta_tc
}  // namespace seqbench
