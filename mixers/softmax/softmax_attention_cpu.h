// Causal softmax attention: out_i = sum_{j<=i} softmax_j(q_i.k_j / sqrt(Dh)) v_j, with each row's
// log-sum-exp kept for backward (FlashAttention-2, Dao 2023, Alg. 1-2, one query row at a time).
// Checked against a plain two-pass reference and finite differences in tests/test_softmax_attention.cpp.
#pragma once
#include <cstdint>

namespace seqbench {

// q, k, v, out (and their gradients): [batch, seq_len, heads, head_dim] row-major, i.e. the
// [B, L, d_model] projection output with d_model = heads * head_dim. lse: [batch, heads, seq_len].
struct AttentionShape {
  int64_t batch = 0, seq_len = 0, heads = 0, head_dim = 0;
};

void softmax_attention_fwd_cpu(const float* q, const float* k, const float* v, float* out, float* lse,
                               const AttentionShape& shape);

// dq, dk, dv are overwritten. Uses D_i = rowsum(dout_i * out_i) so the probabilities are rebuilt
// from lse without a second softmax.
void softmax_attention_bwd_cpu(const float* q, const float* k, const float* v, const float* out,
                               const float* lse, const float* dout, float* dq, float* dk, float* dv,
                               const AttentionShape& shape);

// One query per (batch, head) against the first `len` tokens of a KV cache.
// q_t, out_t: [batch, heads, head_dim]; k_cache, v_cache: [batch, cache.seq_len, heads, head_dim],
// where cache.seq_len is the cache capacity (max_len) and 1 <= len <= cache.seq_len.
void softmax_attention_decode_cpu(const float* q_t, const float* k_cache, const float* v_cache,
                                  int64_t len, float* out_t, const AttentionShape& cache);

}  // namespace seqbench
