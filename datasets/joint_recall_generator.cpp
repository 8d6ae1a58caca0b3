#include "datasets/joint_recall_generator.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "datasets/seeded_examples.h"
#include "ops/rng.h"

namespace seqbench {
namespace {

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument("joint_recall: " + message); }

// `count` distinct integers from [lo, hi) in uniformly random order. Rejection while the range
// is roomy (the common case: a few dozen draws from thousands); a partial shuffle of the whole
// range when the draws would fill much of it.
void draw_distinct(Rng& rng, int64_t lo, int64_t hi, int count, std::vector<int64_t>& out) {
  out.clear();
  const int64_t range = hi - lo;
  if (2LL * count > range) {
    std::vector<int64_t> pool(static_cast<size_t>(range));
    std::iota(pool.begin(), pool.end(), lo);
    for (int i = 0; i < count; ++i) std::swap(pool[i], pool[static_cast<size_t>(rng.uniform_int(i, range))]);
    out.assign(pool.begin(), pool.begin() + count);
    return;
  }
  while (static_cast<int>(out.size()) < count) {
    const int64_t x = rng.uniform_int(lo, hi);
    if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(x);
  }
}

struct TokenRanges {
  int64_t context_lo, key_lo, value_lo, vocab;
};

TokenRanges ranges_of(const JointRecallParams& p) { return {1, p.vocab_size / 8, p.vocab_size / 2, p.vocab_size}; }

// Draw order: contexts, keys, values, per-block key orders, queries, query slots, filler.
void generate_example(const JointRecallParams& p, Rng& rng, int32_t* inputs, int32_t* labels) {
  const TokenRanges r = ranges_of(p);
  const int C = p.num_contexts, K = p.num_kv_pairs;
  std::vector<int64_t> contexts, keys, values, order, queries, slots;
  draw_distinct(rng, r.context_lo, r.key_lo, C, contexts);
  draw_distinct(rng, r.key_lo, r.value_lo, K, keys);
  draw_distinct(rng, r.value_lo, r.vocab, C * K, values);  // value of (context j, key i) = values[j*K + i]

  std::fill(inputs, inputs + p.seq_len, 0);
  std::fill(labels, labels + p.seq_len, kIgnoreLabel);
  int64_t t = 0;
  for (int j = 0; j < C; ++j) {
    inputs[t++] = static_cast<int32_t>(contexts[j]);
    draw_distinct(rng, 0, K, K, order);
    for (int64_t i : order) {
      inputs[t++] = static_cast<int32_t>(keys[i]);
      inputs[t++] = static_cast<int32_t>(values[j * K + i]);
    }
  }
  const int64_t region = p.seq_len - t;
  draw_distinct(rng, 0, static_cast<int64_t>(C) * K, p.num_queries, queries);
  draw_distinct(rng, 0, region / 2, p.num_queries, slots);
  for (int q = 0; q < p.num_queries; ++q) {
    const int64_t j = queries[q] / K, i = queries[q] % K;
    const int64_t at = t + 2 * slots[q];
    inputs[at] = static_cast<int32_t>(contexts[j]);
    inputs[at + 1] = static_cast<int32_t>(keys[i]);
    labels[at + 1] = static_cast<int32_t>(values[j * K + i]);
  }
  if (p.random_non_queries) {
    // Contexts and keys are >= 1, so the zeros left in the query region are the filler slots.
    for (int64_t s = t; s < p.seq_len; ++s)
      if (inputs[s] == 0) inputs[s] = static_cast<int32_t>(rng.uniform_int(0, p.vocab_size));
  }
}

}  // namespace

int64_t joint_recall_context_length(const JointRecallParams& p) {
  return static_cast<int64_t>(p.num_contexts) * (1 + 2 * static_cast<int64_t>(p.num_kv_pairs));
}

void validate_joint_recall_params(const JointRecallParams& p) {
  if (p.vocab_size < 16) fail("vocab_size must be >= 16, got " + std::to_string(p.vocab_size));
  if (p.seq_len < 1) fail("seq_len must be >= 1, got " + std::to_string(p.seq_len));
  if (p.num_contexts < 1) fail("num_contexts must be >= 1, got " + std::to_string(p.num_contexts));
  if (p.num_kv_pairs < 1) fail("num_kv_pairs must be >= 1, got " + std::to_string(p.num_kv_pairs));
  const TokenRanges r = ranges_of(p);
  const std::string vocab = "vocab_size=" + std::to_string(p.vocab_size);
  if (p.num_contexts > r.key_lo - r.context_lo)
    fail("num_contexts=" + std::to_string(p.num_contexts) + " needs that many context tokens in [1, vocab_size/8), but " +
         vocab + " gives " + std::to_string(r.key_lo - r.context_lo));
  if (p.num_kv_pairs > r.value_lo - r.key_lo)
    fail("num_kv_pairs=" + std::to_string(p.num_kv_pairs) + " needs that many keys in [vocab_size/8, vocab_size/2), but " +
         vocab + " gives " + std::to_string(r.value_lo - r.key_lo));
  const int64_t pairs = static_cast<int64_t>(p.num_contexts) * p.num_kv_pairs;
  if (pairs > r.vocab - r.value_lo)
    fail("num_contexts*num_kv_pairs=" + std::to_string(pairs) + " distinct values need that many tokens in " +
         "[vocab_size/2, vocab_size), but " + vocab + " gives " + std::to_string(r.vocab - r.value_lo));
  if (p.num_queries < 1 || p.num_queries > pairs)
    fail("num_queries must be in [1, num_contexts*num_kv_pairs=" + std::to_string(pairs) + "], got " +
         std::to_string(p.num_queries));
  const int64_t needed = joint_recall_context_length(p) + 2LL * p.num_queries;
  if (p.seq_len < needed)
    fail("seq_len=" + std::to_string(p.seq_len) + " is too short: num_contexts*(1+2*num_kv_pairs) + 2*num_queries = " +
         std::to_string(needed) + " tokens are needed");
}

TokenDataset generate_joint_recall(const JointRecallParams& p, int64_t num_examples, uint64_t seed) {
  validate_joint_recall_params(p);
  return generate_seeded_examples(
      "joint_recall", num_examples, p.seq_len, p.vocab_size, seed,
      [&](Rng& rng, int32_t* inputs, int32_t* labels) { generate_example(p, rng, inputs, labels); });
}

}  // namespace seqbench
