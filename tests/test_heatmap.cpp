#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "reports/heatmap.h"

using Catch::Matchers::Contains;
using nlohmann::json;
using seqbench::LeaderboardRow;

namespace {

LeaderboardRow needle_row(const std::string& backend, double depth, double accuracy, double at256, double at512,
                          const std::string& variant = "single") {
  LeaderboardRow row;
  row.backend = backend;
  row.task = "needle";
  row.seq_len = 128;
  row.d_model = 64;
  row.params = {{"backend", backend},
                {"mixer_params", json::object()},
                {"task_params", {{"depth", depth}, {"seq_len", 128}, {"variant", variant}, {"test_lengths", {256, 512}}}},
                {"task_params_resolved",
                 {{"depth", depth}, {"seq_len", 128}, {"variant", variant}, {"haystack", "filler"}, {"num_test", 100}}}};
  row.metrics = {{"accuracy", accuracy}, {"accuracy@len256", at256}, {"accuracy@len512", at512}, {"train_loss", 0.5}};
  return row;
}

std::vector<const LeaderboardRow*> pointers(const std::vector<LeaderboardRow>& rows) {
  std::vector<const LeaderboardRow*> out;
  for (const auto& row : rows) out.push_back(&row);
  return out;
}

}  // namespace

TEST_CASE("the heat map has a row per depth and a column per length, per backend") {
  const std::vector<LeaderboardRow> rows = {
      needle_row("softmax", 0.5, 1.0, 0.75, 0.25), needle_row("softmax", 0.1, 0.9, 0.5, 0.125),
      needle_row("linear", 0.1, 0.3, 0.2, 0.1), needle_row("linear", 0.5, 0.4, 0.0, 0.0)};
  const std::string table = seqbench::render_depth_length_heatmap(pointers(rows));
  INFO(table);
  CHECK_THAT(table, Contains("accuracy by depth and length, softmax:") &&
                        Contains("accuracy by depth and length, linear:"));
  CHECK_THAT(table, Contains("| depth \\ length | 128 | 256 | 512 |\n|---|---|---|---|\n"));
  // Depths ascend within a table.
  CHECK_THAT(table, Contains("| 0.1 | 0.90 | 0.50 | 0.12 |\n| 0.5 | 1.00 | 0.75 | 0.25 |"));
  CHECK_THAT(table, Contains("| 0.1 | 0.30 | 0.20 | 0.10 |\n| 0.5 | 0.40 | 0.00 | 0.00 |"));
  // The variant does not vary, so it does not split the tables.
  CHECK_THAT(table, !Contains("variant="));
}

TEST_CASE("seeds are averaged and other varying parameters split the tables") {
  std::vector<LeaderboardRow> rows = {needle_row("softmax", 0.5, 1.0, 0.5, 0.0), needle_row("softmax", 0.5, 0.5, 0.5, 1.0),
                                      needle_row("softmax", 0.5, 0.2, 0.2, 0.2, "multikey")};
  const std::string table = seqbench::render_depth_length_heatmap(pointers(rows));
  INFO(table);
  CHECK_THAT(table, Contains("softmax variant=\"single\":") && Contains("softmax variant=\"multikey\":"));
  CHECK_THAT(table, Contains("| 0.5 | 0.75 | 0.50 | 0.50 |"));
  CHECK_THAT(table, Contains("| 0.5 | 0.20 | 0.20 | 0.20 |"));
}

TEST_CASE("rows without a depth give no heat map, and missing cells print a dash") {
  LeaderboardRow mqar;
  mqar.backend = "softmax";
  mqar.task = "mqar";
  mqar.params = {{"task_params", {{"num_kv_pairs", 8}}}};
  mqar.metrics = {{"accuracy", 1.0}};
  CHECK(seqbench::render_depth_length_heatmap({&mqar}).empty());
  CHECK(seqbench::render_depth_length_heatmap({}).empty());

  // A sweep over seq_len without length splits: the columns are the training lengths.
  LeaderboardRow short_run = needle_row("softmax", 0.0, 0.5, 0, 0), long_run = needle_row("softmax", 1.0, 0.25, 0, 0);
  short_run.metrics = {{"accuracy", 0.5}};
  long_run.metrics = {{"accuracy", 0.25}};
  long_run.params["task_params_resolved"]["seq_len"] = 512;
  long_run.params["task_params"]["seq_len"] = 512;
  const std::string table = seqbench::render_depth_length_heatmap({&short_run, &long_run});
  INFO(table);
  CHECK_THAT(table, Contains("| depth \\ length | 128 | 512 |"));
  CHECK_THAT(table, Contains("| 0 | 0.50 | - |\n| 1 | - | 0.25 |"));
}

TEST_CASE("a length split at the training length counts once") {
  LeaderboardRow row = needle_row("softmax", 0.5, 0.9, 0.5, 0.1);
  row.metrics["accuracy@len128"] = 0.7;
  const std::string table = seqbench::render_depth_length_heatmap({&row}, "accuracy");
  INFO(table);
  CHECK_THAT(table, Contains("| 0.5 | 0.70 | 0.50 | 0.10 |"));
  const std::string exact = seqbench::render_depth_length_heatmap({&row}, "exact_match");
  CHECK(exact.empty());  // no exact_match metrics: nothing to draw
}
