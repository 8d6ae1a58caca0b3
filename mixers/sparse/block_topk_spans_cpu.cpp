// Block top-k selection by q . mean-pooled block keys (MoBA's gate, Lu et al. 2025); one routine
// ranks blocks for training and decode. Checked against a brute-force ranking in test_sparse_attention.cpp.
#include <algorithm>
#include <vector>

#include "mixers/sparse/block_topk_spans.h"
#include "ops/vector_ops.h"

namespace seqbench {
namespace {

// Below this many multiply-adds a parallel region costs more than it saves.
constexpr int64_t kParallelWork = 1 << 14;

KeySpan span(int64_t begin, int64_t end) { return {static_cast<int32_t>(begin), static_cast<int32_t>(end)}; }

// Mean of block_size key rows `stride` floats apart, summed in token order so every caller
// (training, prefill, decode) gets bit-identical means and hence identical rankings.
void block_mean(const float* first_key, int64_t stride, int64_t block_size, int64_t dh, float* mean) {
  fill_zero_cpu(mean, dh);
  for (int64_t t = 0; t < block_size; ++t) axpy_cpu(1.0f, first_key + t * stride, mean, dh);
  scale_cpu(1.0f / static_cast<float>(block_size), mean, dh);
}

// The spans of the query at token t (query vector q): the top_k blocks before its own by q . mean
// (ties to the earlier block), in token order, then its own block up to t, then empty padding up
// to `width`. means + blk * mean_stride is block blk's mean; best is scratch for width - 1 indices.
void select_query_blocks(const float* q, const float* means, int64_t mean_stride, int64_t dh, int64_t t,
                         const BlockTopk& sel, int64_t width, int64_t* best, float* best_scores, KeySpan* spans) {
  const int64_t own = t / sel.block_size, keep = std::min(width - 1, own);
  int64_t count = 0;
  // Insertion into a list sorted by score, descending: O(blocks * top_k), and top_k is small.
  for (int64_t blk = 0; blk < own; ++blk) {
    const float score = dot_cpu(q, means + blk * mean_stride, dh);
    int64_t pos = count;
    while (pos > 0 && score > best_scores[pos - 1]) --pos;
    if (pos >= keep) continue;
    const int64_t last = std::min(count, keep - 1);
    for (int64_t i = last; i > pos; --i) {
      best[i] = best[i - 1];
      best_scores[i] = best_scores[i - 1];
    }
    best[pos] = blk;
    best_scores[pos] = score;
    count = std::min(count + 1, keep);
  }
  std::sort(best, best + count);
  for (int64_t i = 0; i < count; ++i) spans[i] = span(best[i] * sel.block_size, (best[i] + 1) * sel.block_size);
  spans[count] = span(own * sel.block_size, t + 1);
  for (int64_t i = count + 1; i < width; ++i) spans[i] = KeySpan{};
}

}  // namespace

void block_key_means_cpu(const float* k, const AttentionShape& keys, int64_t block_size, int64_t first_block,
                         int64_t last_block, float* means, int64_t mean_rows) {
  const int64_t H = keys.heads, dh = keys.head_dim, stride = H * dh, pairs = keys.batch * H;
  const int64_t work = pairs * (last_block - first_block) * block_size * dh;
#pragma omp parallel for schedule(static) if (pairs > 1 && work > kParallelWork)
  for (int64_t bh = 0; bh < pairs; ++bh) {
    const int64_t b = bh / H, h = bh % H;
    for (int64_t blk = first_block; blk < last_block; ++blk)
      block_mean(k + (b * keys.seq_len + blk * block_size) * stride + h * dh, stride, block_size, dh,
                 means + (b * mean_rows + blk) * stride + h * dh);
  }
}

void block_topk_sequence_spans_cpu(const float* q, const float* means, const AttentionShape& s, const BlockTopk& sel,
                                   KeySpan* spans) {
  const int64_t L = s.seq_len, H = s.heads, dh = s.head_dim, stride = H * dh, pairs = s.batch * H;
  const int64_t blocks = L / sel.block_size, width = sel.width(blocks);
  const int64_t work = pairs * L * blocks * dh;
#pragma omp parallel if (pairs > 1 && work > kParallelWork)
  {
    std::vector<int64_t> best(static_cast<size_t>(width));
    std::vector<float> best_scores(static_cast<size_t>(width));
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < pairs; ++bh) {
      const int64_t b = bh / H, h = bh % H;
      for (int64_t t = 0; t < L; ++t)
        select_query_blocks(q + (b * L + t) * stride + h * dh, means + b * blocks * stride + h * dh, stride, dh, t, sel,
                            width, best.data(), best_scores.data(), spans + (bh * L + t) * width);
    }
  }
}

void block_topk_decode_spans_cpu(const float* q_t, const float* means, int64_t mean_rows, int64_t position,
                                 const AttentionShape& per_token, const BlockTopk& sel, KeySpan* spans) {
  const int64_t H = per_token.heads, dh = per_token.head_dim, stride = H * dh, pairs = per_token.batch * H;
  const int64_t width = sel.width(position / sel.block_size);
  std::vector<int64_t> best(static_cast<size_t>(width));
  std::vector<float> best_scores(static_cast<size_t>(width));
  // Serial: one query per (batch, head) ranks position / block_size blocks, far less than the
  // attention over the selected keys that follows.
  for (int64_t bh = 0; bh < pairs; ++bh) {
    const int64_t b = bh / H, h = bh % H;
    select_query_blocks(q_t + bh * dh, means + b * mean_rows * stride + h * dh, stride, dh, position, sel, width,
                        best.data(), best_scores.data(), spans + bh * width);
  }
}

template <>
BlockTopkKernels cpu_kernel_table<BlockTopkKernels>{{},
                                                    block_key_means_cpu,
                                                    block_topk_sequence_spans_cpu,
                                                    block_topk_decode_spans_cpu,
                                                    no_shape_limits<AttentionShape, BlockTopk>};

}  // namespace seqbench
