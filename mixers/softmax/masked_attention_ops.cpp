// Device dispatch of the masked attention kernels (see masked_attention_ops.h).
#include "mixers/softmax/masked_attention_ops.h"

#include "ops/device_dispatch.h"
#ifdef SEQBENCH_WITH_CUDA
#include "mixers/softmax/masked_attention_cuda.cuh"
#endif

namespace seqbench {

void masked_attention_fwd(Device device, const float* q, const float* k, const float* v, float* out, float* lse,
                          const SpanTable& keys, const AttentionShape& shape) {
  if (device == Device::cpu) return masked_attention_fwd_cpu(q, k, v, out, lse, keys, shape);
  SEQBENCH_ON_CUDA("masked_attention_fwd", masked_attention_fwd_cuda(q, k, v, out, lse, keys, shape));
}

void masked_attention_bwd(Device device, const float* q, const float* k, const float* v, const float* lse,
                          const float* dout, float* dq, float* dk, float* dv, const SpanTable& keys,
                          const AttentionShape& shape) {
  if (device == Device::cpu) return masked_attention_bwd_cpu(q, k, v, lse, dout, dq, dk, dv, keys, shape);
  SEQBENCH_ON_CUDA("masked_attention_bwd", masked_attention_bwd_cuda(q, k, v, lse, dout, dq, dk, dv, keys, shape));
}

void masked_attention_decode(Device device, const float* q_t, const float* k_cache, const float* v_cache, float* out_t,
                             const SpanTable& keys, const AttentionShape& cache) {
  if (device == Device::cpu) return masked_attention_decode_cpu(q_t, k_cache, v_cache, out_t, keys, cache);
  SEQBENCH_ON_CUDA("masked_attention_decode", masked_attention_decode_cuda(q_t, k_cache, v_cache, out_t, keys, cache));
}

}  // namespace seqbench
