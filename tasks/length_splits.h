// Length extrapolation: the "test_lengths" parameter every recall task accepts. For each length N
// the task adds a test split generated exactly like its test split but at seq_len N, labelled
// "len<N>", so the runner stores accuracy@len<N> (train at seq_len, test at N). Models need
// position "sinusoidal" or "none" to run past their training length; the runner sizes the model
// for the longest split.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tasks/task.h"

namespace seqbench {

// The "test_lengths" list (empty when absent); each length in [1, 2^24], no repeats.
std::vector<int> test_lengths_param(const nlohmann::json& params, const std::string& task);

std::string length_split_label(int length);  // "len512"

// Appends one split per length: make(length, split_seed), with split seeds derived from `seed`
// and the length (independent of the train and test streams and of the other lengths).
void add_length_splits(TaskInstance& instance, const std::vector<int>& lengths, uint64_t seed,
                       const std::function<TokenDataset(int length, uint64_t split_seed)>& make);

}  // namespace seqbench
