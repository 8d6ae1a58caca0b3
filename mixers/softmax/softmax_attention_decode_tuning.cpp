#include "mixers/softmax/softmax_attention_decode_tuning.h"

#include <climits>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

namespace seqbench {
namespace {

// A positive integer from the environment, 0 when the variable is unset.
int positive_env(const char* name) {
  const char* text = std::getenv(name);
  if (!text) return 0;
  char* end = nullptr;
  const long long n = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || n < 1 || n > INT_MAX)
    throw std::invalid_argument(std::string(name) + " must be a positive integer, got '" + text + "'");
  return static_cast<int>(n);
}

std::mutex tuning_mutex;
bool tuning_read = false;
DecodeTuning tuning_now;

}  // namespace

DecodeTuning decode_tuning() {
  std::lock_guard<std::mutex> lock(tuning_mutex);
  if (!tuning_read) {
    tuning_now = {positive_env("SEQBENCH_DECODE_HEADS"),          positive_env("SEQBENCH_DECODE_STAGES"),
                  positive_env("SEQBENCH_DECODE_BLOCKS_PER_SM"),  positive_env("SEQBENCH_DECODE_SPLITS"),
                  positive_env("SEQBENCH_DECODE_MIN_SPLIT_ROWS"), positive_env("SEQBENCH_DECODE_L2_PREFETCH"),
                  positive_env("SEQBENCH_DECODE_BULK"),           positive_env("SEQBENCH_DECODE_SHARED"),
                  positive_env("SEQBENCH_DECODE_DIRECT_ROWS"),    positive_env("SEQBENCH_DECODE_DIRECT_AHEAD"),
                  positive_env("SEQBENCH_DECODE_DIRECT_HINT"),    positive_env("SEQBENCH_DECODE_MERGE_LANES")};
    tuning_read = true;
  }
  return tuning_now;
}

void set_decode_tuning(const DecodeTuning& tuning) {
  std::lock_guard<std::mutex> lock(tuning_mutex);
  tuning_now = tuning;
  tuning_read = true;
}

std::string decode_tuning_text(const DecodeTuning& t) {
  std::string text;
  auto add = [&](const char* name, int value) {
    if (value > 0) text += (text.empty() ? "" : ", ") + std::string(name) + " " + std::to_string(value);
  };
  add("heads", t.heads_per_block);
  add("stages", t.stages);
  add("blocks/SM", t.blocks_per_sm);
  add("splits", t.splits);
  add("min split rows", t.min_split_rows);
  add("L2 prefetch", t.l2_prefetch_bytes);
  add("bulk copy", t.bulk_copy);
  add("shared pipeline", t.shared_pipeline);
  add("direct rows", t.direct_rows);
  add("direct ahead", t.direct_ahead);
  add("direct hint", t.direct_hint);
  add("merge lanes", t.merge_lanes);
  return text.empty() ? "planned" : text;
}

}  // namespace seqbench
