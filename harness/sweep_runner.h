// Runs a sweep cell by cell into the results store: one transaction per cell, progress on the
// log stream, a failed cell recorded and skipped, Ctrl-C leaving the run `partial`.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>

#include "harness/results_store.h"
#include "harness/sweep.h"

namespace seqbench {

struct RunOptions {
  std::string db_path = "seqbench.db";
  std::string command_line;
  int shard_index = 0;  // run cells i with i % shard_count == shard_index
  int shard_count = 1;
};

struct RunSummary {
  int64_t run_id = 0;
  RunStatus status = RunStatus::running;
  int cells_total = 0;
  int cells_ok = 0;
  int cells_failed = 0;
  double seconds = 0;
};

// The progress prefix of the cell about to run after `done` of `total` finished:
// "[3/12] elapsed 1m04s, ETA 4m16s  " (no ETA before the first cell has finished).
std::string progress_line(int done, int total, double elapsed_s);
std::string duration_text(double seconds);  // "42s", "3m07s", "2h05m"

// True when cell `index` of the sweep belongs to the options' shard.
bool cell_in_shard(size_t index, const RunOptions& options);

// Checks every cell's task parameters and model shape before anything runs or is stored;
// throws std::invalid_argument naming the first bad cell.
void validate_sweep(const Sweep& sweep);

RunSummary run_sweep(const Sweep& sweep, const RunOptions& options, std::ostream& log);

}  // namespace seqbench
