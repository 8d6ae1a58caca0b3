#include "harness/scaleout/cell_identity.h"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace seqbench {
namespace {

// The keys CellSpec::to_json writes; anything else in a stored params_json is a result.
const char* const kDescriptionKeys[] = {"backend", "mixer_params", "task",   "task_params", "model",
                                        "train",   "seed",         "device", "profile"};

}  // namespace

std::string cell_identity(const CellSpec& cell) { return cell.to_json().dump(); }

std::string stored_cell_identity(const CellRecord& cell) {
  const nlohmann::json params = nlohmann::json::parse(cell.params_json, nullptr, false);
  nlohmann::json description = nlohmann::json::object();
  if (params.is_object())
    for (const char* key : kDescriptionKeys)
      if (params.contains(key)) description[key] = params[key];
  // A cell stored without a description (hand-written, or a benchmark row) is still one cell.
  if (!description.contains("backend")) description["backend"] = cell.backend;
  if (!description.contains("task")) description["task"] = cell.task;
  return description.dump();
}

uint64_t stable_hash(const std::string& text) {
  uint64_t hash = 14695981039346656037ull;  // FNV-1a offset basis and prime (64-bit)
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

std::string hex64(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

nlohmann::json sweep_record(const Sweep& sweep, int shard_index, int shard_count) {
  std::vector<std::string> identities;
  for (const CellSpec& cell : sweep.cells) identities.push_back(cell_identity(cell));
  std::sort(identities.begin(), identities.end());
  std::string all;
  for (const std::string& identity : identities) all += identity + "\n";
  nlohmann::json record{{"name", sweep.name},
                        {"fingerprint", hex64(stable_hash(all))},
                        {"cells", sweep.cells.size()}};
  if (shard_count > 1) record["shard"] = std::to_string(shard_index) + "/" + std::to_string(shard_count);
  return record;
}

}  // namespace seqbench
