#include "mixers/softmax/softmax_attention_ops.h"

#include "ops/device_dispatch.h"
#ifdef SEQBENCH_WITH_CUDA
#include "mixers/softmax/softmax_attention_cuda.cuh"
#endif

namespace seqbench {

void softmax_attention_fwd(Device device, const float* q, const float* k, const float* v, float* out, float* lse,
                           const AttentionShape& shape) {
  if (device == Device::cpu) return softmax_attention_fwd_cpu(q, k, v, out, lse, shape);
  SEQBENCH_ON_CUDA("softmax_attention_fwd", softmax_attention_fwd_cuda(q, k, v, out, lse, shape));
}

void softmax_attention_bwd(Device device, const float* q, const float* k, const float* v, const float* out,
                           const float* lse, const float* dout, float* dq, float* dk, float* dv,
                           const AttentionShape& shape) {
  if (device == Device::cpu) return softmax_attention_bwd_cpu(q, k, v, out, lse, dout, dq, dk, dv, shape);
  SEQBENCH_ON_CUDA("softmax_attention_bwd", softmax_attention_bwd_cuda(q, k, v, out, lse, dout, dq, dk, dv, shape));
}

void softmax_attention_decode(Device device, const float* q_t, const float* k_cache, const float* v_cache, int64_t len,
                              float* out_t, const AttentionShape& cache) {
  if (device == Device::cpu) return softmax_attention_decode_cpu(q_t, k_cache, v_cache, len, out_t, cache);
  SEQBENCH_ON_CUDA("softmax_attention_decode", softmax_attention_decode_cuda(q_t, k_cache, v_cache, len, out_t, cache));
}

}  // namespace seqbench
