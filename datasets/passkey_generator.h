// Passkey retrieval (Mohtashami & Jaggi 2023, "Landmark Attention: Random-Access Infinite Context
// Length for Transformers", their passkey test), over the built-in word vocabulary.
//
// One example (tokens of datasets/word_vocabulary.h, shown as text; num_digits = 5):
//   There is an important info hidden inside a lot of irrelevant text. Find it and memorize
//   them. I will quiz you about the important information there.        <- instruction (optional)
//   The grass is green. The sky is blue. ... (filler, cut to fit)        <- haystack, part 1
//   The pass key is 68203. Remember it. 68203 is the pass key.           <- at `depth`
//   ... The sun is yellow. Here we go. There and back again. ...          <- haystack, part 2
//   What is the pass key? The pass key is 6 8 2 0 3
// The stream is seq_len + 1 tokens; inputs are its first seq_len, and only the positions whose
// next token is a passkey digit are labelled, so the model must emit the digits one by one after
// "The pass key is" (teacher forced). Exact match over an example = all digits right.
// The needle goes between filler sentences, at the sentence boundary nearest depth * haystack
// length (0: right after the instruction, 1: right before the question).
#pragma once
#include <cstdint>
#include <optional>

#include "datasets/token_dataset.h"

namespace seqbench {

struct PasskeyParams {
  int seq_len = 256;
  std::optional<double> depth = 0.5;  // fraction in [0, 1]; nullopt: uniform random per example
  int num_digits = 5;                 // the first digit is 1-9, the others 0-9
  bool instruction = true;            // start with the task description sentence block
};

// Fewest tokens seq_len must hold for these params (an empty haystack).
int passkey_min_seq_len(const PasskeyParams& params);

// Throws std::invalid_argument naming the parameter, its value and the constraint it breaks.
void validate_passkey_params(const PasskeyParams& params);

// Example i depends only on (params, seed, i): it uses the stream Rng::derive(seed, i).
// vocab_size is the word vocabulary's size.
TokenDataset generate_passkey(const PasskeyParams& params, int64_t num_examples, uint64_t seed);

}  // namespace seqbench
