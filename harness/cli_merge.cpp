#include <iostream>
#include <memory>
#include <vector>

#include "harness/cli.h"
#include "harness/cli_commands.h"
#include "harness/scaleout/store_merge.h"

namespace seqbench {
namespace {

struct MergeFlags {
  std::string out;
  std::vector<std::string> inputs;
};

void print_summary(const MergeSummary& s) {
  std::cout << "merged " << s.input_runs << " shard run" << (s.input_runs == 1 ? "" : "s") << " into run " << s.run_id
            << " of " << s.out_path << (s.created ? " (new)" : "") << ": " << s.cells_added << " cells added, "
            << s.cells_already_there << " already there; " << s.cells_stored << " of " << s.cells_planned
            << " planned cells stored, status " << run_status_name(s.status) << "\n";
  for (const std::string& note : s.notes) std::cout << "note: " << note << "\n";
}

}  // namespace

CommandHandler register_merge_command(CLI::App& app, CLI::App*& subcommand) {
  auto f = std::make_shared<MergeFlags>();
  subcommand = add_command(
      app, "merge", "Combine the shard files of one sweep (run --shard, a Slurm job array) into one run of OUT",
      "Cells already in OUT's merged run, or met twice with the same results, are added once; two different results "
      "for one cell are reported and nothing is written.\n\nExample:\n  seqbench merge results.db shard-0.db "
      "shard-1.db shard-2.db && seqbench report --db results.db");
  subcommand->add_option("out", f->out, "The results store to merge into (created if missing)")->required();
  subcommand->add_option("inputs", f->inputs, "Shard results stores (read only)")->required();
  return [f](const std::string& command_line) {
    const MergeSummary summary = merge_shard_stores(f->out, f->inputs, command_line);
    print_summary(summary);
    return static_cast<int>(kExitOk);
  };
}

}  // namespace seqbench
