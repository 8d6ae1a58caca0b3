// Pieces shared by the softmax-attention CUDA files: shape checks, the CUDA-core (any head_dim)
// kernels the tensor-core paths fall back to, D = rowsum(dO * O) of the backward, and the
// deterministic backward's dQ pass.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "mixers/softmax/softmax_attention.h"

namespace seqbench {

constexpr int kAttentionMaxHeadDim = 256;
constexpr int64_t kAttentionMaxSeqLen = int64_t{1} << 30;
constexpr float kLog2e = 1.4426950408889634f;

inline void check_attention_shape(const AttentionShape& s, const char* who) {
  if (s.batch < 0 || s.seq_len < 0 || s.heads < 0 || s.head_dim < 1 || s.head_dim > kAttentionMaxHeadDim)
    throw std::invalid_argument(std::string(who) + ": head_dim must be in [1, " +
                                std::to_string(kAttentionMaxHeadDim) + "] and sizes >= 0, got batch " +
                                std::to_string(s.batch) + ", seq_len " + std::to_string(s.seq_len) + ", heads " +
                                std::to_string(s.heads) + ", head_dim " + std::to_string(s.head_dim));
  if (s.seq_len > kAttentionMaxSeqLen)
    throw std::invalid_argument(std::string(who) + ": seq_len " + std::to_string(s.seq_len) + " exceeds 2^30");
}

inline bool attention_is_empty(const AttentionShape& s) { return s.batch == 0 || s.seq_len == 0 || s.heads == 0; }

inline float attention_scale(const AttentionShape& s) { return 1.0f / std::sqrt(static_cast<float>(s.head_dim)); }

inline bool aligned_16(const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; }

// The backward's workspace: D [B, H, L] from float 0, then the fp32 dq accumulator [B, L, H, Dh] from
// this float, a multiple of 4 so the accumulator is 16-byte aligned in an aligned workspace (the Hopper
// backward adds float2 and reads float4).
inline int64_t attention_bwd_dq_accum_offset(const AttentionShape& s) {
  return (s.batch * s.heads * s.seq_len + 3) / 4 * 4;
}
// The accumulator's floats: room for [B, L, H, Dh], or for the Hopper backward's tile-ordered layout
// (HopperAttentionBwdOptions::tiled_dq), whole 64-query blocks per (batch, head): L rounded up to 64.
inline int64_t attention_bwd_dq_accum_floats(const AttentionShape& s) {
  return s.batch * s.heads * ((s.seq_len + 63) / 64 * 64) * s.head_dim;
}
// After the accumulator, the Hopper backward's deterministic turn counts: one int per (batch, head,
// 64-query tile).
inline int64_t attention_bwd_dq_order_offset(const AttentionShape& s) {
  return attention_bwd_dq_accum_offset(s) + attention_bwd_dq_accum_floats(s);
}
inline int64_t attention_bwd_dq_order_words(const AttentionShape& s) {
  return s.batch * s.heads * ((s.seq_len + 63) / 64);
}

template <class T>
void attention_fwd_simt(const T* q, const T* k, const T* v, T* out, float* lse, const AttentionShape& s,
                        cudaStream_t stream);

// delta: [B, H, L] = rowsum(dout * out). Then dq, dk, dv by two CUDA-core kernels.
template <class T>
void attention_delta(const T* out, const T* dout, float* delta, const AttentionShape& s, cudaStream_t stream);
template <class T>
void attention_bwd_simt(const T* q, const T* k, const T* v, const float* lse, const float* delta, const T* dout,
                        T* dq, T* dk, T* dv, const AttentionShape& s, cudaStream_t stream);

// dq alone, on bf16 tensor cores (D = 64 or 128, 16-byte aligned rows), each block owning 64 queries
// and summing over the keys in a fixed order: the deterministic backward's second pass
// (softmax_attention_bwd_dq_cuda.cu).
template <int D>
void attention_dq_tensor_core(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                              const __nv_bfloat16* dout, const float* lse, const float* delta, __nv_bfloat16* dq,
                              const AttentionShape& s, cudaStream_t stream);

}  // namespace seqbench
