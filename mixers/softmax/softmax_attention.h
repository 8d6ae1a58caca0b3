// Causal softmax attention: out_i = sum_{j<=i} softmax_j(q_i.k_j / sqrt(Dh)) v_j, with each row's
// log-sum-exp kept for backward (FlashAttention-2, Dao 2023, Alg. 1-2, one query row at a time).
// The CPU kernels are checked against a plain two-pass reference and finite differences in
// test_softmax_attention.cpp; the CUDA kernels against the CPU kernels in test_gpu_softmax.cpp.
#pragma once
#include <string>

#include "ops/kernel_table.h"
#include "ops/shape_legend.h"

namespace seqbench {

// q, k, v, out (and their gradients): [B, L, H, D] row-major, i.e. the [B, L, d] projection output
// with d = H * D. lse: [B, H, L].
struct AttentionShape : HeadsShape {
  int64_t head_dim = 0;  // D
};

// cuda(): the same on the GPU in fp32 (device pointers): forward (FlashAttention-2 tiled online softmax),
// backward (FlashAttention-2 with D = rowsum(dO * O)), decode (split-K over the cache); workspaces
// are allocated per call. bf16 storage, tensor cores and caller-owned workspaces:
// softmax_attention_bf16.cuh. Limits (cuda().unsupported): D <= 256, L <= 2^30.

struct SoftmaxAttentionKernels : KernelFamily<SoftmaxAttentionKernels> {
  static constexpr const char* kFamily = "softmax_attention";

  void (*fwd)(const float* q, const float* k, const float* v, float* out, float* lse, const AttentionShape& shape);
  // dq, dk, dv are overwritten. Uses D_i = rowsum(dout_i * out_i) so the probabilities are rebuilt
  // from lse without a second softmax.
  void (*bwd)(const float* q, const float* k, const float* v, const float* out, const float* lse, const float* dout,
              float* dq, float* dk, float* dv, const AttentionShape& shape);
  // One query per (batch, head) against the first `len` tokens of a KV cache.
  // q_t, out_t: [batch, heads, head_dim]; k_cache, v_cache: [batch, cache.seq_len, heads, head_dim],
  // where cache.seq_len is the cache capacity (max_len) and 1 <= len <= cache.seq_len.
  void (*decode)(const float* q_t, const float* k_cache, const float* v_cache, int64_t len, float* out_t,
                 const AttentionShape& cache);
  ShapeCheck<AttentionShape> unsupported;
};

}  // namespace seqbench
