#include "datasets/retrieval_stream.h"

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

}  // namespace seqbench
