// Device dispatch of the block top-k selection (see block_topk_spans_ops.h).
#include "mixers/sparse/block_topk_spans_ops.h"

#include "ops/device_dispatch.h"
#ifdef SEQBENCH_WITH_CUDA
#include "mixers/sparse/block_topk_spans_cuda.cuh"
#endif

namespace seqbench {

void block_key_means(Device device, const float* k, const AttentionShape& keys, int64_t block_size, int64_t first_block,
                     int64_t last_block, float* means, int64_t mean_rows) {
  if (device == Device::cpu) return block_key_means_cpu(k, keys, block_size, first_block, last_block, means, mean_rows);
  SEQBENCH_ON_CUDA("block_key_means",
                   block_key_means_cuda(k, keys, block_size, first_block, last_block, means, mean_rows));
}

void block_topk_sequence_spans(Device device, const float* q, const float* means, const AttentionShape& shape,
                               const BlockTopk& selection, KeySpan* spans) {
  if (device == Device::cpu) return block_topk_sequence_spans(q, means, shape, selection, spans);
  SEQBENCH_ON_CUDA("block_topk_sequence_spans", block_topk_sequence_spans_cuda(q, means, shape, selection, spans));
}

void block_topk_decode_spans(Device device, const float* q_t, const float* means, int64_t mean_rows, int64_t position,
                             const AttentionShape& per_token, const BlockTopk& selection, KeySpan* spans) {
  if (device == Device::cpu)
    return block_topk_decode_spans(q_t, means, mean_rows, position, per_token, selection, spans);
  SEQBENCH_ON_CUDA("block_topk_decode_spans",
                   block_topk_decode_spans_cuda(q_t, means, mean_rows, position, per_token, selection, spans));
}

}  // namespace seqbench
