#include "datasets/needle_generator.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "datasets/retrieval_stream.h"
#include "datasets/word_tokenizer.h"
#include "datasets/word_vocabulary.h"
#include "ops/rng.h"

namespace seqbench {
namespace {

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument("needle: " + message); }

constexpr int kKeyTokens = 3;  // adjective - noun

// RULER's num_needle_k / num_needle_v / num_needle_q for a variant.
struct NeedleShape {
  int keys = 1, values_per_key = 1, queries = 1;
  int needles() const { return keys * values_per_key; }
  int answers() const { return queries * values_per_key; }
  bool plural() const { return answers() > 1; }  // RULER switches the template to singular at 1
};

NeedleShape shape_of(const NeedleParams& p) {
  NeedleShape s;
  if (p.variant == NeedleVariant::multikey) s.keys = p.num_needles;
  if (p.variant == NeedleVariant::multivalue) s.values_per_key = p.num_needles;
  if (p.variant == NeedleVariant::multiquery) s.keys = s.queries = p.num_needles;
  return s;
}

struct NeedleTemplate {
  std::vector<int32_t> needle_head = tokenize_words("One of the special magic numbers for");
  std::vector<int32_t> needle_is = tokenize_words("is:");
  std::vector<int32_t> full_stop = tokenize_words(".");
  std::vector<int32_t> comma = tokenize_words(",");
  std::vector<int32_t> comma_and = tokenize_words(", and");
  std::vector<int32_t> dash = tokenize_words("-");
  std::vector<int32_t> instruction[2] = {
      tokenize_words("A special magic number is hidden within the following text. Make sure to memorize it. "
                     "I will quiz you about the number afterwards."),
      tokenize_words("Some special magic numbers are hidden within the following text. Make sure to memorize "
                     "it. I will quiz you about the numbers afterwards.")};
  std::vector<int32_t> question_head[2] = {tokenize_words("What is the special magic number for"),
                                           tokenize_words("What are all the special magic numbers for")};
  std::vector<int32_t> question_middle = tokenize_words("mentioned in the provided text?");
  std::vector<int32_t> answer_head[2] = {tokenize_words("The special magic number for"),
                                         tokenize_words("The special magic numbers for")};
  std::vector<int32_t> answer_middle[2] = {tokenize_words("mentioned in the provided text is"),
                                           tokenize_words("mentioned in the provided text are")};
};

const NeedleTemplate& needle_template() {
  static const NeedleTemplate t;
  return t;
}

using Key = std::pair<int32_t, int32_t>;  // adjective, noun

void append_key(std::vector<int32_t>& out, const Key& key) {
  out.push_back(key.first);
  append_tokens(out, needle_template().dash);
  out.push_back(key.second);
}

// "k1", "k1, and k2", "k1, k2, and k3" (RULER joins its queries this way).
void append_query_list(std::vector<int32_t>& out, const std::vector<Key>& keys) {
  const NeedleTemplate& t = needle_template();
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) append_tokens(out, i + 1 == keys.size() ? t.comma_and : t.comma);
    append_key(out, keys[i]);
  }
}

size_t query_list_length(int keys) { return keys * kKeyTokens + (keys - 1) + (keys > 1 ? 1 : 0); }

// Tokens of everything but the haystack: instruction, needles, question, answer.
size_t fixed_stream_length(const NeedleParams& p) {
  const NeedleTemplate& t = needle_template();
  const NeedleShape s = shape_of(p);
  const int plural = s.plural() ? 1 : 0;
  const size_t needle = t.needle_head.size() + kKeyTokens + t.needle_is.size() + p.value_digits + t.full_stop.size();
  const size_t question = t.question_head[plural].size() + t.question_middle.size() + t.answer_head[plural].size() +
                          t.answer_middle[plural].size() + 2 * query_list_length(s.queries);
  const size_t answer = static_cast<size_t>(s.answers()) * p.value_digits + (s.answers() - 1) * t.comma.size();
  return (p.instruction ? t.instruction[plural].size() : 0) + s.needles() * needle + question + answer;
}

std::vector<Key> draw_distinct_keys(int count, Rng& rng) {
  const std::vector<int32_t>& adjectives = key_adjective_tokens();
  const std::vector<int32_t>& nouns = key_noun_tokens();
  std::vector<Key> keys;
  while (static_cast<int>(keys.size()) < count) {
    const Key key{adjectives[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(adjectives.size())))],
                  nouns[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(nouns.size())))]};
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
  }
  return keys;
}

template <class T>
void shuffle(std::vector<T>& items, Rng& rng) {
  for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[static_cast<size_t>(rng.uniform_int(0, i))]);
}

struct Needle {
  size_t key_index = 0;
  std::vector<int32_t> value;
};

// Draw order: keys, values, asked keys, needle order, haystack, random placements.
void generate_example(const NeedleParams& p, Rng& rng, int32_t* inputs, int32_t* labels) {
  const NeedleTemplate& t = needle_template();
  const NeedleShape s = shape_of(p);
  const int plural = s.plural() ? 1 : 0;
  const std::vector<Key> keys = draw_distinct_keys(s.keys, rng);
  std::vector<Needle> needles;
  for (int k = 0; k < s.keys; ++k)
    for (int v = 0; v < s.values_per_key; ++v)
      needles.push_back({static_cast<size_t>(k), draw_number_tokens(p.value_digits, rng)});
  std::vector<size_t> asked(static_cast<size_t>(s.keys));
  for (size_t k = 0; k < asked.size(); ++k) asked[k] = k;
  shuffle(asked, rng);
  asked.resize(static_cast<size_t>(s.queries));
  shuffle(needles, rng);  // RULER shuffles the needles before placing them

  const Haystack haystack =
      make_haystack(p.haystack, p.seq_len + 1 - static_cast<int64_t>(fixed_stream_length(p)), rng);
  // The needle at `depth` is the first one (in shuffled order) of the key asked first.
  const size_t tracked = static_cast<size_t>(
      std::find_if(needles.begin(), needles.end(), [&](const Needle& n) { return n.key_index == asked[0]; }) -
      needles.begin());
  std::vector<PlacedNeedle> placed(needles.size());
  for (size_t i = 0; i < needles.size(); ++i) {
    append_tokens(placed[i].tokens, t.needle_head);
    append_key(placed[i].tokens, keys[needles[i].key_index]);
    append_tokens(placed[i].tokens, t.needle_is);
    append_tokens(placed[i].tokens, needles[i].value);
    append_tokens(placed[i].tokens, t.full_stop);
    placed[i].position = (i == tracked && p.depth) ? insertion_point_at_depth(haystack, *p.depth)
                                                   : random_insertion_point(haystack, rng);
  }
  std::vector<size_t> text_order;
  std::vector<int32_t> body = insert_needles(haystack, placed, &text_order);

  std::vector<const std::vector<int32_t>*> answers;
  if (p.variant == NeedleVariant::multivalue) {
    for (size_t i : text_order) answers.push_back(&needles[i].value);
  } else {
    for (size_t key : asked)
      for (const Needle& n : needles)
        if (n.key_index == key) answers.push_back(&n.value);
  }
  std::vector<Key> asked_keys;
  for (size_t key : asked) asked_keys.push_back(keys[key]);

  std::vector<int32_t> stream;
  stream.reserve(static_cast<size_t>(p.seq_len) + 1);
  if (p.instruction) append_tokens(stream, t.instruction[plural]);
  append_tokens(stream, body);
  append_tokens(stream, t.question_head[plural]);
  append_query_list(stream, asked_keys);
  append_tokens(stream, t.question_middle);
  append_tokens(stream, t.answer_head[plural]);
  append_query_list(stream, asked_keys);
  append_tokens(stream, t.answer_middle[plural]);
  std::vector<char> answer(stream.size(), 0);
  for (size_t a = 0; a < answers.size(); ++a) {
    if (a > 0) append_tokens(stream, t.comma);
    append_tokens(stream, *answers[a]);
    answer.resize(stream.size(), 0);
    std::fill(answer.end() - static_cast<int64_t>(answers[a]->size()), answer.end(), 1);
  }
  write_next_token_example(stream, answer, p.seq_len, inputs, labels);
}

}  // namespace

NeedleVariant parse_needle_variant(const std::string& name) {
  if (name == "single") return NeedleVariant::single;
  if (name == "multikey") return NeedleVariant::multikey;
  if (name == "multivalue") return NeedleVariant::multivalue;
  if (name == "multiquery") return NeedleVariant::multiquery;
  fail("variant must be single, multikey, multivalue or multiquery, got '" + name + "'");
}

HaystackKind parse_haystack_kind(const std::string& name) {
  if (name == "filler") return HaystackKind::filler;
  if (name == "noise") return HaystackKind::noise;
  fail("haystack must be filler or noise, got '" + name + "'");
}

int needle_min_seq_len(const NeedleParams& p) { return static_cast<int>(fixed_stream_length(p)) - 1; }

void validate_needle_params(const NeedleParams& p) {
  if (p.value_digits < 1 || p.value_digits > 64)
    fail("value_digits must be in [1, 64], got " + std::to_string(p.value_digits));
  const int max_keys = static_cast<int>(std::min<size_t>(64, key_adjective_tokens().size() * key_noun_tokens().size()));
  if (p.num_needles < 1 || p.num_needles > max_keys)
    fail("num_needles must be in [1, " + std::to_string(max_keys) + "], got " + std::to_string(p.num_needles));
  check_depth("needle", p.depth);
  const int needed = needle_min_seq_len(p);
  if (p.seq_len < needed)
    fail("seq_len=" + std::to_string(p.seq_len) + " is too short for this variant (num_needles=" +
         std::to_string(p.num_needles) + ", value_digits=" + std::to_string(p.value_digits) +
         (p.instruction ? ", with the instruction" : "") + "): it needs seq_len >= " + std::to_string(needed));
}

TokenDataset generate_needle(const NeedleParams& p, int64_t num_examples, uint64_t seed) {
  validate_needle_params(p);
  return generate_word_examples(
      "needle", num_examples, p.seq_len, seed,
      [&](Rng& rng, int32_t* inputs, int32_t* labels) { generate_example(p, rng, inputs, labels); });
}

}  // namespace seqbench
