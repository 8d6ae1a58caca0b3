#include "datasets/seeded_examples.h"

#include <stdexcept>

namespace seqbench {

TokenDataset generate_seeded_examples(const std::string& generator, int64_t num_examples, int64_t seq_len,
                                      int32_t vocab_size, uint64_t seed, const ExampleWriter& write_example) {
  if (num_examples < 0)
    throw std::invalid_argument(generator + ": num_examples must be >= 0, got " + std::to_string(num_examples));
  TokenDataset data;
  data.num_examples = num_examples;
  data.seq_len = seq_len;
  data.vocab_size = vocab_size;
  data.inputs.resize(static_cast<size_t>(num_examples * seq_len));
  data.labels.resize(static_cast<size_t>(num_examples * seq_len));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < num_examples; ++i) {
    Rng rng(Rng::derive(seed, static_cast<uint64_t>(i)));
    write_example(rng, data.inputs.data() + i * seq_len, data.labels.data() + i * seq_len);
  }
  return data;
}

}  // namespace seqbench
