// Bad command-line input is exit 2 with one "seqbench: error:" line naming the value and what is
// accepted, and it is caught before a results store is created or anything runs.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include "tests/cli_harness.h"

using namespace seqbench::testing;
using Catch::Matchers::Contains;

namespace {

// Five cells (five seeds) that validate in an instant.
const char* kFiveCellSweep = R"({
  "name": "five", "seeds": [0, 1, 2, 3, 4],
  "backends": ["softmax"],
  "tasks": [{"name": "mqar", "vocab_size": 64, "seq_len": 16, "num_kv_pairs": 2, "num_train": 8, "num_test": 4}],
  "model": {"d_model": 16, "n_layers": 1, "mlp_expand": 0},
  "train": {"epochs": 1, "batch_size": 8}
})";

bool exists(const std::string& path) { return std::filesystem::exists(path); }

// `seqbench run --dry-run` of kFiveCellSweep with its first `from` replaced by `to`.
CliResult dry_run_edited(const TempDir& dir, const std::string& from, const std::string& to) {
  std::string text = kFiveCellSweep;
  text.replace(text.find(from), from.size(), to);
  return run_seqbench("run --dry-run --sweep " + dir.write("t.json", text) + " --db " + dir.file("r.db"));
}

}  // namespace

TEST_CASE("a --threads value outside 0..1024 is refused, saying so, before a results store is created") {
  TempDir dir;
  const std::string sweep = dir.write("s.json", kFiveCellSweep), db = dir.file("r.db");
  for (const char* threads : {"100000", "-3", "four", "1025"}) {
    INFO(threads);
    const auto r = run_seqbench("run --sweep " + sweep + " --db " + db + " --threads " + threads);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Contains("seqbench: error: --threads") && Contains("0 (all cores) to 1024") &&
                             Contains(std::string("'") + threads + "'"));
    CHECK_FALSE(exists(db));
  }
  CHECK(run_seqbench("run --sweep " + sweep + " --dry-run --threads 1024").exit_code == 0);
}

TEST_CASE("a dry run lists only the cells of --shard, and impossible or malformed shards are errors") {
  TempDir dir;
  const std::string sweep = dir.write("s.json", kFiveCellSweep);
  auto r = run_seqbench("run --sweep " + sweep + " --dry-run --shard 1/2");
  REQUIRE(r.exit_code == 0);
  const std::string shard_1 = r.output;
  r = run_seqbench("run --sweep " + sweep + " --dry-run --shard 0/2");
  REQUIRE(r.exit_code == 0);
  const std::string shard_0 = r.output;
  // Each of the five cells (numbered as in the whole sweep) in exactly one shard, two or three each.
  int in_0 = 0;
  for (const char* cell : {"1  softmax", "2  softmax", "3  softmax", "4  softmax", "5  softmax"}) {
    INFO(cell);
    CHECK((shard_0.find(cell) == std::string::npos) != (shard_1.find(cell) == std::string::npos));
    in_0 += shard_0.find(cell) != std::string::npos;
  }
  CHECK((in_0 == 2 || in_0 == 3));

  for (const char* shard : {"5/2", "2/2", "0/0", "-1/2", "1/2/3", "1/2abc", "1", "/2", "a/b"}) {
    INFO(shard);
    r = run_seqbench("run --sweep " + sweep + " --dry-run --shard " + shard);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Contains("seqbench: error: --shard") && Contains(std::string("'") + shard + "'"));
  }
}

TEST_CASE("a --seed must be an integer from 0 to 2^64 - 1, for run and for dataset export") {
  TempDir dir;
  const std::string sweep = dir.write("s.json", kFiveCellSweep);
  for (const char* seed : {"-1", "18446744073709551616", "99999999999999999999999", "1.5", "0x10"}) {
    INFO(seed);
    auto r = run_seqbench("run --sweep " + sweep + " --dry-run --seed " + seed);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Contains("--seed") && Contains("18446744073709551615"));
    r = run_seqbench("dataset export --task mqar --seed " + std::string(seed) + " -o " + dir.file("d.jsonl"));
    CHECK(r.exit_code == 2);
    CHECK_FALSE(exists(dir.file("d.jsonl")));
  }
  CHECK(run_seqbench("run --sweep " + sweep + " --dry-run --seed 18446744073709551615").exit_code == 0);
}

TEST_CASE("the --version flag works, an unknown command lists the commands, and parse errors read seqbench: error:") {
  auto r = run_seqbench("--version");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Contains("seqbench 0."));
  r = run_seqbench("frobnicate");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("seqbench: error: unknown command 'frobnicate'") && Contains("run, report, compare"));
  r = run_seqbench("");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("seqbench: error: expected a command"));
  r = run_seqbench("report --no-such-flag");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("seqbench: error:") && Contains("--no-such-flag") && Contains("seqbench report --help"));
  r = run_seqbench("compare a b --min-samples 0");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("seqbench: error: --min-samples: expected an integer from 1 to 1000000"));
  r = run_seqbench("gate --baseline a --candidate b --max-accuracy-drop -1");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("expected a number from 0 to 1") && !Contains("17976931348623157"));
}

TEST_CASE("the micro-benchmark binary documents --store and --threads and checks them before running") {
  const std::string bench = std::filesystem::path(SEQBENCH_BINARY).parent_path() / "bench" / "seqbench_bench";
  if (!exists(bench)) {
    WARN("SKIPPED: " << bench << " was not built (no Google Benchmark)");
    return;
  }
  TempDir dir;
  const auto run_bench = [&](const std::string& args) {
    return run_seqbench_binary(bench, args);
  };
  auto r = run_bench("--help");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Contains("--store FILE.db") && Contains("--threads N") && Contains("Example"));
  // A store that cannot be written is refused before any benchmark runs (no timing line printed).
  r = run_bench("--store " + dir.file("missing/b.db") + " --benchmark_filter=layer_norm");
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.output, Contains("missing") && !Contains("layer_norm/forward"));
  r = run_bench("--threads 100000 --benchmark_filter=layer_norm");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("--threads") && Contains("1024") && !Contains("layer_norm/forward"));
  r = run_bench("--store " + dir.file("b.db") + " --benchmark_filter=no_such_benchmark");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("no benchmark ran"));
}

TEST_CASE("a sweep value of the wrong JSON type is exit 2 naming the key, not a library message") {
  TempDir dir;
  std::string sweep = kFiveCellSweep;
  for (const auto& [from, to, key] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {R"("name": "five")", R"("name": 5)", "spec.name"},
           {R"("name": "five")", R"("name": "five", "device": 5)", "spec.device"},
           {R"("mlp_expand": 0)", R"("mlp_expand": 0, "position": 5)", "model.position"},
           {R"("d_model": 16)", R"("d_model": "wide")", "model.d_model"}}) {
    INFO(key);
    std::string text = sweep;
    text.replace(text.find(from), from.size(), to);
    const auto r = run_seqbench("run --dry-run --sweep " + dir.write("t.json", text));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Contains("seqbench: error: sweep " + key) && !Contains("json.exception"));
  }
}

TEST_CASE("inputs that cannot fit or never finish are caught by --dry-run and validation, naming the cause") {
  TempDir dir;
  auto r = dry_run_edited(dir, R"("epochs": 1)", R"("epochs": 1e9)");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("train.epochs: 1000000000 is more than the 1000000") && Contains("never finishes"));
  r = dry_run_edited(dir, R"("epochs": 1)", R"("epochs": 10000000000)");  // would wrap around in an int
  CHECK(r.exit_code == 2);
  r = dry_run_edited(dir, R"("d_model": 16)", R"("d_model": 10000000000)");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("model.d_model") && !Contains("bad_alloc"));
  r = dry_run_edited(dir, R"("train": {)", R"("profile": {"prefill_lengths": [1000000000]}, "train": {)");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("profile.prefill_lengths") && Contains("1000000000") && !Contains("bad_alloc"));
  r = dry_run_edited(dir, R"("num_test": 4)", R"("num_test": 100000000000)");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("num_test=100000000000") && Contains("memory") && !Contains("bad_alloc"));
  CHECK_FALSE(exists(dir.file("r.db")));

  r = run_seqbench("dataset export --task mqar --param num_test=100000000000 -o " + dir.file("d.jsonl"));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("num_test=100000000000") && !Contains("bad_alloc"));
}

TEST_CASE("a sweep path that is a directory or too long says so") {
  TempDir dir;
  auto r = run_seqbench("run --dry-run --sweep " + dir.path);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("is a directory") && !Contains("malformed"));
  r = run_seqbench("run --dry-run --sweep " + dir.file(std::string(300, 's') + ".json"));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("305 bytes long") && Contains("255"));
  r = run_seqbench("report --db " + dir.file(std::string(300, 'd') + ".db"));
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.output, Contains("303 bytes long"));
}

TEST_CASE("empty splits and optimiser settings outside their range are exit 2 at --dry-run, naming the key") {
  TempDir dir;
  const std::vector<std::tuple<std::string, std::string, std::string>> cases{
      {R"("num_test": 4)", R"("num_test": 0)", "'num_test' must be >= 1"},
      {R"("num_train": 8)", R"("num_train": 0)", "'num_train' must be >= 1"},
      {R"("num_test": 4)", R"("num_test": 4, "num_valid": 0)", "'num_valid' must be >= 1"},
      {R"("epochs": 1)", R"("epochs": 1, "beta1": 1)", "train.beta1: expected a number in [0, 1), got 1"},
      {R"("epochs": 1)", R"("epochs": 1, "beta2": -0.1)", "train.beta2: expected a number in [0, 1), got -0.1"},
      {R"("epochs": 1)", R"("epochs": 1, "weight_decay": -0.01)", "train.weight_decay: expected a number in >= 0"},
      {R"("epochs": 1)", R"("epochs": 1, "warmup_fraction": 1.5)", "train.warmup_fraction: expected a number in [0, 1]"},
      {R"("epochs": 1)", R"("epochs": 1, "min_lr_fraction": -1)", "train.min_lr_fraction"},
      {R"("epochs": 1)", R"("epochs": 1, "grad_clip": -1)", "train.grad_clip: expected a number in >= 0"},
      {R"("epochs": 1)", R"("epochs": 1, "max_steps": -5)", "train.max_steps: expected at least 0"},
      {R"("epochs": 1)", R"("epochs": 1, "time_budget_s": -2)", "train.time_budget_s: expected a number in >= 0"},
      {R"("epochs": 1)", R"("epochs": 1, "early_stop_accuracy": 0)", "train.early_stop_accuracy: expected a number in (0, 1]"},
      {R"("epochs": 1)", R"("epochs": 1, "early_stop_accuracy": 1.01)", "train.early_stop_accuracy"},
  };
  for (const auto& [from, to, message] : cases) {
    INFO(to);
    const auto r = dry_run_edited(dir, from, to);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Contains("seqbench: error:") && Contains(message));
  }
  // The edges that are meaningful stay accepted: beta 0, no decay, no warm-up, no clipping, a
  // target of exactly 1.
  const auto r = dry_run_edited(
      dir, R"("epochs": 1)", R"("epochs": 1, "beta1": 0, "weight_decay": 0, "warmup_fraction": 0,
                                                   "grad_clip": 0, "early_stop_accuracy": 1, "time_budget_s": 0)");
  CHECK(r.exit_code == 0);
  CHECK_FALSE(exists(dir.file("r.db")));
}
