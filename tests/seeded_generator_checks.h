// The contract every seeded dataset generator keeps (datasets/seeded_examples.h): example i comes
// from its own stream, so the same seed gives the same examples, a larger count only appends
// examples, and another seed gives other ones.
#pragma once
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "datasets/token_dataset.h"

namespace seqbench::testing {

// generate(num_examples, seed) returns a TokenDataset. Checks `count` examples at seed against a
// second draw, against the first `count` of `more` examples, and against seed + 1.
template <class Generate>
void check_seeded_generator(const Generate& generate, int64_t count, int64_t more, uint64_t seed) {
  const TokenDataset a = generate(count, seed);
  const TokenDataset again = generate(count, seed);
  CHECK(a.inputs == again.inputs);
  CHECK(a.labels == again.labels);
  const TokenDataset longer = generate(more, seed);
  CHECK(std::vector<int32_t>(longer.inputs.begin(), longer.inputs.begin() + a.inputs.size()) == a.inputs);
  CHECK(std::vector<int32_t>(longer.labels.begin(), longer.labels.begin() + a.labels.size()) == a.labels);
  const TokenDataset other = generate(count, seed + 1);
  CHECK(other.inputs != a.inputs);
  CHECK(other.labels != a.labels);
}

}  // namespace seqbench::testing
