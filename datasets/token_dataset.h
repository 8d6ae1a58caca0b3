// A tokenised dataset: fixed-length input sequences and next-token labels, with positions that
// are not scored marked kIgnoreLabel (as PyTorch's ignore_index = -100).
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace seqbench {

constexpr int32_t kIgnoreLabel = -100;

// A named run of consecutive examples that share one length (Zoology's data segments: a split
// that mixes several sequence lengths and kv-pair counts). Its rows are stored padded on the
// right to the dataset's seq_len with token 0 and kIgnoreLabel; a causal model's predictions at
// positions before the padding do not depend on it, so training and evaluation run each segment
// at its own length and the padding is never computed on.
struct DatasetSegment {
  std::string label;    // "kv8": the metric suffix its score is stored under
  int64_t begin = 0;    // first example
  int64_t end = 0;      // one past the last example
  int64_t length = 0;   // tokens per example, <= the dataset's seq_len
};

struct TokenDataset {
  int64_t num_examples = 0;
  int64_t seq_len = 0;
  int32_t vocab_size = 0;
  std::vector<int32_t> inputs;  // [num_examples, seq_len], row-major
  std::vector<int32_t> labels;  // [num_examples, seq_len]; kIgnoreLabel where not scored
  // Empty: every example is seq_len long. Otherwise they cover [0, num_examples) in order.
  std::vector<DatasetSegment> segments;

  const int32_t* input_row(int64_t i) const { return inputs.data() + i * seq_len; }
  const int32_t* label_row(int64_t i) const { return labels.data() + i * seq_len; }
  int64_t labelled_positions() const {
    int64_t n = 0;
    for (int32_t l : labels) n += (l != kIgnoreLabel);
    return n;
  }
};

// The dataset's segments, or one segment covering it all when it has none.
inline std::vector<DatasetSegment> segments_of(const TokenDataset& data) {
  if (!data.segments.empty()) return data.segments;
  return {DatasetSegment{"", 0, data.num_examples, data.seq_len}};
}

// One dataset holding `parts` in order, each a labelled segment, padded on the right to the
// longest part (token 0, kIgnoreLabel). Throws std::invalid_argument when the parts disagree on
// the vocabulary or a label repeats.
TokenDataset concatenate_segments(std::vector<std::pair<std::string, TokenDataset>> parts);

}  // namespace seqbench
