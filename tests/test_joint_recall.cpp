#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "datasets/joint_recall_generator.h"
#include "tasks/task.h"
#include "tests/invalid_argument_message.h"
#include "tests/seeded_generator_checks.h"

using Catch::Matchers::Contains;
using nlohmann::json;
using seqbench::JointRecallParams;
using seqbench::kIgnoreLabel;
using seqbench::TokenDataset;

namespace {

JointRecallParams small_params(int vocab, int seq_len, int contexts, int pairs, int queries, bool random_fill) {
  return JointRecallParams{vocab, seq_len, contexts, pairs, queries, random_fill};  // in declaration order
}

// Checks every structural promise of the generator on example i.
void check_example(const JointRecallParams& p, const TokenDataset& data, int64_t i) {
  const int32_t* in = data.input_row(i);
  const int32_t* labels = data.label_row(i);
  const int V = p.vocab_size, C = p.num_contexts, K = p.num_kv_pairs;
  // context token -> (key -> value), read from the context blocks.
  std::map<int32_t, std::map<int32_t, int32_t>> table;
  std::set<int32_t> values, first_block_keys;
  int64_t t = 0;
  for (int j = 0; j < C; ++j) {
    const int32_t context = in[t++];
    REQUIRE(context >= 1);
    REQUIRE(context < V / 8);
    REQUIRE(table.count(context) == 0);  // distinct contexts
    std::set<int32_t> keys;
    for (int k = 0; k < K; ++k) {
      const int32_t key = in[t++], value = in[t++];
      REQUIRE(key >= V / 8);
      REQUIRE(key < V / 2);
      REQUIRE(value >= V / 2);
      REQUIRE(value < V);
      REQUIRE(values.insert(value).second);  // all values of an example distinct
      keys.insert(key);
      table[context][key] = value;
    }
    REQUIRE(keys.size() == static_cast<size_t>(K));
    if (j == 0) first_block_keys = keys;
    REQUIRE(keys == first_block_keys);  // the same keys in every context
  }
  for (int64_t s = 0; s < t; ++s) REQUIRE(labels[s] == kIgnoreLabel);
  int queries = 0;
  std::set<std::pair<int32_t, int32_t>> asked;
  for (int64_t s = t; s < p.seq_len; ++s) {
    REQUIRE(in[s] >= 0);
    REQUIRE(in[s] < V);
    if (labels[s] == kIgnoreLabel) continue;
    ++queries;
    REQUIRE((s - t) % 2 == 1);  // queries start at even offsets of the query region
    const int32_t context = in[s - 1], key = in[s];
    REQUIRE(table.count(context) == 1);
    REQUIRE(table[context].count(key) == 1);
    CHECK(labels[s] == table[context][key]);
    REQUIRE(asked.insert({context, key}).second);  // distinct queries
  }
  CHECK(queries == p.num_queries);
}

}  // namespace

TEST_CASE("joint recall examples keep every structural promise, for odd sizes") {
  const std::vector<JointRecallParams> shapes = {
      small_params(64, 40, 2, 3, 3, false), small_params(97, 61, 3, 5, 7, true), small_params(8192, 128, 4, 4, 8, true),
      small_params(256, 23, 1, 1, 1, true), small_params(1024, 257, 5, 7, 35, false)};
  for (size_t s = 0; s < shapes.size(); ++s) {
    const uint64_t seed = 11 + s;
    INFO("shape " << s << ", seed " << seed);
    const TokenDataset data = seqbench::generate_joint_recall(shapes[s], 29, seed);
    REQUIRE(data.num_examples == 29);
    REQUIRE(data.seq_len == shapes[s].seq_len);
    REQUIRE(data.vocab_size == shapes[s].vocab_size);
    for (int64_t i = 0; i < data.num_examples; ++i) check_example(shapes[s], data, i);
  }
}

TEST_CASE("without random filler the query region is zeros apart from the queries") {
  const JointRecallParams p = small_params(128, 71, 3, 2, 4, false);
  const TokenDataset data = seqbench::generate_joint_recall(p, 13, 5);
  const int64_t context = seqbench::joint_recall_context_length(p);
  for (int64_t i = 0; i < data.num_examples; ++i) {
    int64_t nonzero = 0;
    for (int64_t s = context; s < p.seq_len; ++s) nonzero += data.input_row(i)[s] != 0;
    CHECK(nonzero == 2 * p.num_queries);
  }
}

TEST_CASE("the answer depends on the context: the key's latest value is usually wrong") {
  // An associative-recall shortcut (the value after the key's last occurrence) only answers
  // queries about the last context block; joint recall needs the (context, key) pair.
  const JointRecallParams p = small_params(8192, 128, 4, 4, 8, true);
  const TokenDataset data = seqbench::generate_joint_recall(p, 200, 9);
  int64_t shortcut_right = 0, labelled = 0;
  for (int64_t i = 0; i < data.num_examples; ++i) {
    const int32_t* in = data.input_row(i);
    const int64_t blocks = seqbench::joint_recall_context_length(p);
    for (int64_t s = blocks; s < p.seq_len; ++s) {
      if (data.label_row(i)[s] == kIgnoreLabel) continue;
      int32_t latest = -1;
      for (int64_t b = 0; b < blocks; ++b)
        if (in[b] == in[s] && b + 1 < blocks) latest = in[b + 1];
      ++labelled;
      shortcut_right += latest == data.label_row(i)[s];
    }
  }
  REQUIRE(labelled == 200 * 8);
  CHECK(shortcut_right < labelled / 2);  // about a quarter: the queries on the last context
  CHECK(shortcut_right > 0);
}

TEST_CASE("joint recall is deterministic per seed and example i does not depend on the count") {
  const JointRecallParams p = small_params(512, 64, 3, 3, 5, true);
  seqbench::testing::check_seeded_generator(
      [&](int64_t count, uint64_t seed) { return seqbench::generate_joint_recall(p, count, seed); }, 17, 31, 42);
}

TEST_CASE("impossible joint recall parameters are errors naming the parameter") {
  CHECK_THAT(error_of([] { seqbench::generate_joint_recall(small_params(64, 40, 2, 3, 7, true), 1, 1); }),
             Contains("num_queries") && Contains("[1, num_contexts*num_kv_pairs=6]") && Contains("7"));
  CHECK_THAT(error_of([] { seqbench::generate_joint_recall(small_params(64, 19, 2, 3, 3, true), 1, 1); }),
             Contains("seq_len=19") && Contains("= 20 tokens") && Contains("too short"));
  CHECK_THAT(error_of([] { seqbench::generate_joint_recall(small_params(64, 400, 8, 2, 3, true), 1, 1); }),
             Contains("num_contexts=8") && Contains("vocab_size=64"));
  CHECK_THAT(error_of([] { seqbench::generate_joint_recall(small_params(64, 400, 2, 25, 3, true), 1, 1); }),
             Contains("num_kv_pairs=25"));
  CHECK_THAT(error_of([] { seqbench::generate_joint_recall(small_params(64, 400, 7, 5, 3, true), 1, 1); }),
             Contains("num_contexts*num_kv_pairs=35") && Contains("distinct values"));
  CHECK_THAT(error_of([] { seqbench::generate_joint_recall(small_params(8, 40, 1, 1, 1, true), 1, 1); }),
             Contains("vocab_size must be >= 16"));
  CHECK_THAT(error_of([] { seqbench::build_task("joint_recall", {{"num_train", -1}}, 1); }), Contains("'num_train'"));
  CHECK_THAT(error_of([] {
               seqbench::build_task("joint_recall", {{"num_contexts", "four"}}, 1);
             }),
             Contains("'num_contexts'"));
}

TEST_CASE("the joint_recall task's mqar layout builds distinct train and test splits from its defaults") {
  const json overrides = {{"layout", "mqar"}, {"num_train", 40}, {"num_test", 20}, {"vocab_size", 256}};
  const seqbench::TaskInstance task = seqbench::build_task("joint_recall", overrides, 3);
  CHECK(task.params["num_contexts"] == 4);
  CHECK(task.params["seq_len"] == 128);  // the mqar layout's own default, stored as resolved
  CHECK(task.vocabulary["ranges"] == json::parse(R"([{"role": "context", "first": 1, "last": 31},
                                                      {"role": "key", "first": 32, "last": 127},
                                                      {"role": "value", "first": 128, "last": 255}])"));
  CHECK(task.params["test_lengths"] == json::array());
  CHECK(task.vocab_size == 256);
  CHECK(task.seq_len == 128);
  REQUIRE(task.tests.size() == 1);
  CHECK(task.train.labelled_positions() == 40 * 8);
  CHECK(task.tests[0].data.labelled_positions() == 20 * 8);
  CHECK(std::vector<int32_t>(task.train.inputs.begin(), task.train.inputs.begin() + 20 * 128) !=
        task.tests[0].data.inputs);
  const seqbench::TaskScore perfect = seqbench::score_predictions(task.tests[0].data, task.tests[0].data.labels);
  CHECK(perfect.exact_match == 1.0);
}

TEST_CASE("every recall task, mqar included, adds one split per test length") {
  const std::vector<std::pair<std::string, json>> tasks = {
      {"mqar", {{"vocab_size", 1024}, {"seq_len", 64}}},
      {"joint_recall", {{"layout", "mqar"}, {"vocab_size", 1024}, {"seq_len", 96}}},
      {"passkey", {{"seq_len", 96}}},
      {"needle", {{"seq_len", 128}, {"value_digits", 3}}}};
  for (const auto& [name, base] : tasks) {
    INFO("task " << name);
    json overrides = base;
    overrides["num_train"] = 8;
    overrides["num_test"] = 6;
    const seqbench::TaskInstance plain = seqbench::build_task(name, overrides, 4);
    overrides["test_lengths"] = {132, 256};
    const seqbench::TaskInstance task = seqbench::build_task(name, overrides, 4);
    REQUIRE(task.tests.size() == 3);
    CHECK(task.tests[0].label.empty());
    CHECK(task.tests[0].data.inputs == plain.tests[0].data.inputs);  // the base test split is unchanged
    CHECK(task.train.inputs == plain.train.inputs);
    CHECK(task.tests[1].label == "len132");
    CHECK(task.tests[2].label == "len256");
    CHECK(task.tests[1].data.seq_len == 132);
    CHECK(task.tests[2].data.seq_len == 256);
    CHECK(task.tests[2].data.num_examples == 6);
    CHECK(task.tests[2].data.labelled_positions() == task.tests[0].data.labelled_positions());
    CHECK(task.seq_len == base["seq_len"].get<int64_t>());
  }
}

TEST_CASE("bad test_lengths are errors naming test_lengths") {
  CHECK_THAT(error_of([] {
               seqbench::build_task("joint_recall", {{"layout", "mqar"}, {"test_lengths", {128, "long"}}}, 1);
             }),
             Contains("'test_lengths'") && Contains("a list of integers"));
  CHECK_THAT(error_of([] {
               seqbench::build_task("mqar", {{"test_lengths", 256}}, 1);
             }),
             Contains("'test_lengths'") && Contains("an array"));
  CHECK_THAT(error_of([] { seqbench::build_task("passkey", {{"test_lengths", {0}}}, 1); }), Contains("'test_lengths'"));
  CHECK_THAT(error_of([] {
               seqbench::build_task("needle", {{"test_lengths", {300, 300}}}, 1);
             }),
             Contains("'test_lengths'") && Contains("300 twice"));
  // A length too short for the task's shape fails before anything is generated.
  CHECK_THAT(error_of([] {
               seqbench::build_task("joint_recall", {{"layout", "mqar"}, {"test_lengths", {30}}}, 1);
             }),
             Contains("seq_len=30"));
  CHECK_THAT(error_of([] {
               seqbench::build_task("mqar", {{"test_lengths", {9000}}}, 1);
             }),
             Contains("vocab_size must be > seq_len"));
}
