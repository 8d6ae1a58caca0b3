// A tokenised dataset: fixed-length input sequences and next-token labels, with positions that
// are not scored marked kIgnoreLabel (as PyTorch's ignore_index = -100).
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace seqbench {

constexpr int32_t kIgnoreLabel = -100;

struct TokenDataset {
  int64_t num_examples = 0;
  int64_t seq_len = 0;
  int32_t vocab_size = 0;
  std::vector<int32_t> inputs;  // [num_examples, seq_len], row-major
  std::vector<int32_t> labels;  // [num_examples, seq_len]; kIgnoreLabel where not scored

  const int32_t* input_row(int64_t i) const { return inputs.data() + i * seq_len; }
  const int32_t* label_row(int64_t i) const { return labels.data() + i * seq_len; }
  int64_t labelled_positions() const {
    int64_t n = 0;
    for (int32_t l : labels) n += (l != kIgnoreLabel);
    return n;
  }
};

}  // namespace seqbench
