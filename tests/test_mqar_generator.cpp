#include <catch2/catch.hpp>
#include <cmath>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "datasets/mqar_generator.h"
#include "ops/parallel.h"

using seqbench::generate_mqar;
using seqbench::kIgnoreLabel;
using seqbench::MqarParams;
using seqbench::TokenDataset;

namespace {

MqarParams make_params(int vocab_size, int seq_len, int num_kv_pairs, int num_passes = 1,
                       bool random_non_queries = true, double power_a = 0.01) {
  return MqarParams{vocab_size, seq_len, num_kv_pairs, power_a, num_passes, random_non_queries};  // declaration order
}

std::string describe(const MqarParams& p) {
  return "vocab_size=" + std::to_string(p.vocab_size) + " seq_len=" + std::to_string(p.seq_len) +
         " num_kv_pairs=" + std::to_string(p.num_kv_pairs) + " num_passes=" + std::to_string(p.num_passes) +
         " random_non_queries=" + std::to_string(p.random_non_queries);
}

// Gap of each key (in kv order) read back from the query positions of example i.
std::vector<int> gaps_of(const TokenDataset& data, const MqarParams& p, int64_t i) {
  const int context_size = 2 * p.num_kv_pairs * p.num_passes;
  const int32_t* in = data.input_row(i);
  const int32_t* lab = data.label_row(i);
  std::vector<int> gaps(p.num_kv_pairs, -1);
  for (int t = context_size; t < p.seq_len; ++t) {
    if (lab[t] == kIgnoreLabel) continue;
    for (int j = 0; j < p.num_kv_pairs; ++j)
      if (in[2 * j] == in[t]) gaps[j] = (t - context_size) / 2;
  }
  return gaps;
}

// Checks every structural property Zoology's MQAR guarantees for example i.
void check_example(const TokenDataset& data, const MqarParams& p, int64_t i) {
  INFO(describe(p) << " example " << i);
  const int k = p.num_kv_pairs;
  const int context_size = 2 * k * p.num_passes;
  const int32_t* in = data.input_row(i);
  const int32_t* lab = data.label_row(i);

  std::set<int32_t> keys, values;
  for (int j = 0; j < k; ++j) {
    const int32_t key = in[2 * j], value = in[2 * j + 1];
    REQUIRE(key >= 1);
    REQUIRE(key < p.vocab_size / 2);
    REQUIRE(value >= p.vocab_size / 2);
    REQUIRE(value < p.vocab_size);
    keys.insert(key);
    values.insert(value);
  }
  REQUIRE(static_cast<int>(keys.size()) == k);
  REQUIRE(static_cast<int>(values.size()) == k);
  for (int pass = 1; pass < p.num_passes; ++pass)
    for (int t = 0; t < 2 * k; ++t) REQUIRE(in[pass * 2 * k + t] == in[t]);
  for (int t = 0; t < context_size; ++t) REQUIRE(lab[t] == kIgnoreLabel);

  std::set<int32_t> queried;
  for (int t = context_size; t < p.seq_len; ++t) {
    REQUIRE(in[t] >= 0);
    REQUIRE(in[t] < p.vocab_size);
    if (lab[t] == kIgnoreLabel) {
      if (!p.random_non_queries) REQUIRE(in[t] == 0);
      continue;
    }
    INFO("labelled position " << t);
    REQUIRE((t - context_size) % 2 == 0);
    int pair = -1;
    for (int j = 0; j < k; ++j)
      if (in[2 * j] == in[t]) pair = j;
    REQUIRE(pair >= 0);
    REQUIRE(lab[t] == in[2 * pair + 1]);
    queried.insert(in[t]);
  }
  REQUIRE(queried == keys);  // each key queried exactly once: k labels, k distinct keys
}

}  // namespace

TEST_CASE("every MQAR example queries each key once and labels it with its value") {
  const std::vector<MqarParams> shapes = {
      make_params(8192, 64, 4),         make_params(8192, 64, 4, 1, false),
      make_params(65, 64, 16),           // 2*k*(passes+1) == seq_len: every query slot is used
      make_params(11, 4, 1, 1, false),   // the smallest shape
      make_params(37, 30, 7, 1, false),  // odd vocab, space 8 for 7 keys
      make_params(8192, 512, 64),       make_params(101, 48, 8, 2),  // two passes, at the length limit
      make_params(97, 62, 5, 3, false),                              // three passes
  };
  for (const MqarParams& p : shapes) {
    const uint64_t seed = 17;
    INFO("seed " << seed);
    const TokenDataset data = generate_mqar(p, 97, seed);
    REQUIRE(data.num_examples == 97);
    REQUIRE(data.seq_len == p.seq_len);
    REQUIRE(data.vocab_size == p.vocab_size);
    REQUIRE(data.inputs.size() == size_t(97) * p.seq_len);
    REQUIRE(data.labels.size() == size_t(97) * p.seq_len);
    REQUIRE(data.labelled_positions() == int64_t(97) * p.num_kv_pairs);
    for (int64_t i = 0; i < data.num_examples; ++i) check_example(data, p, i);
  }
}

TEST_CASE("without random_non_queries the filler positions stay zero") {
  const MqarParams p = make_params(8192, 64, 5, 1, false);
  const TokenDataset data = generate_mqar(p, 50, 3);
  for (int64_t i = 0; i < data.num_examples; ++i) {
    int zeros = 0;
    for (int t = 0; t < p.seq_len; ++t) zeros += (data.input_row(i)[t] == 0);
    REQUIRE(zeros == p.seq_len - 2 * p.num_kv_pairs - p.num_kv_pairs);
  }
}

TEST_CASE("with random_non_queries the filler is spread over the whole vocabulary") {
  const MqarParams p = make_params(1000, 64, 4);
  const TokenDataset data = generate_mqar(p, 400, 5);
  int64_t filler = 0, zeros = 0, in_key_half = 0;
  for (int64_t i = 0; i < data.num_examples; ++i)
    for (int t = 8; t < p.seq_len; ++t) {
      if (data.label_row(i)[t] != kIgnoreLabel) continue;
      const int32_t token = data.input_row(i)[t];
      ++filler;
      zeros += (token == 0);
      in_key_half += (token < p.vocab_size / 2);
    }
  REQUIRE(filler == 400 * (64 - 8 - 4));
  CHECK(zeros < filler / 100);  // about 1/1000 of them are 0 by chance
  const double key_half_fraction = double(in_key_half) / double(filler);
  CHECK(key_half_fraction > 0.45);
  CHECK(key_half_fraction < 0.55);
}

TEST_CASE("MQAR generation is deterministic in the seed") {
  const MqarParams p = make_params(4096, 128, 8);
  const TokenDataset a = generate_mqar(p, 200, 42);
  const TokenDataset b = generate_mqar(p, 200, 42);
  const TokenDataset c = generate_mqar(p, 200, 43);
  REQUIRE(a.inputs == b.inputs);
  REQUIRE(a.labels == b.labels);
  REQUIRE(a.inputs != c.inputs);
  REQUIRE(a.labels != c.labels);
}

TEST_CASE("example i does not depend on how many examples are generated") {
  const MqarParams p = make_params(8192, 64, 4);
  const TokenDataset few = generate_mqar(p, 7, 11);
  const TokenDataset many = generate_mqar(p, 1003, 11);
  const size_t n = few.inputs.size();
  REQUIRE(std::vector<int32_t>(many.inputs.begin(), many.inputs.begin() + n) == few.inputs);
  REQUIRE(std::vector<int32_t>(many.labels.begin(), many.labels.begin() + n) == few.labels);
}

TEST_CASE("MQAR data does not depend on the thread count") {
  const MqarParams p = make_params(8192, 256, 16, 2);
  const int threads = seqbench::num_threads();
  seqbench::set_num_threads(1);
  const TokenDataset serial = generate_mqar(p, 301, 9);
  seqbench::set_num_threads(3);
  const TokenDataset parallel = generate_mqar(p, 301, 9);
  seqbench::set_num_threads(threads);
  REQUIRE(serial.inputs == parallel.inputs);
  REQUIRE(serial.labels == parallel.labels);
}

TEST_CASE("zero examples give an empty dataset of the right shape") {
  const TokenDataset data = generate_mqar(make_params(8192, 64, 4), 0, 1);
  REQUIRE(data.num_examples == 0);
  REQUIRE(data.seq_len == 64);
  REQUIRE(data.inputs.empty());
  REQUIRE(data.labels.empty());
}

TEST_CASE("with one key the gap follows the power law exactly") {
  // seq_len 12 leaves space = 5 gaps; p(g) is proportional to (g+1)^(power_a-1).
  const double power_a = 0.5;
  const MqarParams p = make_params(64, 12, 1, 1, false, power_a);
  const int64_t n = 40000;
  const TokenDataset data = generate_mqar(p, n, 2024);
  std::vector<double> counts(5, 0), expected(5);
  double total = 0;
  for (int g = 0; g < 5; ++g) total += expected[g] = std::pow(g + 1.0, power_a - 1.0);
  for (int64_t i = 0; i < n; ++i) counts[gaps_of(data, p, i)[0]] += 1;
  for (int g = 0; g < 5; ++g) {
    INFO("gap " << g);
    CHECK(std::fabs(counts[g] / n - expected[g] / total) < 0.012);  // ~5 standard errors
  }
}

TEST_CASE("gaps are drawn without replacement, renormalising after each draw") {
  // Two keys: the second key's gap h has probability sum_{g != h} p(g) p(h) / (1 - p(g)).
  const double power_a = 0.3;
  const MqarParams p = make_params(64, 14, 2, 1, true, power_a);  // space = 5
  std::vector<double> prob(5);
  double total = 0;
  for (int g = 0; g < 5; ++g) total += prob[g] = std::pow(g + 1.0, power_a - 1.0);
  for (double& x : prob) x /= total;
  const int64_t n = 40000;
  const TokenDataset data = generate_mqar(p, n, 77);
  std::vector<double> first(5, 0), second(5, 0);
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<int> gaps = gaps_of(data, p, i);
    REQUIRE(gaps[0] != gaps[1]);
    first[gaps[0]] += 1;
    second[gaps[1]] += 1;
  }
  for (int h = 0; h < 5; ++h) {
    double expected_second = 0;
    for (int g = 0; g < 5; ++g)
      if (g != h) expected_second += prob[g] * prob[h] / (1 - prob[g]);
    INFO("gap " << h);
    CHECK(std::fabs(first[h] / n - prob[h]) < 0.012);
    CHECK(std::fabs(second[h] / n - expected_second) < 0.012);
  }
}

TEST_CASE("power_a 1 spreads gaps uniformly while 0.01 favours short gaps") {
  auto gap_stats = [](double power_a) {
    const MqarParams p = make_params(8192, 256, 4, 1, true, power_a);  // space = 124
    const TokenDataset data = generate_mqar(p, 3000, 5);
    double sum = 0, short_gaps = 0, count = 0;
    for (int64_t i = 0; i < data.num_examples; ++i)
      for (int g : gaps_of(data, p, i)) {
        sum += g;
        short_gaps += (g < 10);
        count += 1;
      }
    return std::make_pair(sum / count, short_gaps / count);
  };
  const auto uniform = gap_stats(1.0);
  const auto power_law = gap_stats(0.01);
  CHECK(uniform.first > 55);  // uniform over [0, 124): mean 61.5
  CHECK(uniform.first < 68);
  CHECK(uniform.second < 0.12);  // 10/124 = 0.08
  CHECK(power_law.first < 40);
  CHECK(power_law.second > 0.3);
}

TEST_CASE("impossible MQAR shapes are rejected with a message naming the constraint") {
  auto message_of = [](const MqarParams& p) {
    try {
      seqbench::validate_mqar_params(p);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  using Catch::Matchers::Contains;
  CHECK_THAT(message_of(make_params(8192, 63, 4)), Contains("seq_len must be even") && Contains("63"));
  CHECK_THAT(message_of(make_params(8192, 0, 4)), Contains("seq_len must be even and > 0"));
  CHECK_THAT(message_of(make_params(8192, -4, 1)), Contains("seq_len"));
  CHECK_THAT(message_of(make_params(64, 64, 4)), Contains("vocab_size must be > seq_len"));
  CHECK_THAT(message_of(make_params(8192, 64, 0)), Contains("num_kv_pairs must be >= 1"));
  CHECK_THAT(message_of(make_params(8192, 64, 4, 0)), Contains("num_passes must be >= 1"));
  CHECK_THAT(message_of(make_params(8192, 64, 4, 1, true, 0.0)), Contains("power_a"));
  CHECK_THAT(message_of(make_params(8192, 64, 4, 1, true, -1.0)), Contains("power_a"));
  CHECK_THAT(message_of(make_params(8192, 64, 4, 1, true, std::nan(""))), Contains("power_a"));
  CHECK_THAT(message_of(make_params(10, 8, 5)), Contains("distinct keys") && Contains("vocab_size=10"));
  CHECK(message_of(make_params(8192, 64, 40)) ==
        "mqar: num_kv_pairs=40 needs seq_len >= 160 (2*num_kv_pairs*(num_passes+1)), got seq_len=64");
  CHECK(message_of(make_params(8192, 64, 8, 3)) == "no error");  // 2*8*(3+1) == 64
  CHECK_THAT(message_of(make_params(8192, 64, 8, 4)), Contains("needs seq_len >= 80"));
  CHECK(message_of(make_params(65, 64, 16)) == "no error");
  CHECK(message_of(make_params(101, 48, 8, 2)) == "no error");
  CHECK(message_of(make_params(11, 4, 1)) == "no error");
  CHECK_THROWS_AS(generate_mqar(make_params(8192, 64, 40), 1, 1), std::invalid_argument);
  CHECK_THROWS_AS(generate_mqar(make_params(8192, 64, 4), -1, 1), std::invalid_argument);
}
