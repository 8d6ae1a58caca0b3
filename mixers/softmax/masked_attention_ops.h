// Masked attention on either device: each op runs masked_attention_*_cpu for Device::cpu and its
// CUDA twin (masked_attention_cuda.cuh) for Device::cuda, with the same arguments. All pointers,
// keys.spans included, must live on `device` (SpanBuffer keeps span tables there).
// Checked against the CPU kernels in tests/test_gpu_masked_attention.cpp.
#pragma once
#include "mixers/softmax/masked_attention_cpu.h"
#include "ops/tensor.h"

namespace seqbench {

void masked_attention_fwd(Device device, const float* q, const float* k, const float* v, float* out, float* lse,
                          const SpanTable& keys, const AttentionShape& shape);

void masked_attention_bwd(Device device, const float* q, const float* k, const float* v, const float* lse,
                          const float* dout, float* dq, float* dk, float* dv, const SpanTable& keys,
                          const AttentionShape& shape);

void masked_attention_decode(Device device, const float* q_t, const float* k_cache, const float* v_cache, float* out_t,
                             const SpanTable& keys, const AttentionShape& cache);

}  // namespace seqbench
