// The worker side of a multi-worker run (`seqbench run ... --worker-of RUN`, started by the run
// itself, never by hand): expand the same sweep, say so, then run the cells the parent names one at
// a time, each stored through this worker's own connection in one transaction.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>

#include "harness/sweep.h"

namespace seqbench {

// The file descriptor a worker finds its channel to the parent on.
constexpr int kWorkerChannelFd = 3;

// Serves cells until the parent closes the channel (exit code 0) or Ctrl-C/SIGTERM stops it
// (130; the cell in progress is not stored). Store errors propagate as StoreError.
int serve_cells_as_worker(const Sweep& sweep, const std::string& db_path, int64_t run_id, std::ostream& log);

}  // namespace seqbench
