// Sparse attention: block top-k selection against a brute-force ranking, the shared masked kernels
// over per-head spans, decode selecting the same blocks as training, then the "sparse" mixer's
// two patterns through the generic conformance checks and against the mixers they reduce to.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "mixers/softmax/masked_attention.h"
#include "mixers/softmax/masked_attention_reference.h"
#include "mixers/sparse/block_topk_spans.h"
#include "tests/mixer_checks.h"

using namespace seqbench;
using namespace seqbench::mixer_checks;
namespace ref = seqbench::masked_reference;

namespace {

nlohmann::json block_topk(int block_size, int top_k) {
  return {{"pattern", "block_topk"}, {"block_size", block_size}, {"top_k", top_k}};
}

nlohmann::json sink_window(int sinks, int window) {
  return {{"pattern", "sink_window"}, {"sinks", sinks}, {"window", window}};
}

struct SelectionCase {
  AttentionShape shape;
  BlockTopk selection;
};

// Training-form spans of random q, k: [batch * heads, seq_len, width].
struct SequenceSelection {
  std::vector<float> q, k;
  std::vector<KeySpan> spans;
  int64_t width = 0;
};

SequenceSelection select_sequence(const SelectionCase& c, uint64_t seed) {
  const AttentionShape& s = c.shape;
  Rng rng(seed);
  SequenceSelection out;
  const int64_t n = s.batch * s.seq_len * s.heads * s.head_dim, blocks = s.seq_len / c.selection.block_size;
  out.q = ref::normal_values(n, rng);
  out.k = ref::normal_values(n, rng);
  std::vector<float> means(static_cast<size_t>(s.batch * blocks * s.heads * s.head_dim));
  BlockTopkKernels::cpu().key_means(out.k.data(), s, c.selection.block_size, 0, blocks, means.data(), blocks);
  out.width = c.selection.width(blocks);
  out.spans.resize(static_cast<size_t>(s.batch * s.heads * s.seq_len * out.width));
  BlockTopkKernels::cpu().sequence_spans(out.q.data(), means.data(), s, c.selection, out.spans.data());
  return out;
}

// The keys a row of spans covers, ascending.
std::vector<int64_t> keys_of(const KeySpan* row, int64_t width) {
  std::vector<int64_t> keys;
  for (int64_t i = 0; i < width; ++i)
    for (int32_t j = row[i].begin; j < row[i].end; ++j) keys.push_back(j);
  return keys;
}

// Brute force in double: every earlier complete block scored by q . mean(keys), sorted by score
// (ties to the earlier block), the best top_k kept, plus the query's own block up to itself.
std::vector<int64_t> brute_force_keys(const SequenceSelection& sel, const SelectionCase& c, int64_t b, int64_t h,
                                      int64_t t) {
  const AttentionShape& s = c.shape;
  const int64_t bs = c.selection.block_size, own = t / bs, D = s.head_dim;
  auto at = [&](int64_t token) { return ((b * s.seq_len + token) * s.heads + h) * D; };
  std::vector<std::pair<double, int64_t>> ranked;
  for (int64_t blk = 0; blk < own; ++blk) {
    double score = 0.0;
    for (int64_t d = 0; d < D; ++d) {
      double mean = 0.0;
      for (int64_t u = blk * bs; u < (blk + 1) * bs; ++u) mean += sel.k[at(u) + d];
      score += sel.q[at(t) + d] * mean / static_cast<double>(bs);
    }
    ranked.push_back({-score, blk});
  }
  std::sort(ranked.begin(), ranked.end());
  std::vector<int64_t> keys;
  for (size_t i = 0; i < ranked.size() && static_cast<int64_t>(i) < c.selection.top_k; ++i)
    for (int64_t u = ranked[i].second * bs; u < (ranked[i].second + 1) * bs; ++u) keys.push_back(u);
  for (int64_t u = own * bs; u <= t; ++u) keys.push_back(u);
  std::sort(keys.begin(), keys.end());
  return keys;
}

const std::vector<SelectionCase> kSelectionCases{
    {{2, 37, 2, 4}, {5, 2}},  {{1, 16, 1, 3}, {16, 2}}, {{1, 23, 1, 4}, {1, 3}},
    {{1, 20, 2, 3}, {4, 0}},  {{1, 29, 1, 5}, {3, 100}}, {{3, 50, 1, 8}, {7, 1}}};

}  // namespace

TEST_CASE("block top-k spans hold the own block and the top_k earlier blocks by q . mean(keys)",
          "[sparse][kernel]") {
  uint64_t seed = 11;
  for (const SelectionCase& c : kSelectionCases) {
    const AttentionShape& s = c.shape;
    INFO("B=" << s.batch << " L=" << s.seq_len << " H=" << s.heads << " Dh=" << s.head_dim << " block_size="
              << c.selection.block_size << " top_k=" << c.selection.top_k << " seed=" << seed);
    const SequenceSelection sel = select_sequence(c, seed++);
    for (int64_t b = 0; b < s.batch; ++b)
      for (int64_t h = 0; h < s.heads; ++h)
        for (int64_t t = 0; t < s.seq_len; ++t) {
          INFO("batch " << b << " head " << h << " query " << t);
          const KeySpan* row = sel.spans.data() + ((b * s.heads + h) * s.seq_len + t) * sel.width;
          for (int64_t i = 1; i < sel.width; ++i)
            if (row[i].size() > 0) CHECK(row[i - 1].end <= row[i].begin);  // token order, disjoint
          CHECK(keys_of(row, sel.width) == brute_force_keys(sel, c, b, h, t));
        }
  }
}

TEST_CASE("masked attention over per-head spans matches the masked reference, forward and backward",
          "[sparse][kernel]") {
  uint64_t seed = 21;
  for (const SelectionCase& c : {SelectionCase{{2, 37, 2, 4}, {5, 2}}, SelectionCase{{1, 13, 2, 3}, {3, 1}},
                                 SelectionCase{{1, 70, 1, 2}, {33, 1}}, SelectionCase{{2, 11, 1, 2}, {2, 9}}}) {
    const AttentionShape& s = c.shape;
    INFO("B=" << s.batch << " L=" << s.seq_len << " H=" << s.heads << " Dh=" << s.head_dim << " block_size="
              << c.selection.block_size << " top_k=" << c.selection.top_k << " seed=" << seed);
    const SequenceSelection sel = select_sequence(c, seed++);
    const SpanTable table{sel.spans.data(), sel.width, true};
    auto member = [&](int64_t bh, int64_t i, int64_t j) {
      const KeySpan* row = table.row(bh, i, s.seq_len);
      for (int64_t w = 0; w < table.width; ++w)
        if (j >= row[w].begin && j < row[w].end) return true;
      return false;
    };
    ref::check_forward(s, table, member, seed++);
    if (s.seq_len <= 20) ref::check_backward(s, table, member, seed++);
  }
}

TEST_CASE("decode ranks blocks from cached means exactly as training does", "[sparse][kernel]") {
  for (const SelectionCase& c : kSelectionCases) {
    const AttentionShape& s = c.shape;
    const BlockTopk& topk = c.selection;
    INFO("L=" << s.seq_len << " block_size=" << topk.block_size << " top_k=" << topk.top_k);
    const SequenceSelection sel = select_sequence(c, 31);
    // A cache longer than the sequence, its means filled block by block as decode fills them.
    const int64_t max_len = s.seq_len + 5, rows = max_len / topk.block_size, D = s.heads * s.head_dim;
    std::vector<float> k_cache(static_cast<size_t>(s.batch * max_len * D)), means(s.batch * rows * D);
    const AttentionShape cache{s.batch, max_len, s.heads, s.head_dim};
    for (int64_t t = 0; t < s.seq_len; ++t) {
      INFO("position " << t);
      for (int64_t b = 0; b < s.batch; ++b)
        std::copy(sel.k.begin() + (b * s.seq_len + t) * D, sel.k.begin() + (b * s.seq_len + t + 1) * D,
                  k_cache.begin() + (b * max_len + t) * D);
      std::vector<float> q_t(static_cast<size_t>(s.batch * D));
      for (int64_t b = 0; b < s.batch; ++b)
        std::copy(sel.q.begin() + (b * s.seq_len + t) * D, sel.q.begin() + (b * s.seq_len + t + 1) * D,
                  q_t.begin() + b * D);
      const int64_t width = topk.width(t / topk.block_size);
      std::vector<KeySpan> decode(static_cast<size_t>(s.batch * s.heads * width));
      BlockTopkKernels::cpu().decode_spans(q_t.data(), means.data(), rows, t, cache, topk, decode.data());
      for (int64_t bh = 0; bh < s.batch * s.heads; ++bh)
        CHECK(keys_of(decode.data() + bh * width, width) ==
              keys_of(sel.spans.data() + (bh * s.seq_len + t) * sel.width, sel.width));
      BlockTopkKernels::cpu().key_means(k_cache.data(), cache, topk.block_size, t / topk.block_size, (t + 1) / topk.block_size,
                          means.data(), rows);
    }
  }
}

TEST_CASE("sparse patterns that cover every earlier key are the softmax mixer; narrower ones reduce to "
          "sliding windows",
          "[sparse][mixer]") {
  const int B = 2, L = 13, D = 12;
  struct Pair {
    MixerSpec sparse, same;
  };
  const std::vector<Pair> pairs{
      {make_spec("sparse", D, 3, block_topk(4, 3), 17), make_spec("softmax", D, 3, {}, 17)},    // top_k >= blocks
      {make_spec("sparse", D, 3, block_topk(4, 100), 17), make_spec("softmax", D, 3, {}, 17)},
      {make_spec("sparse", D, 3, block_topk(13, 0), 17), make_spec("softmax", D, 3, {}, 17)},   // one block
      {make_spec("sparse", D, 3, sink_window(13, 1), 17), make_spec("softmax", D, 3, {}, 17)},  // all sinks
      {make_spec("sparse", D, 3, sink_window(2, 13), 17), make_spec("softmax", D, 3, {}, 17)},
      {make_spec("sparse", D, 3, block_topk(1, 0), 17), make_spec("sliding_window", D, 3, {{"window", 1}}, 17)},
      {make_spec("sparse", D, 3, sink_window(0, 4), 17), make_spec("sliding_window", D, 3, {{"window", 4}}, 17)},
  };
  for (const Pair& pair : pairs) {
    INFO(describe(pair.sparse) << " vs " << describe(pair.same));
    auto sparse = make_mixer(pair.sparse), same = make_mixer(pair.same);
    check_mixers_agree(*sparse, *same, {B, L, D}, 51);
  }
}

TEST_CASE("sparse mixer gradients match finite differences", "[sparse][mixer]") {
  // Seeds where no block ranking is within the finite-difference step of a tie: the selection is
  // piecewise constant, so only the attention over the selected keys has a gradient.
  CHECK_NOTHROW(check_mixer_gradients(make_spec("sparse", 12, 3), 1, 37, 101));
  CHECK_NOTHROW(check_mixer_gradients(make_spec("sparse", 12, 1, sink_window(2, 3)), 2, 11, 102));
  CHECK_NOTHROW(check_mixer_gradients(make_spec("sparse", 10, 2, sink_window(0, 1)), 1, 5, 103));
  CHECK_NOTHROW(check_mixer_gradients(make_spec("sparse", 12, 3, block_topk(3, 1)), 1, 13, 104));
  CHECK_NOTHROW(check_mixer_gradients(make_spec("sparse", 12, 2, block_topk(4, 2)), 2, 17, 105));
  CHECK_NOTHROW(check_mixer_gradients(make_spec("sparse", 10, 1, block_topk(5, 10)), 1, 12, 106));
  CHECK_NOTHROW(check_mixer_gradients(make_spec("sparse", 12, 3, block_topk(16, 2)), 1, 1, 107));
}

TEST_CASE("sparse mixer decode matches its parallel forward, with and without prefill", "[sparse][mixer]") {
  for (const auto& params : {sink_window(4, 16), sink_window(0, 3), sink_window(1, 1), sink_window(5, 2)})
    for (int seq_len : {1, 7, 20, 45})
      CHECK_NOTHROW(check_forward_matches_decode(make_spec("sparse", 12, 3, params), 2, seq_len, 400 + seq_len));
  for (const auto& params : {block_topk(1, 2), block_topk(3, 1), block_topk(4, 0), block_topk(4, 50)})
    for (int seq_len : {1, 7, 13, 33})
      CHECK_NOTHROW(check_forward_matches_decode(make_spec("sparse", 12, 3, params), 2, seq_len, 500 + seq_len));
  CHECK_NOTHROW(check_forward_matches_decode(make_spec("sparse", 12, 3, {{"pattern", "block_topk"}}), 1, 65, 599));
}

TEST_CASE("sparse mixer state: sinks + window bounded, block top-k a full KV cache", "[sparse][mixer]") {
  auto sinks = make_mixer(make_spec("sparse", 64, 2));  // sinks 4 + window 16
  CHECK(sinks->state_bytes(1) == 2u * 1 * 64 * 4);
  CHECK(sinks->state_bytes(20) == 2u * 20 * 64 * 4);
  CHECK(sinks->state_bytes(64) == 2u * 20 * 64 * 4);
  CHECK(sinks->state_bytes(100000) == 2u * 20 * 64 * 4);
  CHECK(make_mixer(make_spec("sparse", 64, 2, sink_window(0, 7)))->state_bytes(64) == 2u * 7 * 64 * 4);
  check_state_bytes_growth(make_spec("sparse", 24, 3, block_topk(16, 2)), StateGrowth::linear_in_length);
  CHECK(make_mixer(make_spec("sparse", 64, 2, block_topk(4, 1)))->state_bytes(64) == 2u * 64 * 64 * 4);
}

TEST_CASE("sparse mixer is deterministic, accumulates gradients and checks its inputs", "[sparse][mixer]") {
  for (const auto& params : {sink_window(3, 5), block_topk(4, 2)}) {
    check_thread_count_independence(make_spec("sparse", 24, 3, params), 4, 67, 301);
    check_backward_accumulates(make_spec("sparse", 12, 3, params), 2, 9, 302);
    check_initialisation_is_seeded(make_spec("sparse", 12, 3, params));
    check_rejects_bad_inputs(make_spec("sparse", 12, 3, params));
    check_rejects_bad_specs(make_spec("sparse", 12, 3, params));
  }
}

TEST_CASE("block top-k decode keeps every token and stops at the cache's max_len", "[sparse][mixer]") {
  auto mixer = make_mixer(make_spec("sparse", 12, 3, block_topk(2, 1)));
  auto cache = mixer->make_cache(1, 3);
  Tensor y;
  Rng rng(5);
  for (int t = 0; t < 3; ++t) mixer->step(random_tensor({1, 12}, rng), y, *cache);
  CHECK_THROWS_AS(mixer->step(random_tensor({1, 12}, rng), y, *cache), std::length_error);
}

TEST_CASE("sparse mixer refuses unknown patterns, out-of-range sizes and the other pattern's params",
          "[sparse][mixer]") {
  auto make = [](nlohmann::json params) { return make_mixer(make_spec("sparse", 12, 3, std::move(params))); };
  CHECK_THROWS_WITH(make({{"pattern", "strided"}}),
                    Catch::Matchers::Contains("strided") && Catch::Matchers::Contains("block_topk"));
  CHECK_THROWS_AS(make({{"pattern", 3}}), std::invalid_argument);
  CHECK_THROWS_WITH(make(sink_window(-1, 4)), Catch::Matchers::Contains("'sinks' is -1"));
  CHECK_THROWS_WITH(make(sink_window(2, 0)), Catch::Matchers::Contains("'window' is 0"));
  CHECK_THROWS_WITH(make(block_topk(0, 2)), Catch::Matchers::Contains("'block_size' is 0"));
  CHECK_THROWS_WITH(make(block_topk(4, -1)), Catch::Matchers::Contains("'top_k' is -1"));
  CHECK_THROWS_WITH(make({{"top_k", 3}}),
                    Catch::Matchers::Contains("top_k") && Catch::Matchers::Contains("sink_window"));
  CHECK_THROWS_WITH(make({{"pattern", "block_topk"}, {"window", 3}}),
                    Catch::Matchers::Contains("window") && Catch::Matchers::Contains("block_topk"));
  CHECK_THROWS_WITH(make({{"stride", 3}}), Catch::Matchers::Contains("stride"));
}
