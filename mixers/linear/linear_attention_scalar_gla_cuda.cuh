// Unnormalised causal linear attention is scalar-decay GLA with log decay 0 and scale 1:
// out_t = sum_{s<=t} (q_t . k_s) v_s = S_t^T q_t with S_t = S_{t-1} + k_t v_t^T. So bf16 linear attention
// with feature_dim and head_dim each 64 or 128 runs on the GLA tensor-core kernels (gla_scalar_bf16.cuh,
// log_decay null: no decay loads or exponentials), the normalised form adding its denominator
// (linear_attention_normaliser_cuda.cuh). The backward recomputes the chunk states (one forward state
// pass) rather than keeping them from the forward. Checked through linear_attention_{fwd,bwd}_cuda against
// the CPU kernels in test_gpu_linear.cpp.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <initializer_list>

#include "mixers/linear/linear_attention.h"

namespace seqbench {

// Whether the shape fits the GLA kernels and every non-null buffer is 16-byte aligned (their tiles load
// 16 bytes at a time); linear_attention_cuda.cu runs everything else on its own chunked kernel.
bool linear_attention_runs_as_scalar_gla(const LinearAttentionShape& shape,
                                         std::initializer_list<const void*> buffers = {});

// Whether this route's forward computes the normaliser (and the final key sum) inside the fused GLA walk: unless
// SEQBENCH_LINEAR_NORMALISER=separate (linear_attention_normaliser_cuda.cuh) or SEQBENCH_GLA_SCALAR_FWD=split
// (that forward has no normaliser of its own) ask for the separate kernels.
bool normaliser_runs_fused();

// Floats of the caller-owned workspace of each pass on this route.
int64_t scalar_gla_linear_attention_fwd_workspace_floats(const LinearAttentionShape& shape);
int64_t scalar_gla_linear_attention_bwd_workspace_floats(const LinearAttentionShape& shape);

// Contracts of linear_attention_{fwd,bwd}_cuda (linear_attention_bf16.cuh) with a workspace that is not null.
void scalar_gla_linear_attention_fwd(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                                     __nv_bfloat16* out, float* denominator, float* final_kv_state,
                                     float* final_k_state, const LinearAttentionShape& shape,
                                     const LinearAttentionOptions& options, float* workspace, cudaStream_t stream);
void scalar_gla_linear_attention_bwd(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                                     const __nv_bfloat16* out, const float* denominator, const __nv_bfloat16* dout,
                                     __nv_bfloat16* dq, __nv_bfloat16* dk, __nv_bfloat16* dv,
                                     const LinearAttentionShape& shape, const LinearAttentionOptions& options,
                                     float* workspace, cudaStream_t stream);

}  // namespace seqbench
