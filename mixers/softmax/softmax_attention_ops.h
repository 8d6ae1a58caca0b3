// Causal softmax attention on either device: softmax_attention_cpu.h's kernels for Device::cpu,
// their fp32 CUDA twins (softmax_attention_cuda.cuh, checked in tests/test_gpu_kernels.cpp) for Device::cuda.
#pragma once
#include "mixers/softmax/softmax_attention_cpu.h"
#include "ops/tensor.h"

namespace seqbench {

void softmax_attention_fwd(Device device, const float* q, const float* k, const float* v, float* out, float* lse,
                           const AttentionShape& shape);
void softmax_attention_bwd(Device device, const float* q, const float* k, const float* v, const float* out,
                           const float* lse, const float* dout, float* dq, float* dk, float* dv,
                           const AttentionShape& shape);
void softmax_attention_decode(Device device, const float* q_t, const float* k_cache, const float* v_cache, int64_t len,
                              float* out_t, const AttentionShape& cache);

}  // namespace seqbench
