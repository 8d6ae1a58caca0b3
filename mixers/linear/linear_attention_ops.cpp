#include "mixers/linear/linear_attention_ops.h"

#include "ops/device_dispatch.h"
#ifdef SEQBENCH_WITH_CUDA
#include "mixers/linear/linear_attention_cuda.cuh"
#endif

namespace seqbench {

void linear_attention_fwd(Device device, const float* phi_q, const float* phi_k, const float* v, float* out,
                          float* denominator, float* final_kv_state, float* final_k_state,
                          const LinearAttentionShape& shape, const LinearAttentionOptions& options) {
  if (device == Device::cpu)
    return linear_attention_fwd_cpu(phi_q, phi_k, v, out, denominator, final_kv_state, final_k_state, shape, options);
  SEQBENCH_ON_CUDA("linear_attention_fwd", linear_attention_fwd_cuda(phi_q, phi_k, v, out, denominator, final_kv_state,
                                                                     final_k_state, shape, options));
}

void linear_attention_bwd(Device device, const float* phi_q, const float* phi_k, const float* v, const float* out,
                          const float* denominator, const float* dout, float* dphi_q, float* dphi_k, float* dv,
                          const LinearAttentionShape& shape, const LinearAttentionOptions& options) {
  if (device == Device::cpu)
    return linear_attention_bwd_cpu(phi_q, phi_k, v, out, denominator, dout, dphi_q, dphi_k, dv, shape, options);
  SEQBENCH_ON_CUDA("linear_attention_bwd", linear_attention_bwd_cuda(phi_q, phi_k, v, out, denominator, dout, dphi_q,
                                                                     dphi_k, dv, shape, options));
}

void linear_attention_decode(Device device, const float* phi_q_t, const float* phi_k_t, const float* v_t,
                             float* kv_state, float* k_state, float* out_t, const LinearAttentionShape& shape,
                             const LinearAttentionOptions& options) {
  if (device == Device::cpu)
    return linear_attention_decode_cpu(phi_q_t, phi_k_t, v_t, kv_state, k_state, out_t, shape, options);
  SEQBENCH_ON_CUDA("linear_attention_decode",
                   linear_attention_decode_cuda(phi_q_t, phi_k_t, v_t, kv_state, k_state, out_t, shape, options));
}

}  // namespace seqbench
