#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "harness/cli.h"
#include "harness/cli_commands.h"
#include "harness/cli_values.h"
#include "harness/interrupt.h"
#include "harness/scaleout/worker_pool.h"
#include "harness/scaleout/worker_process.h"
#include "harness/suites.h"
#include "harness/sweep_runner.h"
#include "models/precision.h"
#include "ops/parallel.h"
#include "reports/leaderboard.h"

namespace seqbench {
namespace {

struct RunFlags {
  std::string suite, sweep_file, db = "seqbench.db", device, precision, shard, devices;
  std::optional<uint64_t> seed;
  int threads = 0;
  int workers = 0;     // 0: the cells run in this process
  int workers_per_gpu = 1;
  int64_t worker_of = 0;  // set only in a worker process started by a multi-worker run
  bool dry_run = false;
};

// The device override run_command applies to the sweep: `--device`, or cuda for `--devices` alone.
std::string device_override(const RunFlags& f) { return f.device.empty() && !f.devices.empty() ? "cuda" : f.device; }

// The flags that make a worker expand the same sweep as its parent (the same device override too:
// a `--devices` worker left to read a CPU sweep's own device would expand another sweep).
std::vector<std::string> worker_args(const RunFlags& f, int threads) {
  std::vector<std::string> args{"run"};
  if (!f.suite.empty()) args.insert(args.end(), {"--suite", f.suite});
  if (!f.sweep_file.empty()) args.insert(args.end(), {"--sweep", f.sweep_file});
  if (f.seed) args.insert(args.end(), {"--seed", std::to_string(*f.seed)});
  if (!device_override(f).empty()) args.insert(args.end(), {"--device", device_override(f)});
  if (!f.precision.empty()) args.insert(args.end(), {"--precision", f.precision});
  args.insert(args.end(), {"--threads", std::to_string(threads)});
  return args;
}

RunSummary run_in_workers(const Sweep& sweep, const RunOptions& options, const RunFlags& f) {
  if (f.workers > 0 && !f.devices.empty())
    throw std::invalid_argument("give --workers N (CPU workers) or --devices LIST (one worker per GPU), not both");
  if (!f.devices.empty() && f.device == "cpu")
    throw std::invalid_argument("--devices " + f.devices + " runs one worker per GPU, but --device cpu was given; "
                                "use --workers N for CPU workers");
  WorkerPoolOptions pool;
  pool.slots = f.devices.empty() ? cpu_worker_slots(f.workers) : gpu_worker_slots(f.devices, f.workers_per_gpu);
  if (f.workers_per_gpu > 1 && !mps_daemon_running())
    std::cerr << "note: no MPS daemon is running, so the " << f.workers_per_gpu
              << " workers on each GPU take turns on it instead of running together; start one with "
                 "`nvidia-cuda-mps-control -d` (and `echo quit | nvidia-cuda-mps-control` after)\n";
  // This process checks the sweep's shapes on a GPU and describes the run's device: let that be
  // the first GPU of the run, not GPU 0 of the machine, which may belong to someone else.
  if (!f.devices.empty()) setenv("CUDA_VISIBLE_DEVICES", pool.slots.front().gpu.c_str(), 1);
  // The workers share the cores (the data generation and the CPU kernels) unless --threads says otherwise.
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = f.threads > 0 ? f.threads : std::max(1, cores / static_cast<int>(pool.slots.size()));
  pool.worker_args = worker_args(f, threads);
  return run_sweep_with_workers(sweep, options, pool, std::cerr);
}

int run_command(const RunFlags& f, const std::string& command_line) {
  if (f.suite.empty() == f.sweep_file.empty())
    throw SweepError("give exactly one of --suite NAME or --sweep FILE.json (see `seqbench list suites`)");
  if (f.workers_per_gpu > 1 && f.devices.empty())
    throw std::invalid_argument("--workers-per-gpu " + std::to_string(f.workers_per_gpu) +
                                " needs --devices LIST (the GPUs to put them on)");
  nlohmann::json spec = f.suite.empty() ? read_sweep_file(f.sweep_file) : suite_spec(f.suite);
  if (!spec.is_object()) throw SweepError("sweep spec must be a JSON object");
  if (f.seed) {
    spec.erase("seed");
    spec["seeds"] = {*f.seed};
  }
  if (!device_override(f).empty()) spec["device"] = device_override(f);
  if (!f.precision.empty()) spec["precision"] = f.precision;
  Sweep sweep = expand_sweep(spec);
  set_num_threads(f.threads);

  RunOptions options;
  options.db_path = f.db;
  options.command_line = command_line;
  if (!f.shard.empty()) {
    const Shard shard = parse_shard(f.shard);
    options.shard_index = shard.index;
    options.shard_count = shard.count;
  }
  if (f.dry_run) {
    validate_sweep(sweep);
    // The cells this shard would run, numbered as in the whole sweep.
    const std::vector<size_t> listed = cells_of_shard(sweep, options);
    for (size_t i : listed) std::cout << i + 1 << "  " << sweep.cells[i].label() << "\n";
    if (listed.empty())
      std::cerr << "shard " << f.shard << " of this " << sweep.cells.size() << "-cell sweep has no cells\n";
    return kExitOk;
  }
  install_interrupt_handlers();
  if (f.worker_of > 0) return serve_cells_as_worker(sweep, f.db, f.worker_of, std::cerr);
  const bool in_workers = f.workers > 0 || !f.devices.empty();
  const RunSummary summary = in_workers ? run_in_workers(sweep, options, f) : run_sweep(sweep, options, std::cerr);
  std::cerr << "run " << summary.run_id << " " << run_status_name(summary.status) << ": " << summary.cells_ok
            << " ok, " << summary.cells_failed << " failed, " << summary.seconds << " s\n";
  ResultsStore store(options.db_path);
  std::cout << render_markdown(load_leaderboard(store, summary.run_id));
  if (summary.status == RunStatus::partial) return kExitInterrupted;
  return summary.status == RunStatus::ok ? kExitOk : kExitRunFailed;
}

}  // namespace

CommandHandler register_run_command(CLI::App& app, CLI::App*& subcommand) {
  auto f = std::make_shared<RunFlags>();
  subcommand = add_command(app, "run", "Run a suite or a sweep: train every cell, score it, store the results",
                           "Examples:\n  seqbench run --suite smoke --db results.db\n"
                           "  seqbench run --sweep my_sweep.json --seed 1 --threads 4 --dry-run\n"
                           "  seqbench run --suite zoology-mqar --devices all --db results.db");
  subcommand->add_option("--suite", f->suite, "Built-in suite name (see `seqbench list suites`)");
  subcommand->add_option("--sweep", f->sweep_file, "Sweep spec JSON file (lists are grid axes)");
  subcommand->add_option("--db", f->db, "SQLite results file (created if missing)")->capture_default_str();
  subcommand->add_option("--seed", f->seed, "Seed for data, initialisation and shuffling (overrides the sweep's)")
      ->check(as_validator([](const std::string& s) { parse_seed(s); }, "0..2^64-1"));
  subcommand->add_option("--threads", f->threads, "CPU threads (0 = all cores)")
      ->capture_default_str()
      ->check(as_validator([](const std::string& s) { parse_thread_count(s); }, "0.." + std::to_string(kMaxThreads)));
  subcommand->add_option("--device", f->device, "cpu or cuda (overrides the sweep's)");
  subcommand->add_option("--precision", f->precision,
                         "fp32, or bf16: the projections take bf16 operands with fp32 sums and fp32 master weights "
                         "(mixed precision); mixer cores, norms and the loss stay fp32 (overrides the sweep's)")
      ->check(as_validator([](const std::string& s) { parse_precision(s); }, "fp32|bf16"));
  subcommand->add_option("--shard", f->shard,
                         "Run only shard i of N (i/N): cells are dealt to shards by what they are (backend, task, "
                         "parameters, seed), never by their order in the sweep")
      ->check(as_validator([](const std::string& s) { parse_shard(s); }, "i/N"));
  subcommand->add_option("--workers", f->workers, "Run the cells in N worker processes on the CPU (1..256)")
      ->check(as_validator([](const std::string& s) { parse_integer_in(s, 1, 256); }, "1..256"));
  subcommand->add_option("--devices", f->devices, "One worker process per GPU: indices (0,1,2,3) or all (CUDA builds)")
      ->check(as_validator(check_device_list, "0,1,...|all"));
  subcommand->add_option("--workers-per-gpu", f->workers_per_gpu,
                         "With --devices: K worker processes on each GPU, so that cells too small to fill a GPU "
                         "train side by side; needs an MPS daemon to overlap (without one they take turns); their "
                         "timings then share the GPU: use 1 for cost figures")
      ->capture_default_str()
      ->check(as_validator([](const std::string& s) { parse_integer_in(s, 1, kMaxWorkersPerGpu); },
                           "1.." + std::to_string(kMaxWorkersPerGpu)));
  subcommand->add_option("--worker-of", f->worker_of, "")->group("");  // how a multi-worker run starts its workers
  subcommand->add_flag("--dry-run", f->dry_run, "Validate and list the cells without running them");
  return [f](const std::string& command_line) { return run_command(*f, command_line); };
}

}  // namespace seqbench
