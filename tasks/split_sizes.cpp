#include "tasks/split_sizes.h"

#include <limits>
#include <stdexcept>

#include "tasks/task_params.h"

namespace seqbench {
namespace {

int64_t split_size(const nlohmann::json& params, const std::string& task, const std::string& key) {
  const int64_t size = int_task_param(params, task, key, std::numeric_limits<int64_t>::min(),
                                      std::numeric_limits<int64_t>::max());
  if (size < 1)
    throw std::invalid_argument("task '" + task + "': parameter '" + key + "' must be >= 1 (an empty split " +
                                "cannot train, choose a learning rate or be scored), got " + std::to_string(size));
  return size;
}

}  // namespace

SplitSizes split_sizes_param(const nlohmann::json& params, const std::string& task) {
  SplitSizes sizes;
  sizes.num_train = split_size(params, task, "num_train");
  sizes.num_test = split_size(params, task, "num_test");
  const bool valid_follows_test = !params.contains("num_valid") || params.at("num_valid").is_null();
  sizes.num_valid = valid_follows_test ? sizes.num_test : split_size(params, task, "num_valid");
  return sizes;
}

nlohmann::json with_one_example_per_split(nlohmann::json overrides) {
  overrides["num_train"] = 1;
  overrides["num_test"] = 1;
  if (overrides.contains("num_valid") && !overrides["num_valid"].is_null()) overrides["num_valid"] = 1;
  // mqar's training mixture lists its own counts: [seq_len, num_kv_pairs, num_examples].
  if (overrides.contains("train_segments") && overrides["train_segments"].is_array())
    for (auto& segment : overrides["train_segments"])
      if (segment.is_array() && segment.size() == 3) segment[2] = 1;
  return overrides;
}

nlohmann::json with_split_sizes(nlohmann::json params, const SplitSizes& sizes) {
  params["num_valid"] = sizes.num_valid;
  return params;
}

}  // namespace seqbench
