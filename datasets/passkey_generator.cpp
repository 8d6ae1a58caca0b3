#include "datasets/passkey_generator.h"

#include <stdexcept>
#include <string>
#include <vector>

#include "datasets/haystack_text.h"
#include "datasets/retrieval_stream.h"
#include "datasets/word_tokenizer.h"
#include "datasets/word_vocabulary.h"
#include "ops/rng.h"

namespace seqbench {
namespace {

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument("passkey: " + message); }

// The template pieces, tokenised once.
struct PasskeyTemplate {
  std::vector<int32_t> instruction = tokenize_words(
      "There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. "
      "I will quiz you about the important information there.");
  std::vector<int32_t> needle_head = tokenize_words("The pass key is");
  std::vector<int32_t> needle_middle = tokenize_words(". Remember it.");
  std::vector<int32_t> needle_tail = tokenize_words("is the pass key.");
  std::vector<int32_t> question = tokenize_words("What is the pass key? The pass key is");
};

const PasskeyTemplate& passkey_template() {
  static const PasskeyTemplate t;
  return t;
}

void generate_example(const PasskeyParams& p, Rng& rng, int32_t* inputs, int32_t* labels) {
  const PasskeyTemplate& t = passkey_template();
  const std::vector<int32_t> digits = draw_number_tokens(p.num_digits, rng);

  PlacedNeedle needle;
  append_tokens(needle.tokens, t.needle_head);
  append_tokens(needle.tokens, digits);
  append_tokens(needle.tokens, t.needle_middle);
  append_tokens(needle.tokens, digits);
  append_tokens(needle.tokens, t.needle_tail);

  const int64_t haystack_length = static_cast<int64_t>(p.seq_len) - passkey_min_seq_len(p);
  // The filler haystack draws nothing, so the draws are digits, then (random depth only) depth.
  const Haystack haystack = make_haystack(HaystackKind::filler, haystack_length, rng);
  needle.position = p.depth ? insertion_point_at_depth(haystack, *p.depth) : random_insertion_point(haystack, rng);

  std::vector<int32_t> stream;
  stream.reserve(static_cast<size_t>(p.seq_len) + 1);
  if (p.instruction) append_tokens(stream, t.instruction);
  append_tokens(stream, insert_needles(haystack, {needle}));
  append_tokens(stream, t.question);
  const size_t answer_begin = stream.size();
  append_tokens(stream, digits);
  std::vector<char> answer(stream.size(), 0);
  for (size_t i = answer_begin; i < stream.size(); ++i) answer[i] = 1;
  write_next_token_example(stream, answer, p.seq_len, inputs, labels);
}

}  // namespace

int passkey_min_seq_len(const PasskeyParams& p) {
  const PasskeyTemplate& t = passkey_template();
  const size_t fixed = (p.instruction ? t.instruction.size() : 0) + t.needle_head.size() + t.needle_middle.size() +
                       t.needle_tail.size() + t.question.size() + 3 * static_cast<size_t>(p.num_digits);
  return static_cast<int>(fixed) - 1;  // the stream is one longer than the inputs
}

void validate_passkey_params(const PasskeyParams& p) {
  if (p.num_digits < 1 || p.num_digits > 64) fail("num_digits must be in [1, 64], got " + std::to_string(p.num_digits));
  check_depth("passkey", p.depth);
  const int needed = passkey_min_seq_len(p);
  if (p.seq_len < needed)
    fail("seq_len=" + std::to_string(p.seq_len) +
         " is too short: the passkey template with num_digits=" + std::to_string(p.num_digits) +
         (p.instruction ? " and the instruction" : "") + " needs seq_len >= " + std::to_string(needed));
}

TokenDataset generate_passkey(const PasskeyParams& p, int64_t num_examples, uint64_t seed) {
  validate_passkey_params(p);
  return generate_word_examples(
      "passkey", num_examples, p.seq_len, seed,
      [&](Rng& rng, int32_t* inputs, int32_t* labels) { generate_example(p, rng, inputs, labels); });
}

}  // namespace seqbench
