#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <vector>

#include "ops/cuda/cuda_device.h"
#include "tests/cli_harness.h"

using namespace seqbench::testing;

namespace {

// A sweep small enough to train in a second or two.
const char* kTinySweep = R"({
  "name": "tiny",
  "backends": ["softmax", {"name": "linear", "feature_map": "elu"}],
  "tasks": [{"name": "mqar", "vocab_size": 64, "seq_len": 16, "num_kv_pairs": 2, "num_train": 64, "num_test": 16}],
  "model": {"d_model": 16, "n_layers": 1, "mlp_expand": 0},
  "train": {"lr": 3e-3, "epochs": 1, "batch_size": 16}
})";

}  // namespace

TEST_CASE("help explains the commands and exits 0") {
  auto r = run_seqbench("--help");
  REQUIRE(r.exit_code == 0);
  REQUIRE_THAT(r.output, Catch::Contains("run") && Catch::Contains("report") && Catch::Contains("list"));
  r = run_seqbench("run --help");
  REQUIRE(r.exit_code == 0);
  REQUIRE_THAT(r.output, Catch::Contains("--db") && Catch::Contains("--seed") && Catch::Contains("--threads"));
}

TEST_CASE("list shows backends, tasks and suites") {
  auto r = run_seqbench("list");
  REQUIRE(r.exit_code == 0);
  REQUIRE_THAT(r.output, Catch::Contains("softmax") && Catch::Contains("linear") && Catch::Contains("mqar") &&
                             Catch::Contains("smoke"));
}

TEST_CASE("bad input exits 2 with a message naming the problem") {
  TempDir dir;
  auto r = run_seqbench("run --suite no-such-suite --db " + dir.file("r.db"));
  REQUIRE(r.exit_code == 2);
  REQUIRE_THAT(r.output, Catch::Contains("no-such-suite") && Catch::Contains("smoke"));

  std::string sweep = kTinySweep;
  auto bad_backend = dir.write("b.json", sweep.replace(sweep.find("\"softmax\""), 9, "\"mamba9\""));
  r = run_seqbench("run --sweep " + bad_backend + " --db " + dir.file("r.db"));
  REQUIRE(r.exit_code == 2);
  REQUIRE_THAT(r.output, Catch::Contains("mamba9"));

  auto malformed = dir.write("m.json", "{\"backends\": [\"softmax\"");
  r = run_seqbench("run --sweep " + malformed + " --db " + dir.file("r.db"));
  REQUIRE(r.exit_code == 2);
  REQUIRE_THAT(r.output, Catch::Contains("malformed"));

  std::string impossible = kTinySweep;
  impossible.replace(impossible.find("\"num_kv_pairs\": 2"), 17, "\"num_kv_pairs\": 9");
  r = run_seqbench("run --sweep " + dir.write("i.json", impossible) + " --db " + dir.file("r.db"));
  REQUIRE(r.exit_code == 2);
  REQUIRE_THAT(r.output, Catch::Contains("num_kv_pairs"));

  r = run_seqbench("run --sweep " + dir.file("missing.json"));
  REQUIRE(r.exit_code == 2);
  r = run_seqbench("run");
  REQUIRE(r.exit_code == 2);
  REQUIRE_THAT(r.output, Catch::Contains("--suite"));
  r = run_seqbench("frobnicate");
  REQUIRE(r.exit_code == 2);
}

TEST_CASE("asking for the GPU on a machine without one exits 2 before anything is stored") {
  if (seqbench::cuda_device_present()) {
    WARN("a GPU is present: the no-GPU error is not exercised here");
    return;
  }
  TempDir dir;
  auto r = run_seqbench("run --sweep " + dir.write("s.json", kTinySweep) + " --device cuda --db " + dir.file("r.db"));
  REQUIRE(r.exit_code == 2);
  REQUIRE_THAT(r.output, Catch::Contains("cuda") && Catch::Contains("--device cpu"));
  r = run_seqbench("report --db " + dir.file("r.db"));
  REQUIRE_THAT(r.output, !Catch::Contains("tiny"));
}

TEST_CASE("an unwritable or corrupt results database exits 3 with a clear error") {
  TempDir dir;
  auto sweep = dir.write("s.json", kTinySweep);
  auto r = run_seqbench("run --sweep " + sweep + " --db /nonexistent-dir/r.db");
  REQUIRE(r.exit_code == 3);
  REQUIRE_THAT(r.output, Catch::Contains("/nonexistent-dir/r.db"));

  auto corrupt = dir.write("corrupt.db", "this is not a database, just text that is long enough to look like a header");
  r = run_seqbench("report --db " + corrupt);
  REQUIRE(r.exit_code == 3);
  REQUIRE_THAT(r.output, Catch::Contains("corrupt.db"));

  r = run_seqbench("report --db " + dir.file("missing.db"));
  REQUIRE(r.exit_code == 3);
  REQUIRE_THAT(r.output, Catch::Contains("missing.db") && Catch::Contains("does not exist"));
}

TEST_CASE("a run stores its cells and report prints them as markdown, csv and json") {
  TempDir dir;
  auto sweep = dir.write("s.json", kTinySweep);
  const std::string db = dir.file("r.db");
  auto r = run_seqbench("run --sweep " + sweep + " --db " + db + " --seed 3 --threads 1");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE_THAT(r.output, Catch::Contains("[1/2] elapsed") && Catch::Contains("[2/2] elapsed") &&
                             Catch::Contains(", ETA ") && Catch::Contains("| softmax"));

  auto md = run_seqbench("report --db " + db);
  REQUIRE(md.exit_code == 0);
  REQUIRE_THAT(md.output, Catch::Contains("## mqar") && Catch::Contains("linear(feature_map=elu)"));
  auto csv = run_seqbench("report --db " + db + " --format csv");
  REQUIRE(csv.exit_code == 0);
  REQUIRE_THAT(csv.output, Catch::StartsWith("run_id,cell_id,backend") && Catch::Contains("accuracy"));
  auto json = run_seqbench("report --db " + db + " --format json --run 1");
  REQUIRE(json.exit_code == 0);
  REQUIRE_THAT(json.output, Catch::Contains("\"cells\"") && Catch::Contains("\"status\": \"ok\""));
  auto bad = run_seqbench("report --db " + db + " --format xml");
  REQUIRE(bad.exit_code == 2);
  auto missing_run = run_seqbench("report --db " + db + " --run 99");
  REQUIRE(missing_run.exit_code == 3);
}

TEST_CASE("the same seed gives the same accuracy and loss, a different seed does not") {
  TempDir dir;
  auto sweep = dir.write("s.json", kTinySweep);
  auto metrics_of = [&](const std::string& db, int seed) {
    run_seqbench("run --sweep " + sweep + " --db " + db + " --seed " + std::to_string(seed));
    auto report = nlohmann::json::parse(run_seqbench("report --format json --db " + db).output);
    std::vector<double> values;
    for (const auto& cell : report["cells"])
      for (const char* name : {"accuracy", "train_loss"}) values.push_back(cell["metrics"][name].get<double>());
    return values;
  };
  const auto a = metrics_of(dir.file("a.db"), 5);
  const auto b = metrics_of(dir.file("b.db"), 5);
  const auto c = metrics_of(dir.file("c.db"), 6);
  REQUIRE(a.size() == 4);
  REQUIRE(a == b);
  REQUIRE(a != c);
}
