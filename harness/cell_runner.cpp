#include "harness/cell_runner.h"

#include <algorithm>
#include <cstdio>

#include "harness/lr_selection.h"
#include "harness/model_trainer.h"
#include "harness/profiler.h"
#include "harness/scenarios/scenario_cell.h"
#include "harness/timing_stats.h"

namespace seqbench {

CellRecord cell_record(const CellSpec& cell, const nlohmann::json& params, int64_t seq_len) {
  CellRecord record;
  record.backend = cell.backend;
  record.task = cell.task;
  record.params_json = params.dump();
  record.seq_len = seq_len;
  record.d_model = cell.d_model;
  record.layers = cell.n_layers;
  return record;
}

ModelConfig cell_model_config(const CellSpec& cell, const TaskInstance& task) {
  int64_t max_len = task.seq_len;
  for (const auto& test : task.tests) max_len = std::max(max_len, test.data.seq_len);
  return cell.model_config(task.vocab_size, static_cast<int>(max_len));
}

std::unique_ptr<SequenceModel> train_best_model(const CellSpec& cell, const TaskInstance& task, const ModelConfig& config,
                                                nlohmann::json& params, std::vector<Metric>& metrics, std::ostream& log,
                                                std::string& failure) {
  LrSelection selection = select_learning_rate(config, cell.learning_rates, cell.train, task.train, task.valid,
                                               Rng::derive(cell.seed, 8), log);
  params["lr_sweep"] = lr_sweep_json(selection);
  if (!selection.best) {
    failure = all_diverged_message(selection);
    return nullptr;
  }
  for (const auto& test : task.tests) {
    const TaskScore score = evaluate_model(*selection.model, test.data);
    const std::string suffix = test.label.empty() ? "" : "@" + test.label;
    metrics.push_back(make_metric("accuracy" + suffix, score.accuracy));
    metrics.push_back(make_metric("exact_match" + suffix, score.exact_match));
    // A split of segments (Zoology's test segments): accuracy above is their mean; each one too.
    for (const SegmentScore& segment : score.segments)
      metrics.push_back(make_metric("accuracy@" + segment.label, segment.score.accuracy));
  }
  const LrAttempt& kept = selection.attempts[*selection.best];
  const TrainResult& r = kept.result;
  metrics.push_back(make_metric("valid_accuracy", r.valid_accuracy));
  metrics.push_back(make_metric("best_lr", kept.lr));
  metrics.push_back(make_metric("lrs_diverged", static_cast<double>(selection.diverged())));
  metrics.push_back(make_metric("train_loss", r.final_train_loss));
  metrics.push_back(make_metric("train_seconds", r.seconds));
  metrics.push_back(make_metric("train_steps", static_cast<double>(r.steps)));
  metrics.push_back(make_metric("train_tokens_per_s", r.tokens_per_s));
  return std::move(selection.model);
}

namespace {

// A profiled metric replaces a training-loop figure of the same name (train_tokens_per_s): the
// profiler's is the repeated, noise-controlled measurement.
void merge_metrics(std::vector<Metric>& metrics, std::vector<Metric> profiled) {
  for (Metric& p : profiled) {
    auto same = std::find_if(metrics.begin(), metrics.end(), [&](const Metric& m) { return m.name == p.name; });
    if (same != metrics.end())
      *same = std::move(p);
    else
      metrics.push_back(std::move(p));
  }
}

}  // namespace

CellOutcome run_cell(const CellSpec& cell, const TaskInstance& task, std::ostream& log) {
  if (cell.scenario.enabled) return run_scenario_cell(cell, task, log);  // sessions replayed turn by turn
  const ModelConfig config = cell_model_config(cell, task);
  CellOutcome out;
  nlohmann::json params = cell.to_json();
  params["task_params_resolved"] = task.params;
  // epochs 0 is profile-only mode: the initialised model, neither trained nor scored.
  std::string failure;
  std::unique_ptr<SequenceModel> model = cell.train.epochs > 0
                                             ? train_best_model(cell, task, config, params, out.metrics, log, failure)
                                             : std::make_unique<SequenceModel>(config);
  out.record = cell_record(cell, params, task.seq_len);
  if (!model) {
    // Every learning rate diverged: the cell has no model to score, and says why.
    out.record.status = "failed";
    out.record.error = failure;
    out.metrics.push_back(make_metric("lrs_diverged", static_cast<double>(cell.learning_rates.size())));
    return out;
  }
  out.record.state_bytes = static_cast<int64_t>(model->state_bytes(static_cast<int>(task.seq_len)));
  out.metrics.push_back(make_metric("parameters", static_cast<double>(model->num_parameters())));
  out.metrics.push_back(make_metric("state_bytes", static_cast<double>(out.record.state_bytes)));

  if (cell.profile.enabled()) {
    ProfileSpec profile = cell.profile;
    if (profile.train_batch == 0) profile.train_batch = static_cast<int>(cell.train.batch_size);
    model.reset();  // the profiler builds its own models; free this one so memory peaks are its own
    merge_metrics(out.metrics, profile_model(config, profile, &task.train, Rng::derive(cell.seed, 9), &log));
  }
  return out;
}

}  // namespace seqbench
