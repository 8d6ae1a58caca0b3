#include <algorithm>
#include <catch2/catch.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "datasets/passkey_generator.h"
#include "datasets/word_tokenizer.h"
#include "datasets/word_vocabulary.h"
#include "tasks/task.h"
#include "tests/invalid_argument_message.h"
#include "tests/labelled_tokens.h"
#include "tests/seeded_generator_checks.h"

using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;
using nlohmann::json;
using seqbench::kIgnoreLabel;
using seqbench::PasskeyParams;
using seqbench::TokenDataset;

namespace {

PasskeyParams params(int seq_len, std::optional<double> depth, int digits = 5, bool instruction = true) {
  PasskeyParams p;
  p.seq_len = seq_len;
  p.depth = depth;
  p.num_digits = digits;
  p.instruction = instruction;
  return p;
}

std::vector<int32_t> row(const std::vector<int32_t>& values, int64_t seq_len, int64_t i) {
  return {values.begin() + i * seq_len, values.begin() + (i + 1) * seq_len};
}

// Offset of the needle ("the pass key is <digit>") in the inputs of example i.
int64_t needle_offset(const TokenDataset& data, int64_t i) {
  const std::vector<int32_t> head = seqbench::tokenize_words("the pass key is");
  const int32_t* in = data.input_row(i);
  for (int64_t t = 0; t + 4 < data.seq_len; ++t)
    if (std::equal(head.begin(), head.end(), in + t) && seqbench::is_digit_token(in[t + 4])) return t;
  return -1;
}

}  // namespace

TEST_CASE("a passkey example reads as the Mohtashami & Jaggi prompt with the digits labelled") {
  const PasskeyParams p = params(131, 0.5);
  const TokenDataset data = seqbench::generate_passkey(p, 7, 3);
  REQUIRE(data.num_examples == 7);
  REQUIRE(data.seq_len == 131);
  REQUIRE(data.vocab_size == seqbench::word_vocabulary_size());
  for (int64_t i = 0; i < data.num_examples; ++i) {
    INFO("example " << i << ", seed 3");
    const std::vector<int32_t> digits = labelled_tokens(data, i);
    REQUIRE(digits.size() == 5);
    for (int32_t d : digits) REQUIRE(seqbench::is_digit_token(d));
    CHECK(digits[0] != seqbench::digit_token(0));  // a 5-digit number
    // Labels sit on the last five positions: after "... the pass key is" the model emits each digit.
    for (int64_t t = 0; t < data.seq_len; ++t) CHECK((data.label_row(i)[t] != kIgnoreLabel) == (t >= data.seq_len - 5));
    const std::string key = seqbench::detokenize_words(digits);
    const std::string text = seqbench::detokenize_words(row(data.inputs, data.seq_len, i));
    CHECK_THAT(text, StartsWith("there is an important info hidden inside a lot of irrelevant text. find it and "
                                "memorize them. i will quiz you about the important information there. the grass is "
                                "green."));
    CHECK_THAT(text, Contains("the pass key is " + key + ". remember it. " + key + " is the pass key."));
    CHECK_THAT(text, EndsWith("what is the pass key? the pass key is " + key.substr(0, 4)));
  }
}

TEST_CASE("the needle moves from the start to the end of the haystack as depth grows") {
  int64_t previous = -1;
  for (double depth : {0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0}) {
    INFO("depth " << depth);
    const TokenDataset data = seqbench::generate_passkey(params(257, depth), 3, 8);
    const int64_t offset = needle_offset(data, 0);
    REQUIRE(offset >= 0);
    CHECK(offset >= previous);
    for (int64_t i = 1; i < data.num_examples; ++i) CHECK(needle_offset(data, i) == offset);  // a fixed depth
    previous = offset;
  }
  const PasskeyParams bare = params(257, 0.0, 5, false);
  CHECK(needle_offset(seqbench::generate_passkey(bare, 1, 8), 0) == 0);  // depth 0: first thing in the text
  // depth 1: the needle's last token is followed directly by the question.
  const TokenDataset last = seqbench::generate_passkey(params(257, 1.0, 5, false), 1, 8);
  const int64_t needle_length = 4 + 5 + 4 + 5 + 5;
  const int64_t question_length = 10;
  CHECK(needle_offset(last, 0) + needle_length + question_length + 5 == 257 + 1);
}

TEST_CASE("a random depth puts the needle at many places, a fixed one at one") {
  const TokenDataset random = seqbench::generate_passkey(params(300, std::nullopt), 60, 12);
  std::set<int64_t> offsets;
  for (int64_t i = 0; i < random.num_examples; ++i) offsets.insert(needle_offset(random, i));
  CHECK(offsets.size() > 5);
  CHECK(offsets.count(-1) == 0);
}

TEST_CASE("passkey data is deterministic per seed, and example i does not depend on the count") {
  const PasskeyParams p = params(97, std::nullopt, 3);
  seqbench::testing::check_seeded_generator(
      [&](int64_t count, uint64_t seed) { return seqbench::generate_passkey(p, count, seed); }, 9, 15, 77);
}

TEST_CASE("the shortest passkey sequence holds the template and an empty haystack") {
  for (int digits : {1, 5, 11}) {
    for (bool instruction : {true, false}) {
      const PasskeyParams p = params(1, 0.5, digits, instruction);
      const int shortest = seqbench::passkey_min_seq_len(p);
      INFO("digits " << digits << ", instruction " << instruction << ", shortest " << shortest);
      const TokenDataset data = seqbench::generate_passkey(params(shortest, 0.5, digits, instruction), 2, 1);
      CHECK(labelled_tokens(data, 0).size() == static_cast<size_t>(digits));
      CHECK_THAT(
          error_of([&] { seqbench::generate_passkey(params(shortest - 1, 0.5, digits, instruction), 1, 1); }),
          Contains("seq_len=" + std::to_string(shortest - 1)) && Contains("seq_len >= " + std::to_string(shortest)));
    }
  }
}

TEST_CASE("exact match needs every digit of the pass key") {
  const seqbench::TaskInstance task =
      seqbench::build_task("passkey", {{"num_train", 4}, {"num_test", 10}, {"seq_len", 80}}, 2);
  const TokenDataset& test = task.tests[0].data;
  CHECK(task.vocab_size == seqbench::word_vocabulary_size());
  std::vector<int32_t> predictions = test.labels;
  CHECK(seqbench::score_predictions(test, predictions).exact_match == 1.0);
  // One wrong digit in one example: accuracy drops by 1/50, exact match by 1/10.
  predictions[test.seq_len - 1] =
      predictions[test.seq_len - 1] == seqbench::digit_token(0) ? seqbench::digit_token(1) : seqbench::digit_token(0);
  const seqbench::TaskScore score = seqbench::score_predictions(test, predictions);
  CHECK(score.accuracy == Approx(49.0 / 50.0));
  CHECK(score.exact_match == Approx(0.9));
}

TEST_CASE("the passkey task trains at random depths and tests at the given depth") {
  const json overrides = {{"num_train", 40}, {"num_test", 6}, {"seq_len", 200}, {"depth", 0.25}};
  const seqbench::TaskInstance task = seqbench::build_task("passkey", overrides, 5);
  CHECK(task.params["num_digits"] == 5);
  CHECK(task.params["train_depth"].is_null());
  std::set<int64_t> train_offsets, test_offsets;
  for (int64_t i = 0; i < task.train.num_examples; ++i) train_offsets.insert(needle_offset(task.train, i));
  for (int64_t i = 0; i < task.tests[0].data.num_examples; ++i)
    test_offsets.insert(needle_offset(task.tests[0].data, i));
  CHECK(train_offsets.size() > 3);
  CHECK(test_offsets.size() == 1);
  json fixed = overrides;
  fixed["train_depth"] = 0.25;
  const seqbench::TaskInstance same = seqbench::build_task("passkey", fixed, 5);
  CHECK(needle_offset(same.train, 0) == *test_offsets.begin());
}

TEST_CASE("bad passkey parameters are errors naming the parameter") {
  CHECK_THAT(error_of([] {
               seqbench::build_task("passkey", {{"depth", 1.5}}, 1);
             }),
             Contains("'depth'") && Contains("[0, 1]") && Contains("1.5"));
  CHECK_THAT(error_of([] { seqbench::build_task("passkey", {{"depth", "middle"}}, 1); }), Contains("'depth'"));
  CHECK_THAT(error_of([] {
               seqbench::build_task("passkey", {{"train_depth", "middle"}}, 1);
             }),
             Contains("'train_depth'") && Contains("or null"));
  CHECK_THAT(error_of([] { seqbench::build_task("passkey", {{"num_digits", 0}}, 1); }), Contains("num_digits"));
  CHECK_THAT(error_of([] {
               seqbench::build_task("passkey", {{"seq_len", 40}}, 1);
             }),
             Contains("seq_len=40") && Contains("too short"));
  CHECK_THAT(error_of([] { seqbench::build_task("passkey", {{"instruction", 1}}, 1); }), Contains("'instruction'"));
  CHECK_THAT(error_of([] {
               seqbench::build_task("passkey", {{"digits", 5}}, 1);
             }),
             Contains("no parameter 'digits'") && Contains("num_digits"));
}
