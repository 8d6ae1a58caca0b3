// Softmax attention forward for Hopper (sm_90a), FlashAttention-3's design (Shah et al. 2024):
// out_i = sum_j softmax_j(q_i.k_j / sqrt(D)) v_j over j <= i (causal), over the sink + window keys
// j <= i with j < sinks or i - window < j (StreamingLLM; visiting only the key tiles that hold such
// keys), or over all j, and each row's log-sum-exp. One producer warpgroup streams K/V tiles with TMA into a two-stage
// ring; two consumer warpgroups compute S = Q K^T and O += P V with wgmma; one CTA per 128-query
// tile, or (persistent) one CTA per SM looping over the tiles. Checked against the CPU kernels and the
// portable bf16 forward in test_gpu_softmax_hopper.cpp, the sink + window forms against the CPU
// masked attention in test_gpu_masked_hopper.cpp.
//
// Arguments as softmax_attention_fwd_cuda (softmax_attention_bf16.cuh): q, k, v, out bf16
// [B, L, H, D], lse fp32 [B, H, L] (natural log), device pointers, 16-byte aligned; D = 64 or 128;
// any L >= 1. Runs only on compute capability 9.0 (throws elsewhere). Throws on a negative window or
// sinks, or either set without causal.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include "mixers/softmax/softmax_attention.h"
#include "ops/cuda/current_stream.cuh"

namespace seqbench {

struct HopperAttentionOptions {
  bool causal = true;
  // With causal: row i sees only keys i - window < j <= i, plus the first `sinks` keys (the key sets
  // of mixers/sliding_window/sink_window_spans.h). window 0: no window (sinks then change nothing);
  // a window >= L is plain causal attention and runs the causal kernel.
  int64_t window = 0;
  int64_t sinks = 0;
  // FlashAttention-3's ping-pong: the two consumer warpgroups take turns issuing their products
  // (named barriers), so one's softmax overlaps the other's products.
  bool pingpong = false;
  // FlashAttention-3's intra-warpgroup overlap: the softmax of key tile j + 1 runs while P_j V_j is
  // still on the tensor cores.
  bool overlap = false;
  // FlashAttention-3's persistent kernel: as many CTAs as fit on the GPU at once (or persistent_ctas
  // when > 0, fewer only when there are fewer tiles), each looping over query tiles
  // (hopper_attention_tile_schedule.h), so the producer loads the next tile's Q and K/V while the
  // consumers finish the current tile's products and output; no CTA launch, barrier set-up or
  // epilogue leaves an SM idle between tiles. Q is double-buffered.
  bool persistent = false;
  int persistent_ctas = 0;  // tests set a few, so every CTA runs many tiles
};

void softmax_attention_fwd_hopper(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                                  __nv_bfloat16* out, float* lse, const AttentionShape& shape,
                                  const HopperAttentionOptions& options = {}, cudaStream_t stream = current_stream());

// Whether softmax_attention_fwd_hopper takes this shape and these pointers (head_dim 64 or 128,
// 16-byte aligned pointers) on the current device (compute capability 9.0).
bool softmax_attention_hopper_supports(const AttentionShape& shape, const void* q, const void* k, const void* v,
                                       const void* out);

// Which kernel the bf16 forward (softmax_attention_fwd_cuda) runs for head_dim 64/128: portable
// (mma.sync, any sm_80+ GPU) or the kernel above with its schedule options (hopper: neither,
// hopper_pingpong, hopper_overlap, hopper_pingpong_overlap: FlashAttention-3's full schedule;
// hopper_persistent: the ping-pong schedule in the persistent kernel, hopper_persistent_overlap: the
// full schedule in it), from SEQBENCH_ATTENTION_FWD, read once; when unset, hopper_persistent on an
// sm_90 GPU and portable on any other; anything else throws. An explicit hopper variant on a GPU
// other than sm_90 also throws (no silent fallback for an explicit request).
enum class AttentionFwdVariant {
  portable,
  hopper,
  hopper_pingpong,
  hopper_overlap,
  hopper_pingpong_overlap,
  hopper_persistent,
  hopper_persistent_overlap
};
AttentionFwdVariant attention_fwd_variant();
const char* attention_fwd_variant_name(AttentionFwdVariant variant);
// The options a hopper variant stands for.
HopperAttentionOptions hopper_attention_options(AttentionFwdVariant variant, bool causal);

}  // namespace seqbench
