// Causal softmax attention on the CPU: the online-softmax row loop of online_softmax_cpu.h over the
// span [0, i] of each query; checked against a plain two-pass reference in test_softmax_attention.cpp.
#include <vector>

#include "mixers/softmax/masked_attention.h"
#include "mixers/softmax/online_softmax_cpu.h"
#include "mixers/softmax/softmax_attention.h"

namespace seqbench {

using namespace attention_rows;

namespace {

// Query i's one span, keys [0, i]: causal attention as a span table shared by every head (masked
// attention with this table is causal attention, computed by the same loops).
std::vector<KeySpan> causal_spans(int64_t seq_len) {
  std::vector<KeySpan> spans(static_cast<size_t>(seq_len));
  for (int64_t i = 0; i < seq_len; ++i) spans[i] = {0, static_cast<int32_t>(i + 1)};
  return spans;
}

}  // namespace

void softmax_attention_fwd_cpu(const float* q, const float* k, const float* v, float* out, float* lse,
                               const AttentionShape& s) {
  const std::vector<KeySpan> spans = causal_spans(s.seq_len);
  MaskedAttentionKernels::cpu().fwd(q, k, v, out, lse, SpanTable{spans.data(), 1, false}, s);
}

void softmax_attention_bwd_cpu(const float* q, const float* k, const float* v, const float* out, const float* lse,
                               const float* dout, float* dq, float* dk, float* dv, const AttentionShape& s) {
  const std::vector<KeySpan> spans = causal_spans(s.seq_len);
  // With the forward's output at hand, D_i = dout_i . out_i (FlashAttention-2).
  attention_bwd_rows(q, k, v, out, lse, dout, dq, dk, dv, SpanTable{spans.data(), 1, false}, s);
}

void softmax_attention_decode_cpu(const float* q_t, const float* k_cache, const float* v_cache, int64_t len,
                                  float* out_t, const AttentionShape& cache) {
  const int64_t dh = cache.head_dim, pairs = cache.batch * cache.heads;
#pragma omp parallel for schedule(static) if (worth_parallel(pairs, pairs * len * dh))
  for (int64_t bh = 0; bh < pairs; ++bh) {
    const HeadSlice x = head_slice(bh, cache.seq_len, cache);
    const KeySpan cached{0, static_cast<int32_t>(len)};
    attend_cache(q_t + bh * dh, k_cache + x.offset, v_cache + x.offset, x.stride, dh, &cached, 1, out_t + bh * dh);
  }
}

template <>
SoftmaxAttentionKernels cpu_kernel_table<SoftmaxAttentionKernels>{{},
                                                                  softmax_attention_fwd_cpu,
                                                                  softmax_attention_bwd_cpu,
                                                                  softmax_attention_decode_cpu,
                                                                  no_shape_limits<AttentionShape>};

}  // namespace seqbench
