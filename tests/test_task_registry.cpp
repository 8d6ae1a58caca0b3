#include <catch2/catch.hpp>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "tasks/task.h"
#include "tests/invalid_argument_message.h"

using Catch::Matchers::Contains;
using nlohmann::json;
using seqbench::kIgnoreLabel;
using seqbench::TokenDataset;

namespace {

json resolve_mqar(const json& overrides) {
  return seqbench::resolve_task_params(seqbench::find_task("mqar"), overrides);
}

const json kSmallMqar = {{"num_train", 64}, {"num_test", 32}, {"seq_len", 32}, {"vocab_size", 512}};

}  // namespace

TEST_CASE("the registry lists mqar and finds tasks by name") {
  const auto& tasks = seqbench::task_definitions();
  REQUIRE_FALSE(tasks.empty());
  REQUIRE(tasks[0].name == "mqar");
  REQUIRE(seqbench::find_task("mqar").name == "mqar");
  REQUIRE_FALSE(seqbench::find_task("mqar").description.empty());
  for (const auto& task : tasks) REQUIRE(&seqbench::find_task(task.name) == &task);
}

TEST_CASE("an unknown task name is an error listing the known tasks") {
  const std::string message = error_of([] { seqbench::find_task("mqra"); });
  CHECK_THAT(message, Contains("unknown task 'mqra'") && Contains("known tasks: mqar"));
  CHECK_THROWS_AS(seqbench::build_task("nope", json::object(), 1), std::invalid_argument);
}

TEST_CASE("resolving no overrides gives every mqar default") {
  // In name order: a json object compares as a map.
  const json expected = {{"num_kv_pairs", 4},
                         {"num_passes", 1},
                         {"num_test", 1000},
                         {"num_train", 10000},
                         {"num_valid", nullptr},
                         {"power_a", 0.01},
                         {"random_non_queries", true},
                         {"seq_len", 64},
                         {"test_lengths", json::array()},
                         {"test_num_kv_pairs", nullptr},
                         {"test_segments", json::array()},
                         {"train_segments", json::array()},
                         {"vocab_size", 8192}};
  CHECK(resolve_mqar(json::object()) == expected);
  CHECK(resolve_mqar(nullptr) == expected);
}

TEST_CASE("overrides replace only the keys they name") {
  const json resolved = resolve_mqar({{"seq_len", 128}, {"num_kv_pairs", 16}});
  CHECK(resolved["seq_len"] == 128);
  CHECK(resolved["num_kv_pairs"] == 16);
  CHECK(resolved["vocab_size"] == 8192);
  CHECK(resolved["power_a"] == 0.01);
}

TEST_CASE("an unknown parameter is an error naming it, the task and the accepted keys") {
  const std::string message = error_of([] { resolve_mqar({{"num_kv_pair", 8}}); });
  CHECK_THAT(message, Contains("'num_kv_pair'") && Contains("mqar") && Contains("num_kv_pairs") &&
                          Contains("power_a") && Contains("test_num_kv_pairs"));
}

TEST_CASE("a parameter of the wrong JSON type is an error") {
  CHECK_THAT(error_of([] {
               resolve_mqar({{"seq_len", "64"}});
             }),
             Contains("'seq_len'") && Contains("an integer") && Contains("\"64\""));
  CHECK_THAT(error_of([] { resolve_mqar({{"seq_len", 64.5}}); }), Contains("'seq_len'"));
  CHECK_THAT(error_of([] {
               resolve_mqar({{"random_non_queries", 1}});
             }),
             Contains("'random_non_queries'") && Contains("true or false"));
  CHECK_THAT(error_of([] { resolve_mqar({{"power_a", "small"}}); }), Contains("'power_a'") && Contains("a number"));
  CHECK_THAT(error_of([] { resolve_mqar({{"num_train", nullptr}}); }), Contains("'num_train'"));
  CHECK_THAT(error_of([] { resolve_mqar(json::array({1, 2})); }), Contains("JSON object"));
}

TEST_CASE("integers and floats are interchangeable where the value allows it") {
  const json resolved = resolve_mqar({{"seq_len", 128.0}, {"power_a", 1}});
  CHECK(resolved["seq_len"].is_number_integer());
  CHECK(resolved["seq_len"] == 128);
  CHECK(resolved["power_a"].is_number_float());
  CHECK(resolved["power_a"] == 1.0);
  // A null default accepts anything at resolution time; the task checks it when it builds.
  CHECK(resolve_mqar({{"test_num_kv_pairs", 8}})["test_num_kv_pairs"] == 8);
  CHECK_THAT(error_of([] {
               json overrides = kSmallMqar;
               overrides["test_num_kv_pairs"] = "eight";
               seqbench::build_task("mqar", overrides, 1);
             }),
             Contains("'test_num_kv_pairs'"));
}

TEST_CASE("building mqar fills the defaults and makes distinct train and test splits") {
  const seqbench::TaskInstance task = seqbench::build_task("mqar", kSmallMqar, 5);
  CHECK(task.name == "mqar");
  CHECK(task.params["num_kv_pairs"] == 4);
  CHECK(task.params["seq_len"] == 32);
  CHECK(task.vocab_size == 512);
  CHECK(task.seq_len == 32);
  REQUIRE(task.train.num_examples == 64);
  REQUIRE(task.tests.size() == 1);
  CHECK(task.tests[0].label.empty());
  const TokenDataset& test = task.tests[0].data;
  REQUIRE(test.num_examples == 32);
  CHECK(test.seq_len == 32);
  CHECK(test.labelled_positions() == 32 * 4);
  const std::vector<int32_t> train_head(task.train.inputs.begin(), task.train.inputs.begin() + 32 * 32);
  CHECK(train_head != test.inputs);

  const seqbench::TaskInstance again = seqbench::build_task("mqar", kSmallMqar, 5);
  CHECK(again.train.inputs == task.train.inputs);
  CHECK(again.tests[0].data.labels == test.labels);
  const seqbench::TaskInstance other_seed = seqbench::build_task("mqar", kSmallMqar, 6);
  CHECK(other_seed.train.inputs != task.train.inputs);
}

TEST_CASE("the mqar test split may use a different number of kv pairs") {
  json overrides = kSmallMqar;
  overrides["test_num_kv_pairs"] = 7;
  const seqbench::TaskInstance task = seqbench::build_task("mqar", overrides, 3);
  CHECK(task.train.labelled_positions() == 64 * 4);
  CHECK(task.tests[0].data.labelled_positions() == 32 * 7);
  overrides["test_num_kv_pairs"] = 9;  // 2*9*2 = 36 > seq_len 32
  CHECK_THAT(error_of([&] { seqbench::build_task("mqar", overrides, 3); }),
             Contains("num_kv_pairs=9") && Contains("seq_len >= 36"));
}

TEST_CASE("an impossible mqar shape fails when the task is built") {
  CHECK_THAT(error_of([] {
               seqbench::build_task("mqar", {{"num_kv_pairs", 40}}, 1);
             }),
             Contains("num_kv_pairs=40") && Contains("seq_len >= 160"));
  CHECK_THAT(error_of([] { seqbench::build_task("mqar", {{"num_train", -1}}, 1); }), Contains("'num_train'"));
  CHECK_THAT(error_of([] { seqbench::build_task("mqar", {{"seq_len", 5000000000LL}}, 1); }), Contains("'seq_len'"));
}

TEST_CASE("scoring counts labelled positions and whole-example matches") {
  TokenDataset data;
  data.num_examples = 3;
  data.seq_len = 4;
  data.vocab_size = 10;
  data.inputs.assign(12, 0);
  const int32_t I = kIgnoreLabel;
  data.labels = {I, 5, I, 6,   // two labelled positions
                 7, I, I, I,   // one
                 I, I, I, I};  // none: left out of exact match
  SECTION("one wrong position spoils its example") {
    const std::vector<int32_t> predictions = {0, 5, 0, 9, 7, 1, 1, 1, 2, 2, 2, 2};
    const seqbench::TaskScore score = seqbench::score_predictions(data, predictions);
    CHECK(score.labelled == 3);
    CHECK(score.examples == 2);
    CHECK(score.accuracy == Approx(2.0 / 3.0));
    CHECK(score.exact_match == Approx(0.5));
    CHECK(score.mean_example_accuracy == Approx((1.0 / 2.0 + 1.0) / 2.0));  // per example, then averaged
  }
  SECTION("predictions at unlabelled positions do not matter") {
    const std::vector<int32_t> predictions = {9, 5, 9, 6, 7, 9, 9, 9, 9, 9, 9, 9};
    const seqbench::TaskScore score = seqbench::score_predictions(data, predictions);
    CHECK(score.accuracy == 1.0);
    CHECK(score.exact_match == 1.0);
  }
  SECTION("all wrong") {
    const seqbench::TaskScore score = seqbench::score_predictions(data, std::vector<int32_t>(12, 1));
    CHECK(score.accuracy == 0.0);
    CHECK(score.exact_match == 0.0);
    CHECK(score.mean_example_accuracy == 0.0);
  }
  SECTION("a prediction count that does not match the dataset is an error") {
    CHECK_THAT(error_of([&] { seqbench::score_predictions(data, std::vector<int32_t>(11, 0)); }),
               Contains("expected 12") && Contains("got 11"));
  }
}

TEST_CASE("scoring a dataset without labels gives zeros") {
  TokenDataset empty;
  empty.seq_len = 8;
  const seqbench::TaskScore score = seqbench::score_predictions(empty, {});
  CHECK(score.labelled == 0);
  CHECK(score.examples == 0);
  CHECK(score.accuracy == 0.0);
  CHECK(score.exact_match == 0.0);
}

TEST_CASE("predicting the labels scores a perfect mqar test split") {
  const seqbench::TaskInstance task = seqbench::build_task("mqar", kSmallMqar, 8);
  const TokenDataset& test = task.tests[0].data;
  const seqbench::TaskScore score = seqbench::score_predictions(test, test.labels);
  CHECK(score.accuracy == 1.0);
  CHECK(score.exact_match == 1.0);
  CHECK(score.examples == test.num_examples);
  // The key at a query position is never its own value (keys and values use separate halves).
  CHECK(seqbench::score_predictions(test, test.inputs).accuracy == 0.0);
}
