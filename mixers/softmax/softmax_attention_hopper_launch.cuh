// The host side shared by the Hopper attention forward's two launchers (one CTA per tile,
// softmax_attention_hopper_cuda.cu; persistent, softmax_attention_hopper_persistent_cuda.cu): which
// key mask and schedule a call runs as template arguments, the key set the kernel reads, and the
// TMA maps of Q, K and V. Host code, included only by those two files.
#pragma once
#include <cuda_bf16.h>

#include <algorithm>
#include <type_traits>

#include "mixers/softmax/softmax_attention_hopper.cuh"
#include "mixers/softmax/softmax_attention_hopper_layout.cuh"
#include "ops/cuda/hopper/tensor_map.h"

namespace seqbench {
namespace hopper_attention {

// The key set's sinks and window, as the kernel reads them.
struct KeySet {
  int sinks = 0, window = 0;
};

template <bool kValue>
using BoolConstant = std::integral_constant<bool, kValue>;
template <KeyMask kMask>
using MaskConstant = std::integral_constant<KeyMask, kMask>;

// Calls launch(mask, pingpong, overlap, keys) with the first three as integral constants, so the
// caller instantiates its kernel once per combination. A window reaching the first key of every
// row is plain causal attention (sinks then add nothing): the causal kernel, without the per-tile
// visibility tests.
template <class Launch>
void with_fwd_kernel_choice(const AttentionShape& s, const HopperAttentionOptions& o, Launch&& launch) {
  auto with_schedule = [&](auto mask, KeySet keys) {
    if (o.pingpong)
      return o.overlap ? launch(mask, BoolConstant<true>{}, BoolConstant<true>{}, keys)
                       : launch(mask, BoolConstant<true>{}, BoolConstant<false>{}, keys);
    o.overlap ? launch(mask, BoolConstant<false>{}, BoolConstant<true>{}, keys)
              : launch(mask, BoolConstant<false>{}, BoolConstant<false>{}, keys);
  };
  if (!o.causal) return with_schedule(MaskConstant<KeyMask::none>{}, KeySet{});
  if (o.window == 0 || o.window >= s.seq_len) return with_schedule(MaskConstant<KeyMask::causal>{}, KeySet{});
  with_schedule(MaskConstant<KeyMask::sink_window>{},
                KeySet{static_cast<int>(std::min(o.sinks, s.seq_len)), static_cast<int>(o.window)});
}

// Q, K and V [B, L, H, D] as TMA maps of 128-row boxes (kBlockM = kBlockN).
struct QkvMaps {
  CUtensorMap q, k, v;
};
inline QkvMaps qkv_tensor_maps(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                               const AttentionShape& s) {
  return {hopper::bshd_tensor_map_bf16(q, s.batch, s.seq_len, s.heads, s.head_dim, kBlockM),
          hopper::bshd_tensor_map_bf16(k, s.batch, s.seq_len, s.heads, s.head_dim, kBlockN),
          hopper::bshd_tensor_map_bf16(v, s.batch, s.seq_len, s.heads, s.head_dim, kBlockN)};
}

// The persistent launcher (softmax_attention_hopper_persistent_cuda.cu), D = 64 or 128; the
// arguments checked by softmax_attention_fwd_hopper.
template <int D>
void launch_fwd_hopper_persistent(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                                  __nv_bfloat16* out, float* lse, const AttentionShape& s,
                                  const HopperAttentionOptions& o, cudaStream_t stream);

}  // namespace hopper_attention
}  // namespace seqbench
