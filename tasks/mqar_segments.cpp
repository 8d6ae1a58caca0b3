#include "tasks/mqar_segments.h"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>

#include "ops/rng.h"
#include "tasks/recall_task_instance.h"
#include "tasks/split_sizes.h"

namespace seqbench {
namespace {

constexpr int64_t kMaxSegmentLength = int64_t{1} << 24;
constexpr int64_t kMaxSegmentExamples = int64_t{1} << 40;

[[noreturn]] void bad_segment(const char* key, const nlohmann::json& value, const std::string& expected) {
  throw std::invalid_argument("task 'mqar': parameter '" + std::string(key) + "' expects " + expected + ", got " +
                              value.dump());
}

int64_t integer_in(const nlohmann::json& v, int64_t lo, int64_t hi) {
  if (!v.is_number()) return lo - 1;
  const double d = v.get<double>();
  if (d != static_cast<double>(static_cast<int64_t>(d)) || d < lo || d > hi) return lo - 1;
  return static_cast<int64_t>(d);
}

TokenDataset segment_split(const std::vector<MqarSegmentSpec>& segments, const MqarParams& base,
                           int64_t examples_each, uint64_t stream_seed) {
  std::vector<std::pair<std::string, TokenDataset>> parts;
  for (size_t i = 0; i < segments.size(); ++i) {
    MqarParams p = base;
    p.seq_len = segments[i].seq_len;
    p.num_kv_pairs = segments[i].num_kv_pairs;
    const int64_t n = examples_each > 0 ? examples_each : segments[i].num_examples;
    parts.emplace_back("kv" + std::to_string(p.num_kv_pairs), generate_mqar(p, n, Rng::derive(stream_seed, i)));
  }
  return concatenate_segments(std::move(parts));
}

}  // namespace

std::vector<MqarSegmentSpec> mqar_segments_param(const nlohmann::json& params, const char* key, bool with_counts) {
  std::vector<MqarSegmentSpec> out;
  if (!params.contains(key)) return out;
  const nlohmann::json& list = params.at(key);
  const std::string expected = with_counts ? "a list of [seq_len, num_kv_pairs, num_examples] triples of positive integers"
                                           : "a list of [seq_len, num_kv_pairs] pairs of positive integers";
  if (!list.is_array()) bad_segment(key, list, expected);
  std::set<int> kv_counts;
  for (const auto& entry : list) {
    if (!entry.is_array() || entry.size() != (with_counts ? 3u : 2u)) bad_segment(key, list, expected);
    MqarSegmentSpec s;
    s.seq_len = static_cast<int>(integer_in(entry[0], 1, kMaxSegmentLength));
    s.num_kv_pairs = static_cast<int>(integer_in(entry[1], 1, kMaxSegmentLength));
    if (with_counts) s.num_examples = integer_in(entry[2], 1, kMaxSegmentExamples);
    if (s.seq_len < 1 || s.num_kv_pairs < 1 || (with_counts && s.num_examples < 1)) bad_segment(key, list, expected);
    // Test segments are stored as accuracy@kv<N>: two with one kv count would share a name.
    if (!with_counts && !kv_counts.insert(s.num_kv_pairs).second)
      bad_segment(key, list, "segments with different num_kv_pairs (each is stored as accuracy@kv<N>)");
    out.push_back(s);
  }
  return out;
}

TaskInstance build_segmented_mqar(const nlohmann::json& params, uint64_t seed, const MqarParams& base) {
  const auto train_segments = mqar_segments_param(params, "train_segments", true);
  const auto test_segments = mqar_segments_param(params, "test_segments", false);
  if (!test_segments.empty() &&
      ((params.contains("test_lengths") && !params.at("test_lengths").empty()) ||
       (params.contains("test_num_kv_pairs") && !params.at("test_num_kv_pairs").is_null())))
    throw std::invalid_argument(
        "task 'mqar': test_segments replaces test_lengths and test_num_kv_pairs; give one or the other");
  const SplitSizes sizes = split_sizes_param(params, "mqar");
  auto validated = [&](const MqarSegmentSpec& s) {
    MqarParams p = base;
    p.seq_len = s.seq_len;
    p.num_kv_pairs = s.num_kv_pairs;
    validate_mqar_params(p);
  };
  for (const auto& s : train_segments) validated(s);
  for (const auto& s : test_segments) validated(s);
  validate_mqar_params(base);

  const std::vector<MqarSegmentSpec> train_list =
      train_segments.empty() ? std::vector<MqarSegmentSpec>{{base.seq_len, base.num_kv_pairs, sizes.num_train}}
                             : train_segments;
  const std::vector<MqarSegmentSpec> test_list =
      test_segments.empty() ? std::vector<MqarSegmentSpec>{{base.seq_len, base.num_kv_pairs, 0}} : test_segments;
  TaskInstance instance;
  instance.name = "mqar";
  instance.params = with_split_sizes(params, sizes);
  instance.train = segment_split(train_list, base, 0, Rng::derive(seed, kRecallTrainStream));
  instance.valid = segment_split(test_list, base, sizes.num_valid, Rng::derive(seed, kRecallValidStream));
  instance.tests.push_back({"", segment_split(test_list, base, sizes.num_test, Rng::derive(seed, kRecallTestStream))});
  // A single segment is a plain split: no per-segment scores to report.
  for (TokenDataset* split : {&instance.train, &instance.valid, &instance.tests[0].data})
    if (split->segments.size() == 1) split->segments.clear();
  instance.vocab_size = base.vocab_size;
  instance.seq_len = instance.train.seq_len;
  return instance;
}

double mqar_segment_tokens(const nlohmann::json& params) {
  double tokens = 0;
  const double valid = params.contains("num_valid") && params["num_valid"].is_number() ? params["num_valid"].get<double>()
                       : params.value("num_test", 0.0);
  const double test = params.value("num_test", 0.0);
  try {
    const auto train = mqar_segments_param(params, "train_segments", true);
    const auto tests = mqar_segments_param(params, "test_segments", false);
    if (train.empty() && tests.empty()) return 0;
    int64_t train_len = 0, test_len = 0;
    double train_examples = 0;
    for (const auto& s : train) train_len = std::max<int64_t>(train_len, s.seq_len), train_examples += s.num_examples;
    for (const auto& s : tests) test_len = std::max<int64_t>(test_len, s.seq_len);
    if (train.empty()) train_len = params.value("seq_len", 0), train_examples = params.value("num_train", 0.0);
    if (tests.empty()) test_len = params.value("seq_len", 0);
    // Rows are padded to each split's longest segment.
    tokens = train_examples * train_len + (valid + test) * std::max<size_t>(tests.size(), 1) * test_len;
  } catch (const std::invalid_argument&) {
    return 0;  // the task's own validation reports it
  }
  return tokens;
}

}  // namespace seqbench
