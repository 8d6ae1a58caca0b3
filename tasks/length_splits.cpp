#include "tasks/length_splits.h"

#include <algorithm>
#include <stdexcept>

#include "ops/rng.h"
#include "tasks/structured_task_params.h"

namespace seqbench {
namespace {

// Stream labels for the length splits sit far above the train/test labels (1, 2) tasks use.
constexpr uint64_t kLengthSplitStreams = uint64_t{1} << 32;
constexpr int64_t kMaxTestLength = int64_t{1} << 24;

}  // namespace

std::vector<int> test_lengths_param(const nlohmann::json& params, const std::string& task) {
  const std::vector<int64_t> raw = int_list_task_param(params, task, "test_lengths", 1, kMaxTestLength);
  std::vector<int> lengths(raw.begin(), raw.end());
  for (size_t i = 0; i < lengths.size(); ++i)
    if (std::find(lengths.begin(), lengths.begin() + i, lengths[i]) != lengths.begin() + i)
      throw std::invalid_argument("task '" + task + "': parameter 'test_lengths' lists " +
                                  std::to_string(lengths[i]) + " twice, got " + params.at("test_lengths").dump());
  return lengths;
}

std::string length_split_label(int length) { return "len" + std::to_string(length); }

void add_length_splits(TaskInstance& instance, const std::vector<int>& lengths, uint64_t seed,
                       const std::function<TokenDataset(int length, uint64_t split_seed)>& make) {
  for (int length : lengths)
    instance.tests.push_back(
        {length_split_label(length), make(length, Rng::derive(seed, kLengthSplitStreams + static_cast<uint64_t>(length)))});
}

}  // namespace seqbench
