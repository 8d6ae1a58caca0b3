// The "joint_recall" task: recall the value of a key in a given context (Zhan et al. 2025). Two
// layouts:
//   "hax" (default)  the paper's own data, as its script builds it
//                    (datasets/joint_recall_table_generator.h): a table of n_c contexts x n_k keys
//                    written twice, the second time with every key asked; n_c and n_k mixed over a
//                    grid; every example of every split distinct.
//   "mqar"           an MQAR-style variant (datasets/joint_recall_generator.h): context blocks, then
//                    (context, key) queries at random offsets among filler; supports test_lengths.
// Parameters (defaults in joint_recall_defaults; a parameter of the other layout must stay at its
// default, so a sweep cannot vary something the chosen layout ignores):
//   layout                         "hax" or "mqar"
//   vocab_size                     null: 100 for hax (the paper's models), 8192 for mqar
//   seq_len                        null: hax's 2*max_contexts*(2*max_keys+1)+1 (set it only to that
//                                  value), 128 for mqar
//   hax:  min_contexts, max_contexts  n_c range (the script's 5 and max_n_context=16)
//         min_keys, max_keys          n_k range (the script's 5 and max_n_key=16)
//         num_values                  distinct values (the script's n_value=16)
//   mqar: num_contexts, num_kv_pairs, num_queries, random_non_queries, test_lengths
//   num_train, num_valid, num_test split sizes (tasks/split_sizes.h). The paper's full data is
//                                  10,000 train and 100 valid / 100 test per (n_c, n_k): with the
//                                  144-shape default grid, num_train=1440000, num_test=14400.
#include <algorithm>
#include <string>

#include "datasets/joint_recall_generator.h"
#include "datasets/joint_recall_table_generator.h"
#include "tasks/recall_task_instance.h"
#include "tasks/structured_task_params.h"
#include "tasks/task_params.h"
#include "tasks/token_vocabulary.h"

namespace seqbench {
namespace {

const char* const kTask = "joint_recall";

nlohmann::json joint_recall_defaults() {
  return {{"layout", "hax"},          {"vocab_size", nullptr},   {"seq_len", nullptr},
          {"min_contexts", 5},        {"max_contexts", 16},      {"min_keys", 5},
          {"max_keys", 16},           {"num_values", 16},        {"num_contexts", 4},
          {"num_kv_pairs", 4},        {"num_queries", 8},        {"random_non_queries", true},
          {"num_train", 10000},       {"num_test", 1000},        {"num_valid", nullptr},
          {"test_lengths", nlohmann::json::array()}};
}

const std::vector<std::string> kHaxOnly = {"min_contexts", "max_contexts", "min_keys", "max_keys", "num_values"};
const std::vector<std::string> kMqarOnly = {"num_contexts", "num_kv_pairs", "num_queries", "random_non_queries",
                                            "test_lengths"};

void require_defaults(const nlohmann::json& params, const std::vector<std::string>& keys, const std::string& layout,
                      const std::string& other) {
  const nlohmann::json defaults = joint_recall_defaults();
  for (const std::string& key : keys)
    if (params.contains(key) && params.at(key) != defaults.at(key))
      throw std::invalid_argument("task '" + std::string(kTask) + "': parameter '" + key + "' belongs to layout \"" +
                                  other + "\" and must stay " + defaults.at(key).dump() + " with layout \"" + layout +
                                  "\", got " + params.at(key).dump());
}

// A null vocab_size or seq_len as the layout's default; written back so the stored parameters say it.
int resolve_int(nlohmann::json& params, const std::string& key, int64_t layout_default) {
  if (params.at(key).is_null()) params[key] = layout_default;
  return static_cast<int>(int_task_param(params, kTask, key));
}

TaskInstance build_mqar_layout(nlohmann::json params, uint64_t seed) {
  require_defaults(params, kHaxOnly, "mqar", "hax");
  JointRecallParams p;
  p.vocab_size = resolve_int(params, "vocab_size", 8192);
  p.seq_len = resolve_int(params, "seq_len", 128);
  p.num_contexts = static_cast<int>(int_task_param(params, kTask, "num_contexts"));
  p.num_kv_pairs = static_cast<int>(int_task_param(params, kTask, "num_kv_pairs"));
  p.num_queries = static_cast<int>(int_task_param(params, kTask, "num_queries"));
  p.random_non_queries = bool_task_param(params, kTask, "random_non_queries");
  // One shape for training and testing: the test split differs only in its seed stream.
  TaskInstance instance =
      build_recall_task_instance(kTask, params, seed, p, p, validate_joint_recall_params, generate_joint_recall);
  const int64_t V = p.vocab_size;
  instance.vocabulary = id_token_vocabulary(
      V, {{"context", 1, V / 8 - 1}, {"key", V / 8, V / 2 - 1}, {"value", V / 2, V - 1}}, nullptr,
      query_filler_note(p.random_non_queries, V) + "; labels sit on the key of each (context, key) query");
  return instance;
}

// prepare_data(): train, valid, test in that order, sharing one set of the examples seen.
TaskInstance build_hax_layout(nlohmann::json params, uint64_t seed) {
  require_defaults(params, kMqarOnly, "hax", "mqar");
  JointRecallTableParams p;
  p.min_contexts = static_cast<int>(int_task_param(params, kTask, "min_contexts"));
  p.max_contexts = static_cast<int>(int_task_param(params, kTask, "max_contexts"));
  p.min_keys = static_cast<int>(int_task_param(params, kTask, "min_keys"));
  p.max_keys = static_cast<int>(int_task_param(params, kTask, "max_keys"));
  p.num_values = static_cast<int>(int_task_param(params, kTask, "num_values"));
  p.vocab_size = resolve_int(params, "vocab_size", 100);
  validate_joint_recall_table_params(p);
  const int64_t seq_len = joint_recall_table_seq_len(p);
  if (resolve_int(params, "seq_len", seq_len) != seq_len)
    throw std::invalid_argument("task '" + std::string(kTask) + "': with layout \"hax\" seq_len follows from " +
                                "max_contexts and max_keys, 2*max_contexts*(2*max_keys+1)+1 = " +
                                std::to_string(seq_len) + "; leave it null, got " + params.at("seq_len").dump());
  const SplitSizes sizes = split_sizes_param(params, kTask);
  validate_joint_recall_table_capacity(p, {sizes.num_train, sizes.num_valid, sizes.num_test});

  TaskInstance instance;
  instance.name = kTask;
  instance.params = with_split_sizes(params, sizes);
  DistinctExamples seen;
  instance.train = generate_joint_recall_table(p, sizes.num_train, Rng::derive(seed, kRecallTrainStream), seen);
  instance.valid = generate_joint_recall_table(p, sizes.num_valid, Rng::derive(seed, kRecallValidStream), seen);
  instance.tests.push_back(
      {"", generate_joint_recall_table(p, sizes.num_test, Rng::derive(seed, kRecallTestStream), seen)});
  instance.vocab_size = p.vocab_size;
  instance.seq_len = seq_len;
  const int64_t first_key = joint_recall_key_token(p, 0), first_context = joint_recall_context_token(p, 0);
  instance.vocabulary = id_token_vocabulary(
      p.vocab_size,
      {{"value", joint_recall_value_token(p, 0), first_key - 1},
       {"key", first_key, first_context - 1},
       {"context", first_context, joint_recall_table_min_vocab(p) - 1}},
      {{"BOS", kJointRecallBos}, {"PAD", kJointRecallPad}, {"SEP", kJointRecallSep}},
      "labels sit on the keys after SEP; other ids are unused");
  return instance;
}

TaskInstance build_joint_recall(const nlohmann::json& params, uint64_t seed) {
  const std::string layout = choice_task_param(params, kTask, "layout", {"hax", "mqar"});
  return layout == "hax" ? build_hax_layout(params, seed) : build_mqar_layout(params, seed);
}

}  // namespace

TaskDefinition joint_recall_task_definition() {
  return {kTask,
          "Joint recall (Zhan et al. 2025): several contexts give the same keys different values; the model "
          "must recall a key's value in a named context. Layout \"hax\" (default) is the paper's data: a "
          "table of 5-16 contexts x 5-16 keys written twice, every key of the second copy asked; \"mqar\" "
          "puts (context, key) queries among filler",
          joint_recall_defaults(), build_joint_recall};
}

}  // namespace seqbench
