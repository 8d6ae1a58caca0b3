// The (gated) delta rule (delta_rule.h: S_t = a_t S_{t-1} (I - b_t k_t k_t^T) + b_t v_t k_t^T, o_t = S_t q_t,
// q unscaled) on bf16 tensor cores in the chunkwise WY/UT form of Yang et al. 2024 ("Parallelizing Linear
// Transformers with the Delta Rule over Sequence Length", sec. 3) and Gated DeltaNet (Yang, Kautz &
// Hatamizadeh 2024, sec. 3.3), as flash-linear-attention's chunk_(gated_)delta_rule. Checked against the
// fp32 CPU kernels (DeltaRuleKernels::cpu()) in test_gpu_delta_bf16.cpp. All pointers are device pointers.
//
// Chunks of 64 tokens, G_i the cumulative log decay inside a chunk (0 ungated), H = S^T [Dk, Dv]:
//   A = strictly-lower(diag(beta) K K^T (.) e^{G_i - G_j}),  T = (I + A)^{-1}     (UT transform)
//   W = T diag(beta e^G) K,  U = T diag(beta) V                                     (WY representation)
//   V_new = U - W H,  O = e^{G_i} Q H + (Q K^T (.) causal (.) e^{G_i - G_j}) V_new,
//   H <- e^{G_63} H + (e^{G_63 - G_j} K)^T V_new.
// Forward: one block per (head, chunk) forms T, W and U; one block per (head, 64 value columns) walks the
// chunks with H on chip, writing V_new and H at each chunk's start (bf16); one block per (head, chunk) forms O
// (the scalar-decay GLA output kernel, V_new for V). Or, fused, the walk forms O itself. Backward reuses the
// forward's T, W and V_new (or recomputes T, W, U and V_new per chunk from the saved states), walks the chunks
// in reverse for dH, then forms dq, dk, dv, dbeta and dlog_decay per chunk. Design variants: DeltaRuleTcVariant.
// bf16 storage and tensor-core operands, fp32 accumulation; T rounded to bf16 (as fla), its diagonal 16 x 16
// blocks solved in fp32, the rest from bf16 T and A blocks (the serial solve: all in fp32); decays fp32, every
// exponent a difference of cumulative decays inside one chunk (<= 0 for g <= 0).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include "mixers/delta/delta_rule.h"
#include "ops/cuda/current_stream.cuh"

namespace seqbench {

// Why these kernels cannot run a shape, or "" when they can: key_dim and value_dim each 64 or 128,
// B * H * ceil(L / 64) < 2^31.
std::string delta_rule_tc_unsupported(const DeltaRuleShape& shape);

// bf16 elements of the chunk states, [B, H, ceil(L / 64), Dk, Dv] (S^T at each chunk's start).
int64_t delta_rule_tc_chunk_state_elements(const DeltaRuleShape& shape);

// Floats of the caller-owned workspace forward and backward need (16-byte aligned; nothing is allocated
// inside a call): cumulative decays, W, U / V_new, for a forward without the caller's states its states,
// and for backward T, dV_new, dH per chunk and the per-token partial gradients.
int64_t delta_rule_tc_workspace_floats(const DeltaRuleShape& shape);

// Design variants, all with the same result up to rounding order. fused_forward: the split forward (false) has
// the state pass write V_new and every chunk's state, then one block per (head, chunk) forms O (FLA's
// chunk_fwd_h + chunk_fwd_o); the fused one (true) has one block per (head, value columns) form V_new, O and
// the state chunk by chunk, V_new never reaching memory and the states only when kept. reverse_stages: the
// backward's reverse pass double-buffers its chunk tiles (2: ~157 KiB of shared memory at Dk 128, one block
// per SM) or not (1: ~87 KiB, two blocks, one computing while the other loads). walk_columns: value columns
// per block of the passes that walk the chunks (state pass, fused forward, reverse pass), 64, or 32 for twice
// the blocks where batch * heads * Dv / 64 leaves SMs idle (long sequences), each block then reading W and K
// once more. blocked_solve: the per-chunk WY preparation (forward, and backward's recompute) solves T in 16 x 16
// blocks, four warps at once on tensor cores (true), or one column per thread by forward substitution (false).
// reuse_forward: a forward given chunk_states keeps T, W and V_new in the workspace (T: 8 KiB more written per
// chunk; the fused forward then writes V_new too) and the backward reads them instead of recomputing T, W and U
// and V_new = U - W H (true); or the backward recomputes them (false), overwriting what a forward kept.
struct DeltaRuleTcVariant {
  bool fused_forward = false;
  int reverse_stages = 1;  // 1 or 2
  int walk_columns = 64;   // 32 or 64
  bool blocked_solve = true;
  bool reuse_forward = true;
};
// The process default, read once from SEQBENCH_DELTA_FWD (split or fused; split when unset),
// SEQBENCH_DELTA_BWD_SCAN_STAGES (1 or 2; 1), SEQBENCH_DELTA_SCAN_COLUMNS (32 or 64; 64),
// SEQBENCH_DELTA_WY_SOLVE (blocked or serial; blocked) and SEQBENCH_DELTA_BWD (reuse or recompute; reuse);
// anything else throws.
DeltaRuleTcVariant delta_rule_tc_variant();
// "split forward, reverse pass 1 stage(s), 64 columns per walk, blocked solve, backward reuses the forward" and
// the like.
std::string delta_rule_tc_variant_name(const DeltaRuleTcVariant& variant);

// q, k [B, L, H, Dk] (k L2-normalised for a stable recurrence); v, out [B, L, H, Dv]; beta, log_decay
// [B, L, H] fp32 (log_decay null: ungated DeltaNet). Writes out; chunk_states (what backward reads), when
// non-null, S^T at every chunk's start; final_state [B, H, Dk, Dv] fp32 (S^T), when non-null, after the last
// token. Throws std::invalid_argument for an unsupported shape, a null buffer or one not 16-byte aligned.
void delta_rule_tc_fwd_cuda(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v, const float* beta,
                            const float* log_decay, __nv_bfloat16* out, __nv_bfloat16* chunk_states, float* final_state,
                            float* workspace, const DeltaRuleShape& shape,
                            const DeltaRuleTcVariant& variant = delta_rule_tc_variant(),
                            cudaStream_t stream = current_stream());

// Gradients overwritten: dq, dk [B, L, H, Dk], dv [B, L, H, Dv] bf16; dbeta, dlog_decay [B, L, H] fp32
// (dlog_decay ignored, may be null, when log_decay is null). chunk_states from a forward that stored them. With
// variant.reuse_forward, workspace as that forward (same inputs, reuse_forward too) left it: only backwards that
// also reuse may run on it in between.
void delta_rule_tc_bwd_cuda(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v, const float* beta,
                            const float* log_decay, const __nv_bfloat16* chunk_states, const __nv_bfloat16* dout,
                            __nv_bfloat16* dq, __nv_bfloat16* dk, __nv_bfloat16* dv, float* dbeta, float* dlog_decay,
                            float* workspace, const DeltaRuleShape& shape,
                            const DeltaRuleTcVariant& variant = delta_rule_tc_variant(),
                            cudaStream_t stream = current_stream());

}  // namespace seqbench
