// The per-example loop every generated dataset shares: example i is written from its own stream
// Rng::derive(seed, i), so it depends only on (params, seed, i) -- a larger num_examples extends a
// dataset without changing its first examples, and the examples can be written in parallel.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "datasets/token_dataset.h"
#include "ops/rng.h"

namespace seqbench {

// Writes one example's seq_len inputs and labels, drawing only from `rng`. Called concurrently.
using ExampleWriter = std::function<void(Rng& rng, int32_t* inputs, int32_t* labels)>;

// num_examples examples of seq_len tokens from write_example; throws std::invalid_argument
// "<generator>: num_examples must be >= 0, got N" on a negative count.
TokenDataset generate_seeded_examples(const std::string& generator, int64_t num_examples, int64_t seq_len,
                                      int32_t vocab_size, uint64_t seed, const ExampleWriter& write_example);

}  // namespace seqbench
