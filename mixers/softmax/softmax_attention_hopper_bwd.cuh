// Softmax attention backward for Hopper (sm_90a), FlashAttention-3's design (Shah et al. 2024):
// dV = P^T dO, dS = P (dP - D) with D = rowsum(dO * O), dK = scale dS^T Q, dQ = scale dS K, P rebuilt
// from the forward's log-sum-exp. One CTA per (128 keys, head, batch): a producer warp streams Q / dO
// tiles with TMA (and lse / D) through a two- or three-slot ring, K and V stay in shared memory, two consumer
// warpgroups run the five products with wgmma (softmax_attention_hopper_bwd_consumer.cuh). dQ goes
// through an fp32 accumulator by float4 (or float2) atomics or bulk reduce-adds, or (deterministic) atomics taken
// in a fixed key-block order (softmax_attention_hopper_bwd_dq.cuh; the serial schedule: the portable
// dQ pass). Checked against the CPU kernels and the portable backward in test_gpu_softmax_hopper_bwd.cpp.
//
// Arguments as softmax_attention_bwd_cuda (softmax_attention_bf16.cuh): q, k, v, out, dout, dq, dk,
// dv bf16 [B, L, H, D], lse fp32 [B, H, L] (natural log, as the forward writes it), device pointers,
// 16-byte aligned; D = 64 or 128; any L >= 1. Runs only on compute capability 9.0 (throws elsewhere).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include "mixers/softmax/softmax_attention.h"
#include "ops/cuda/current_stream.cuh"

namespace seqbench {

struct HopperAttentionBwdOptions {
  bool causal = true;
  // Bit-identical runs: dQ added by key blocks in turn, in a fixed order (DqTurn) with the overlapped
  // schedule, or by the portable kernel's second pass (each block owning 64 queries, keys summed in a
  // fixed order) with the serial one. Causal only.
  bool deterministic = false;
  // Atomic dQ added by the bulk copy engine (one 256-byte cp.reduce.async.bulk per query row of a
  // staged 64 x 64 fp32 block) instead of atomics from registers.
  bool bulk_dq = false;
  // Atomic dQ (and the deterministic mode's turns) as 16-byte float4 reductions, neighbouring lanes
  // exchanging halves so that each owns four consecutive columns of one row, instead of the first
  // version's 8-byte float2 atomics straight from the accumulator layout. Ignored with bulk_dq.
  bool float4_dq = true;
  // The overlapped schedule awaits every product at the end of a tile (the next tile's S^T, queued
  // behind dK, included), so that no wgmma is in flight across the tile loop's back edge, where ptxas
  // would serialize all of them; false: the first version, which left S^T in flight. No effect on the
  // serial schedule or with bulk_dq.
  bool drain_each_tile = true;
  // dP^T's accumulator starts at -D, so that the tensor cores subtract D and dS^T = P^T dP^T is one
  // multiply per element; false: (dP^T - D) by the CUDA cores. Overlapped tiles with drain_each_tile
  // = false subtract by the CUDA cores whatever this says; bulk_dq and the serial schedule always fold.
  bool fold_delta = true;
  // Head_dim 128, overlapped schedule (drained, fold_delta): each warpgroup issues dK before waiting
  // (on an mbarrier per dS^T buffer) for the other's half of dS^T, then dQ and the next tile's S^T,
  // so that dK covers the skew between the warpgroups; false: FlashAttention-3's dV, dQ, dK behind a
  // named barrier that both warpgroups meet.
  bool dk_before_dq = true;
  // The overlapped consumer schedule (dQ added while dK runs, the next tile's score products queued
  // before dK is awaited, three ring slots but with bulk_dq) instead of the serial one (every product
  // awaited per tile).
  bool overlap = true;
  // Grid order: key blocks launched in sections of (batch, head) pairs whose Q, dO and dQ accumulator
  // fit the L2, each section's heaviest (first) key blocks of all its heads before any lighter one,
  // FlashAttention-3's causal backward scheduler, so that the grid ends on light blocks; false: one
  // head's key blocks after another's (heavy to light within each head). Every schedule and dQ mode.
  bool l2_sections = false;
  // D = rowsum(dO * O) by 16-byte loads, the fp32 dQ accumulator zeroed in the same pass
  // (softmax_attention_hopper_bwd_preprocess.cuh), instead of the portable attention_delta and a memset.
  bool fused_preprocess = false;
  // FlashAttention-3's tile in the overlapped family (BwdConsumer::run_fa3): dV, dQ, dK, dQ's atomics
  // while dK runs, every product awaited at the tile's end and nothing issued ahead for the next tile,
  // so that ptxas keeps the wgmma asynchronous. With bulk_dq (not deterministic), FlashAttention-3's dQ
  // path: the consumers store their dQ blocks to shared memory (two per consumer at head_dim 128) and a
  // writer warp of the producer warpgroup adds them by bulk reduce-adds (write_dq), a two-slot ring.
  // Ignored with overlap = false; drain_each_tile, fold_delta and dk_before_dq do not apply.
  bool fa3_tile = false;
  // The FlashAttention-3 tile's Q / dO ring in two slots (FlashAttention-3's count at head_dim 128)
  // instead of three. Only with fa3_tile (bulk_dq has two anyway).
  bool two_slot_ring = false;
  // With fa3_tile and bulk_dq (not deterministic): FlashAttention-3's dQ accumulator, each 64 x 64
  // block contiguous in the wgmma fragment order (conflict-free 16-byte stage stores), so that the writer
  // warp adds a block by one 16 KB bulk reduce instead of 64 row reduces; its own postprocess
  // (dq_tiled_postprocess_kernel) restores [B, L, H, D]. The accumulator takes L rounded up to 64.
  bool tiled_dq = false;
};

// workspace: softmax_attention_bwd_workspace_floats(shape) floats (D, the fp32 dq accumulator, the
// deterministic mode's turn counts), or null to allocate one inside the call. dq, dk, dv are overwritten.
void softmax_attention_bwd_hopper(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                                  const __nv_bfloat16* out, const float* lse, const __nv_bfloat16* dout,
                                  __nv_bfloat16* dq, __nv_bfloat16* dk, __nv_bfloat16* dv, const AttentionShape& shape,
                                  float* workspace, const HopperAttentionBwdOptions& options = {},
                                  cudaStream_t stream = current_stream());

// Whether softmax_attention_bwd_hopper takes this shape and these pointers (head_dim 64 or 128,
// 16-byte aligned pointers) on the current device (compute capability 9.0).
bool softmax_attention_hopper_bwd_supports(const AttentionShape& shape, const void* q, const void* k, const void* v,
                                           const void* out, const void* dout, const void* dq, const void* dk,
                                           const void* dv);

// Which kernel the bf16 backward (softmax_attention_bwd_cuda) runs for head_dim 64/128 with aligned
// pointers: portable (mma.sync, any sm_80+ GPU), hopper (the kernel above, on sm_90, float4 atomic
// dQ), hopper_bulk_dq (bulk_dq), hopper_serial and hopper_serial_bulk_dq (the same with overlap =
// false), hopper_float2_dq (hopper with float4_dq = false, the first atomic dQ), hopper_undrained
// (drain_each_tile = false), hopper_first_overlap (both: the first overlapped kernel),
// hopper_unfolded_delta (fold_delta = false), hopper_dq_before_dk (dk_before_dq = false),
// hopper_heavy_first (hopper_first_overlap with l2_sections), hopper_heavy_first_fused (and
// fused_preprocess), hopper_fa3_tile (fa3_tile with float4 dQ, l2_sections and fused_preprocess),
// hopper_fa3_bulk_dq (the same with bulk_dq: the writer warp's dQ), hopper_fa3_two_stage (hopper_fa3_tile
// with two_slot_ring), hopper_fa3_tiled_dq (hopper_fa3_bulk_dq with tiled_dq), from
// SEQBENCH_ATTENTION_BWD_KERNEL, read once; when unset, hopper_fa3_tiled_dq (measured fastest) on
// sm_90 and portable elsewhere;
// anything else throws, and so does a hopper variant on a GPU other than sm_90.
// SEQBENCH_ATTENTION_BWD (atomic | deterministic) applies to all of them.
enum class AttentionBwdKernel {
  portable,
  hopper,
  hopper_bulk_dq,
  hopper_serial,
  hopper_serial_bulk_dq,
  hopper_float2_dq,
  hopper_undrained,
  hopper_first_overlap,
  hopper_unfolded_delta,
  hopper_dq_before_dk,
  hopper_heavy_first,
  hopper_heavy_first_fused,
  hopper_fa3_tile,
  hopper_fa3_bulk_dq,
  hopper_fa3_two_stage,
  hopper_fa3_tiled_dq
};
AttentionBwdKernel attention_bwd_kernel();
const char* attention_bwd_kernel_name(AttentionBwdKernel kernel);

}  // namespace seqbench
