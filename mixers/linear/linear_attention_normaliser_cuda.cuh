// The normaliser of causal linear attention, apart from its numerator: den_t = q_t . z_t + eps with
// z_t = sum_{s<=t} k_s (linear_attention.h), out_t = num_t / den_t, and its exact backward
// (d num_t = dout_t / den_t, d den_t = -(dout_t . out_t) / den_t, dq_t += d den_t z_t,
// dk_s += sum_{t>=s} d den_t q_t). Used by linear_attention_scalar_gla_cuda.cu; checked through
// linear_attention_{fwd,bwd}_cuda against the CPU kernels in test_gpu_linear.cpp.
//
// Cumulative sums run in 64-token chunks: chunk totals, a scan over the chunks of each head, then the
// sums inside each chunk, each block splitting its chunk into 16 runs of 4 tokens and each row into 16-byte
// vectors. bf16 tensors [B, L, H, width], fp32 sums and denominators ([B, H, L]); feature_dim and head_dim
// 64 or 128 (the scalar-GLA route's widths), 16-byte aligned tensors.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mixers/linear/linear_attention.h"

namespace seqbench {

constexpr int64_t kNormaliserMaxFeatures = 128;

// Where the bf16 forward computes the normaliser: `fused` into the fused scalar-GLA forward's chunk walk (the
// score row sums and a carried key sum; gla_scalar_key_normalised_fwd_cuda), or `separate`, the kernels below
// after the unnormalised forward. From SEQBENCH_LINEAR_NORMALISER (fused or separate, read once; fused when
// unset); anything else throws. The split GLA forward (SEQBENCH_GLA_SCALAR_FWD=split) always uses the
// separate kernels. The backward uses the kernels below either way.
enum class LinearNormaliserVariant { fused, separate };
LinearNormaliserVariant linear_normaliser_variant();

// Floats of one per-chunk sum buffer, [B, H, ceil(L / 64), F].
int64_t normaliser_chunk_sum_floats(const LinearAttentionShape& shape);

// prefix [B, H, chunks, F] <- the sum of k over all earlier chunks of the head (z before each chunk);
// total [B, H, F] (may be null) <- the sum over the whole sequence, z after the last token. scratch:
// normaliser_chunk_sum_floats(shape) floats (the chunk totals), here and below.
void key_sum_prefix_cuda(const __nv_bfloat16* k, float* prefix, float* total, float* scratch,
                         const LinearAttentionShape& shape, cudaStream_t stream);

// With prefix from key_sum_prefix_cuda: den [B, H, L] <- q_t . z_t + eps, out_t <- out_t / den_t in place.
void normalise_output_cuda(const __nv_bfloat16* q, const __nv_bfloat16* k, const float* prefix, __nv_bfloat16* out,
                           float* den, float eps, const LinearAttentionShape& shape, cudaStream_t stream);

// First half of the backward: dnum [B, L, H, D] (bf16) <- dout_t / den_t and dden [B, H, L] <-
// -(dout_t . out_t) / den_t; key_prefix as key_sum_prefix_cuda writes it; query_suffix [B, H, chunks, F]
// <- sum over all later chunks of dden_t q_t.
void normaliser_output_gradient_cuda(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* out,
                                     const float* den, const __nv_bfloat16* dout, __nv_bfloat16* dnum, float* dden,
                                     float* key_prefix, float* query_suffix, float* scratch,
                                     const LinearAttentionShape& shape, cudaStream_t stream);

// Second half, after the numerator's backward wrote dq and dk: dq_t += dden_t z_t,
// dk_s += sum_{t>=s} dden_t q_t (in place, bf16).
void add_normaliser_gradient_cuda(const __nv_bfloat16* q, const __nv_bfloat16* k, const float* dden,
                                  const float* key_prefix, const float* query_suffix, __nv_bfloat16* dq,
                                  __nv_bfloat16* dk, const LinearAttentionShape& shape, cudaStream_t stream);

}  // namespace seqbench
