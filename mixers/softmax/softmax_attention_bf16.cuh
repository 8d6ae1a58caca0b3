// Causal softmax attention on the GPU for either storage type, with caller-owned workspaces and an
// explicit stream: what benchmarks and the bf16 tests call; the fp32 entry points of the kernel table
// (softmax_attention.h) forward here. Forward (FlashAttention-2 tiled online softmax, writes the
// log-sum-exp), backward (FlashAttention-2 with D = rowsum(dO * O)), one-token decode (split-K over
// the cache); checked against the CPU kernels in test_gpu_softmax.cpp. Device pointers throughout.
//
// T = float: fp32 storage and arithmetic (CUDA cores). T = __nv_bfloat16: bf16 storage, fp32
// accumulation, tensor cores (mma.sync) for head_dim 64 and 128 with 16-byte aligned pointers,
// CUDA cores otherwise. lse, workspaces and statistics are fp32 in both. head_dim <= 256.
// SEQBENCH_ATTENTION_FWD=hopper routes the bf16 forward at head_dim 64/128 to the sm_90a kernel of
// softmax_attention_hopper.cuh (wgmma, TMA); portable (the default) keeps mma.sync.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mixers/softmax/softmax_attention.h"
#include "ops/cuda/current_stream.cuh"

namespace seqbench {

template <class T>
void softmax_attention_fwd_cuda(const T* q, const T* k, const T* v, T* out, float* lse, const AttentionShape& shape,
                                cudaStream_t stream = current_stream());

// Floats of scratch the backward needs: an fp32 dq accumulator [B, L, H, Dh] and D [B, H, L].
int64_t softmax_attention_bwd_workspace_floats(const AttentionShape& shape);

// dq, dk, dv are overwritten. workspace: softmax_attention_bwd_workspace_floats(shape) floats, or
// null to allocate (and free) one inside the call.
template <class T>
void softmax_attention_bwd_cuda(const T* q, const T* k, const T* v, const T* out, const float* lse, const T* dout,
                                T* dq, T* dk, T* dv, const AttentionShape& shape, float* workspace = nullptr,
                                cudaStream_t stream = current_stream());

// Partial results of the cache splits: (max, sum, unnormalised output) per split and (batch, head).
int64_t softmax_attention_decode_workspace_floats(const AttentionShape& cache, int64_t len);

// q_t, out_t: [batch, heads, head_dim]; k_cache, v_cache: [batch, cache.seq_len, heads, head_dim],
// the first `len` tokens valid. workspace as for the backward.
template <class T>
void softmax_attention_decode_cuda(const T* q_t, const T* k_cache, const T* v_cache, int64_t len, T* out_t,
                                   const AttentionShape& cache, float* workspace = nullptr,
                                   cudaStream_t stream = current_stream());

}  // namespace seqbench
