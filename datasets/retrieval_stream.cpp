#include "datasets/retrieval_stream.h"

#include <stdexcept>

#include "datasets/word_vocabulary.h"

namespace seqbench {

void append_tokens(std::vector<int32_t>& out, const std::vector<int32_t>& tokens) {
  out.insert(out.end(), tokens.begin(), tokens.end());
}

std::vector<int32_t> draw_number_tokens(int digits, Rng& rng) {
  std::vector<int32_t> number(static_cast<size_t>(digits));
  for (int d = 0; d < digits; ++d) number[d] = digit_token(static_cast<int>(rng.uniform_int(d == 0 ? 1 : 0, 10)));
  return number;
}

void check_depth(const std::string& generator, const std::optional<double>& depth) {
  if (depth && !(*depth >= 0.0 && *depth <= 1.0))
    throw std::invalid_argument(generator + ": depth must be in [0, 1], got " + std::to_string(*depth));
}

TokenDataset generate_word_examples(const std::string& generator, int64_t num_examples, int64_t seq_len,
                                    uint64_t seed, const ExampleWriter& write_example) {
  return generate_seeded_examples(generator, num_examples, seq_len, word_vocabulary_size(), seed, write_example);
}

}  // namespace seqbench
