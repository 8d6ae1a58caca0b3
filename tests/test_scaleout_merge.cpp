// `seqbench merge`: the shard files of a sweep become one run equal to the run one process stores;
// merging again adds nothing; two different results for one cell are reported, not chosen between;
// shards of other sweeps are refused; report, compare and gate read the merged run as a single run.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <string>
#include <vector>

#include "harness/results_store.h"
#include "tests/cli_harness.h"
#include "tests/scaleout_fixtures.h"

using namespace seqbench;
using namespace seqbench::testing;
using Catch::Matchers::Contains;

namespace {

// The sweep in three shard files (shard-0.db ...), each written by its own `seqbench run`.
std::vector<std::string> run_shards(const TempDir& dir, const std::string& sweep, int count,
                                    const std::string& prefix = "shard-") {
  std::vector<std::string> files;
  for (int i = 0; i < count; ++i) {
    files.push_back(dir.file(prefix + std::to_string(i) + ".db"));
    const auto r = run_seqbench("run --sweep " + sweep + " --threads 1 --shard " + std::to_string(i) + "/" +
                                std::to_string(count) + " --db " + files.back());
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
  }
  return files;
}

std::string joined(const std::vector<std::string>& files) {
  std::string out;
  for (const auto& f : files) out += " " + f;
  return out;
}

int64_t cell_count(const std::string& db) {
  ResultsStore store(db, StoreAccess::read_only);
  return static_cast<int64_t>(store.cells(store.latest_run()->id).size());
}

void exec_sql(const std::string& db, const std::string& sql) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);
}

}  // namespace

TEST_CASE("merging the shards of a sweep gives the run one process stores: cells, parameters and scores") {
  TempDir dir;
  const std::string sweep = dir.write("s.json", kEightCellSweep), single = dir.file("single.db");
  REQUIRE(run_seqbench("run --sweep " + sweep + " --threads 1 --db " + single).exit_code == 0);
  const auto shards = run_shards(dir, sweep, 3);
  const auto merged = run_seqbench("merge " + dir.file("merged.db") + joined(shards));
  INFO(merged.output);
  REQUIRE(merged.exit_code == 0);
  CHECK_THAT(merged.output, Contains("merged 3 shard runs into run 1") && Contains("8 cells added") &&
                                Contains("8 of 8 planned cells stored, status ok"));

  RunRow one, run;
  check_same_results(cells_by_identity(single, &one), cells_by_identity(dir.file("merged.db"), &run));
  CHECK(run.status == RunStatus::ok);
  CHECK(run.info.suite == one.info.suite);
  CHECK(run.info.seed == one.info.seed);
  CHECK(run.info.cells_planned == 8);
  CHECK(run.info.git_sha == one.info.git_sha);
  CHECK_FALSE(run.finished_at.empty());
  const auto sweep_record = nlohmann::json::parse(run.info.environment_json)["sweep"];
  CHECK(sweep_record["merged_from"].size() == 3);
  CHECK(sweep_record["fingerprint"] == nlohmann::json::parse(one.info.environment_json)["sweep"]["fingerprint"]);

  // report, compare and gate read it as they read the single run
  const auto report = run_seqbench("report --db " + dir.file("merged.db"));
  CHECK(report.exit_code == 0);
  CHECK_THAT(report.output, Contains("status ok, ") && !Contains("missing"));
  const auto compare = run_seqbench("compare " + single + " " + dir.file("merged.db") + " --only accuracy");
  CHECK(compare.exit_code == 0);
  // --only accuracy matches each of the 8 cells' accuracy and valid_accuracy.
  CHECK_THAT(compare.output, Contains("16 metrics compared: 16 same"));
  CHECK(run_seqbench("gate --baseline " + single + " --candidate " + dir.file("merged.db") + " --only accuracy")
            .exit_code == 0);
}

TEST_CASE("merging the same shard again adds nothing") {
  TempDir dir;
  const auto shards = run_shards(dir, dir.write("s.json", kEightCellSweep), 2);
  const std::string out = dir.file("merged.db");
  REQUIRE(run_seqbench("merge " + out + joined(shards)).exit_code == 0);
  for (const std::string& again : {"merge " + out + joined(shards), "merge " + out + " " + shards[0] + " " + shards[0]}) {
    const auto r = run_seqbench(again);
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Contains("into run 1 of") && Contains(" 0 cells added"));
  }
  ResultsStore store(out, StoreAccess::read_only);
  CHECK(store.runs().size() == 1);
  CHECK(store.cells(1).size() == 8);
}

TEST_CASE("two different results for one cell are reported with both sources and nothing is merged") {
  TempDir dir;
  const std::string sweep = dir.write("s.json", kEightCellSweep), out = dir.file("merged.db");
  const auto shards = run_shards(dir, sweep, 2);
  const auto rerun = run_shards(dir, sweep, 1, "rerun-");  // the whole sweep again: other timings
  REQUIRE(run_seqbench("merge " + out + " " + shards[0]).exit_code == 0);
  const int64_t before = cell_count(out);
  const auto r = run_seqbench("merge " + out + " " + shards[1] + " " + rerun[0]);
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("two different results; nothing was merged") && Contains(rerun[0] + " run 1") &&
                           Contains("train_seconds") && Contains(", seed "));
  CHECK(cell_count(out) == before);
}

TEST_CASE("shards of different sweeps, an output that is also an input and runs without a sweep are refused") {
  TempDir dir;
  const auto shards = run_shards(dir, dir.write("s.json", kEightCellSweep), 2);
  std::string other = kEightCellSweep;
  other.replace(other.find("\"seeds\": [0, 1]"), 15, "\"seeds\": [0, 2]");
  const auto others = run_shards(dir, dir.write("o.json", other), 2, "other-");
  const std::string out = dir.file("merged.db");

  auto r = run_seqbench("merge " + out + " " + shards[0] + " " + others[1]);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("merge the shards of one sweep at a time") && Contains(others[1]));
  CHECK_FALSE(std::filesystem::exists(out));

  r = run_seqbench("merge " + shards[0] + " " + shards[1] + " " + shards[0]);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("is also an input"));

  r = run_seqbench("merge " + out + " " + dir.file("missing.db"));
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.output, Contains("missing.db"));

  const std::string plain = dir.file("plain.db");
  { ResultsStore(plain).begin_run(RunInfo{}); }
  r = run_seqbench("merge " + out + " " + plain);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("does not record which sweep it ran"));
}

TEST_CASE("a merge that lacks a shard is partial, and its report counts the missing cells") {
  TempDir dir;
  const auto shards = run_shards(dir, dir.write("s.json", kEightCellSweep), 3);
  const std::string out = dir.file("merged.db");
  const auto r = run_seqbench("merge " + out + " " + shards[0] + " " + shards[2]);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Contains("status partial"));
  const auto report = run_seqbench("report --db " + out);
  CHECK_THAT(report.output, Contains("status partial: ") && Contains(" of 8 planned cells stored, "));
  // the last shard completes it
  const auto last = run_seqbench("merge " + out + " " + shards[1]);
  CHECK_THAT(last.output, Contains("8 of 8 planned cells stored, status ok"));
}

TEST_CASE("a merge copies every column of a cell, including one a later schema adds") {
  TempDir dir;
  const auto shards = run_shards(dir, dir.write("s.json", kEightCellSweep), 1);
  const std::string out = dir.file("merged.db");
  { ResultsStore create(out); }
  for (const std::string& db : {shards[0], out}) exec_sql(db, "ALTER TABLE cells ADD COLUMN selection TEXT NOT NULL DEFAULT ''");
  exec_sql(shards[0], "UPDATE cells SET selection = 'valid-' || id");
  REQUIRE(run_seqbench("merge " + out + " " + shards[0]).exit_code == 0);

  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(out.c_str(), &raw) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(raw, "SELECT count(*) FROM cells WHERE selection LIKE 'valid-%'", -1, &stmt, nullptr) ==
          SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  CHECK(sqlite3_column_int(stmt, 0) == 8);
  sqlite3_finalize(stmt);
  sqlite3_close(raw);
}
