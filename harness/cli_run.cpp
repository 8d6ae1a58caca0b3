#include <iostream>
#include <memory>
#include <optional>

#include "harness/cli.h"
#include "harness/cli_commands.h"
#include "harness/cli_values.h"
#include "harness/interrupt.h"
#include "harness/suites.h"
#include "harness/sweep_runner.h"
#include "ops/parallel.h"
#include "reports/leaderboard.h"

namespace seqbench {
namespace {

struct RunFlags {
  std::string suite, sweep_file, db = "seqbench.db", device, shard;
  std::optional<uint64_t> seed;
  int threads = 0;
  bool dry_run = false;
};

int run_command(const RunFlags& f, const std::string& command_line) {
  if (f.suite.empty() == f.sweep_file.empty())
    throw SweepError("give exactly one of --suite NAME or --sweep FILE.json (see `seqbench list suites`)");
  nlohmann::json spec = f.suite.empty() ? read_sweep_file(f.sweep_file) : suite_spec(f.suite);
  if (!spec.is_object()) throw SweepError("sweep spec must be a JSON object");
  if (f.seed) {
    spec.erase("seed");
    spec["seeds"] = {*f.seed};
  }
  if (!f.device.empty()) spec["device"] = f.device;
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
  const RunSummary summary = run_sweep(sweep, options, std::cerr);
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
  subcommand = app.add_subcommand("run", "Run a suite or a sweep: train every cell, score it, store the results");
  subcommand->footer("Examples:\n  seqbench run --suite smoke --db results.db\n  seqbench run --sweep my_sweep.json --seed 1 --threads 4 --dry-run");
  subcommand->add_option("--suite", f->suite, "Built-in suite name (see `seqbench list suites`)");
  subcommand->add_option("--sweep", f->sweep_file, "Sweep spec JSON file (lists are grid axes)");
  subcommand->add_option("--db", f->db, "SQLite results file (created if missing)")->capture_default_str();
  subcommand->add_option("--seed", f->seed, "Seed for data, initialisation and shuffling (overrides the sweep's)")
      ->check(as_validator([](const std::string& s) { parse_seed(s); }, "0..2^64-1"));
  subcommand->add_option("--threads", f->threads, "CPU threads (0 = all cores)")
      ->capture_default_str()
      ->check(as_validator([](const std::string& s) { parse_thread_count(s); }, "0.." + std::to_string(kMaxThreads)));
  subcommand->add_option("--device", f->device, "cpu or cuda (overrides the sweep's)");
  subcommand->add_option("--shard", f->shard,
                         "Run only shard i of N (i/N): cells are dealt to shards by what they are (backend, task, "
                         "parameters, seed), never by their order in the sweep")
      ->check(as_validator([](const std::string& s) { parse_shard(s); }, "i/N"));
  subcommand->add_flag("--dry-run", f->dry_run, "Validate and list the cells without running them");
  return [f](const std::string& command_line) { return run_command(*f, command_line); };
}

}  // namespace seqbench
