// Two runs side by side: naming a run ("7", "latest", "results.db", "results.db:7"), loading it
// with every metric's samples, and pairing the cells that measured the same thing.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/results_store.h"

namespace seqbench {

struct RunRef {
  std::string db_path;
  std::optional<int64_t> run_id;  // empty: the latest run in db_path
};

// "7" or "latest": that run in default_db. "FILE.db" or "FILE.db:7": the latest run, or run 7, in
// FILE.db. Throws std::invalid_argument for an empty reference or a bad run number.
RunRef parse_run_ref(const std::string& text, const std::string& default_db);

struct LoadedCell {
  CellRow row;
  std::string key;    // what the cell measured: backend, task, params without seeds and timing
  std::string label;  // short human-readable description
  uint64_t seed = 0;  // the seed it ran with (its parameters' "seed")
  std::vector<Metric> metrics;
};

struct LoadedRun {
  RunRow run;
  std::string db_path;
  std::vector<LoadedCell> cells;
  std::string label() const;  // "run 7 of results.db (latency, git 1a2b3c4d5e6f)"
};

// Throws StoreError when the file or run does not exist.
LoadedRun load_run(const RunRef& ref);

// Cells are the same experiment when backend, task and parameters agree once seeds, the device,
// results recorded in the parameters (lr_sweep, resolved task defaults) and measurement settings
// (time budgets, noise targets, repetition counts) are left out.
std::string cell_match_key(const CellRecord& cell);
std::string cell_label(const CellRecord& cell);
// Task parameters a label leaves out: split sizes and mqar's segment lists (the key keeps them).
bool is_unlabelled_task_param(const std::string& key);

struct CellPair {
  const LoadedCell* baseline = nullptr;   // null: only in the candidate
  const LoadedCell* candidate = nullptr;  // null: only in the baseline
  // The cell's label, with its seed when the key ran under several seeds ("... seed 2") and both
  // seeds when a pair's differ ("... seed 0 vs 1"): every row of a comparison names its seed.
  std::string label;
};

// Every cell of both runs, paired by key and seed: seed s of a cell in the baseline meets seed s
// of the same cell in the candidate. Cells left over (seeds that only one run has) then pair by
// key in order, their label naming both seeds; the rest are unpaired. Baseline order first, then
// candidate-only cells.
std::vector<CellPair> pair_cells(const LoadedRun& baseline, const LoadedRun& candidate);

const Metric* find_metric(const LoadedCell& cell, const std::string& name);

}  // namespace seqbench
