#include "harness/cli.h"

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <optional>

#include "harness/interrupt.h"
#include "harness/results_store.h"
#include "harness/suites.h"
#include "harness/sweep_runner.h"
#include "kernels/parallel.h"
#include "models/mixer_registry.h"
#include "reports/leaderboard.h"
#include "tasks/task.h"

namespace seqbench {
namespace {

std::string joined_command_line(int argc, char** argv) {
  std::string out;
  for (int i = 0; i < argc; ++i) out += (i ? " " : "") + std::string(argv[i]);
  return out;
}

void write_output(const std::string& text, const std::string& path) {
  if (path.empty() || path == "-") {
    std::cout << text;
    return;
  }
  std::ofstream out(path);
  if (!out) throw std::invalid_argument("cannot write output file '" + path + "'");
  out << text;
}

int list_command(const std::string& what) {
  if (what == "all" || what == "backends") {
    std::cout << "backends:\n";
    for (const auto& b : mixer_backends()) std::cout << "  " << b.name << "  " << b.description << "\n";
    std::cout << "  (hybrids: a comma-separated layer pattern, e.g. \"linear,softmax\")\n";
  }
  if (what == "all" || what == "tasks") {
    std::cout << "tasks:\n";
    for (const auto& t : task_definitions())
      std::cout << "  " << t.name << "  " << t.description << "\n    defaults: " << t.defaults.dump() << "\n";
  }
  if (what == "all" || what == "suites") {
    std::cout << "suites:\n";
    for (const auto& s : builtin_suites()) std::cout << "  " << s.name << "  " << s.description << "\n";
  }
  return kExitOk;
}

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
    const auto slash = f.shard.find('/');
    try {
      if (slash == std::string::npos) throw std::invalid_argument("");
      options.shard_index = std::stoi(f.shard.substr(0, slash));
      options.shard_count = std::stoi(f.shard.substr(slash + 1));
    } catch (const std::exception&) {
      throw std::invalid_argument("--shard expects i/N (e.g. 0/4), got '" + f.shard + "'");
    }
  }
  if (f.dry_run) {
    validate_sweep(sweep);
    for (size_t i = 0; i < sweep.cells.size(); ++i) std::cout << i + 1 << "  " << sweep.cells[i].label() << "\n";
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

int run_cli(int argc, char** argv) {
  CLI::App app{"seqbench: train and evaluate sequence mixers on recall tasks, measure their cost, "
               "store results in SQLite, and report, compare and gate on them."};
  app.require_subcommand(1);

  std::string list_what = "all";
  auto* list = app.add_subcommand("list", "List mixer backends, tasks and built-in suites");
  list->add_option("what", list_what, "What to list")->check(CLI::IsMember({"all", "backends", "tasks", "suites"}));

  RunFlags run_flags;
  auto* run = app.add_subcommand("run", "Run a suite or a sweep: train every cell, score it, store the results");
  run->add_option("--suite", run_flags.suite, "Built-in suite name (see `seqbench list suites`)");
  run->add_option("--sweep", run_flags.sweep_file, "Sweep spec JSON file (lists are grid axes)");
  run->add_option("--db", run_flags.db, "SQLite results file (created if missing)")->capture_default_str();
  run->add_option("--seed", run_flags.seed, "Seed for data, initialisation and shuffling (overrides the sweep's)");
  run->add_option("--threads", run_flags.threads, "CPU threads (0 = all cores)")->capture_default_str();
  run->add_option("--device", run_flags.device, "cpu or cuda (overrides the sweep's)");
  run->add_option("--shard", run_flags.shard, "Run only shard i of N (i/N): every N-th cell starting at i");
  run->add_flag("--dry-run", run_flags.dry_run, "Validate and list the cells without running them");

  std::string report_db = "seqbench.db", report_format = "md", report_output;
  std::optional<int64_t> report_run;
  auto* report = app.add_subcommand("report", "Print the leaderboard of a run (default: the latest)");
  report->add_option("--db", report_db, "SQLite results file")->capture_default_str();
  report->add_option("--run", report_run, "Run id (default: latest)");
  report->add_option("--format", report_format, "md, csv or json")->capture_default_str();
  report->add_option("-o,--output", report_output, "Write to this file instead of stdout");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitBadInput;
  }

  try {
    if (*list) return list_command(list_what);
    if (*run) return run_command(run_flags, joined_command_line(argc, argv));
    if (*report) {
      if (report_format != "md" && report_format != "markdown" && report_format != "csv" && report_format != "json")
        throw std::invalid_argument("unknown report format '" + report_format + "' (expected md, csv or json)");
      ResultsStore store(report_db);
      write_output(render_leaderboard(load_leaderboard(store, report_run), report_format), report_output);
      return kExitOk;
    }
  } catch (const StoreError& e) {
    std::cerr << "seqbench: results store error: " << e.what() << "\n";
    return kExitStoreError;
  } catch (const std::invalid_argument& e) {
    std::cerr << "seqbench: error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << "seqbench: failed: " << e.what() << "\n";
    return kExitRunFailed;
  }
  return kExitOk;
}

}  // namespace seqbench
