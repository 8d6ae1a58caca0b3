// Multi-query associative recall (MQAR), as defined by Zoology (Arora, Eyuboglu et al. 2023,
// "Zoology: Measuring and improving recall in efficient language models",
// HazyResearch/zoology, zoology/data/multiquery_ar.py).
//
// One example, for num_kv_pairs = 2, num_passes = 1, random_non_queries = false:
//   inputs:  k1   v1   k2   v2   0    0    k2   0    0    0    0    0    k1   0    0  ...
//   labels: -100 -100 -100 -100 -100 -100  v2  -100 -100 -100 -100 -100  v1  -100 -100 ...
// A labelled position holds a query key in the inputs and that key's value in the labels: the
// model must emit the value when it reads the key again. Keys come from [1, vocab_size/2), values
// from [vocab_size/2, vocab_size). Query gaps follow a power law, so short gaps dominate when
// power_a is small; power_a = 1 makes them uniform.
#pragma once
#include <cstdint>

#include "datasets/token_dataset.h"

namespace seqbench {

struct MqarParams {
  int vocab_size = 8192;
  int seq_len = 64;              // model input length (Zoology's input_seq_len); must be even
  int num_kv_pairs = 4;
  double power_a = 0.01;         // gap g has probability proportional to (g+1)^(power_a-1)
  int num_passes = 1;            // >1 repeats the kv block ("Just read twice", Arora et al. 2024)
  bool random_non_queries = true;  // fill non-query positions with uniform tokens instead of 0
};

// Throws std::invalid_argument naming the parameter, its value and the constraint it breaks.
void validate_mqar_params(const MqarParams& params);

// num_examples examples of length params.seq_len. Example i depends only on (params, seed, i)
// (it uses the stream Rng::derive(seed, i)), so it does not change with num_examples and the
// examples can be generated in parallel.
TokenDataset generate_mqar(const MqarParams& params, int64_t num_examples, uint64_t seed);

}  // namespace seqbench
