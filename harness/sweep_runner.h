// Runs a sweep cell by cell into the results store: one transaction per cell, progress on the
// log stream, a failed cell recorded and skipped, Ctrl-C leaving the run `partial`.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "harness/cell_runner.h"
#include "harness/results_store.h"
#include "harness/sweep.h"

namespace seqbench {

struct RunOptions {
  std::string db_path = "seqbench.db";
  std::string command_line;
  int shard_index = 0;  // run shard i of N (harness/scaleout/shard_assignment.h)
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

// The sweep indices (in sweep order) of the cells in the options' shard: dealt by what each cell
// is, never by its position in the sweep (harness/scaleout/shard_assignment.h).
std::vector<size_t> cells_of_shard(const Sweep& sweep, const RunOptions& options);
// Throws std::invalid_argument unless 0 <= shard_index < shard_count.
void check_shard(const RunOptions& options);

// The run's row: host, build and device, the cells it plans to store, and the sweep it runs
// (environment key "sweep": name, fingerprint, cell count, shard) so shard files can be merged.
RunInfo sweep_run_info(const Sweep& sweep, const RunOptions& options);

// Datasets built so far, shared by every backend of a task, seed and parameter set.
using TaskCache = std::map<std::string, TaskInstance>;

// Runs one cell. A cell that throws is returned as failed with its message (ok false); Ctrl-C
// (RunInterrupted) passes through, since an interrupted cell is not stored at all.
CellOutcome run_cell_or_record_failure(const CellSpec& cell, TaskCache& tasks, std::ostream& log, bool& ok);
// What the store records for a cell that could not run: its description, status failed, why.
CellOutcome failed_cell_outcome(const CellSpec& cell, const std::string& error);

// Checks every cell's task parameters and model shape before anything runs or is stored;
// throws std::invalid_argument naming the first bad cell.
void validate_sweep(const Sweep& sweep);

// The frame around a sweep's cells, shared by run_sweep and the worker pool: runs run_cells
// (which sets summary.status), then finishes the store's run with that status -- or as failed,
// rethrowing, when run_cells throws -- and records the seconds since start.
void run_then_finish(ResultsStore& store, RunSummary& summary, std::chrono::steady_clock::time_point start,
                     const std::function<void()>& run_cells);
// Ctrl-C: the run keeps the cells stored so far and is marked partial.
void mark_interrupted(RunSummary& summary, std::ostream& log);

RunSummary run_sweep(const Sweep& sweep, const RunOptions& options, std::ostream& log);

}  // namespace seqbench
