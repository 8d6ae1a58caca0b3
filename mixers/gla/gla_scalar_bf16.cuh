// Scalar-decay gated linear attention (GLA, Yang et al. 2023, with one decay per token and head as in
// Mamba-2 / simple GLA) on bf16 tensor cores: S_t = e^{g_t} S_{t-1} + k_t v_t^T, o_t = scale S_t^T q_t.
// Checked against the fp32 CPU kernels (gla_cpu.cpp) in test_gpu_gla.cpp. All pointers are device pointers.
//
// Chunked in 64 tokens. The split forward is FLA's chunk_simple_gla: a scan over the chunks of each head
// writes the state at every chunk's start (bf16), then one block per chunk computes its outputs from that
// state and the chunk's own tokens. The fused forward (FLA's fused_chunk) does both in one walk over the
// chunks per (head, 64 value columns), the state staying on chip. Backward: the same scan in reverse
// writes dL/dS at every chunk's end, then one block per chunk forms dq, dk, dv and q.dq - k.dk, whose
// reverse cumulative sum is the decay gradient (GLA Sec. 4.3). bf16 storage, fp32 accumulation; the
// decays are fp32 and every exponent is a difference of cumulative decays inside one chunk (<= 0 for
// g <= 0). The result does not depend on options.chunk_size beyond rounding: the GPU always uses 64.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include "mixers/gla/gla.h"
#include "ops/cuda/current_stream.cuh"

namespace seqbench {

// Why these kernels cannot run a shape, or "" when they can: scalar decay only (shape.channel_decay
// false), key_dim and value_dim each 64 or 128, options.chunk_size >= 1.
std::string gla_scalar_tc_unsupported(const GlaShape& shape, const GlaOptions& options);

// bf16 elements of the chunk states, [B, H, ceil(L / 64), Dk, Dv]: the state at each chunk's start.
int64_t gla_scalar_chunk_state_elements(const GlaShape& shape);

// Floats of the caller-owned workspace both calls need (16-byte aligned; nothing is allocated inside a
// call, so one buffer serves every step): per-chunk cumulative decays, and for backward the per-token
// q.dq - k.dk and the bf16 state gradients.
int64_t gla_scalar_workspace_floats(const GlaShape& shape);

// Two forwards with the same result: `fused` (FLA's fused_chunk: one block per (head, 64 value columns)
// walks the chunks in order, the state never leaving the SM, so q and k are read once per value tile) and
// `split` (the chunk-parallel form above, its states going through memory). The process default comes
// from SEQBENCH_GLA_SCALAR_FWD (fused or split, read once; fused when unset); anything else throws.
enum class GlaScalarFwdVariant { fused, split };
GlaScalarFwdVariant gla_scalar_fwd_variant();
const char* gla_scalar_fwd_variant_name(GlaScalarFwdVariant variant);

// The fused forward walks each head's chunks in one pass when batch * heads * (Dv / 64) walks fill the GPU's
// block slots (two per SM); with fewer (B = 4, H = 16 at L = 16k) it walks segments of the sequence side by
// side, their start states from a scan over sub-segments (more blocks still) and a short scan across them, in
// the workspace's chunk-state share. SEQBENCH_GLA_SCALAR_FWD_SEGMENTS: auto (the default: as many segments as
// fill one round of slots), off (the single walk), or a count n (at most the chunks and what the workspace
// holds). The segments the fused forward takes for `shape` on the current device, 1 for the single walk.
int gla_scalar_fwd_segments(const GlaShape& shape);

// q, k [B, L, qk_heads, Dk] (qk_heads 0: H; else a divisor of H, q and k of head h being those of
// h / (H / qk_heads): Mamba-2's B and C shared by a group of heads); v, out [B, L, H, Dv]; log_decay
// [B, L, H] (fp32), or null for no decay at all (every factor 1: unnormalised linear attention, run by
// kernels built without the decay loads and exponentials); value_scale [B, L, H] (fp32), when non-null, multiplies v_t (Mamba-2's dt x without
// a copy of x; forward only). Writes out; chunk_states (what backward reads), when non-null, the state at every
// chunk's start; final_state [B, H, Dk, Dv] (fp32), when non-null, the state after the last token.
// Throws std::invalid_argument for an unsupported shape, a null buffer, or a pointer that is not
// 16-byte aligned.
void gla_scalar_fwd_cuda(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                         const float* log_decay, __nv_bfloat16* out, __nv_bfloat16* chunk_states, float* final_state,
                         float* workspace, const GlaShape& shape, const GlaOptions& options,
                         GlaScalarFwdVariant variant = gla_scalar_fwd_variant(), int64_t qk_heads = 0,
                         const float* value_scale = nullptr, cudaStream_t stream = current_stream());

// The fused forward without a decay at scale 1 (unnormalised linear attention), with linear attention's
// normaliser folded in (linear_attention_scalar_gla_cuda.cuh): z_t = sum_{s<=t} k_s, and when divide is set
// out_t = (sum_{s<=t} (q_t . k_s) v_s) / den_t with den_t = q_t . z_t + eps (fp32, from the same score
// accumulators; den [B, H, L] receives it unless null); key_sum [B, H, Dk] (fp32, may be null) <- z after the
// last token; final_state as in gla_scalar_fwd_cuda. The key sums cost no extra pass over q or k.
void gla_scalar_key_normalised_fwd_cuda(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                                        __nv_bfloat16* out, bool divide, float* den, float* key_sum, float eps,
                                        float* final_state, float* workspace, const GlaShape& shape,
                                        cudaStream_t stream = current_stream());

// Gradients overwritten; dlog_decay [B, L, H] (fp32) may be null, and must be when log_decay is (no decay).
// chunk_states from a forward call that stored them, or from gla_scalar_chunk_states_cuda. q, k [B, L, qk_heads, Dk] as in forward; dq, dk [B, L, H, Dk] per head whatever qk_heads
// (the caller sums them over each group).
void gla_scalar_bwd_cuda(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                         const float* log_decay, const __nv_bfloat16* chunk_states, const __nv_bfloat16* dout,
                         __nv_bfloat16* dq, __nv_bfloat16* dk, __nv_bfloat16* dv, float* dlog_decay, float* workspace,
                         const GlaShape& shape, const GlaOptions& options, int64_t qk_heads = 0,
                         cudaStream_t stream = current_stream());

// The chunk states alone (the split forward's first pass), for a backward that recomputes them instead of
// keeping the forward's: chunk_states [B, H, ceil(L / 64), Dk, Dv] (bf16), final_state as in forward (may
// be null). log_decay may be null (no decay); workspace as for the other two calls.
void gla_scalar_chunk_states_cuda(const __nv_bfloat16* k, const __nv_bfloat16* v, const float* log_decay,
                                  __nv_bfloat16* chunk_states, float* final_state, float* workspace,
                                  const GlaShape& shape, const GlaOptions& options, int64_t qk_heads = 0,
                                  cudaStream_t stream = current_stream());

}  // namespace seqbench
