// Zoology's MQAR data as its experiments build it: a training split that is a mixture of
// (sequence length, kv pairs) segments, and valid and test splits made of several test segments
// (zoology/experiments/paper_configs/arxiv24_based_figure2/configs.py: train on 64/4, 128/8,
// 256/16, 256/32, 256/64; test on 64/4, 64/8, 64/16, 128/32, 256/64, 512/128, 1024/256).
//
// mqar parameters:
//   train_segments: [[seq_len, num_kv_pairs, num_examples], ...]: the training split is these
//     segments (seq_len, num_kv_pairs and num_train are then not used for training).
//   test_segments: [[seq_len, num_kv_pairs], ...]: the valid and test splits are these segments,
//     num_valid and num_test examples each; segment i is labelled "kv<num_kv_pairs>" (kv counts
//     must differ), so the runner stores accuracy@kv<N> per segment and `accuracy` as their mean.
// Every segment is generated like a plain mqar split with the task's vocab_size, power_a,
// num_passes and random_non_queries, from its own seed stream. In a sweep, write each list
// nested once more ([[[64, 4, 1000], [128, 8, 1000]]]), since lists are axes.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "datasets/mqar_generator.h"
#include "tasks/task.h"

namespace seqbench {

struct MqarSegmentSpec {
  int seq_len = 0;
  int num_kv_pairs = 0;
  int64_t num_examples = 0;  // train segments only
};

// The segments a parameter lists (empty when the list is empty); throws std::invalid_argument
// naming the parameter for a malformed entry.
std::vector<MqarSegmentSpec> mqar_segments_param(const nlohmann::json& params, const char* key, bool with_counts);

// The splits of an mqar task that has train_segments or test_segments. `base` holds the shared
// generator parameters; the plain train (or test) split stands in for a list that is empty.
TaskInstance build_segmented_mqar(const nlohmann::json& params, uint64_t seed, const MqarParams& base);

// Tokens (inputs) of every split the segment lists ask for, for the memory check.
double mqar_segment_tokens(const nlohmann::json& params);

}  // namespace seqbench
