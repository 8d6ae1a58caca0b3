// How many examples each split of a task holds: "num_train", "num_valid" and "num_test", which
// every task accepts. The valid split is held-out data for choosing the learning rate and for
// early stopping, so the test split is only ever read for the reported score. "num_valid" null
// (the default) means num_test: valid and test the same size, as in the joint recall paper's
// data script (HAX's n_test_per_context_key sizes both) and in Zoology (which validates on its
// test set).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace seqbench {

struct SplitSizes {
  int64_t num_train = 0, num_valid = 0, num_test = 0;
};

// Throws std::invalid_argument naming the parameter when a size is not an integer or is below 1:
// an empty split can neither train, choose a learning rate, nor be scored.
SplitSizes split_sizes_param(const nlohmann::json& params, const std::string& task);

// The overrides of the smallest instance of a task: one example in every split (and in every
// training segment of a segmented task), whatever else they set. Validation builds it to check a
// task's other parameters in an instant.
nlohmann::json with_one_example_per_split(nlohmann::json overrides);

// `params` with "num_valid" set to the size it resolved to, so stored parameters say it.
nlohmann::json with_split_sizes(nlohmann::json params, const SplitSizes& sizes);

}  // namespace seqbench
