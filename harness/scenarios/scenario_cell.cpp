// Scenario cells: a shared trained model, the session replay, the stored record (scenario_cell.h).
#include "harness/scenarios/scenario_cell.h"

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#include "harness/scenarios/session_metrics.h"
#include "harness/scenarios/session_runner.h"
#include "harness/timing_stats.h"
#include "tasks/scenarios/scenario_tasks.h"

namespace seqbench {
namespace {

struct TrainedModel {
  std::string key;  // the training identity: the cell without its scenario
  std::unique_ptr<SequenceModel> model;
  nlohmann::json lr_sweep;
  std::vector<Metric> metrics;  // one-pass test scores and training figures
};

TrainedModel& trained_model(const CellSpec& cell, const TaskInstance& task, std::ostream& log) {
  static std::unique_ptr<TrainedModel> last;
  CellSpec training = cell;
  training.scenario = ScenarioSpec{};
  const std::string key = training.to_json().dump();
  if (last && last->key == key) {
    log << "    model trained for an earlier cell of this run, reused\n";
    return *last;
  }
  last.reset();  // free the previous model before building the next
  auto entry = std::make_unique<TrainedModel>();
  entry->key = key;
  const ModelConfig config = cell_model_config(training, task);
  nlohmann::json params = nlohmann::json::object();
  std::string failure;
  entry->model = training.train.epochs > 0
                     ? train_best_model(training, task, config, params, entry->metrics, log, failure)
                     : std::make_unique<SequenceModel>(config);
  if (!entry->model) throw std::runtime_error(failure);  // every learning rate diverged: the cell fails
  entry->lr_sweep = params.value("lr_sweep", nlohmann::json::array());
  last = std::move(entry);
  return *last;
}

}  // namespace

CellOutcome run_scenario_cell(const CellSpec& cell, const TaskInstance& task, std::ostream& log) {
  TrainedModel& trained = trained_model(cell, task, log);
  std::vector<Session> sessions = scenario_sessions(task.name, task.params, cell.seed, SessionSplit::test);
  sessions.resize(std::min<size_t>(sessions.size(), static_cast<size_t>(cell.scenario.sessions)));
  const int64_t context = static_cast<int64_t>(sessions.front().context.size());

  SessionRunSettings settings;
  settings.mode = cell.scenario.mode;
  settings.policy = make_kv_policy(cell.scenario.policy, context);
  settings.every_turn = cell.scenario.every_turn;
  settings.golden_answers = cell.scenario.golden_answers;
  settings.batch = cell.scenario.batch;
  const SessionRunResult run = run_sessions(*trained.model, sessions, settings);

  CellOutcome out;
  nlohmann::json params = cell.to_json();
  params["task_params_resolved"] = task.params;
  params["lr_sweep"] = trained.lr_sweep;
  params["scenario"]["policy_resolved"] = {{"name", settings.policy->name()}, {"params", settings.policy->params()}};
  out.record = cell_record(cell, params, task.seq_len);
  out.record.state_bytes = static_cast<int64_t>(trained.model->state_bytes(static_cast<int>(task.seq_len)));
  out.metrics = trained.metrics;
  out.metrics.push_back(make_metric("parameters", static_cast<double>(trained.model->num_parameters())));
  out.metrics.push_back(make_metric("state_bytes", static_cast<double>(out.record.state_bytes)));
  for (Metric& m : session_metrics(run, cell.scenario.mode)) out.metrics.push_back(std::move(m));

  const TurnTotals& first = run.turns.front();
  const TurnTotals& last = run.turns.back();
  char line[200];
  std::snprintf(line, sizeof line, "    %s %s: exact match turn 1 %.3f, turn %zu %.3f\n",
                session_mode_name(cell.scenario.mode).c_str(), settings.policy->name().c_str(),
                first.exact / static_cast<double>(first.sessions), run.turns.size(),
                last.exact / static_cast<double>(last.sessions));
  log << line;
  return out;
}

}  // namespace seqbench
