// Causal linear attention on either device: linear_attention_cpu.h's kernels for Device::cpu, their
// fp32 CUDA twins (linear_attention_cuda.cuh, checked in tests/test_gpu_kernels.cpp) for Device::cuda.
#pragma once
#include "mixers/linear/linear_attention_cpu.h"
#include "ops/tensor.h"

namespace seqbench {

void linear_attention_fwd(Device device, const float* phi_q, const float* phi_k, const float* v, float* out,
                          float* denominator, float* final_kv_state, float* final_k_state,
                          const LinearAttentionShape& shape, const LinearAttentionOptions& options);
void linear_attention_bwd(Device device, const float* phi_q, const float* phi_k, const float* v, const float* out,
                          const float* denominator, const float* dout, float* dphi_q, float* dphi_k, float* dv,
                          const LinearAttentionShape& shape, const LinearAttentionOptions& options);
void linear_attention_decode(Device device, const float* phi_q_t, const float* phi_k_t, const float* v_t,
                             float* kv_state, float* k_state, float* out_t, const LinearAttentionShape& shape,
                             const LinearAttentionOptions& options);

}  // namespace seqbench
