// Block top-k key selection on the GPU, same rules and layouts as block_topk_spans.h: block means
// of the keys, then per query the top_k complete earlier blocks by q . mean (ties to the earlier
// block, listed in token order), its own block up to the query, empty padding (MoBA's gate).
// Checked against block_key_means_cpu and block_topk_{sequence,decode}_spans in tests/test_gpu_masked_attention.cpp.
//
// fp32; all pointers are device pointers, the spans written included. Means are summed in token
// order and scaled as the CPU does, so they are bitwise equal to the CPU's; scores are dot products
// in a different order than the CPU's, so a ranking can differ from the CPU's only where two block
// scores are within rounding of each other. head_dim is 1..256; top_k at most 1024.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mixers/sparse/block_topk_spans.h"

namespace seqbench {

void block_key_means_cuda(const float* k, const AttentionShape& keys, int64_t block_size, int64_t first_block,
                          int64_t last_block, float* means, int64_t mean_rows, cudaStream_t stream = nullptr);

// spans: [batch * heads, seq_len, selection.width(seq_len / block_size)], one warp per query.
void block_topk_sequence_spans_cuda(const float* q, const float* means, const AttentionShape& shape,
                                    const BlockTopk& selection, KeySpan* spans, cudaStream_t stream = nullptr);

// spans: [batch * heads, selection.width(position / block_size)], one warp per (batch, head).
void block_topk_decode_spans_cuda(const float* q_t, const float* means, int64_t mean_rows, int64_t position,
                                  const AttentionShape& per_token, const BlockTopk& selection, KeySpan* spans,
                                  cudaStream_t stream = nullptr);

}  // namespace seqbench
