// Pieces of the text retrieval streams (passkey, needle): appending a run of tokens, the random
// number an example hides and asks for, written one token per digit, the depth check both make,
// and their examples in word tokens.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "datasets/seeded_examples.h"
#include "datasets/token_dataset.h"
#include "ops/rng.h"

namespace seqbench {

void append_tokens(std::vector<int32_t>& out, const std::vector<int32_t>& tokens);

// `digits` digit tokens, the first 1-9 (so the number has exactly that many digits) and the rest
// 0-9; one draw per digit, in order.
std::vector<int32_t> draw_number_tokens(int digits, Rng& rng);

// Throws std::invalid_argument "<generator>: depth must be in [0, 1], got D" unless depth is a
// fraction or absent (absent: a random depth per example).
void check_depth(const std::string& generator, const std::optional<double>& depth);

// generate_seeded_examples over the word vocabulary (datasets/word_vocabulary.h).
TokenDataset generate_word_examples(const std::string& generator, int64_t num_examples, int64_t seq_len,
                                    uint64_t seed, const ExampleWriter& write_example);

}  // namespace seqbench
