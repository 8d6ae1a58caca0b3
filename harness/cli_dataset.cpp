// `seqbench dataset export`: write one split of a task instance to a file (JSONL or the SQBT
// binary format of datasets/dataset_export.h), with its description beside it
// (tasks/split_export.h), for use outside seqbench.
#include <iostream>
#include <memory>

#include "harness/cli.h"
#include "harness/cli_commands.h"
#include "harness/cli_task_split.h"
#include "tasks/split_export.h"

namespace seqbench {
namespace {

struct ExportFlags {
  TaskSplitFlags split;
  std::string format = "jsonl";
  std::string output;
};

}  // namespace

CommandHandler register_dataset_command(CLI::App& app, CLI::App*& subcommand) {
  auto f = std::make_shared<ExportFlags>();
  subcommand = app.add_subcommand("dataset", "Work with task datasets outside a run");
  subcommand->require_subcommand(1);
  CLI::App* export_command = subcommand->add_subcommand(
      "export", "Write one split of a task (inputs and labels, -100 = unscored) to JSONL or SQBT binary");
  add_task_split_options(*export_command, f->split);
  export_command->add_option("--format", f->format, "jsonl or bin")
      ->capture_default_str()
      ->check(CLI::IsMember({"jsonl", "bin"}));
  export_command->add_option("-o,--output", f->output, "Output file")->required();
  return [f](const std::string&) {
    const TaskInstance instance = build_task(f->split.task, task_overrides(f->split), f->split.seed);
    const TokenDataset& data = select_split(instance, f->split.split);
    export_task_split(instance, f->split.split, data, f->split.seed, f->output, f->format);
    std::cerr << "wrote " << data.num_examples << " examples of length " << data.seq_len << " (vocab "
              << data.vocab_size << ", " << data.labelled_positions() << " labelled positions) to " << f->output
              << " and its description to " << split_description_path(f->output) << "\n";
    return static_cast<int>(kExitOk);
  };
}

}  // namespace seqbench
