#include "harness/profile_spec.h"

#include <set>
#include <stdexcept>
#include <string>

namespace seqbench {
namespace {

const std::set<std::string> kProfileKeys{"prefill_lengths", "decode_context", "decode_tokens", "train_step",
                                         "batch", "train_batch", "clock", "target_rel_noise", "budget_s", "warmup",
                                         "min_repetitions", "max_repetitions"};

[[noreturn]] void fail(const std::string& key, const std::string& what) {
  throw std::invalid_argument("sweep profile." + key + ": " + what);
}

// Lengths the profiler builds a model and inputs for: beyond 2^20 tokens the model's position
// table, KV cache and activations stop fitting in memory, so such a sweep fails in validation
// (and --dry-run) instead of with std::bad_alloc mid-run.
constexpr int kMaxProfileTokens = 1 << 20;
constexpr int kMaxProfileBatch = 4096;
constexpr int kMaxRepetitions = 1'000'000'000;

int get_int(const nlohmann::json& obj, const char* key, int fallback, int minimum, int maximum) {
  if (!obj.contains(key)) return fallback;
  const auto& v = obj.at(key);
  if (!v.is_number_integer()) fail(key, "expected an integer, got " + v.dump());
  if (v.is_number_unsigned() ? v.get<uint64_t>() > static_cast<uint64_t>(maximum) : v.get<int64_t>() > maximum)
    fail(key, v.dump() + " is more than the " + std::to_string(maximum) + " the profiler can measure in memory");
  const int64_t value = v.get<int64_t>();
  if (value < minimum) fail(key, "expected an integer >= " + std::to_string(minimum) + ", got " + v.dump());
  return static_cast<int>(value);
}

double get_double(const nlohmann::json& obj, const char* key, double fallback) {
  if (!obj.contains(key)) return fallback;
  const auto& v = obj.at(key);
  if (!v.is_number() || v.get<double>() < 0) fail(key, "expected a non-negative number, got " + v.dump());
  return v.get<double>();
}

}  // namespace

nlohmann::json ProfileSpec::to_json() const {
  const RepetitionPolicy& r = repetitions;
  return {{"prefill_lengths", prefill_lengths}, {"decode_context", decode_context},
          {"decode_tokens", decode_tokens},     {"train_step", train_step},
          {"batch", batch},                     {"train_batch", train_batch},
          {"clock", clock},
          {"target_rel_noise", r.target_rel_noise}, {"budget_s", r.budget_s},
          {"warmup", r.warmup},                 {"min_repetitions", r.min_repetitions},
          {"max_repetitions", r.max_repetitions}};
}

ProfileSpec parse_profile_spec(const nlohmann::json& obj) {
  if (!obj.is_object()) throw std::invalid_argument("sweep profile: expected a JSON object, got " + obj.dump());
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (!kProfileKeys.count(it.key())) {
      std::string known;
      for (const auto& k : kProfileKeys) known += (known.empty() ? "" : ", ") + k;
      fail(it.key(), "unknown key (known: " + known + ")");
    }
  ProfileSpec spec;
  if (obj.contains("prefill_lengths")) {
    const auto& lengths = obj["prefill_lengths"];
    const auto list = lengths.is_array() ? lengths : nlohmann::json::array({lengths});
    for (const auto& v : list) {
      if (!v.is_number_integer() || v.get<int64_t>() < 1)
        fail("prefill_lengths", "expected positive integers, got " + v.dump());
      if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(kMaxProfileTokens))
        fail("prefill_lengths", v.dump() + " tokens is more than the " + std::to_string(kMaxProfileTokens) +
                                    " a prefill can hold in memory");
      spec.prefill_lengths.push_back(v.get<int>());
    }
  }
  spec.decode_context = get_int(obj, "decode_context", spec.decode_context, 0, kMaxProfileTokens);
  spec.decode_tokens = get_int(obj, "decode_tokens", spec.decode_tokens, 1, kMaxProfileTokens);
  if (spec.decode_context + spec.decode_tokens > kMaxProfileTokens)
    fail("decode_context", "decode_context + decode_tokens is more than the " + std::to_string(kMaxProfileTokens) +
                               " tokens a decode cache can hold in memory");
  if (obj.contains("train_step")) {
    if (!obj["train_step"].is_boolean()) fail("train_step", "expected true or false, got " + obj["train_step"].dump());
    spec.train_step = obj["train_step"].get<bool>();
  }
  spec.batch = get_int(obj, "batch", spec.batch, 1, kMaxProfileBatch);
  spec.train_batch = get_int(obj, "train_batch", spec.train_batch, 0, kMaxProfileBatch);
  if (obj.contains("clock")) {
    const auto& clock = obj["clock"];
    if (!clock.is_string() || (clock != "wall" && clock != "cpu"))
      fail("clock", "expected \"wall\" or \"cpu\", got " + clock.dump());
    spec.clock = clock.get<std::string>();
  }
  RepetitionPolicy& r = spec.repetitions;
  r.target_rel_noise = get_double(obj, "target_rel_noise", r.target_rel_noise);
  r.budget_s = get_double(obj, "budget_s", r.budget_s);
  r.warmup = get_int(obj, "warmup", r.warmup, 0, kMaxRepetitions);
  r.min_repetitions = get_int(obj, "min_repetitions", r.min_repetitions, 1, kMaxRepetitions);
  r.max_repetitions = get_int(obj, "max_repetitions", r.max_repetitions, 1, kMaxRepetitions);
  validate_policy(r);
  return spec;
}

}  // namespace seqbench
