// A task: a parameterised, seeded generator of train/valid/test splits plus how predictions are
// scored.
// Parameters come as JSON so sweeps can set them; unknown parameters are an error.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "datasets/token_dataset.h"

namespace seqbench {

struct TaskEvaluation {
  std::string label;     // metric suffix, e.g. "" for the trained length, "len512" for longer tests
  TokenDataset data;
};

struct TaskInstance {
  std::string name;
  nlohmann::json params;  // every parameter, defaults filled in (null defaults as they resolved)
  TokenDataset train;
  TokenDataset valid;     // held out: learning-rate choice and early stopping read this, never tests
  nlohmann::json vocabulary;  // what the token ids mean (tasks/token_vocabulary.h)
  std::vector<TaskEvaluation> tests;  // tests[0] is the test split at the trained length
  int32_t vocab_size = 0;
  int64_t seq_len = 0;   // training length
};

struct TaskDefinition {
  std::string name;
  std::string description;
  nlohmann::json defaults;  // every accepted parameter with its default value
  // Builds every split from fully-resolved params and sets the instance's params (with null
  // defaults replaced by what they resolved to); throws std::invalid_argument on impossible
  // parameters (naming the parameter, its value and the constraint).
  std::function<TaskInstance(const nlohmann::json& params, uint64_t seed)> build;
};

const std::vector<TaskDefinition>& task_definitions();
const TaskDefinition& find_task(const std::string& name);  // throws std::invalid_argument
// Defaults overlaid with overrides; throws std::invalid_argument on an unknown key.
nlohmann::json resolve_task_params(const TaskDefinition& task, const nlohmann::json& overrides);
TaskInstance build_task(const std::string& name, const nlohmann::json& overrides, uint64_t seed);

struct SegmentScore;

struct TaskScore {
  double accuracy = 0;      // over labelled positions
  double exact_match = 0;   // fraction of examples whose labelled positions are all right
  // Each example's accuracy, averaged over examples: the joint recall paper's metric (HAX
  // scripts/joint_recall.py, Trainer.forward), where examples hold 25 to 256 asked keys.
  double mean_example_accuracy = 0;
  int64_t labelled = 0;
  int64_t examples = 0;
  // A split made of segments (TokenDataset::segments) is scored per segment, here in its order,
  // and its accuracy, exact match and mean example accuracy are the means of its segments' figures:
  // each segment counts the same, as Zoology averages over its test segments (of equal sizes).
  // Pooled over positions instead, the longest segment (256 queries an example against 4) would
  // decide the score alone. labelled and examples stay totals.
  std::vector<SegmentScore> segments;
};

struct SegmentScore {
  std::string label;
  TaskScore score;  // its own segments list is empty
};

// predictions: [num_examples, seq_len] argmax tokens (only labelled positions are read).
TaskScore score_predictions(const TokenDataset& data, const std::vector<int32_t>& predictions);

}  // namespace seqbench
