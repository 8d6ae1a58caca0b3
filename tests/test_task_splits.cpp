// The train, valid and test splits every task builds: each from its own seed stream, none empty,
// and train/test exactly as they were before the valid split existed.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tasks/task.h"
#include "tests/invalid_argument_message.h"

using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

// FNV-1a over a split's shape, inputs and labels: a fixed fingerprint of generated data.
uint64_t fingerprint(const seqbench::TokenDataset& data) {
  uint64_t hash = 14695981039346656037ULL;
  auto mix = [&hash](int64_t value) {
    for (int byte = 0; byte < 8; ++byte) {
      hash ^= static_cast<uint64_t>(value >> (8 * byte)) & 0xFF;
      hash *= 1099511628211ULL;
    }
  };
  mix(data.num_examples);
  mix(data.seq_len);
  mix(data.vocab_size);
  for (int32_t v : data.inputs) mix(v);
  for (int32_t v : data.labels) mix(v);
  return hash;
}

struct SmallTask {
  std::string name;
  json overrides;
  // Fingerprints of train, test and the length split at seed 7, taken before the valid split
  // was added (the joint_recall ones before it gained the hax layout, hence "layout": "mqar").
  uint64_t train, test, longer;
};

const std::vector<SmallTask>& small_tasks() {
  static const std::vector<SmallTask> tasks = {
      {"mqar",
       {{"vocab_size", 256}, {"seq_len", 64}, {"num_kv_pairs", 4}, {"num_train", 50}, {"num_test", 20},
        {"test_lengths", {96}}},
       6593703715070424200ULL, 8644559649776945427ULL, 3712193916049030332ULL},
      {"joint_recall",
       {{"layout", "mqar"}, {"vocab_size", 256}, {"seq_len", 64}, {"num_contexts", 2}, {"num_kv_pairs", 3}, {"num_queries", 4},
        {"num_train", 50}, {"num_test", 20}, {"test_lengths", {96}}},
       17450088322569588424ULL, 10001089859843824283ULL, 12930481018837491641ULL},
      {"passkey",
       {{"seq_len", 96}, {"num_train", 20}, {"num_test", 10}, {"test_lengths", {128}}},
       15473706273132000170ULL, 1320485690912799184ULL, 13362528314953572896ULL},
      {"needle",
       {{"seq_len", 128}, {"variant", "multikey"}, {"value_digits", 3}, {"num_train", 20}, {"num_test", 10},
        {"test_lengths", {160}}},
       16389960393055639940ULL, 11954416146406049969ULL, 12995701000161435905ULL}};
  return tasks;
}

}  // namespace

TEST_CASE("train and test splits are byte-identical to the ones generated before the valid split") {
  for (const SmallTask& small : small_tasks()) {
    INFO("task " << small.name << ", seed 7");
    const seqbench::TaskInstance task = seqbench::build_task(small.name, small.overrides, 7);
    REQUIRE(task.tests.size() == 2);
    CHECK(fingerprint(task.train) == small.train);
    CHECK(fingerprint(task.tests[0].data) == small.test);
    CHECK(fingerprint(task.tests[1].data) == small.longer);
  }
}

TEST_CASE("every task builds a valid split, as large as the test split unless num_valid says otherwise") {
  for (const SmallTask& small : small_tasks()) {
    INFO("task " << small.name);
    const seqbench::TaskInstance task = seqbench::build_task(small.name, small.overrides, 7);
    const seqbench::TokenDataset& test = task.tests[0].data;
    CHECK(task.params["num_valid"] == test.num_examples);  // the null default, as it resolved
    CHECK(task.valid.num_examples == test.num_examples);
    CHECK(task.valid.seq_len == test.seq_len);
    CHECK(task.valid.vocab_size == test.vocab_size);
    CHECK(task.valid.labelled_positions() > 0);

    json overrides = small.overrides;
    overrides["num_valid"] = 13;
    const seqbench::TaskInstance sized = seqbench::build_task(small.name, overrides, 7);
    CHECK(sized.params["num_valid"] == 13);
    CHECK(sized.valid.num_examples == 13);
    CHECK(fingerprint(sized.train) == small.train);  // its size moves neither train nor test
    CHECK(fingerprint(sized.tests[0].data) == small.test);
  }
}

TEST_CASE("the valid split comes from its own stream: no example of it is a train or test example") {
  for (const SmallTask& small : small_tasks()) {
    INFO("task " << small.name);
    const seqbench::TaskInstance task = seqbench::build_task(small.name, small.overrides, 7);
    const seqbench::TokenDataset& valid = task.valid;
    for (const seqbench::TokenDataset* other : {&task.train, &task.tests[0].data}) {
      const int64_t n = std::min(valid.num_examples, other->num_examples);
      int64_t same = 0;
      for (int64_t i = 0; i < valid.num_examples; ++i)
        for (int64_t j = 0; j < n; ++j)
          same += std::equal(valid.input_row(i), valid.input_row(i) + valid.seq_len, other->input_row(j));
      CHECK(same == 0);
    }
    // Same params, another seed: the valid split moves with the seed like the others.
    CHECK(seqbench::build_task(small.name, small.overrides, 8).valid.inputs != valid.inputs);
    CHECK(seqbench::build_task(small.name, small.overrides, 7).valid.inputs == valid.inputs);
  }
}

TEST_CASE("an empty split is an error naming its size parameter") {
  for (const std::string name : {"mqar", "joint_recall", "passkey", "needle"}) {
    INFO("task " << name);
    for (const std::string key : {"num_train", "num_valid", "num_test"}) {
      CHECK_THAT(error_of([&] { seqbench::build_task(name, {{key, 0}}, 1); }),
                 Contains("task '" + name + "'") && Contains("'" + key + "' must be >= 1") && Contains("got 0"));
    }
    CHECK_THAT(error_of([&] { seqbench::build_task(name, {{"num_valid", -3}}, 1); }), Contains("got -3"));
    CHECK_THAT(error_of([&] { seqbench::build_task(name, {{"num_valid", "many"}}, 1); }),
               Contains("'num_valid'") && Contains("\"many\""));
  }
}
