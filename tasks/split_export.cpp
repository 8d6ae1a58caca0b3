#include "tasks/split_export.h"


#include "datasets/dataset_export.h"

namespace seqbench {
namespace {

constexpr int kSplitDescriptionVersion = 1;

std::string file_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string split_description_path(const std::string& data_path) { return data_path + ".meta.json"; }

nlohmann::json split_description(const TaskInstance& instance, const std::string& split, const TokenDataset& data,
                                 uint64_t seed, const std::string& data_path, const std::string& format) {
  const std::string ids = data.num_examples > 0
                              ? example_id(split, 0) + " .. " + example_id(split, data.num_examples - 1)
                              : std::string("none");
  return {{"format", "seqbench-split"},
          {"version", kSplitDescriptionVersion},
          {"task", instance.name},
          {"params", instance.params},
          {"seed", seed},
          {"split", split},
          {"data_file", file_name(data_path)},
          {"data_format", format},
          {"num_examples", data.num_examples},
          {"seq_len", data.seq_len},
          {"vocab_size", data.vocab_size},
          {"ids", ids},
          {"labels", "labels[t] is the token to emit after reading inputs[0..t]; -100 where nothing is scored"},
          {"vocabulary", instance.vocabulary}};
}

}  // namespace seqbench
