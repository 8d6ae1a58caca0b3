// What the profiler measures for a cell: the sweep's "profile" object.
//
//   "profile": {"prefill_lengths": [64, 256, 1024], "decode_context": 512, "decode_tokens": 32,
//               "train_step": true, "batch": 1, "train_batch": 0, "clock": "wall",
//               "target_rel_noise": 0.02, "budget_s": 1.0, "warmup": 1,
//               "min_repetitions": 5, "max_repetitions": 10000}
//
// Lists here are not grid axes: every cell measures every listed length.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/timing_stats.h"

namespace seqbench {

struct ProfileSpec {
  std::vector<int> prefill_lengths;  // prefill latency and memory at each length
  int decode_context = 0;            // 0: no decode measurement
  int decode_tokens = 16;            // decode steps timed after a prefill of decode_context tokens
  bool train_step = false;           // time forward + backward + AdamW on one training batch
  int batch = 1;                     // sequences per prefill / decode call
  int train_batch = 0;               // sequences per training step; 0: the cell's batch_size
  std::string clock = "wall";        // wall | cpu (process CPU time: steadier on a shared machine)
  RepetitionPolicy repetitions;

  bool enabled() const { return !prefill_lengths.empty() || decode_context > 0 || train_step; }
  nlohmann::json to_json() const;
};

// Parses the sweep's "profile" object; throws std::invalid_argument naming the bad key or value
// (unknown keys are errors, as everywhere in a sweep).
ProfileSpec parse_profile_spec(const nlohmann::json& obj);

}  // namespace seqbench
