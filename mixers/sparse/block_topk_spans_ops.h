// Block top-k selection on either device: each op runs the CPU routine of block_topk_spans.h for
// Device::cpu and its CUDA twin (block_topk_spans_cuda.cuh) for Device::cuda, with the same
// arguments; all pointers, the spans written included, must live on `device`. The GPU keeps the
// selection on the device during training and decode (no span table crosses to the host).
// Checked against the CPU routines in tests/test_gpu_masked_attention.cpp.
#pragma once
#include "mixers/sparse/block_topk_spans.h"
#include "ops/tensor.h"

namespace seqbench {

void block_key_means(Device device, const float* k, const AttentionShape& keys, int64_t block_size, int64_t first_block,
                     int64_t last_block, float* means, int64_t mean_rows);

void block_topk_sequence_spans(Device device, const float* q, const float* means, const AttentionShape& shape,
                               const BlockTopk& selection, KeySpan* spans);

void block_topk_decode_spans(Device device, const float* q_t, const float* means, int64_t mean_rows, int64_t position,
                             const AttentionShape& per_token, const BlockTopk& selection, KeySpan* spans);

}  // namespace seqbench
