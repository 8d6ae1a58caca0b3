// The scored tokens of one example (labels other than kIgnoreLabel), in order: what a generated
// example asks the model to produce.
#pragma once
#include <cstdint>
#include <vector>

#include "datasets/token_dataset.h"

inline std::vector<int32_t> labelled_tokens(const seqbench::TokenDataset& data, int64_t i) {
  std::vector<int32_t> out;
  for (int64_t t = 0; t < data.seq_len; ++t)
    if (data.label_row(i)[t] != seqbench::kIgnoreLabel) out.push_back(data.label_row(i)[t]);
  return out;
}
