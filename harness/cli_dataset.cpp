// `seqbench dataset export`: write one split of a task instance to a file (JSONL or the SQBT
// binary format of datasets/dataset_export.h), with its description beside it
// (tasks/split_export.h), for use outside seqbench.
#include <iostream>
#include <memory>

#include "datasets/dataset_export.h"
#include "harness/cli.h"
#include "harness/cli_commands.h"
#include "harness/cli_task_split.h"
#include "harness/output_file.h"
#include "harness/task_memory_check.h"
#include "tasks/split_export.h"

namespace seqbench {
namespace {

struct ExportFlags {
  TaskSplitFlags split;
  std::string format = "jsonl";
  std::string output;
  bool force = false;
};

}  // namespace

CommandHandler register_dataset_command(CLI::App& app, CLI::App*& subcommand) {
  auto f = std::make_shared<ExportFlags>();
  subcommand = add_command(
      app, "dataset", "Work with task datasets outside a run",
      "Example:\n  seqbench dataset export --task passkey --param seq_len=512 --split test -o passkey.jsonl");
  subcommand->require_subcommand(1);
  CLI::App* export_command = add_command(
      *subcommand, "export", "Write one split of a task (inputs and labels, -100 = unscored) to JSONL or SQBT binary",
      "Example:\n  seqbench dataset export --task mqar --param num_kv_pairs=8 --format bin -o mqar.bin");
  add_task_split_options(*export_command, f->split);
  export_command->add_option("--format", f->format, "jsonl or bin")
      ->capture_default_str()
      ->check(CLI::IsMember({"jsonl", "bin"}));
  export_command->add_option("-o,--output", f->output, "Output file (never over a results store)")->required();
  export_command->add_flag("--force", f->force, "Overwrite an existing output file (never a SQLite file)");
  return [f](const std::string&) {
    check_output_path(f->output, f->force, "-o");  // before generating a large split
    const nlohmann::json overrides = task_overrides(f->split);
    check_task_fits_in_memory(f->split.task, overrides);
    const TaskInstance instance = build_task(f->split.task, overrides, f->split.seed);
    const TokenDataset& data = select_split(instance, f->split.split);
    const std::string description = split_description_path(f->output);
    check_output_path(description, f->force, "-o (its description)");
    write_output_file(f->output, f->force, "-o", [&](const std::string& temporary) {
      write_dataset_file(data, f->split.split, temporary, f->format);
    });
    write_text_output(split_description(instance, f->split.split, data, f->split.seed, f->output, f->format).dump(2) +
                          "\n",
                      description, f->force);
    std::cerr << "wrote " << data.num_examples << " examples of length " << data.seq_len << " (vocab "
              << data.vocab_size << ", " << data.labelled_positions() << " labelled positions) to " << f->output
              << " and its description to " << description << "\n";
    return static_cast<int>(kExitOk);
  };
}

}  // namespace seqbench
