// The fp32 entry points of the softmax-attention kernel table: the storage-type templates of
// softmax_attention_bf16.cuh at T = float, workspaces allocated per call, on the current stream.
#include <string>

#include "mixers/softmax/softmax_attention.h"
#include "mixers/softmax/softmax_attention_bf16.cuh"
#include "mixers/softmax/softmax_attention_cuda_internal.cuh"

namespace seqbench {

void softmax_attention_fwd_cuda(const float* q, const float* k, const float* v, float* out, float* lse,
                                const AttentionShape& shape) {
  softmax_attention_fwd_cuda<float>(q, k, v, out, lse, shape);
}

void softmax_attention_bwd_cuda(const float* q, const float* k, const float* v, const float* out, const float* lse,
                                const float* dout, float* dq, float* dk, float* dv, const AttentionShape& shape) {
  softmax_attention_bwd_cuda<float>(q, k, v, out, lse, dout, dq, dk, dv, shape);
}

void softmax_attention_decode_cuda(const float* q_t, const float* k_cache, const float* v_cache, int64_t len,
                                   float* out_t, const AttentionShape& cache) {
  softmax_attention_decode_cuda<float>(q_t, k_cache, v_cache, len, out_t, cache);
}

std::string softmax_attention_cuda_limits(const AttentionShape& s) {
  if (s.head_dim > kAttentionMaxHeadDim)
    return "head_dim must be <= " + std::to_string(kAttentionMaxHeadDim) + " on the GPU, got " +
           std::to_string(s.head_dim);
  if (s.seq_len > kAttentionMaxSeqLen) return "seq_len must be <= 2^30 on the GPU, got " + std::to_string(s.seq_len);
  return {};
}

template <>
SoftmaxAttentionKernels cuda_kernel_table<SoftmaxAttentionKernels>{{},
                                                                   softmax_attention_fwd_cuda,
                                                                   softmax_attention_bwd_cuda,
                                                                   softmax_attention_decode_cuda,
                                                                   softmax_attention_cuda_limits};

}  // namespace seqbench
