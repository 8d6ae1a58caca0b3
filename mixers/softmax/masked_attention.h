// Causal softmax attention over a chosen subset of keys per query: out_i = sum_{j in S_i}
// softmax_j(q_i.k_j / sqrt(Dh)) v_j, S_i a union of key ranges (sliding window, attention sinks,
// selected blocks); FlashAttention-2 (Dao 2023, Alg. 1-2) restricted to S_i, one query row at a time.
// The CPU kernels are checked against a naive masked double-precision reference and finite differences
// in mixers/sliding_window/test_sliding_window.cpp and against softmax_attention_fwd_cpu when
// S_i = [0, i]; the CUDA kernels against the CPU kernels in test_gpu_masked_attention.cpp.
#pragma once
#include <string>

#include "mixers/softmax/softmax_attention.h"  // AttentionShape
#include "ops/kernel_table.h"

namespace seqbench {

// Keys [begin, end) of one head's key sequence (token indices in training, cache slots in decode).
struct KeySpan {
  int32_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};

// The key set of each query: `width` spans per query, disjoint, empty ones (begin == end) as
// padding. Shared: one row per query position, the same for every (batch, head) (window
// patterns). Per head: rows [batch * heads, queries] (data-dependent selection, e.g. block top-k).
// Every query needs at least one key (its own, in every pattern here).
struct SpanTable {
  const KeySpan* spans = nullptr;
  int64_t width = 0;
  bool per_head = false;

  const KeySpan* row(int64_t bh, int64_t query, int64_t queries) const {
    return spans + ((per_head ? bh * queries : 0) + query) * width;
  }
};

// cuda(): the same on the GPU, fp32, device pointers (keys.spans included: a SpanBuffer on Device::cuda holds
// them). Forward: one warp per query row. Backward: a query-major pass writes dq and D_i, a key-major
// pass (one block per 32 keys of a (batch, head), visiting in ascending order the queries whose spans
// reach those keys) writes dk and dv. Decode: one block per (batch, head), its warps split the spans
// and merge in a fixed order. A query row holding a span outside [0, keys) or with begin > end gets NaN
// outputs instead of an out-of-bounds read. No float atomics: results are bitwise reproducible. Limits
// (cuda().unsupported): D <= 256.
// Floats of scratch the backward needs: D_i = sum_j P_ij dP_ij per query row, [B, H, L].
int64_t masked_attention_bwd_workspace_floats(const AttentionShape& shape);
// workspace: masked_attention_bwd_workspace_floats(shape) floats; without one, the call allocates it
// and waits for the stream before returning.
void masked_attention_bwd_cuda(const float* q, const float* k, const float* v, const float* lse, const float* dout,
                               float* dq, float* dk, float* dv, const SpanTable& keys, const AttentionShape& shape,
                               float* workspace);

struct MaskedAttentionKernels : KernelFamily<MaskedAttentionKernels> {
  static constexpr const char* kFamily = "masked_attention";

  // q, k, v, out and their gradients: [batch, seq_len, heads, head_dim]; lse: [batch, heads, seq_len].
  // keys has one row per query (queries = seq_len).
  void (*fwd)(const float* q, const float* k, const float* v, float* out, float* lse, const SpanTable& keys,
              const AttentionShape& shape);
  // dq, dk, dv are overwritten; probabilities are rebuilt from lse, so the forward's output is not
  // needed (D_i = rowsum(dout_i * out_i) is summed from the probabilities instead).
  void (*bwd)(const float* q, const float* k, const float* v, const float* lse, const float* dout, float* dq, float* dk,
              float* dv, const SpanTable& keys, const AttentionShape& shape);
  // One query per (batch, head) against cache slots: q_t, out_t [batch, heads, head_dim];
  // k_cache, v_cache [batch, cache.seq_len, heads, head_dim] with cache.seq_len the slot count;
  // keys has one row (queries = 1), its spans in slot indices.
  void (*decode)(const float* q_t, const float* k_cache, const float* v_cache, float* out_t, const SpanTable& keys,
                 const AttentionShape& cache);
  ShapeCheck<AttentionShape> unsupported;
};

}  // namespace seqbench
