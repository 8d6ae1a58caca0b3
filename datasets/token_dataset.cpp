#include "datasets/token_dataset.h"

#include <algorithm>
#include <set>

namespace seqbench {

TokenDataset concatenate_segments(std::vector<std::pair<std::string, TokenDataset>> parts) {
  TokenDataset out;
  if (parts.empty()) return out;
  std::set<std::string> labels;
  for (const auto& [label, part] : parts) {
    if (!labels.insert(label).second)
      throw std::invalid_argument("dataset segment label '" + label + "' appears twice");
    if (part.vocab_size != parts.front().second.vocab_size)
      throw std::invalid_argument("dataset segments disagree on the vocabulary: " +
                                  std::to_string(parts.front().second.vocab_size) + " and " +
                                  std::to_string(part.vocab_size));
    out.seq_len = std::max(out.seq_len, part.seq_len);
    out.num_examples += part.num_examples;
  }
  out.vocab_size = parts.front().second.vocab_size;
  out.inputs.assign(static_cast<size_t>(out.num_examples * out.seq_len), 0);
  out.labels.assign(out.inputs.size(), kIgnoreLabel);
  int64_t row = 0;
  for (auto& [label, part] : parts) {
    for (int64_t i = 0; i < part.num_examples; ++i) {
      std::copy(part.input_row(i), part.input_row(i) + part.seq_len, out.inputs.begin() + (row + i) * out.seq_len);
      std::copy(part.label_row(i), part.label_row(i) + part.seq_len, out.labels.begin() + (row + i) * out.seq_len);
    }
    out.segments.push_back({label, row, row + part.num_examples, part.seq_len});
    row += part.num_examples;
    part = TokenDataset{};  // the copy is made: free the part before the next one is copied
  }
  return out;
}

}  // namespace seqbench
