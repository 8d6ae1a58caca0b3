// Block top-k selection on the GPU (MoBA's gate, Lu et al. 2025): block means summed in token
// order, then one warp per query scoring its complete earlier blocks and keeping the top_k.
// Checked against block_key_means_cpu and block_topk_{sequence,decode}_spans in test_gpu_sparse.cpp.
#include <stdexcept>
#include <string>

#include "mixers/softmax/masked_attention_warp.cuh"
#include "mixers/sparse/block_topk_spans.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/current_stream.cuh"

namespace seqbench {
namespace {

using namespace masked_cuda;

constexpr int kMeanThreads = 256;
constexpr int kSelectWarps = 4;
constexpr int64_t kMaxKept = 1024;  // selected blocks per query held in shared memory

// One thread per output element (b, blk, h, d), d fastest: reads of a key row are coalesced. The
// sum runs over tokens in order and is then scaled by 1/block_size, exactly as block_mean does on
// the CPU, so the means (and hence the rankings of training, prefill and decode) agree bitwise.
__global__ void block_key_means_kernel(const float* __restrict__ k, HeadLayout keys, int64_t block_size,
                                       int64_t first_block, int64_t blocks, float inv_block_size,
                                       float* __restrict__ means, int64_t mean_rows, int64_t count) {
  const int64_t x = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (x >= count) return;
  const int64_t D = keys.head_dim, H = keys.heads;
  const int64_t d = x % D, h = (x / D) % H, blk = first_block + (x / (D * H)) % blocks, b = x / (D * H * blocks);
  const float* first_key = k + ((b * keys.tokens + blk * block_size) * H + h) * D + d;
  float sum = 0.0f;
  for (int64_t t = 0; t < block_size; ++t) sum += first_key[t * keys.stride()];
  means[((b * mean_rows + blk) * H + h) * D + d] = sum * inv_block_size;
}

// Where the queries of a selection live. Query x of (batch, head) bh is q row
// (b * query_rows + x) * heads + h, at token `position` (decode) or x (training, position < 0).
struct SelectionLayout {
  int64_t query_rows = 0, position = -1, heads = 0, head_dim = 0, mean_rows = 0, block_size = 1, width = 1;
  int64_t queries = 0;  // batch * heads * query_rows
};

// One warp per query: scores every complete block before the query's own (in every lane, through
// one warp sum each); lane 0 keeps the best `keep` by insertion exactly as select_query_blocks does
// (a later block must score strictly higher to pass an earlier one), sorts them by block and
// writes the row of spans.
template <int kPerLane>
__global__ void __launch_bounds__(kSelectWarps* kWarpSize)
    block_topk_select_kernel(const float* __restrict__ q, const float* __restrict__ means, SelectionLayout s,
                             KeySpan* __restrict__ spans) {
  extern __shared__ int32_t kept_blocks[];  // [kSelectWarps][width - 1], then the scores as floats
  const int warp = threadIdx.x / kWarpSize, lane = threadIdx.x % kWarpSize;
  const int64_t x = static_cast<int64_t>(blockIdx.x) * kSelectWarps + warp;
  if (x >= s.queries) return;  // whole warps: no block-wide synchronisation follows
  const int64_t cap = s.width - 1;
  int32_t* best = kept_blocks + warp * cap;
  float* best_scores = reinterpret_cast<float*>(kept_blocks + kSelectWarps * cap) + warp * cap;

  const int64_t bh = x / s.query_rows, row = x % s.query_rows, b = bh / s.heads, h = bh % s.heads;
  const int64_t t = s.position < 0 ? row : s.position, D = s.head_dim, stride = s.heads * D;
  const int64_t own = t / s.block_size, keep = cap < own ? cap : own;
  LaneRow<kPerLane> q_row;
  q_row.load(q + (b * s.query_rows + row) * stride + h * D, D, lane);
  const float* head_means = means + b * s.mean_rows * stride + h * D;

  int64_t count = 0;  // kept so far; lane 0's bookkeeping, the other lanes only help score
  for (int64_t blk = 0; blk < own; ++blk) {
    LaneRow<kPerLane> mean;
    mean.load(head_means + blk * stride, D, lane);
    const float score = row_dot(q_row, mean);
    if (lane != 0) continue;
    int64_t pos = count;
    while (pos > 0 && score > best_scores[pos - 1]) --pos;
    if (pos >= keep) continue;
    const int64_t last = count < keep - 1 ? count : keep - 1;
    for (int64_t i = last; i > pos; --i) {
      best[i] = best[i - 1];
      best_scores[i] = best_scores[i - 1];
    }
    best[pos] = static_cast<int32_t>(blk);
    best_scores[pos] = score;
    count = count + 1 < keep ? count + 1 : keep;
  }
  if (lane != 0) return;
  for (int64_t i = 1; i < count; ++i)  // token order; count <= top_k is small
    for (int64_t m = i; m > 0 && best[m - 1] > best[m]; --m) {
      const int32_t swap = best[m];
      best[m] = best[m - 1];
      best[m - 1] = swap;
    }
  KeySpan* out = spans + x * s.width;
  const auto bs = static_cast<int32_t>(s.block_size);
  for (int64_t i = 0; i < count; ++i) out[i] = KeySpan{best[i] * bs, (best[i] + 1) * bs};
  out[count] = KeySpan{static_cast<int32_t>(own) * bs, static_cast<int32_t>(t + 1)};
  for (int64_t i = count + 1; i < s.width; ++i) out[i] = KeySpan{0, 0};
}

void check_selection(const AttentionShape& s, const BlockTopk& sel, int64_t width, const char* who) {
  const auto fail = [who](const std::string& what) { throw std::invalid_argument(std::string(who) + ": " + what); };
  if (sel.block_size < 1) fail("block_size must be >= 1, got " + std::to_string(sel.block_size));
  if (sel.top_k < 0) fail("top_k must be >= 0, got " + std::to_string(sel.top_k));
  if (width - 1 > kMaxKept)
    fail("top_k must be at most " + std::to_string(kMaxKept) + " on the GPU, got " + std::to_string(sel.top_k));
  if (s.batch < 0 || s.seq_len < 0 || s.heads < 1 || s.head_dim < 1 || s.head_dim > kMaxHeadDim)
    fail("expected batch, seq_len >= 0, heads >= 1 and head_dim in [1, " + std::to_string(kMaxHeadDim) +
         "], got B=" + std::to_string(s.batch) + " L=" + std::to_string(s.seq_len) + " H=" + std::to_string(s.heads) +
         " Dh=" + std::to_string(s.head_dim));
}

void launch_selection(const float* q, const float* means, const SelectionLayout& layout, KeySpan* spans,
                      cudaStream_t stream) {
  if (layout.queries == 0) return;
  const auto blocks = static_cast<unsigned>((layout.queries + kSelectWarps - 1) / kSelectWarps);
  const size_t smem = static_cast<size_t>(kSelectWarps * (layout.width - 1)) * (sizeof(int32_t) + sizeof(float));
  with_lanes_for(layout.head_dim, [&](auto per_lane) {
    block_topk_select_kernel<decltype(per_lane)::value>
        <<<blocks, kSelectWarps * kWarpSize, smem, stream>>>(q, means, layout, spans);
    cudaCheckLaunch();
  });
}

}  // namespace

void block_key_means_cuda(const float* k, const AttentionShape& keys, int64_t block_size, int64_t first_block,
                          int64_t last_block, float* means, int64_t mean_rows) {
  const cudaStream_t stream = current_stream();
  if (block_size < 1 || first_block < 0 || last_block < first_block || last_block > mean_rows ||
      last_block * block_size > keys.seq_len)
    throw std::invalid_argument(
        "block_key_means_cuda: expected block_size >= 1 and 0 <= first_block <= last_block <= "
        "mean_rows with last_block * block_size <= seq_len, got block_size " +
        std::to_string(block_size) + ", blocks [" + std::to_string(first_block) + ", " + std::to_string(last_block) +
        "), mean_rows " + std::to_string(mean_rows) + ", seq_len " + std::to_string(keys.seq_len));
  const int64_t blocks = last_block - first_block, count = keys.batch * blocks * keys.heads * keys.head_dim;
  if (count <= 0) return;
  const HeadLayout layout{keys.seq_len, keys.heads, keys.head_dim};
  block_key_means_kernel<<<static_cast<unsigned>((count + kMeanThreads - 1) / kMeanThreads), kMeanThreads, 0, stream>>>(
      k, layout, block_size, first_block, blocks, 1.0f / static_cast<float>(block_size), means, mean_rows, count);
  cudaCheckLaunch();
}

void block_topk_sequence_spans_cuda(const float* q, const float* means, const AttentionShape& s, const BlockTopk& sel,
                                    KeySpan* spans) {
  const cudaStream_t stream = current_stream();
  check_selection(s, sel, sel.block_size < 1 ? 1 : sel.width(s.seq_len / sel.block_size),
                  "block_topk_sequence_spans_cuda");
  SelectionLayout layout;
  layout.query_rows = s.seq_len;
  layout.heads = s.heads, layout.head_dim = s.head_dim;
  layout.mean_rows = s.seq_len / sel.block_size;
  layout.block_size = sel.block_size;
  layout.width = sel.width(layout.mean_rows);
  layout.queries = s.batch * s.heads * s.seq_len;
  launch_selection(q, means, layout, spans, stream);
}

void block_topk_decode_spans_cuda(const float* q_t, const float* means, int64_t mean_rows, int64_t position,
                                  const AttentionShape& per_token, const BlockTopk& sel, KeySpan* spans) {
  const cudaStream_t stream = current_stream();
  const char* who = "block_topk_decode_spans_cuda";
  check_selection(per_token, sel, sel.block_size < 1 ? 1 : sel.width(position / sel.block_size), who);
  if (position < 0 || position / sel.block_size > mean_rows)
    throw std::invalid_argument(std::string(who) + ": position must be >= 0 with every block before it in means, got " +
                                std::to_string(position) + " with " + std::to_string(mean_rows) + " mean rows");
  SelectionLayout layout;
  layout.query_rows = 1;
  layout.position = position;
  layout.heads = per_token.heads, layout.head_dim = per_token.head_dim;
  layout.mean_rows = mean_rows;
  layout.block_size = sel.block_size;
  layout.width = sel.width(position / sel.block_size);
  layout.queries = per_token.batch * per_token.heads;
  launch_selection(q_t, means, layout, spans, stream);
}

std::string block_topk_cuda_limits(const AttentionShape& s, const BlockTopk& selection) {
  if (s.head_dim > kMaxHeadDim)
    return "head_dim must be <= " + std::to_string(kMaxHeadDim) + " on the GPU, got " + std::to_string(s.head_dim);
  if (selection.top_k > kMaxKept)
    return "top_k must be <= " + std::to_string(kMaxKept) + " on the GPU, got " + std::to_string(selection.top_k);
  return {};
}

template <>
BlockTopkKernels cuda_kernel_table<BlockTopkKernels>{
    {}, block_key_means_cuda, block_topk_sequence_spans_cuda, block_topk_decode_spans_cuda, block_topk_cuda_limits};

}  // namespace seqbench
