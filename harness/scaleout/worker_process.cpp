#include "harness/scaleout/worker_process.h"

#include <stdexcept>

#include "harness/cli.h"
#include "harness/device_setup.h"
#include "harness/interrupt.h"
#include "harness/results_store.h"
#include "harness/scaleout/cell_identity.h"
#include "harness/scaleout/worker_channel.h"
#include "harness/sweep_runner.h"

namespace seqbench {
namespace {

// "cell 12" -> 12; throws for anything else (a parent of another version, or a bug).
size_t cell_index_of(const std::string& line, size_t cells) {
  size_t index = 0;
  if (line.rfind("cell ", 0) != 0 || line.size() == 5 ||
      line.find_first_not_of("0123456789", 5) != std::string::npos ||
      (index = std::stoul(line.substr(5))) >= cells)
    throw std::runtime_error("worker: unexpected request '" + line + "' from the parent run (" +
                             std::to_string(cells) + " cells in the sweep)");
  return index;
}

}  // namespace

int serve_cells_as_worker(const Sweep& sweep, const std::string& db_path, int64_t run_id, std::ostream& log) {
  WorkerChannel channel(kWorkerChannelFd);
  prepare_device(parse_device(sweep.cells.front().device));
  ResultsStore store(db_path);
  if (!store.run(run_id))
    throw StoreError("results store " + db_path + " has no run " + std::to_string(run_id) + " to work for");
  // The parent compares this with its own sweep: a worker must run exactly the parent's cells.
  if (!channel.send_line("ready " + sweep_record(sweep, 0, 1)["fingerprint"].get<std::string>())) return 0;

  TaskCache tasks;
  try {
    for (;;) {
      // An interrupted parent closes the channel of an idle worker, which then ends here.
      const auto request = channel.read_line();
      throw_if_interrupted();
      if (!request) return 0;  // the parent has no more cells for us (or is gone)
      const size_t index = cell_index_of(*request, sweep.cells.size());
      bool ok = false;
      const CellOutcome outcome = run_cell_or_record_failure(sweep.cells[index], tasks, log, ok);
      store.add_cell(run_id, outcome.record, outcome.metrics);
      channel.send_line("done " + std::to_string(index) + (ok ? " ok" : " failed"));
    }
  } catch (const RunInterrupted&) {
    return kExitInterrupted;
  }
}

}  // namespace seqbench
