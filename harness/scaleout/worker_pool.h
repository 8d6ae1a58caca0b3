// A sweep run by several worker processes: one per GPU (`run --devices 0,1,2,3`) or N on the CPU
// (`run --workers N`). The parent stores the run's row, orders the cells longest first and hands
// the next cell to whichever worker finishes; each worker stores its cells through its own
// connection (WAL, one transaction per cell). A worker that dies fails only the cell it was
// running (stored as failed with the reason) and a fresh worker takes its place; Ctrl-C stops
// every worker after its current training step and leaves the run `partial`.
#pragma once
#include <ostream>
#include <string>
#include <vector>

#include "harness/scaleout/worker_devices.h"
#include "harness/sweep_runner.h"

namespace seqbench {

struct WorkerPoolOptions {
  std::vector<WorkerSlot> slots;
  // What makes a worker expand the same sweep: `run`, the sweep flags (--suite or --sweep, --seed,
  // --device) and --threads. The pool adds --db and --worker-of.
  std::vector<std::string> worker_args;
};

RunSummary run_sweep_with_workers(const Sweep& sweep, const RunOptions& options, const WorkerPoolOptions& pool,
                                  std::ostream& log);

}  // namespace seqbench
