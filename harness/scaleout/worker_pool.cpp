#include "harness/scaleout/worker_pool.h"

#include <poll.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>

#include "harness/interrupt.h"
#include "harness/scaleout/cell_cost.h"
#include "harness/scaleout/cell_identity.h"
#include "harness/scaleout/worker_launch.h"

namespace seqbench {
namespace {

constexpr size_t kNoCell = SIZE_MAX;

struct Worker {
  WorkerSlot slot;
  LaunchedWorker process;
  bool ready = false;     // said "ready" with the right sweep
  size_t cell = kNoCell;  // the sweep index it is running
  bool ended = false;     // its process has been waited for
};

// The parent's side of the run: which cells are left, which worker runs what, what is stored.
class CellDispatcher {
 public:
  CellDispatcher(const Sweep& sweep, const RunOptions& options, const WorkerPoolOptions& pool, ResultsStore& store,
                 RunSummary& summary, std::ostream& log)
      : sweep_(sweep), pool_(pool), store_(store), summary_(summary), log_(log),
        fingerprint_(sweep_record(sweep, 0, 1)["fingerprint"].get<std::string>()) {
    for (size_t i : longest_first(sweep.cells, cells_of_shard(sweep, options))) queue_.push_back(i);
    args_ = pool.worker_args;
    args_.insert(args_.end(), {"--db", options.db_path, "--worker-of", std::to_string(summary.run_id)});
  }

  ~CellDispatcher() {  // an exception left workers running: stop them rather than orphan them
    for (auto& w : workers_)
      if (!w->ended) {
        kill(w->process.pid, SIGTERM);
        bool clean = false;
        wait_for_worker(w->process.pid, clean);
      }
  }

  void run() {
    for (const WorkerSlot& slot : pool_.slots) start(slot);
    while (live_workers() > 0) {
      if (interrupt_requested() && !interrupted_) stop_all();
      std::vector<pollfd> fds;
      std::vector<Worker*> polled;
      for (auto& w : workers_)
        if (!w->ended) {
          fds.push_back({w->process.channel.fd(), POLLIN, 0});
          polled.push_back(w.get());
        }
      if (poll(fds.data(), fds.size(), 200) <= 0) continue;  // a timeout or a signal: look again
      for (size_t i = 0; i < fds.size(); ++i)
        if (fds[i].revents) read_from(*polled[i]);
    }
    if (!queue_.empty() && !interrupted_) {
      log_ << "no worker is left to run the remaining " << queue_.size() << " cells\n";
      cells_missing_ = true;
    }
  }

  bool interrupted() const { return interrupted_; }
  bool cells_missing() const { return cells_missing_; }

 private:
  int live_workers() const {
    int live = 0;
    for (const auto& w : workers_) live += w->ended ? 0 : 1;
    return live;
  }

  void start(const WorkerSlot& slot) {
    auto worker = std::make_unique<Worker>();
    worker->slot = slot;
    worker->process = launch_worker(slot, args_);
    log_ << "worker " << slot.number << " (pid " << worker->process.pid << (slot.gpu.empty() ? "" : ", GPU " + slot.gpu)
         << ") started\n";
    workers_.push_back(std::move(worker));
  }

  void read_from(Worker& w) {
    bool closed = false;
    for (auto line = w.process.channel.read_available(closed); line; line = w.process.channel.take_buffered_line())
      if (!handle_line(w, *line)) {
        kill(w.process.pid, SIGKILL);  // it said something no worker says: it cannot be trusted with cells
        closed = true;
        break;
      }
    if (closed) handle_end(w);
  }

  bool handle_line(Worker& w, const std::string& line) {
    if (line.rfind("ready ", 0) == 0 && !w.ready && w.cell == kNoCell) {
      if (line.substr(6) != fingerprint_) {
        log_ << "worker " << w.slot.number << " expanded another sweep (fingerprint " << line.substr(6)
             << ", expected " << fingerprint_ << ")\n";
        return false;
      }
      w.ready = true;
      assign_next(w);
      return true;
    }
    const std::string done = "done " + std::to_string(w.cell) + " ";
    if (w.cell == kNoCell || line.rfind(done, 0) != 0) {
      log_ << "worker " << w.slot.number << " sent '" << line << "', which no worker should\n";
      return false;
    }
    const bool ok = line.substr(done.size()) == "ok";
    ++(ok ? summary_.cells_ok : summary_.cells_failed);
    ++accounted_[cell_identity(sweep_.cells[w.cell])];
    w.cell = kNoCell;
    assign_next(w);
    return true;
  }

  void assign_next(Worker& w) {
    if (interrupted_ || queue_.empty()) {
      w.process.channel.finish_sending();  // the worker reads end of file and exits
      return;
    }
    w.cell = queue_.front();
    queue_.pop_front();
    const CellSpec& cell = sweep_.cells[w.cell];
    log_ << progress_line(started_++, summary_.cells_total, seconds_since_start()) << "worker " << w.slot.number
         << ": " << cell.label() << "\n"
         << std::flush;
    w.process.channel.send_line("cell " + std::to_string(w.cell));  // a dead worker shows up as end of file
  }

  void handle_end(Worker& w) {
    w.process.channel.close();
    bool clean = false;
    const std::string how = wait_for_worker(w.process.pid, clean);
    w.ended = true;
    const std::string who = "worker " + std::to_string(w.slot.number) + " (pid " + std::to_string(w.process.pid) + ")";
    if (w.cell != kNoCell && !interrupted_) record_lost_cell(w.cell, who + " " + how + " while running this cell");
    if (!w.ready && !interrupted_) {
      log_ << who << " " << how << " before it could take a cell; not restarted\n";
      return;
    }
    if ((!clean || w.cell != kNoCell) && !interrupted_ && !queue_.empty()) {
      log_ << who << " " << how << "; starting another in its place\n";
      start(w.slot);
    }
  }

  // The worker may have committed the cell just before it died: then the store already has it.
  void record_lost_cell(size_t index, const std::string& why) {
    const CellSpec& cell = sweep_.cells[index];
    const std::string identity = cell_identity(cell);
    int stored = 0;
    std::string stored_status;
    for (const CellRow& row : store_.cells(summary_.run_id))
      if (stored_cell_identity(row.cell) == identity) ++stored, stored_status = row.cell.status;
    const bool committed = stored > accounted_[identity];
    ++accounted_[identity];
    if (committed) {
      ++(stored_status == "ok" ? summary_.cells_ok : summary_.cells_failed);
      return;
    }
    const CellOutcome outcome = failed_cell_outcome(cell, why);
    store_.add_cell(summary_.run_id, outcome.record, outcome.metrics);
    ++summary_.cells_failed;
    log_ << "    FAILED: " << cell.label() << ": " << why << "\n";
  }

  void stop_all() {
    interrupted_ = true;
    log_ << "interrupted: stopping every worker after its current training step\n";
    for (auto& w : workers_)
      if (!w->ended) {
        kill(w->process.pid, SIGINT);
        if (w->cell == kNoCell) w->process.channel.finish_sending();
      }
  }

  double seconds_since_start() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

  const Sweep& sweep_;
  const WorkerPoolOptions& pool_;
  ResultsStore& store_;
  RunSummary& summary_;
  std::ostream& log_;
  const std::string fingerprint_;
  std::vector<std::string> args_;
  std::deque<size_t> queue_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::map<std::string, int> accounted_;  // cells of each identity already counted in the summary
  int started_ = 0;
  bool interrupted_ = false;
  bool cells_missing_ = false;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace

RunSummary run_sweep_with_workers(const Sweep& sweep, const RunOptions& options, const WorkerPoolOptions& pool,
                                  std::ostream& log) {
  check_shard(options);
  validate_sweep(sweep);
  ResultsStore store(options.db_path);
  RunSummary summary;
  RunInfo info = sweep_run_info(sweep, options);
  nlohmann::json environment = nlohmann::json::parse(info.environment_json);
  environment["workers"] = pool.slots.size();
  info.environment_json = environment.dump();
  summary.cells_total = static_cast<int>(info.cells_planned);
  summary.run_id = store.begin_run(info);
  const auto start = std::chrono::steady_clock::now();
  log << "run " << summary.run_id << ": " << sweep.name << ", " << summary.cells_total << " cells, "
      << pool.slots.size() << " workers -> " << options.db_path << "\n";
  run_then_finish(store, summary, start, [&] {
    CellDispatcher dispatcher(sweep, options, pool, store, summary, log);
    dispatcher.run();
    if (dispatcher.interrupted())
      mark_interrupted(summary, log);
    else
      summary.status = summary.cells_failed || dispatcher.cells_missing() ? RunStatus::failed : RunStatus::ok;
  });
  return summary;
}

}  // namespace seqbench
