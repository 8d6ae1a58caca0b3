// The runs `seqbench merge` reads: every run in a shard file, each cell with its metrics and the
// key that recognises it in another file (its stable identity and, for a cell the sweep lists
// twice, which occurrence it is).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/results_store.h"

namespace seqbench {

struct StoredCell {
  CellRow row;
  std::vector<Metric> metrics;
  std::string key;   // stable identity + "#" + occurrence within its run
  uint64_t seed = 0;
};

struct ShardRun {
  std::string path;
  RunRow run;
  nlohmann::json sweep;  // the run's environment "sweep" record (harness/scaleout/cell_identity.h)
  std::vector<StoredCell> cells;
  std::string source() const;  // "shard-1.db run 1"
};

// Reads every run of the file (read-only). Throws std::invalid_argument for a run that records no
// sweep (not written by `seqbench run`, or by a seqbench from before merging existed) or that is
// still running; StoreError for a missing or unreadable file.
std::vector<ShardRun> read_shard_runs(const std::string& path);

// The cells of one run of an open store, keyed as above.
std::vector<StoredCell> read_stored_cells(const ResultsStore& store, int64_t run_id);

// "" when the two stored results are the same in every field and metric; otherwise the first
// difference in words ("accuracy: 0.5 vs 0.75", "status: ok vs failed").
std::string first_difference(const StoredCell& a, const StoredCell& b);

// "softmax mqar seq_len=64 d=64 L=2, seed 1": which cell, in the words compare and report use.
std::string cell_label_with_seed(const StoredCell& cell);

// The run's "sweep" record, or null when it has none.
nlohmann::json sweep_of(const RunRow& run);

}  // namespace seqbench
