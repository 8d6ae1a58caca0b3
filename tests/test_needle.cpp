#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "datasets/haystack_text.h"
#include "datasets/needle_generator.h"
#include "datasets/word_tokenizer.h"
#include "datasets/word_vocabulary.h"
#include "ops/rng.h"
#include "tasks/task.h"
#include "tests/invalid_argument_message.h"
#include "tests/labelled_tokens.h"
#include "tests/seeded_generator_checks.h"

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using nlohmann::json;
using namespace seqbench;

namespace {

using Key = std::pair<int32_t, int32_t>;

struct FoundNeedle {
  int64_t offset;
  Key key;
  std::vector<int32_t> value;
};

bool matches_at(const int32_t* tokens, int64_t size, int64_t at, const std::vector<int32_t>& pattern) {
  return at + static_cast<int64_t>(pattern.size()) <= size && std::equal(pattern.begin(), pattern.end(), tokens + at);
}

// Every "one of the special magic numbers for A - N is : DIGITS ." in the inputs, in text order.
std::vector<FoundNeedle> find_needles(const std::vector<int32_t>& in) {
  const std::vector<int32_t> head = seqbench::tokenize_words("one of the special magic numbers for");
  const int32_t dash = seqbench::word_token_id("-"), colon = seqbench::word_token_id(":");
  std::vector<FoundNeedle> found;
  const auto size = static_cast<int64_t>(in.size());
  for (int64_t t = 0; t < size; ++t) {
    if (!matches_at(in.data(), size, t, head)) continue;
    int64_t s = t + static_cast<int64_t>(head.size());
    REQUIRE(in[s + 1] == dash);
    FoundNeedle needle{t, {in[s], in[s + 2]}, {}};
    s += 3;
    REQUIRE(in[s] == seqbench::word_token_id("is"));
    REQUIRE(in[s + 1] == colon);
    for (s += 2; s < size && seqbench::is_digit_token(in[s]); ++s) needle.value.push_back(in[s]);
    found.push_back(needle);
  }
  return found;
}

// The keys named by the question ("... numbers for k1, k2, and k3 mentioned in ...").
std::vector<Key> asked_keys(const std::vector<int32_t>& in) {
  const int32_t what = seqbench::word_token_id("what"), for_ = seqbench::word_token_id("for");
  const int32_t mentioned = seqbench::word_token_id("mentioned");
  const auto start = std::find(in.begin(), in.end(), what);
  REQUIRE(start != in.end());
  auto t = std::find(start, in.end(), for_) + 1;
  std::vector<Key> keys;
  while (*t != mentioned) {
    if (seqbench::is_punctuation_token(*t) || *t == seqbench::word_token_id("and")) {
      ++t;
      continue;
    }
    keys.push_back({*t, *(t + 2)});
    t += 3;
  }
  return keys;
}

NeedleParams needle_params(NeedleVariant variant, seqbench::HaystackKind haystack, int seq_len,
                           std::optional<double> depth, int digits = 3) {
  NeedleParams p{variant, haystack, seq_len, depth};  // the leading fields, in declaration order
  p.value_digits = digits;
  return p;
}

const NeedleVariant kVariants[] = {NeedleVariant::single, NeedleVariant::multikey, NeedleVariant::multivalue,
                                   NeedleVariant::multiquery};

}  // namespace

TEST_CASE("the word vocabulary has stable ids for pad, digits and punctuation, and no repeats") {
  const auto& vocabulary = seqbench::word_vocabulary();
  REQUIRE(vocabulary.size() > 300);
  CHECK(vocabulary[0] == "<pad>");
  for (int d = 0; d < 10; ++d) CHECK(vocabulary[seqbench::digit_token(d)] == std::to_string(d));
  CHECK(seqbench::word_token_id(".") == 11);
  CHECK(seqbench::word_token_id("the") == 44);
  CHECK(std::set<std::string>(vocabulary.begin(), vocabulary.end()).size() == vocabulary.size());
  for (size_t id = 0; id < vocabulary.size(); ++id)
    CHECK(seqbench::word_token_id(vocabulary[id]) == static_cast<int32_t>(id));
  // The groups generators draw from are disjoint.
  std::set<int32_t> seen;
  for (const auto* group :
       {&seqbench::key_adjective_tokens(), &seqbench::key_noun_tokens(), &seqbench::noise_word_tokens()})
    for (int32_t id : *group) CHECK(seen.insert(id).second);
}

TEST_CASE("tokenizing splits words, digits and punctuation, and detokenizing undoes it") {
  const std::vector<int32_t> ids =
      seqbench::tokenize_words("One of the special magic numbers for Jittery-Hospital is: 4071.");
  CHECK(ids.size() == 17);
  CHECK(seqbench::detokenize_words(ids) == "one of the special magic numbers for jittery-hospital is: 4071.");
  CHECK(seqbench::tokenize_words("  ") == std::vector<int32_t>{});
  CHECK(seqbench::tokenize_words("12") == std::vector<int32_t>{seqbench::digit_token(1), seqbench::digit_token(2)});

  const uint64_t seed = 2024;
  INFO("seed " << seed);
  seqbench::Rng rng(seed);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<int32_t> random(static_cast<size_t>(rng.uniform_int(1, 40)));
    for (auto& id : random) id = static_cast<int32_t>(rng.uniform_int(1, seqbench::word_vocabulary_size()));
    CHECK(seqbench::tokenize_words(seqbench::detokenize_words(random)) == random);
  }
}

TEST_CASE("unknown words and characters are errors naming them") {
  CHECK_THAT(error_of([] { seqbench::tokenize_words("the zeppelin is green"); }), Contains("'zeppelin'"));
  CHECK_THAT(error_of([] { seqbench::tokenize_words("a + b"); }), Contains("'+'") && Contains("offset 2"));
  CHECK_THAT(error_of([] { seqbench::detokenize_words({3, 100000}); }), Contains("100000") && Contains("index 1"));
}

TEST_CASE("filler haystacks repeat the sentences and offer only sentence boundaries") {
  seqbench::Rng rng(1);
  const seqbench::Haystack haystack = seqbench::make_haystack(seqbench::HaystackKind::filler, 53, rng);
  REQUIRE(haystack.tokens.size() == 53);
  CHECK_THAT(seqbench::detokenize_words(haystack.tokens),
             StartsWith("the grass is green. the sky is blue. the sun is yellow. here we go. there and back again. "
                        "the grass is green."));
  CHECK(haystack.insertion_points == std::vector<int64_t>{0, 5, 10, 15, 19, 24, 29, 34, 39, 43, 48, 53});
  CHECK(seqbench::insertion_point_at_depth(haystack, 0.0) == 0);
  CHECK(seqbench::insertion_point_at_depth(haystack, 0.5) == 24);  // 26.5 is 2.5 from both 24 and 29: a tie goes early
  CHECK(seqbench::insertion_point_at_depth(haystack, 1.0) == 53);
  const seqbench::Haystack noise = seqbench::make_haystack(seqbench::HaystackKind::noise, 7, rng);
  CHECK(noise.insertion_points.size() == 8);
  const std::set<int32_t> words(seqbench::noise_word_tokens().begin(), seqbench::noise_word_tokens().end());
  for (int32_t id : noise.tokens) CHECK(words.count(id) == 1);
}

TEST_CASE("every needle variant labels exactly the asked values, in the defined order") {
  for (NeedleVariant variant : kVariants) {
    for (auto haystack : {seqbench::HaystackKind::filler, seqbench::HaystackKind::noise}) {
      const uint64_t seed = 31 + static_cast<int>(variant);
      INFO("variant " << static_cast<int>(variant) << ", noise " << (haystack == seqbench::HaystackKind::noise)
                      << ", seed " << seed);
      const NeedleParams p = needle_params(variant, haystack, 263, std::nullopt, 3);
      const TokenDataset data = seqbench::generate_needle(p, 12, seed);
      REQUIRE(data.seq_len == 263);
      for (int64_t i = 0; i < data.num_examples; ++i) {
        const std::vector<int32_t> in(data.input_row(i), data.input_row(i) + data.seq_len);
        const std::vector<FoundNeedle> needles = find_needles(in);
        const std::vector<Key> asked = asked_keys(in);
        const bool multi = variant != NeedleVariant::single;
        REQUIRE(needles.size() == (multi ? 4u : 1u));
        std::set<Key> keys;
        for (const auto& n : needles) keys.insert(n.key);
        CHECK(keys.size() == (variant == NeedleVariant::multivalue || !multi ? 1u : 4u));
        CHECK(asked.size() == (variant == NeedleVariant::multiquery ? 4u : 1u));
        std::vector<int32_t> expected;
        for (const Key& key : asked) {
          REQUIRE(keys.count(key) == 1);
          for (const auto& n : needles)  // text order; only multivalue has more than one per key
            if (n.key == key) expected.insert(expected.end(), n.value.begin(), n.value.end());
        }
        CHECK(labelled_tokens(data, i) == expected);
        // Labels only on digits; the stream continues with the answer, so the inputs end in digits.
        for (int32_t label : labelled_tokens(data, i)) CHECK(seqbench::is_digit_token(label));
        CHECK(seqbench::is_digit_token(in.back()));
      }
    }
  }
}

TEST_CASE("the asked needle sits at the requested depth of a noise haystack") {
  // Multivalue is left out: any of the key's needles may be the one placed at depth.
  for (NeedleVariant variant : {NeedleVariant::single, NeedleVariant::multikey, NeedleVariant::multiquery}) {
    const bool plural = variant == NeedleVariant::multiquery;
    const auto instruction = static_cast<int64_t>(
        seqbench::tokenize_words(plural ? "Some special magic numbers are hidden within the following text. Make sure "
                                          "to memorize it. I will quiz you about the numbers afterwards."
                                        : "A special magic number is hidden within the following text. Make sure to "
                                          "memorize it. I will quiz you about the number afterwards.")
            .size());
    for (double depth : {0.0, 0.3, 0.6, 1.0}) {
      INFO("variant " << static_cast<int>(variant) << ", depth " << depth << ", seed 4");
      const NeedleParams p = needle_params(variant, seqbench::HaystackKind::noise, 300, depth);
      const TokenDataset data = seqbench::generate_needle(p, 1, 4);
      const std::vector<int32_t> in(data.input_row(0), data.input_row(0) + data.seq_len);
      const std::vector<FoundNeedle> needles = find_needles(in);
      const Key asked = asked_keys(in).front();
      size_t before = 0;
      while (needles[before].key != asked) ++before;
      const int64_t needle_length = 7 + 3 + 2 + 3 + 1;  // "one of ... for" a - n "is :" 3 digits "."
      const int64_t haystack_length = 300 - seqbench::needle_min_seq_len(p);
      const int64_t position = needles[before].offset - instruction - static_cast<int64_t>(before) * needle_length;
      // The nearest insertion point to depth * length; a tie goes to the earlier one.
      CHECK(position == static_cast<int64_t>(std::ceil(depth * haystack_length - 0.5)));
    }
  }
}

TEST_CASE("needle data is deterministic per seed") {
  const NeedleParams p = needle_params(NeedleVariant::multiquery, seqbench::HaystackKind::noise, 211, std::nullopt);
  seqbench::testing::check_seeded_generator(
      [&](int64_t count, uint64_t seed) { return seqbench::generate_needle(p, count, seed); }, 5, 8, 9);
}

TEST_CASE("the needle task reads its parameters and rejects bad ones by name") {
  const seqbench::TaskInstance task = seqbench::build_task(
      "needle", {{"num_train", 6}, {"num_test", 4}, {"variant", "multivalue"}, {"seq_len", 199}, {"value_digits", 2}},
      1);
  CHECK(task.params["haystack"] == "filler");
  CHECK(task.tests[0].data.labelled_positions() == 4 * 4 * 2);
  CHECK(task.vocab_size == seqbench::word_vocabulary_size());
  CHECK(task.vocabulary["kind"] == "words");  // exports list the word of every id
  CHECK(task.vocabulary["tokens"].size() == static_cast<size_t>(seqbench::word_vocabulary_size()));

  CHECK_THAT(error_of([] {
               seqbench::build_task("needle", {{"variant", "triple"}}, 1);
             }),
             Contains("'variant'") && Contains("single, multikey, multivalue, multiquery") && Contains("triple"));
  CHECK_THAT(error_of([] {
               seqbench::build_task("needle", {{"haystack", "essay"}}, 1);
             }),
             Contains("'haystack'") && Contains("filler, noise"));
  CHECK_THAT(error_of([] {
               seqbench::build_task("needle", {{"variant", "multiquery"}, {"seq_len", 150}}, 1);
             }),
             Contains("seq_len=150") && Contains("seq_len >= "));
  CHECK_THAT(error_of([] {
               seqbench::build_task("needle", {{"num_needles", 0}, {"variant", "multikey"}}, 1);
             }),
             Contains("num_needles"));
  CHECK_THAT(error_of([] { seqbench::build_task("needle", {{"value_digits", 0}}, 1); }), Contains("value_digits"));
  CHECK_THAT(error_of([] { seqbench::build_task("needle", {{"depth", -0.1}}, 1); }), Contains("'depth'"));
}
