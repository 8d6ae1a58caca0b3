// Softmax attention over per-query key spans on the GPU, same math and layouts as
// masked_attention_cpu.h: out_i = sum_{j in S_i} softmax_j(q_i.k_j / sqrt(Dh)) v_j (FlashAttention-2
// online softmax restricted to S_i), its backward from the log-sum-exp, and the one-token decode.
// Checked against masked_attention_{fwd,bwd,decode}_cpu in tests/test_gpu_masked_attention.cpp.
//
// fp32 throughout. All pointers are device pointers, keys.spans included (a SpanBuffer on
// Device::cuda holds them). head_dim is 1..256; keys.width >= 1. A query row holding a span outside
// [0, keys) or with begin > end gets NaN outputs instead of an out-of-bounds read. No float atomics:
// every sum has a fixed order, so results are bitwise reproducible run to run.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mixers/softmax/masked_attention_cpu.h"

namespace seqbench {

// One warp per query row: out [B, L, H, Dh], lse [B, H, L].
void masked_attention_fwd_cuda(const float* q, const float* k, const float* v, float* out, float* lse,
                               const SpanTable& keys, const AttentionShape& shape, cudaStream_t stream = nullptr);

// Floats of scratch the backward needs: D_i = sum_j P_ij dP_ij per query row, [B, H, L].
int64_t masked_attention_bwd_workspace_floats(const AttentionShape& shape);

// dq, dk, dv are overwritten. A query-major pass writes dq and D_i; a key-major pass (one block
// per 32 keys of a (batch, head), visiting in ascending order the queries whose spans reach those
// keys) writes dk and dv. workspace: masked_attention_bwd_workspace_floats(shape) floats, or null
// to allocate one inside the call (then the call waits for the stream before returning).
void masked_attention_bwd_cuda(const float* q, const float* k, const float* v, const float* lse, const float* dout,
                               float* dq, float* dk, float* dv, const SpanTable& keys, const AttentionShape& shape,
                               float* workspace = nullptr, cudaStream_t stream = nullptr);

// One block per (batch, head); its warps split the query's spans and merge in a fixed order.
// q_t, out_t [B, H, Dh]; k_cache, v_cache [B, cache.seq_len, H, Dh]; spans in slot indices.
void masked_attention_decode_cuda(const float* q_t, const float* k_cache, const float* v_cache, float* out_t,
                                  const SpanTable& keys, const AttentionShape& cache, cudaStream_t stream = nullptr);

}  // namespace seqbench
