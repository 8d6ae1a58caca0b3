// `seqbench score`: score predictions made outside seqbench against a task split regenerated
// from the same task, parameters and seed (the split is never read from disk, so the labels
// are the task's own). Prediction lines are matched to examples by id, in any order
// (datasets/predictions_jsonl.h); a missing or unknown id is an error that lists them.
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "datasets/predictions_jsonl.h"
#include "harness/cli.h"
#include "harness/cli_commands.h"
#include "harness/cli_task_split.h"
#include "harness/task_memory_check.h"

namespace seqbench {
namespace {

struct ScoreFlags {
  TaskSplitFlags split;
  std::string predictions;
  std::string format = "text";
};

std::string render_score(const ScoreFlags& f, const TaskInstance& instance, const TaskScore& score) {
  if (f.format == "json") {
    const nlohmann::json doc{{"task", instance.name},        {"split", f.split.split},
                             {"seed", f.split.seed},         {"params", instance.params},
                             {"accuracy", score.accuracy},   {"exact_match", score.exact_match},
                             {"mean_example_accuracy", score.mean_example_accuracy},
                             {"labelled", score.labelled},   {"examples", score.examples}};
    return doc.dump(2) + "\n";
  }
  std::ostringstream out;
  out << "task " << instance.name << ", split " << f.split.split << ", seed " << f.split.seed << ": "
      << score.examples << " scored examples, " << score.labelled << " labelled positions\n"
      << std::fixed << std::setprecision(4) << "accuracy     " << score.accuracy << "\n"
      << "exact_match  " << score.exact_match << "\n"
      << "mean_example_accuracy  " << score.mean_example_accuracy << "\n";
  return out.str();
}

}  // namespace

CommandHandler register_score_command(CLI::App& app, CLI::App*& subcommand) {
  auto f = std::make_shared<ScoreFlags>();
  subcommand = add_command(
      app, "score", "Score predictions (JSONL, one {\"id\": ..., \"predictions\": [...]} per example) on a task split",
      "Example:\n  seqbench score --task passkey --param seq_len=512 --seed 0 --predictions predictions.jsonl");
  add_task_split_options(*subcommand, f->split);
  subcommand->add_option("--predictions", f->predictions, "Predictions JSONL file")->required();
  subcommand->add_option("--format", f->format, "text or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  return [f](const std::string&) {
    const nlohmann::json overrides = task_overrides(f->split);
    check_task_fits_in_memory(f->split.task, overrides);
    const TaskInstance instance = build_task(f->split.task, overrides, f->split.seed);
    const TokenDataset& data = select_split(instance, f->split.split);
    std::ifstream in(f->predictions);
    if (!in) throw std::invalid_argument("cannot read predictions file '" + f->predictions + "'");
    const std::vector<int32_t> predictions =
        read_predictions_by_id(in, f->split.split, data.num_examples, data.seq_len, f->predictions);
    std::cout << render_score(*f, instance, score_predictions(data, predictions));
    return static_cast<int>(kExitOk);
  };
}

}  // namespace seqbench
