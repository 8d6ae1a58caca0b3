// Causal linear attention on the GPU for either storage type, with a caller-owned backward
// workspace and an explicit stream: what benchmarks and the bf16 tests call. The fp32 entry points
// of the kernel table (linear_attention.h) forward here. Checked against the CPU kernels in
// test_gpu_linear.cpp. All pointers are device pointers.
//
// T = float: fp32 throughout (CUDA cores). T = __nv_bfloat16: bf16 storage (the backward's output
// gradients too). With feature_dim and head_dim each 64 or 128 (and 16-byte aligned buffers) it runs
// as scalar GLA without a decay on tensor cores, fp32 accumulation, plus a fused normaliser
// (linear_attention_scalar_gla_cuda.cuh); other widths on the CUDA-core chunked kernel. States
// (kv_state, k_state) and the denominator are fp32. The GPU always uses 64-token chunks: the result
// does not depend on the chunk size beyond rounding, so options.chunk_size only has to be valid (>= 1).
// feature_dim and head_dim + 1 are at most 640.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mixers/linear/linear_attention.h"
#include "ops/cuda/current_stream.cuh"

namespace seqbench {

// Floats of scratch for the forward (none on CUDA cores; the bf16 tensor-core route's chunk sums).
int64_t linear_attention_fwd_workspace_floats(const LinearAttentionShape& shape, const LinearAttentionOptions& options);

// workspace: linear_attention_fwd_workspace_floats(...) floats, or null to allocate one inside the call.
template <class T>
void linear_attention_fwd_cuda(const T* phi_q, const T* phi_k, const T* v, T* out, float* denominator,
                               float* final_kv_state, float* final_k_state, const LinearAttentionShape& shape,
                               const LinearAttentionOptions& options, float* workspace = nullptr,
                               cudaStream_t stream = current_stream());

// Floats of scratch for the backward: the output gradients [dout / den, -(dout . out) / den] per token on
// CUDA cores; on the bf16 tensor-core route also the recomputed chunk states and the normaliser's sums.
int64_t linear_attention_bwd_workspace_floats(const LinearAttentionShape& shape, const LinearAttentionOptions& options);

// Gradients overwritten. workspace: linear_attention_bwd_workspace_floats(...) floats, or null to
// allocate one inside the call.
template <class T>
void linear_attention_bwd_cuda(const T* phi_q, const T* phi_k, const T* v, const T* out, const float* denominator,
                               const T* dout, T* dphi_q, T* dphi_k, T* dv, const LinearAttentionShape& shape,
                               const LinearAttentionOptions& options, float* workspace = nullptr,
                               cudaStream_t stream = current_stream());

template <class T>
void linear_attention_decode_cuda(const T* phi_q_t, const T* phi_k_t, const T* v_t, float* kv_state, float* k_state,
                                  T* out_t, const LinearAttentionShape& shape, const LinearAttentionOptions& options,
                                  cudaStream_t stream = current_stream());

}  // namespace seqbench
