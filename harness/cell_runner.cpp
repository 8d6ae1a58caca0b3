#include "harness/cell_runner.h"

#include <algorithm>
#include <cstdio>

#include "harness/model_trainer.h"
#include "harness/profiler.h"
#include "harness/timing_stats.h"

namespace seqbench {
namespace {

std::string format_lr(double lr) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.3g", lr);
  return buffer;
}

}  // namespace

ModelConfig cell_model_config(const CellSpec& cell, const TaskInstance& task) {
  int64_t max_len = task.seq_len;
  for (const auto& test : task.tests) max_len = std::max(max_len, test.data.seq_len);
  return cell.model_config(task.vocab_size, static_cast<int>(max_len));
}

namespace {

// Trains at each of the cell's learning rates, keeps the best model (highest validation accuracy,
// then lowest training loss), scores it on every test split, and records the sweep in params.
std::unique_ptr<SequenceModel> train_best_model(const CellSpec& cell, const TaskInstance& task, const ModelConfig& config,
                                                nlohmann::json& params, std::vector<Metric>& metrics, std::ostream& log) {
  const TokenDataset& valid = task.tests.at(0).data;
  struct Attempt {
    double lr;
    TrainResult result;
  };
  std::vector<Attempt> attempts;
  std::unique_ptr<SequenceModel> best_model;
  size_t best = 0;
  for (double lr : cell.learning_rates) {
    TrainConfig train = cell.train;
    train.optimizer.lr = lr;
    auto model = std::make_unique<SequenceModel>(config);
    auto on_epoch = [&](const TrainProgress& p) {
      char line[160];
      char accuracy[32] = "";
      if (p.epoch_end) std::snprintf(accuracy, sizeof(accuracy), "  valid acc %.4f", p.valid_accuracy);
      std::snprintf(line, sizeof(line), "    lr %-8s epoch %2d/%d  step %5lld/%lld  loss %.4f%s  %.1fs\n",
                    format_lr(lr).c_str(), p.epoch, p.epochs, static_cast<long long>(p.step),
                    static_cast<long long>(p.total_steps), p.train_loss, accuracy, p.elapsed_s);
      log << line << std::flush;
    };
    TrainResult result = train_model(*model, task.train, valid, train, Rng::derive(cell.seed, 8), on_epoch);
    attempts.push_back({lr, result});
    const TrainResult& incumbent = attempts[best].result;
    if (!best_model || result.valid_accuracy > incumbent.valid_accuracy ||
        (result.valid_accuracy == incumbent.valid_accuracy && result.final_train_loss < incumbent.final_train_loss)) {
      best = attempts.size() - 1;
      best_model = std::move(model);
    }
  }

  nlohmann::json sweep = nlohmann::json::array();
  for (const auto& a : attempts)
    sweep.push_back({{"lr", a.lr}, {"valid_accuracy", a.result.valid_accuracy},
                     {"train_loss", a.result.final_train_loss}, {"steps", a.result.steps}});
  params["lr_sweep"] = sweep;
  for (const auto& test : task.tests) {
    const TaskScore score = evaluate_model(*best_model, test.data);
    const std::string suffix = test.label.empty() ? "" : "@" + test.label;
    metrics.push_back(make_metric("accuracy" + suffix, score.accuracy));
    metrics.push_back(make_metric("exact_match" + suffix, score.exact_match));
  }
  const TrainResult& r = attempts[best].result;
  metrics.push_back(make_metric("train_loss", r.final_train_loss));
  metrics.push_back(make_metric("best_lr", attempts[best].lr));
  metrics.push_back(make_metric("train_seconds", r.seconds));
  metrics.push_back(make_metric("train_steps", static_cast<double>(r.steps)));
  metrics.push_back(make_metric("train_tokens_per_s", r.tokens_per_s));
  return best_model;
}

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
  const ModelConfig config = cell_model_config(cell, task);
  CellOutcome out;
  nlohmann::json params = cell.to_json();
  params["task_params_resolved"] = task.params;
  // epochs 0 is profile-only mode: the initialised model, neither trained nor scored.
  std::unique_ptr<SequenceModel> model = cell.train.epochs > 0
                                             ? train_best_model(cell, task, config, params, out.metrics, log)
                                             : std::make_unique<SequenceModel>(config);
  out.record.backend = cell.backend;
  out.record.task = cell.task;
  out.record.params_json = params.dump();
  out.record.seq_len = task.seq_len;
  out.record.d_model = cell.d_model;
  out.record.layers = cell.n_layers;
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
