// A task's splits are generated in memory (inputs and labels, int32 each). Asking for more than
// the machine has (num_test=100000000000) would end in std::bad_alloc halfway through; this
// check turns it into a validation error, so --dry-run and `dataset export` catch it up front.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace seqbench {

// Bytes of inputs and labels of the train split, the test split and every length split of
// `task` with `overrides` over its defaults (0 when the parameters are not numbers: the task's
// own validation names those).
double task_split_bytes(const std::string& task, const nlohmann::json& overrides);

// Throws std::invalid_argument naming the task, the sizes and the machine's memory when the
// splits would not fit in physical memory.
void check_task_fits_in_memory(const std::string& task, const nlohmann::json& overrides);

}  // namespace seqbench
