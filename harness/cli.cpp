#include "harness/cli.h"

#include <iostream>
#include <vector>

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
  };
  return commands;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"seqbench: train and evaluate sequence mixers on recall tasks, measure their cost, "
               "store results in SQLite, and report, compare and gate on them."};
  app.require_subcommand(1);
  std::vector<std::pair<CLI::App*, CommandHandler>> commands;
  for (const auto& registration : command_registrations()) {
    CLI::App* subcommand = nullptr;
    CommandHandler handler = registration(app, subcommand);
    commands.emplace_back(subcommand, std::move(handler));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitBadInput;
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
  } catch (const std::exception& e) {
    std::cerr << "seqbench: failed: " << e.what() << "\n";
    return kExitRunFailed;
  }
  return kExitOk;
}

}  // namespace seqbench
