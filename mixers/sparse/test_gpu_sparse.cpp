// Block top-k selection on the GPU (block means, sequence and decode selection, the whole training
// path) against the CPU routines on fresh seeded inputs at odd sizes, ties included. Built only with
// CUDA; each case skips itself (with a warning) on a machine without a GPU.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "mixers/softmax/masked_attention.h"
#include "mixers/softmax/masked_attention_cases.h"
#include "mixers/softmax/span_buffer.h"
#include "mixers/sparse/block_topk_spans.h"
#include "tests/gpu_kernel_checks.h"

using namespace seqbench;
using namespace seqbench::masked_cases;
using namespace seqbench::gpu_checks;

namespace {

constexpr double kTolerance = 1e-4;  // fp32 kernels differ from the CPU only in summation order

}  // namespace

TEST_CASE("block means and sequence selection on the GPU equal the CPU's exactly, ties included", "[gpu][masked]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 1500;
  for (const AttentionShape& s : {AttentionShape{1, 1, 1, 1}, AttentionShape{2, 37, 3, 7}, AttentionShape{1, 70, 2, 33},
                                  AttentionShape{2, 64, 1, 16}, AttentionShape{1, 45, 2, 256}})
    for (int64_t block_size : {4, 16})
      for (int64_t top_k : {1, 2}) {
        const BlockTopk sel{block_size, top_k};
        INFO(describe(s) << " block_size=" << block_size << " top_k=" << top_k << " seed=" << seed);
        // Dyadic draws give exact scores and many exact ties (ties go to the earlier block).
        const Inputs in = random_inputs(s, seed++, true);
        const int64_t blocks = s.seq_len / block_size, width = sel.width(blocks);
        std::vector<float> means(s.batch * blocks * s.heads * s.head_dim);
        BlockTopkKernels::cpu().key_means(in.k.data(), s, block_size, 0, blocks, means.data(), blocks);
        DeviceArray<float> q(in.q), k(in.k), gpu_means(std::max<int64_t>(1, means.size()));
        BlockTopkKernels::cuda().key_means(k.data(), s, block_size, 0, blocks, gpu_means.data(), blocks);
        std::vector<float> got_means = gpu_means.download();
        got_means.resize(means.size());
        CHECK(got_means == means);

        SpanBuffer spans(Device::cuda);
        spans.resize(query_rows(s) * width);
        BlockTopkKernels::cuda().sequence_spans(q.data(), gpu_means.data(), s, sel, spans.data());
        CHECK(same_spans(spans.download(), block_topk_table(in.q, in.k, s, sel)));
      }
}

TEST_CASE("block means on the GPU match the CPU's bitwise for a range of blocks inside a larger cache",
          "[gpu][masked]") {
  SKIP_WITHOUT_GPU();
  const AttentionShape cache{2, 53, 3, 33};  // 13 blocks of 4, means for blocks [5, 11) into 20 rows
  Rng rng(1600);
  const auto k = random_values(elements(cache), rng);
  const int64_t mean_rows = 20, count = cache.batch * mean_rows * cache.heads * cache.head_dim;
  std::vector<float> want(count, -1.0f);
  BlockTopkKernels::cpu().key_means(k.data(), cache, 4, 5, 11, want.data(), mean_rows);
  DeviceArray<float> k_d(k), means(std::vector<float>(count, -1.0f));
  BlockTopkKernels::cuda().key_means(k_d.data(), cache, 4, 5, 11, means.data(), mean_rows);
  CHECK(means.download() == want);  // rows outside [5, 11) untouched on both sides
  CHECK_THROWS_AS(BlockTopkKernels::cuda().key_means(k_d.data(), cache, 4, 0, 14, means.data(), mean_rows), std::invalid_argument);
}

TEST_CASE("sequence selection on the GPU with normal inputs differs from the CPU's only between near-equal blocks",
          "[gpu][masked]") {
  SKIP_WITHOUT_GPU();
  const AttentionShape s{2, 131, 3, 33};
  uint64_t seed = 1700;
  for (int64_t block_size : {4, 5, 16})
    for (int64_t top_k : {1, 2, 3}) {
      const BlockTopk sel{block_size, top_k};
      INFO("block_size=" << block_size << " top_k=" << top_k << " seed=" << seed);
      const Inputs in = random_inputs(s, seed++);
      const int64_t blocks = s.seq_len / block_size, width = sel.width(blocks);
      std::vector<float> means(s.batch * blocks * s.heads * s.head_dim);
      BlockTopkKernels::cpu().key_means(in.k.data(), s, block_size, 0, blocks, means.data(), blocks);
      const auto want = block_topk_table(in.q, in.k, s, sel);
      DeviceArray<float> q(in.q), means_d(means);
      SpanBuffer spans(Device::cuda);
      spans.resize(query_rows(s) * width);
      BlockTopkKernels::cuda().sequence_spans(q.data(), means_d.data(), s, sel, spans.data());
      const auto got = spans.download();
      REQUIRE(got.size() == want.size());
      for (int64_t r = 0; r < query_rows(s); ++r) {
        const int64_t bh = r / s.seq_len, t = r % s.seq_len, b = bh / s.heads, h = bh % s.heads;
        const KeySpan* g = got.data() + r * width;
        const KeySpan* w = want.data() + r * width;
        // Scores in double of the chosen blocks, best first: equal up to rounding.
        auto scores = [&](const KeySpan* row) {
          std::vector<double> out;
          for (int64_t blk : selected_blocks(row, width, block_size)) {
            double dot = 0.0;
            for (int64_t d = 0; d < s.head_dim; ++d)
              dot += static_cast<double>(in.q[((b * s.seq_len + t) * s.heads + h) * s.head_dim + d]) *
                     means[((b * blocks + blk) * s.heads + h) * s.head_dim + d];
            out.push_back(dot);
          }
          std::sort(out.rbegin(), out.rend());
          return out;
        };
        const auto got_scores = scores(g), want_scores = scores(w);
        REQUIRE(got_scores.size() == want_scores.size());
        for (size_t i = 0; i < got_scores.size(); ++i)
          CHECK(std::fabs(got_scores[i] - want_scores[i]) <= 1e-5 * (1.0 + std::fabs(want_scores[i])));
        for (int64_t i = static_cast<int64_t>(got_scores.size()); i < width; ++i)  // own block, then padding
          CHECK((g[i].begin == w[i].begin && g[i].end == w[i].end));
      }
    }
}

TEST_CASE("block top-k decode on the GPU selects the CPU's blocks and attends as the CPU does at every position",
          "[gpu][masked]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 1800;
  for (int64_t head_dim : {7, 16})
    for (int64_t block_size : {4, 16})
      for (int64_t top_k : {1, 2}) {
        const BlockTopk sel{block_size, top_k};
        const AttentionShape cache{2, 45, 3, head_dim};  // every token cached: slots are token indices
        const int64_t mean_rows = cache.seq_len / block_size, nq = cache.batch * cache.heads * head_dim;
        Rng rng(seed++);
        const auto k = random_values(elements(cache), rng, true), v = random_values(elements(cache), rng);
        std::vector<float> means(std::max<int64_t>(1, cache.batch * mean_rows * cache.heads * head_dim));
        BlockTopkKernels::cpu().key_means(k.data(), cache, block_size, 0, mean_rows, means.data(), mean_rows);
        DeviceArray<float> k_d(k), v_d(v), means_d(means);
        SpanBuffer spans(Device::cuda);
        for (int64_t position = 0; position < cache.seq_len; ++position) {
          INFO("D=" << head_dim << " block_size=" << block_size << " top_k=" << top_k << " position=" << position
                    << " seed=" << seed - 1);
          const auto q = random_values(nq, rng, true);
          const int64_t width = sel.width(position / block_size);
          std::vector<KeySpan> want_spans(cache.batch * cache.heads * width);
          BlockTopkKernels::cpu().decode_spans(q.data(), means.data(), mean_rows, position, cache, sel, want_spans.data());
          DeviceArray<float> q_d(q);
          spans.resize(cache.batch * cache.heads * width);
          kernels_for<BlockTopkKernels>(Device::cuda)
              .decode_spans(q_d.data(), means_d.data(), mean_rows, position, cache, sel, spans.data());
          CHECK(same_spans(spans.download(), want_spans));

          auto out = poisoned<float>(nq);
          kernels_for<MaskedAttentionKernels>(Device::cuda)
              .decode(q_d.data(), k_d.data(), v_d.data(), out.data(), spans.table(width, true), cache);
          std::vector<float> want(nq);
          MaskedAttentionKernels::cpu().decode(q.data(), k.data(), v.data(), want.data(),
                                      SpanTable{want_spans.data(), width, true}, cache);
          CHECK(relative_error(out.download(), want) < kTolerance);
        }
      }
}

TEST_CASE("the GPU training path of block top-k (means, selection, attention) matches the CPU path", "[gpu][masked]") {
  SKIP_WITHOUT_GPU();
  const AttentionShape s{2, 77, 2, 16};
  const BlockTopk sel{16, 2};
  const Inputs in = random_inputs(s, 1900, true);
  const int64_t n = elements(s), blocks = s.seq_len / sel.block_size, width = sel.width(blocks);
  const auto host_spans = block_topk_table(in.q, in.k, s, sel);
  std::vector<float> out(n), lse(query_rows(s));
  MaskedAttentionKernels::cpu().fwd(in.q.data(), in.k.data(), in.v.data(), out.data(), lse.data(),
                           SpanTable{host_spans.data(), width, true}, s);

  // What a mixer does on the GPU each forward: means, spans into a device span buffer, attention.
  DeviceArray<float> q(in.q), k(in.k), v(in.v), means(s.batch * blocks * s.heads * s.head_dim);
  kernels_for<BlockTopkKernels>(Device::cuda).key_means(k.data(), s, sel.block_size, 0, blocks, means.data(), blocks);
  SpanBuffer spans(Device::cuda);
  spans.resize(query_rows(s) * width);
  kernels_for<BlockTopkKernels>(Device::cuda).sequence_spans(q.data(), means.data(), s, sel, spans.data());
  auto gpu_out = poisoned<float>(n), gpu_lse = poisoned<float>(query_rows(s));
  kernels_for<MaskedAttentionKernels>(Device::cuda)
      .fwd(q.data(), k.data(), v.data(), gpu_out.data(), gpu_lse.data(), spans.table(width, true), s);
  CHECK(relative_error(gpu_out.download(), out) < kTolerance);
  CHECK(relative_error(gpu_lse.download(), lse) < 1e-5);
}
