// Each `seqbench` subcommand lives in its own cli_<name>.cpp and is added to the app by one
// line in cli.cpp. A command's handler throws std::invalid_argument for bad input and
// StoreError for store problems; run_cli maps them to exit codes.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace seqbench {

// Adds a subcommand with its one-line description and its --help footer (examples, notes).
inline CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& description,
                             const std::string& footer) {
  CLI::App* command = parent.add_subcommand(name, description);
  command->footer(footer);
  return command;
}

// Registers the subcommand on app and returns the handler to call when it was chosen. The
// handler receives the full command line (stored with runs) and returns the exit code.
using CommandHandler = std::function<int(const std::string& command_line)>;
using CommandRegistration = std::function<CommandHandler(CLI::App& app, CLI::App*& subcommand)>;

CommandHandler register_list_command(CLI::App& app, CLI::App*& subcommand);
CommandHandler register_run_command(CLI::App& app, CLI::App*& subcommand);
CommandHandler register_report_command(CLI::App& app, CLI::App*& subcommand);
CommandHandler register_compare_command(CLI::App& app, CLI::App*& subcommand);
CommandHandler register_gate_command(CLI::App& app, CLI::App*& subcommand);
CommandHandler register_dataset_command(CLI::App& app, CLI::App*& subcommand);
CommandHandler register_score_command(CLI::App& app, CLI::App*& subcommand);
CommandHandler register_merge_command(CLI::App& app, CLI::App*& subcommand);
CommandHandler register_slurm_command(CLI::App& app, CLI::App*& subcommand);

}  // namespace seqbench
