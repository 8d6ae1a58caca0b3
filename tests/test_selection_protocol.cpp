// The selection protocol: a cell's learning rate and its early stop are chosen on the valid
// split, the test split is read once for the reported score, and a learning rate whose loss turns
// non-finite is recorded as diverged (a cell whose every rate diverged fails).
#include <catch2/catch.hpp>

#include <sstream>

#include "harness/cell_runner.h"
#include "harness/lr_selection.h"
#include "tasks/task.h"
#include "tests/cli_harness.h"

using namespace seqbench;

namespace {

// Softmax attention behind a short convolution learns this in about 250 steps (a few seconds on
// one core): 4 key-value pairs among 31 keys and 32 values, seq_len 32.
CellSpec tiny_cell(std::vector<double> learning_rates) {
  CellSpec cell;
  cell.backend = "softmax";
  cell.mixer_params = {{"short_conv", 4}};
  cell.task = "mqar";
  cell.task_params = {{"vocab_size", 64}, {"seq_len", 32}, {"num_kv_pairs", 4}, {"num_train", 16000},
                      {"num_valid", 256}, {"num_test", 256}};
  cell.d_model = 32;
  cell.n_layers = 2;
  cell.mlp_expand = 0;
  cell.learning_rates = std::move(learning_rates);
  cell.train.epochs = 1;
  cell.train.batch_size = 32;
  cell.train.eval_every_steps = 50;
  cell.train.early_stop_accuracy = 0.9;
  cell.seed = 3;
  return cell;
}

TaskInstance task_for(const CellSpec& cell) { return build_task(cell.task, cell.task_params, cell.seed); }

double metric(const CellOutcome& outcome, const std::string& name) {
  for (const Metric& m : outcome.metrics)
    if (m.name == name) return m.value;
  FAIL("no metric " << name);
  return 0;
}

nlohmann::json lr_sweep(const CellOutcome& outcome) {
  return nlohmann::json::parse(outcome.record.params_json).at("lr_sweep");
}

// Every labelled position of the split asks for token 1, a key: no model that learned the task
// ever answers with a key, so any model scores 0 on it.
void sabotage_labels(TokenDataset& data) {
  for (int32_t& label : data.labels)
    if (label != kIgnoreLabel) label = 1;
}

}  // namespace

TEST_CASE("the learning rate and the early stop are chosen on the valid split, never on the test split") {
  const CellSpec cell = tiny_cell({1e-5, 1e-2});
  TaskInstance task = task_for(cell);
  // A test split no model can score on. Were it read to choose or to stop, the kept model's
  // selection accuracy would be 0 and training would never stop early.
  sabotage_labels(task.tests[0].data);
  std::ostringstream log;
  const CellOutcome outcome = run_cell(cell, task, log);
  INFO(log.str());
  REQUIRE(outcome.record.status == "ok");
  CHECK(metric(outcome, "best_lr") == Approx(1e-2));
  CHECK(metric(outcome, "valid_accuracy") >= 0.9);
  CHECK(metric(outcome, "accuracy") == 0.0);  // the test split, scored once, on the kept model
  const int64_t planned = (16000 + 31) / 32;
  CHECK(metric(outcome, "train_steps") < planned);  // stopped early, on the valid accuracy
  const auto sweep = lr_sweep(outcome);
  REQUIRE(sweep.size() == 2);
  CHECK(sweep[0]["valid_accuracy"].get<double>() < 0.5);  // 1e-5 learns nothing in that time
  CHECK(sweep[1]["early_stopped"].get<bool>());
}

TEST_CASE("the valid and test accuracies are stored separately, each from its own split") {
  const CellSpec cell = tiny_cell({1e-2});
  TaskInstance task = task_for(cell);
  std::ostringstream log;
  const CellOutcome outcome = run_cell(cell, task, log);
  INFO(log.str());
  const double valid = metric(outcome, "valid_accuracy"), test = metric(outcome, "accuracy");
  CHECK(valid >= 0.9);
  CHECK(test >= 0.8);
  CHECK(valid != test);  // two different sets of 256 examples
  CHECK(metric(outcome, "lrs_diverged") == 0);
}

TEST_CASE("a learning rate whose loss turns non-finite is recorded as diverged with its step and never kept") {
  // 1e30 puts weights past float range within a step or two: logits overflow and the loss is NaN.
  const CellSpec cell = tiny_cell({1e30, 1e-2});
  const TaskInstance task = task_for(cell);
  std::ostringstream log;
  const CellOutcome outcome = run_cell(cell, task, log);
  INFO(log.str());
  REQUIRE(outcome.record.status == "ok");
  const auto sweep = lr_sweep(outcome);
  REQUIRE(sweep.size() == 2);
  CHECK(sweep[0]["status"] == "diverged");
  CHECK(sweep[0]["diverged_step"].get<int64_t>() >= 1);
  CHECK(sweep[0]["diverged_step"].get<int64_t>() <= 5);
  CHECK(sweep[0]["steps"].get<int64_t>() < sweep[0]["diverged_step"].get<int64_t>());
  CHECK(sweep[1]["status"] == "trained");
  CHECK(metric(outcome, "best_lr") == Approx(1e-2));
  CHECK(metric(outcome, "lrs_diverged") == 1);
  CHECK_THAT(log.str(), Catch::Matchers::Contains("lr 1e+30 diverged at step"));
}

TEST_CASE("a cell whose every learning rate diverged fails, naming each rate and its step") {
  const CellSpec cell = tiny_cell({1e30, 1e31});
  const TaskInstance task = task_for(cell);
  std::ostringstream log;
  const CellOutcome outcome = run_cell(cell, task, log);
  CHECK(outcome.record.status == "failed");
  CHECK_THAT(outcome.record.error, Catch::Matchers::Contains("every learning rate diverged: lr 1e+30 at step") &&
                                       Catch::Matchers::Contains("lr 1e+31 at step") &&
                                       Catch::Matchers::Contains("(loss "));
  CHECK(lr_sweep(outcome).size() == 2);
  for (const Metric& m : outcome.metrics) CHECK(m.name != "accuracy");  // nothing was scored
}

TEST_CASE("selection keeps the highest valid accuracy, then the lower training loss, never a diverged rate") {
  LrSelection selection;
  auto attempt = [](double lr, double valid, double loss, bool diverged) {
    LrAttempt a;
    a.lr = lr;
    a.result.valid_accuracy = valid;
    a.result.final_train_loss = loss;
    a.result.diverged = diverged;
    a.result.diverged_step = diverged ? 7 : 0;
    a.result.diverged_loss = diverged ? std::numeric_limits<double>::quiet_NaN() : 0;
    return a;
  };
  selection.attempts = {attempt(1e-3, 0.5, 1.0, false), attempt(1e-2, 0.9, 0.5, true)};
  const auto sweep = lr_sweep_json(selection);
  CHECK(sweep[1]["diverged_loss"] == "nan");
  CHECK_FALSE(sweep[1].contains("valid_accuracy"));  // a diverged rate's figures mean nothing
  CHECK(selection.diverged() == 1);
  CHECK(all_diverged_message(selection).find("lr 0.01 at step 7 (loss nan)") != std::string::npos);
}

TEST_CASE("a fully diverged cell is stored as failed with its reason, and the run exits 1") {
  seqbench::testing::TempDir dir;
  const std::string sweep = dir.write("s.json", R"({"name": "diverge", "backends": ["softmax"],
    "tasks": [{"name": "mqar", "vocab_size": 64, "seq_len": 16, "num_kv_pairs": 2, "num_train": 64, "num_test": 8}],
    "model": {"d_model": 16, "n_layers": 1, "mlp_expand": 0},
    "train": {"lr": [1e30], "epochs": 1, "batch_size": 8}})");
  const auto run = seqbench::testing::run_seqbench("run --sweep " + sweep + " --db " + dir.file("r.db"));
  CHECK(run.exit_code == 1);
  const auto report = seqbench::testing::run_seqbench("report --db " + dir.file("r.db") + " --format json");
  REQUIRE(report.exit_code == 0);
  const auto cell = nlohmann::json::parse(report.output)["cells"][0];
  CHECK(cell["status"] == "failed");
  CHECK_THAT(cell["error"].get<std::string>(), Catch::Matchers::Contains("the learning rate diverged: lr 1e+30 at step"));
  CHECK(cell["params"]["lr_sweep"][0]["status"] == "diverged");
}
