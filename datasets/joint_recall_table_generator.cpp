#include "datasets/joint_recall_table_generator.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

#include "ops/rng.h"

namespace seqbench {
namespace {

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument("joint_recall: " + message); }

// A redraw of a repeated example gives up after this many tries: by then the shape is all but
// exhausted, which the capacity check should have refused.
constexpr int kMaxRedraws = 1000;
// Longest sequence the layout may ask for (as the longest test length, tasks/length_splits.h).
constexpr int64_t kMaxSeqLen = int64_t{1} << 24;

// Uniformly random order of 0..n-1 (Fisher-Yates), as numpy's permutation(n).
void random_order(Rng& rng, int n, std::vector<int>& order) {
  order.resize(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  for (int i = n - 1; i > 0; --i) std::swap(order[i], order[static_cast<size_t>(rng.uniform_int(0, i + 1))]);
}

// generate_data_item()'s draws, in its order: the table, then per half the context order and
// each context's key order as it is written.
JointRecallTable draw_table(const JointRecallTableParams& p, JointRecallShape shape, Rng& rng) {
  JointRecallTable table;
  table.shape = shape;
  table.values.resize(static_cast<size_t>(shape.contexts * shape.keys));
  for (int& value : table.values) value = static_cast<int>(rng.uniform_int(0, p.num_values));
  for (int half = 0; half < 2; ++half) {
    random_order(rng, shape.contexts, table.context_order[half]);
    table.key_order[half].resize(static_cast<size_t>(shape.contexts));
    for (auto& keys : table.key_order[half]) random_order(rng, shape.keys, keys);
  }
  return table;
}

void write_example(const JointRecallTableParams& p, JointRecallShape shape, Rng& rng, int32_t* inputs,
                   int32_t* labels) {
  write_joint_recall_table(p, draw_table(p, shape, rng), inputs, labels);
}

uint64_t fingerprint(const int32_t* inputs, int64_t seq_len) {
  uint64_t hash = 14695981039346656037ULL;  // FNV-1a over the token ids
  for (int64_t t = 0; t < seq_len; ++t)
    for (int byte = 0; byte < 4; ++byte) {
      hash ^= (static_cast<uint32_t>(inputs[t]) >> (8 * byte)) & 0xFF;
      hash *= 1099511628211ULL;
    }
  return hash;
}

// log of the number of distinct sequences of one shape: n_value^(n_c*n_k) tables, each written
// in (n_c! * n_k!^n_c)^2 orders.
double log_distinct_sequences(const JointRecallTableParams& p, JointRecallShape s) {
  const double orders = std::lgamma(s.contexts + 1.0) + s.contexts * std::lgamma(s.keys + 1.0);
  return static_cast<double>(s.contexts) * s.keys * std::log(static_cast<double>(p.num_values)) + 2 * orders;
}

std::string shape_text(JointRecallShape s) {
  return "n_c=" + std::to_string(s.contexts) + ", n_k=" + std::to_string(s.keys);
}

}  // namespace

void write_joint_recall_table(const JointRecallTableParams& p, const JointRecallTable& table, int32_t* inputs,
                              int32_t* labels) {
  if (table.shape.contexts > p.max_contexts || table.shape.keys > p.max_keys)
    fail("a table of " + shape_text(table.shape) + " does not fit max_contexts=" + std::to_string(p.max_contexts) +
         ", max_keys=" + std::to_string(p.max_keys));
  const int64_t seq_len = joint_recall_table_seq_len(p);
  std::fill(inputs, inputs + seq_len, kJointRecallPad);
  std::fill(labels, labels + seq_len, kIgnoreLabel);
  int64_t t = 0;
  // The longest shape's last value is the token the shift to inputs[:-1] drops.
  auto put = [&](int32_t token) {
    if (t < seq_len) inputs[t] = token;
    ++t;
  };
  put(kJointRecallBos);
  for (int half = 0; half < 2; ++half) {
    if (half == 1) put(kJointRecallSep);
    for (size_t j = 0; j < table.context_order[half].size(); ++j) {
      const int c = table.context_order[half][j];
      put(joint_recall_context_token(p, c));
      for (int k : table.key_order[half][j]) {
        const int32_t value = joint_recall_value_token(p, table.values[static_cast<size_t>(c * table.shape.keys + k)]);
        if (half == 1) labels[t] = value;  // asked: emit the value after reading the key
        put(joint_recall_key_token(p, k));
        put(value);
      }
    }
  }
}

int32_t joint_recall_value_token(const JointRecallTableParams& p, int value) {
  return kJointRecallTokenBias + value;
}
int32_t joint_recall_key_token(const JointRecallTableParams& p, int key) {
  return kJointRecallTokenBias + p.num_values + key;
}
int32_t joint_recall_context_token(const JointRecallTableParams& p, int context) {
  return kJointRecallTokenBias + p.num_values + p.max_keys + context;
}
int32_t joint_recall_table_min_vocab(const JointRecallTableParams& p) {
  return kJointRecallTokenBias + p.num_values + p.max_keys + p.max_contexts;
}
int64_t joint_recall_table_seq_len(const JointRecallTableParams& p) {
  return 2 * static_cast<int64_t>(p.max_contexts) * (2 * static_cast<int64_t>(p.max_keys) + 1) + 1;
}

int64_t joint_recall_table_grid_size(const JointRecallTableParams& p) {
  return static_cast<int64_t>(p.max_contexts - p.min_contexts + 1) * (p.max_keys - p.min_keys + 1);
}

JointRecallShape joint_recall_table_shape(const JointRecallTableParams& p, int64_t example) {
  const int64_t key_counts = p.max_keys - p.min_keys + 1;
  const int64_t cell = example % joint_recall_table_grid_size(p);
  return {p.min_contexts + static_cast<int>(cell / key_counts), p.min_keys + static_cast<int>(cell % key_counts)};
}

void validate_joint_recall_table_params(const JointRecallTableParams& p) {
  auto at_least_one = [](const char* name, int value) {
    if (value < 1) fail(std::string(name) + " must be >= 1, got " + std::to_string(value));
  };
  at_least_one("min_contexts", p.min_contexts);
  at_least_one("min_keys", p.min_keys);
  at_least_one("num_values", p.num_values);
  if (p.max_contexts < p.min_contexts)
    fail("max_contexts=" + std::to_string(p.max_contexts) + " must be >= min_contexts=" +
         std::to_string(p.min_contexts));
  if (p.max_keys < p.min_keys)
    fail("max_keys=" + std::to_string(p.max_keys) + " must be >= min_keys=" + std::to_string(p.min_keys));
  if (p.max_contexts > kMaxSeqLen || p.max_keys > kMaxSeqLen || p.num_values > kMaxSeqLen ||
      joint_recall_table_seq_len(p) > kMaxSeqLen)
    fail("max_contexts=" + std::to_string(p.max_contexts) + ", max_keys=" + std::to_string(p.max_keys) +
         " give sequences longer than " + std::to_string(kMaxSeqLen) + " tokens");
  if (p.vocab_size < joint_recall_table_min_vocab(p))
    fail("vocab_size=" + std::to_string(p.vocab_size) + " is too small: token ids reach 10+num_values+max_keys+" +
         "max_contexts-1 = " + std::to_string(joint_recall_table_min_vocab(p) - 1) + ", so vocab_size must be >= " +
         std::to_string(joint_recall_table_min_vocab(p)));
}

void validate_joint_recall_table_capacity(const JointRecallTableParams& p, const std::vector<int64_t>& split_sizes) {
  const int64_t cells = joint_recall_table_grid_size(p);
  for (int64_t cell = 0; cell < cells; ++cell) {
    double wanted = 0;  // examples of this shape over all splits; cell `cell` gets indices cell, cell+G, ...
    for (int64_t n : split_sizes) wanted += static_cast<double>(n / cells + (cell < n % cells ? 1 : 0));
    const JointRecallShape shape = joint_recall_table_shape(p, cell);
    const double log_count = log_distinct_sequences(p, shape);
    if (wanted > 0 && std::log(wanted) > log_count + 1e-9)
      fail(shape_text(shape) + " with num_values=" + std::to_string(p.num_values) + " has only " +
           std::to_string(std::llround(std::exp(log_count))) + " distinct sequences, but the splits ask for " +
           std::to_string(static_cast<int64_t>(wanted)) +
           " of that shape, all distinct; lower num_train/num_valid/num_test or raise num_values or min_contexts/min_keys");
  }
}

bool DistinctExamples::insert(const int32_t* inputs, int64_t seq_len) {
  return seen_.insert(fingerprint(inputs, seq_len)).second;
}

TokenDataset generate_joint_recall_table(const JointRecallTableParams& p, int64_t num_examples, uint64_t seed,
                                         DistinctExamples& seen) {
  validate_joint_recall_table_params(p);
  if (num_examples < 0) fail("num_examples must be >= 0, got " + std::to_string(num_examples));
  TokenDataset data;
  data.num_examples = num_examples;
  data.seq_len = joint_recall_table_seq_len(p);
  data.vocab_size = p.vocab_size;
  data.inputs.resize(static_cast<size_t>(num_examples * data.seq_len));
  data.labels.resize(static_cast<size_t>(num_examples * data.seq_len));
  const int64_t L = data.seq_len;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < num_examples; ++i) {
    Rng rng(Rng::derive(seed, static_cast<uint64_t>(i)));
    write_example(p, joint_recall_table_shape(p, i), rng, data.inputs.data() + i * L, data.labels.data() + i * L);
  }
  // In order, as the script's loop: the first of two equal examples stays, the later is redrawn.
  for (int64_t i = 0; i < num_examples; ++i) {
    int32_t* inputs = data.inputs.data() + i * L;
    for (int redraw = 1; !seen.insert(inputs, L); ++redraw) {
      if (redraw > kMaxRedraws)
        fail("no distinct example of shape " + shape_text(joint_recall_table_shape(p, i)) + " after " +
             std::to_string(kMaxRedraws) + " redraws; lower the split sizes or raise num_values");
      Rng rng(Rng::derive(Rng::derive(seed, static_cast<uint64_t>(i)), static_cast<uint64_t>(redraw)));
      write_example(p, joint_recall_table_shape(p, i), rng, inputs, data.labels.data() + i * L);
    }
  }
  return data;
}

}  // namespace seqbench
