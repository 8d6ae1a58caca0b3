#include "harness/sweep_runner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <new>
#include <stdexcept>

#include "harness/cell_runner.h"
#include "harness/device_setup.h"
#include "harness/environment.h"
#include "harness/interrupt.h"
#include "harness/model_trainer.h"
#include "harness/scaleout/cell_identity.h"
#include "harness/scaleout/shard_assignment.h"
#include "harness/task_memory_check.h"
#include "models/sequence_model.h"
#include "tasks/split_sizes.h"

namespace seqbench {
namespace {

std::string task_key(const CellSpec& cell) {
  return cell.task + cell.task_params.dump() + "#" + std::to_string(cell.seed);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::string duration_text(double seconds) {
  const auto total = static_cast<long long>(seconds + 0.5);
  char buffer[32];
  if (total >= 3600)
    std::snprintf(buffer, sizeof buffer, "%lldh%02lldm", total / 3600, total / 60 % 60);
  else if (total >= 60)
    std::snprintf(buffer, sizeof buffer, "%lldm%02llds", total / 60, total % 60);
  else
    std::snprintf(buffer, sizeof buffer, "%llds", total);
  return buffer;
}

std::string progress_line(int done, int total, double elapsed_s) {
  std::string line = "[" + std::to_string(done + 1) + "/" + std::to_string(total) + "] elapsed " + duration_text(elapsed_s);
  // The mean time of the finished cells times the cells left, counting the one starting now.
  if (done > 0) line += ", ETA " + duration_text(elapsed_s / done * (total - done));
  return line + "  ";
}

std::vector<size_t> cells_of_shard(const Sweep& sweep, const RunOptions& options) {
  if (options.shard_count == 1) {
    std::vector<size_t> all(sweep.cells.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = i;
    return all;
  }
  return shard_cells(sweep.cells, options.shard_index, options.shard_count);
}

void check_shard(const RunOptions& options) {
  if (options.shard_count < 1 || options.shard_index < 0 || options.shard_index >= options.shard_count)
    throw std::invalid_argument("shard " + std::to_string(options.shard_index) + "/" +
                                std::to_string(options.shard_count) + " is not a valid i/N with 0 <= i < N");
}

RunInfo sweep_run_info(const Sweep& sweep, const RunOptions& options) {
  RunInfo info = capture_run_info(options.command_line, sweep.cells.front().device, sweep.cells.front().seed, sweep.name);
  info.cells_planned = static_cast<int64_t>(cells_of_shard(sweep, options).size());
  nlohmann::json environment = nlohmann::json::parse(info.environment_json);
  environment["sweep"] = sweep_record(sweep, options.shard_index, options.shard_count);
  info.environment_json = environment.dump();
  return info;
}

CellOutcome failed_cell_outcome(const CellSpec& cell, const std::string& error) {
  CellOutcome outcome;
  outcome.record = cell_record(cell, cell.to_json(), 0);  // seq_len 0: the task was never built
  outcome.record.status = "failed";
  outcome.record.error = error;
  return outcome;
}

CellOutcome run_cell_or_record_failure(const CellSpec& cell, TaskCache& tasks, std::ostream& log, bool& ok) {
  try {
    const std::string key = task_key(cell);
    if (!tasks.count(key)) tasks[key] = build_task(cell.task, cell.task_params, cell.seed);
    CellOutcome outcome = run_cell(cell, tasks[key], log);
    if (outcome.record.status == "failed") {  // every learning rate diverged
      log << "    FAILED: " << outcome.record.error << "\n";
      ok = false;
      return outcome;
    }
    for (const auto& m : outcome.metrics)
      if (m.name == "accuracy") log << "    accuracy " << m.value << "\n";
    ok = true;
    return outcome;
  } catch (const RunInterrupted&) {
    throw;
  } catch (const std::exception& e) {
    // A cell that fails is stored as failed with its message; the run goes on.
    log << "    FAILED: " << e.what() << "\n";
    ok = false;
    return failed_cell_outcome(cell, e.what());
  }
}

void validate_sweep(const Sweep& sweep) {
  if (sweep.cells.empty()) throw SweepError("sweep '" + sweep.name + "' expands to no cells");
  try {
    prepare_device(parse_device(sweep.cells.front().device));  // the model is built on it below
  } catch (const std::exception& e) {
    throw SweepError(e.what());
  }
  std::map<std::string, bool> checked;
  for (size_t i = 0; i < sweep.cells.size(); ++i) {
    const CellSpec& cell = sweep.cells[i];
    try {
      // The split sizes as given (an empty split is bad input, not a cell that scores 0); then a
      // tiny instance of the task validates its other parameters; then the model's shape.
      split_sizes_param(resolve_task_params(find_task(cell.task), cell.task_params), cell.task);
      const nlohmann::json probe = with_one_example_per_split(cell.task_params);
      const std::string key = task_key(cell) + cell.backend + cell.mixer_params.dump() + std::to_string(cell.d_model) +
                              std::to_string(cell.n_heads) + std::to_string(cell.n_layers) + cell.position +
                              std::to_string(cell.train.batch_size);
      if (checked.count(key)) continue;
      checked[key] = true;
      check_task_fits_in_memory(cell.task, cell.task_params);
      TaskInstance instance = build_task(cell.task, probe, cell.seed);
      ModelConfig config = cell_model_config(cell, instance);
      validate_model_config(config);
      layer_specs(config);
      SequenceModel model(config);  // mixers validate their own parameters
      // Then every mixer's kernels must run the cell's largest shapes on its device.
      const int64_t batch = std::max<int64_t>(cell.train.batch_size, kEvalBatchSize);
      for (const Mixer* mixer : model.mixers()) {
        const std::string why = mixer->unsupported(batch, config.max_seq_len);
        if (!why.empty())
          throw std::invalid_argument("backend '" + mixer->spec().kind + "' on " + cell.device + ": " + why);
      }
    } catch (const std::bad_alloc&) {
      throw SweepError("cell " + std::to_string(i + 1) + " (" + cell.label() +
                       "): the model does not fit in memory; choose a smaller d_model, n_layers or mlp_expand");
    } catch (const std::exception& e) {
      throw SweepError("cell " + std::to_string(i + 1) + " (" + cell.label() + "): " + e.what());
    }
  }
}

RunSummary run_sweep(const Sweep& sweep, const RunOptions& options, std::ostream& log) {
  check_shard(options);
  validate_sweep(sweep);
  ResultsStore store(options.db_path);
  RunSummary summary;
  const RunInfo info = sweep_run_info(sweep, options);
  summary.cells_total = static_cast<int>(info.cells_planned);
  summary.run_id = store.begin_run(info);
  const auto start = std::chrono::steady_clock::now();
  log << "run " << summary.run_id << ": " << sweep.name << ", " << summary.cells_total << " cells -> "
      << options.db_path << "\n";

  TaskCache task_cache;  // datasets are shared by every backend of a cell
  int done = 0;
  run_then_finish(store, summary, start, [&] {
    try {
      for (size_t index : cells_of_shard(sweep, options)) {
        const CellSpec& cell = sweep.cells[index];
        log << progress_line(done++, summary.cells_total, seconds_since(start)) << cell.label() << "\n" << std::flush;
        bool ok = false;
        const CellOutcome outcome = run_cell_or_record_failure(cell, task_cache, log, ok);
        ++(ok ? summary.cells_ok : summary.cells_failed);
        store.add_cell(summary.run_id, outcome.record, outcome.metrics);
      }
      summary.status = summary.cells_failed ? RunStatus::failed : RunStatus::ok;
    } catch (const RunInterrupted&) {
      mark_interrupted(summary, log);
    }
  });
  return summary;
}

void run_then_finish(ResultsStore& store, RunSummary& summary, std::chrono::steady_clock::time_point start,
                     const std::function<void()>& run_cells) {
  try {
    run_cells();
  } catch (...) {
    store.finish_run(summary.run_id, RunStatus::failed);
    throw;
  }
  store.finish_run(summary.run_id, summary.status);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void mark_interrupted(RunSummary& summary, std::ostream& log) {
  summary.status = RunStatus::partial;
  log << "interrupted: run " << summary.run_id << " stored as partial (" << summary.cells_ok << " cells kept)\n";
}

}  // namespace seqbench
