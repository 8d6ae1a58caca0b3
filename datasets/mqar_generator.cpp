#include "datasets/mqar_generator.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ops/rng.h"

namespace seqbench {
namespace {

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument("mqar: " + message); }

// Draws distinct tokens from [lo, hi) in uniformly random order, as numpy's
// choice(replace=False) does. A partial Fisher-Yates shuffle over a pool kept as the identity
// between calls: undoing the swaps costs O(count), where rebuilding the pool would cost O(vocab)
// per example.
class DistinctTokenSampler {
 public:
  DistinctTokenSampler(int32_t lo, int32_t hi) : pool_(static_cast<size_t>(hi - lo)) {
    std::iota(pool_.begin(), pool_.end(), lo);
  }

  void sample(Rng& rng, int count, int32_t* out) {
    const auto n = static_cast<int64_t>(pool_.size());
    swapped_with_.resize(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
      const int64_t j = rng.uniform_int(i, n);
      std::swap(pool_[i], pool_[j]);
      swapped_with_[i] = j;
      out[i] = pool_[i];
    }
    for (int i = count - 1; i >= 0; --i) std::swap(pool_[i], pool_[swapped_with_[i]]);
  }

 private:
  std::vector<int32_t> pool_;
  std::vector<int64_t> swapped_with_;
};

// Gap g in [0, space) has weight power_a * (g+1)^(power_a-1) (Zoology's power law; the constant
// factor cancels but is kept to mirror the reference).
std::vector<double> gap_weights(int space, double power_a) {
  std::vector<double> weights(static_cast<size_t>(space));
  for (int g = 0; g < space; ++g) weights[g] = power_a * std::pow(g + 1.0, power_a - 1.0);
  return weights;
}

// Distinct gaps drawn one at a time, each in proportion to the weights of the gaps not yet taken:
// the distribution numpy's choice(replace=False, p=...) samples from. `taken` is all false on
// entry and on exit.
void sample_gaps(Rng& rng, const std::vector<double>& weights, double total_weight, int count,
                 std::vector<char>& taken, int* gaps) {
  const int space = static_cast<int>(weights.size());
  double remaining = total_weight;
  for (int i = 0; i < count; ++i) {
    const double target = rng.uniform() * remaining;
    double cumulative = 0;
    int chosen = -1;
    for (int g = 0; g < space; ++g) {
      if (taken[g]) continue;
      chosen = g;  // if rounding leaves target >= the sum, the last free gap is the pick
      cumulative += weights[g];
      if (target < cumulative) break;
    }
    taken[chosen] = 1;
    gaps[i] = chosen;
    remaining -= weights[chosen];
  }
  for (int i = 0; i < count; ++i) taken[gaps[i]] = 0;
}

// Per-thread working memory, allocated once per thread rather than once per example.
struct ExampleScratch {
  DistinctTokenSampler key_sampler;
  DistinctTokenSampler value_sampler;
  std::vector<char> gap_taken;
  std::vector<int32_t> keys, values;
  std::vector<int> gaps;

  explicit ExampleScratch(const MqarParams& p, int space)
      : key_sampler(1, p.vocab_size / 2),
        value_sampler(p.vocab_size / 2, p.vocab_size),
        gap_taken(static_cast<size_t>(space), 0),
        keys(static_cast<size_t>(p.num_kv_pairs)),
        values(static_cast<size_t>(p.num_kv_pairs)),
        gaps(static_cast<size_t>(p.num_kv_pairs)) {}
};

// Writes one example into inputs/labels (each seq_len long). The draws happen in a fixed order
// (keys, values, gaps, filler) from the example's own stream.
void generate_example(const MqarParams& p, const std::vector<double>& weights, double total_weight,
                      Rng& rng, ExampleScratch& scratch, int32_t* inputs, int32_t* labels) {
  const int k = p.num_kv_pairs;
  const int context_size = 2 * k * p.num_passes;
  scratch.key_sampler.sample(rng, k, scratch.keys.data());
  scratch.value_sampler.sample(rng, k, scratch.values.data());
  sample_gaps(rng, weights, total_weight, k, scratch.gap_taken, scratch.gaps.data());

  std::fill(inputs, inputs + p.seq_len, 0);
  std::fill(labels, labels + p.seq_len, kIgnoreLabel);
  for (int pass = 0; pass < p.num_passes; ++pass) {
    for (int i = 0; i < k; ++i) {
      inputs[pass * 2 * k + 2 * i] = scratch.keys[i];
      inputs[pass * 2 * k + 2 * i + 1] = scratch.values[i];
    }
  }
  // Zoology writes key i at context_size + 2*g_i of a sequence one longer than seq_len and the
  // value at the next position; shifting labels by one (labels[1:]) puts the value at the key's
  // own position.
  for (int i = 0; i < k; ++i) {
    const int position = context_size + 2 * scratch.gaps[i];
    inputs[position] = scratch.keys[i];
    labels[position] = scratch.values[i];
  }
  // Keys are >= 1 and values >= vocab_size/2, so the zeros left are exactly the filler slots.
  if (p.random_non_queries) {
    for (int t = 0; t < p.seq_len; ++t)
      if (inputs[t] == 0) inputs[t] = static_cast<int32_t>(rng.uniform_int(0, p.vocab_size));
  }
}

}  // namespace

void validate_mqar_params(const MqarParams& p) {
  const std::string shape = "seq_len=" + std::to_string(p.seq_len);
  if (p.seq_len <= 0 || p.seq_len % 2 != 0) fail("seq_len must be even and > 0, got " + shape);
  if (p.vocab_size <= p.seq_len)
    fail("vocab_size must be > seq_len, got vocab_size=" + std::to_string(p.vocab_size) + ", " +
         shape);
  if (p.num_kv_pairs < 1) fail("num_kv_pairs must be >= 1, got " + std::to_string(p.num_kv_pairs));
  if (p.num_passes < 1) fail("num_passes must be >= 1, got " + std::to_string(p.num_passes));
  if (!(p.power_a > 0) || !std::isfinite(p.power_a))
    fail("power_a must be a finite number > 0, got " + std::to_string(p.power_a));
  const int key_count = p.vocab_size / 2 - 1;
  if (p.num_kv_pairs > key_count)
    fail("num_kv_pairs=" + std::to_string(p.num_kv_pairs) + " needs that many distinct keys in " +
         "[1, vocab_size/2), but vocab_size=" + std::to_string(p.vocab_size) + " gives " +
         std::to_string(key_count));
  const int value_count = p.vocab_size - p.vocab_size / 2;
  if (p.num_kv_pairs > value_count)
    fail("num_kv_pairs=" + std::to_string(p.num_kv_pairs) + " needs that many distinct values in " +
         "[vocab_size/2, vocab_size), but vocab_size=" + std::to_string(p.vocab_size) + " gives " +
         std::to_string(value_count));
  const int64_t needed = 2LL * p.num_kv_pairs * (static_cast<int64_t>(p.num_passes) + 1);
  if (needed > p.seq_len)
    fail("num_kv_pairs=" + std::to_string(p.num_kv_pairs) + " needs seq_len >= " +
         std::to_string(needed) + " (2*num_kv_pairs*(num_passes+1)), got " + shape);
}

TokenDataset generate_mqar(const MqarParams& p, int64_t num_examples, uint64_t seed) {
  validate_mqar_params(p);
  if (num_examples < 0) fail("num_examples must be >= 0, got " + std::to_string(num_examples));

  TokenDataset data;
  data.num_examples = num_examples;
  data.seq_len = p.seq_len;
  data.vocab_size = p.vocab_size;
  data.inputs.resize(static_cast<size_t>(num_examples * p.seq_len));
  data.labels.resize(static_cast<size_t>(num_examples * p.seq_len));

  const int space = (p.seq_len - 2 * p.num_kv_pairs * p.num_passes) / 2;
  const std::vector<double> weights = gap_weights(space, p.power_a);
  const double total_weight = std::accumulate(weights.begin(), weights.end(), 0.0);

#pragma omp parallel
  {
    ExampleScratch scratch(p, space);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < num_examples; ++i) {
      Rng rng(Rng::derive(seed, static_cast<uint64_t>(i)));
      generate_example(p, weights, total_weight, rng, scratch, data.inputs.data() + i * p.seq_len,
                       data.labels.data() + i * p.seq_len);
    }
  }
  return data;
}

}  // namespace seqbench
