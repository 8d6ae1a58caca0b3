#include "harness/cli.h"

#include <iostream>
#include <new>
#include <vector>

#include "harness/build_defines.h"
#include "harness/cli_commands.h"
#include "harness/results_store.h"

namespace seqbench {
namespace {

std::string joined_command_line(int argc, char** argv) {
  std::string out;
  for (int i = 0; i < argc; ++i) out += (i ? " " : "") + std::string(argv[i]);
  return out;
}

// One line per subcommand; the order is the order of `seqbench --help`.
const std::vector<CommandRegistration>& command_registrations() {
  static const std::vector<CommandRegistration> commands{
      register_list_command,
      register_run_command,
      register_report_command,
      register_compare_command,
      register_gate_command,
      register_dataset_command,
      register_score_command,
      register_merge_command,
      register_slurm_command,
  };
  return commands;
}

std::string command_names(const CLI::App& app) {
  std::string out;
  for (const CLI::App* sub : app.get_subcommands({})) out += (out.empty() ? "" : ", ") + sub->get_name();
  return out;
}

bool has_command(const CLI::App& app, const std::string& name) {
  for (const CLI::App* sub : app.get_subcommands({}))
    if (sub->get_name() == name) return true;
  return false;
}

// The deepest subcommand the parser got to, and its path ("seqbench dataset") for the --help hint.
const CLI::App* deepest_parsed(const CLI::App& app, std::string& path) {
  path = "seqbench";
  const CLI::App* at = &app;
  for (;;) {
    const auto parsed = at->get_subcommands();
    if (parsed.empty()) return at;
    at = parsed.front();
    path += " " + at->get_name();
  }
}

// CLI11's parse errors in seqbench's own form: one "seqbench: error:" line and where to look.
int report_parse_error(const CLI::App& app, const CLI::ParseError& e) {
  std::string path;
  const CLI::App* at = deepest_parsed(app, path);
  std::string message = e.what();
  if (message == "A subcommand is required") message = "expected a command: " + command_names(*at);
  std::cerr << "seqbench: error: " << message << "\n  (see `" << path << " --help`)\n";
  return kExitBadInput;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"seqbench: train and evaluate sequence mixers on recall tasks, measure their cost, "
               "store results in SQLite, and report, compare and gate on them."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("seqbench ") + SEQBENCH_VERSION + " (" SEQBENCH_BUILD_TYPE " build)");
  app.footer(
      "Exit codes: 0 ok, 1 a cell failed or the gate found a regression, 2 bad input, 3 results-store error, "
      "130 interrupted.\n\nExample:\n  seqbench run --suite smoke --db results.db && seqbench report --db results.db");
  std::vector<std::pair<CLI::App*, CommandHandler>> commands;
  for (const auto& registration : command_registrations()) {
    CLI::App* subcommand = nullptr;
    CommandHandler handler = registration(app, subcommand);
    commands.emplace_back(subcommand, std::move(handler));
  }

  // CLI11 words an unknown command as "argument not expected"; say which commands exist.
  if (argc > 1 && argv[1][0] != '-' && !has_command(app, argv[1])) {
    std::cerr << "seqbench: error: unknown command '" << argv[1] << "'; commands: " << command_names(app)
              << "\n  (see `seqbench --help`)\n";
    return kExitBadInput;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    return report_parse_error(app, e);
  }

  try {
    for (auto& [subcommand, handler] : commands)
      if (subcommand->parsed()) return handler(joined_command_line(argc, argv));
  } catch (const StoreError& e) {
    std::cerr << "seqbench: results store error: " << e.what() << "\n";
    return kExitStoreError;
  } catch (const std::invalid_argument& e) {
    std::cerr << "seqbench: error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const std::bad_alloc&) {
    std::cerr << "seqbench: failed: out of memory; ask for fewer or shorter examples, a smaller model or batch\n";
    return kExitRunFailed;
  } catch (const std::exception& e) {
    std::cerr << "seqbench: failed: " << e.what() << "\n";
    return kExitRunFailed;
  }
  return kExitOk;
}

}  // namespace seqbench
