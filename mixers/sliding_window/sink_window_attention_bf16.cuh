// Sink + sliding-window attention forward in bf16 on the GPU: out_i = sum_j softmax_j(q_i.k_j /
// sqrt(D)) v_j over keys j <= i with j < sinks or i - window < j (sink_window_spans.h; StreamingLLM,
// Xiao et al. 2023), and each row's log-sum-exp. The Hopper kernel (softmax_attention_hopper.cuh)
// visiting only the key tiles that hold visible keys; checked against the CPU masked attention in
// mixers/softmax/test_gpu_masked_hopper.cpp.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mixers/softmax/softmax_attention.h"
#include "ops/cuda/current_stream.cuh"

namespace seqbench {

// Whether sink_window_attention_fwd_cuda runs for this shape and these pointers: a hopper variant
// of SEQBENCH_ATTENTION_FWD (attention_fwd_variant(), the default on sm_90) and a shape the Hopper
// kernel takes (head_dim 64 or 128, 16-byte aligned pointers). There is no portable bf16 kernel for
// these key sets; the fp32 masked kernels (MaskedAttentionKernels::cuda()) run on every GPU.
bool sink_window_attention_bf16_supported(const AttentionShape& shape, const void* q, const void* k, const void* v,
                                          const void* out);

// q, k, v, out bf16 [B, L, H, D], lse fp32 [B, H, L] (natural log), device pointers; sinks >= 0,
// window >= 1. Runs the Hopper kernel with the schedule of attention_fwd_variant(). Throws
// std::invalid_argument on a bad sinks or window, or where sink_window_attention_bf16_supported is
// false (naming why).
void sink_window_attention_fwd_cuda(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                                    __nv_bfloat16* out, float* lse, const AttentionShape& shape, int64_t sinks,
                                    int64_t window, cudaStream_t stream = current_stream());

}  // namespace seqbench
