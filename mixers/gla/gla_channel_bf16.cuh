// Per-channel-decay gated linear attention (GLA, Yang et al. 2023, one decay per key channel) on bf16 tensor
// cores: S_t = diag(e^{g_t}) S_{t-1} + k_t v_t^T, o_t = scale S_t^T q_t. Checked against the fp32 CPU kernels
// (GlaKernels::cpu(), gla_cpu.cpp) in test_gpu_gla_channel_bf16.cpp. All pointers are device pointers.
//
// FLA's chunk_gla, chunked in 64 tokens with b the cumulative log decay inside a chunk (per channel). Forward:
// a scan over the chunks of each head writes the state at every chunk's start, S_{c+1} = diag(e^{b_63}) S_c +
// (k e^{b_63 - b})^T v; then one block per chunk forms o = (scale q e^{b}) S_c + A v with the intra-chunk scores
// A_ij = scale sum_d q_id k_jd e^{b_id - b_jd} (j <= i). Below the diagonal A is a tensor-core product over
// 16-token sub-chunks with exponents taken against the first row of the later sub-chunk, so every factor is
// e^{<= 0} and nothing overflows however strong the decay (FLA's secondary chunking); the four diagonal 16 x 16
// blocks are summed channel by channel in fp32. Backward (GLA Sec. 4.3, FLA's chunk_gla_bwd): the same scan in
// reverse writes dL/dS at every chunk's end, then one block per chunk forms dq, dk, dv and r = q*dq - k*dk per
// channel, whose reverse cumulative sum over the sequence is the decay gradient: the chunk's own part summed in
// the block, the later chunks' part sum_v S_end dL/dS_end from the next chunk's start state (or r through the
// workspace and two more kernels, GlaChannelVariant::fused_decay_grad false). bf16 storage, fp32
// accumulation; the decays stay fp32. The result does not depend on options.chunk_size beyond rounding.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include "mixers/gla/gla.h"
#include "ops/cuda/current_stream.cuh"

namespace seqbench {

// Why these kernels cannot run a shape, or "" when they can: per-channel decay only (shape.channel_decay true),
// key_dim and value_dim each 64 or 128, options.chunk_size >= 1.
std::string gla_channel_tc_unsupported(const GlaShape& shape, const GlaOptions& options);

// bf16 elements of the chunk states, [B, H, ceil(L / 64), Dk, Dv]: the state at each chunk's start.
int64_t gla_channel_chunk_state_elements(const GlaShape& shape);

// Floats of the caller-owned workspace both calls need (16-byte aligned; nothing is allocated inside a call):
// for backward the per-token, per-channel q*dq - k*dk ([B, H, ceil(L / 64) * 64, Dk]), its per-chunk sums and
// the bf16 state gradients; the forward without the caller's chunk states keeps its states in the last part.
int64_t gla_channel_workspace_floats(const GlaShape& shape);

// Design variants, each with the same result, so that one process can time them all. scan_rows64: the state
// scan (forward and backward) runs one block per (head, 64 value columns, 64 key channels), more and smaller
// blocks, rather than one per (head, 64 value columns) that decays each chunk's keys once per value tile (Dk = 64
// has one form). late_state: the forward's chunk kernel loads the chunk's start state into the space of the
// decays and keys once the scores are done (93 KB of shared memory at Dk = Dv = 128: two blocks per SM, one's
// loads under the other's math) rather than beside v from the start (127 KB: one block per SM). grad_warps16: the
// backward's chunk kernel runs 16 warps per block, each with a quarter of the gradient columns (the scores and
// dA side by side on two halves of the block), rather than 8 with half of them: its 207 KB allow one block per
// SM, so the warps per scheduler are what hides its latency. grad_diag_mma: in the same kernel the 8 x 8 block
// between the two halves of each diagonal 16-token sub-chunk of dq and dk runs on tensor cores against a
// reference row at the middle of the sub-chunk (exponents still <= 0), leaving a third less of the per-element
// fp32 exp loop, rather than summing the whole 16 x 16 triangle per element. fused_decay_grad: the backward's
// chunk kernel also writes the decay gradient, its chunk's tokens from a tile of q*dq - k*dk and the later chunks
// as the sum over values of the next chunk's start state times dL/dS there (gla_channel_tc_chunk_decay_grad.cuh),
// rather than writing q*dq - k*dk to the workspace for two more kernels to sum over the sequence. The process
// default comes from
// SEQBENCH_GLA_CHANNEL_SCAN (rows64 or rows_all; rows64 when unset), SEQBENCH_GLA_CHANNEL_STATE (late or early;
// late when unset), SEQBENCH_GLA_CHANNEL_BWD (warps16 or warps8; warps16 when unset), SEQBENCH_GLA_CHANNEL_DIAG
// (mma or fp32; mma when unset) and SEQBENCH_GLA_CHANNEL_DG (fused or scan; fused when unset), read once;
// anything else throws.
struct GlaChannelVariant {
  bool scan_rows64 = true;
  bool late_state = true;
  bool grad_warps16 = true;
  bool grad_diag_mma = true;
  bool fused_decay_grad = true;
};
GlaChannelVariant gla_channel_variant();
std::string gla_channel_variant_name(
    const GlaChannelVariant& variant);  // "scan rows64, state late, bwd warps16 diag mma dg fused"

// q, k [B, L, H, Dk]; v, out [B, L, H, Dv]; log_decay [B, L, H, Dk] (fp32, <= 0 for the no-overflow promise).
// Writes out; chunk_states (what backward reads), when non-null, the state at every chunk's start; final_state
// [B, H, Dk, Dv] (fp32), when non-null, the state after the last token. Throws std::invalid_argument for an
// unsupported shape, a null buffer, or a pointer that is not 16-byte aligned.
void gla_channel_fwd_cuda(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                          const float* log_decay, __nv_bfloat16* out, __nv_bfloat16* chunk_states, float* final_state,
                          float* workspace, const GlaShape& shape, const GlaOptions& options,
                          GlaChannelVariant variant = gla_channel_variant(), cudaStream_t stream = current_stream());

// Gradients overwritten; dlog_decay [B, L, H, Dk] (fp32) may be null. chunk_states from a forward call that
// stored them.
void gla_channel_bwd_cuda(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                          const float* log_decay, const __nv_bfloat16* chunk_states, const __nv_bfloat16* dout,
                          __nv_bfloat16* dq, __nv_bfloat16* dk, __nv_bfloat16* dv, float* dlog_decay, float* workspace,
                          const GlaShape& shape, const GlaOptions& options,
                          GlaChannelVariant variant = gla_channel_variant(), cudaStream_t stream = current_stream());

}  // namespace seqbench
