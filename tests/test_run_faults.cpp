// End-to-end faults: concurrent writers, a run killed mid-way, Ctrl-C, and a results file from a
// newer seqbench, all through the real `seqbench` binary.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <string>

#include "harness/results_store.h"
#include "tests/cli_harness.h"
#include "tests/seqbench_process.h"

using namespace seqbench;
using namespace seqbench::testing;
using Catch::Matchers::Contains;

namespace {

// A run of 8 slow cells into db, started in the background (its log in run.log), returned once
// its first cell is stored, so a signal now cuts it short mid-way.
pid_t start_run_with_a_stored_cell(const testing::TempDir& dir, const std::string& db) {
  const std::string sweep = dir.write("s.json", timed_sweep(8, 0.4));
  const pid_t writer = start_seqbench({"run", "--sweep", sweep, "--db", db, "--threads", "1"}, dir.file("run.log"));
  wait_for_first_cell(db, writer);
  return writer;
}

}  // namespace

TEST_CASE("two seqbench runs writing one results file at once lose nothing") {
  testing::TempDir dir;
  const std::string db = dir.file("shared.db");
  const std::string sweep = dir.write("s.json", timed_sweep(4, 0.05));
  const pid_t a = start_seqbench({"run", "--sweep", sweep, "--db", db, "--threads", "1"}, dir.file("a.log"));
  const pid_t b = start_seqbench({"run", "--sweep", sweep, "--db", db, "--threads", "1"}, dir.file("b.log"));
  const ExitStatus ea = wait_for(a), eb = wait_for(b);
  INFO(read_file(dir.file("a.log")) << read_file(dir.file("b.log")));
  REQUIRE(ea.code == 0);
  REQUIRE(eb.code == 0);

  ResultsStore store(db);
  const auto runs = store.runs();
  REQUIRE(runs.size() == 2);
  for (const auto& run : runs) {
    CHECK(run.status == RunStatus::ok);
    const auto cells = store.cells(run.id);
    REQUIRE(cells.size() == 4);
    for (const auto& cell : cells) CHECK_FALSE(store.metrics(cell.id).empty());
  }
}

TEST_CASE("a run killed with SIGKILL keeps its finished cells and reads back as partial") {
  testing::TempDir dir;
  const std::string db = dir.file("killed.db");
  const pid_t writer = start_run_with_a_stored_cell(dir, db);
  REQUIRE(kill(writer, SIGKILL) == 0);
  CHECK(wait_for(writer).signal == SIGKILL);

  ResultsStore store(db);  // reopening notices the dead writer
  for (const auto& cell : cells_of_cut_short_run(store, 8)) {
    CHECK(cell.cell.status == "ok");
    bool has_latency = false;
    for (const auto& m : store.metrics(cell.id)) has_latency |= m.metric.name == "prefill_ms@len16";
    CHECK(has_latency);
  }
}

TEST_CASE("Ctrl-C stops a run after the current repetition, stores it as partial and exits 130") {
  testing::TempDir dir;
  const std::string db = dir.file("interrupted.db");
  const pid_t writer = start_run_with_a_stored_cell(dir, db);
  REQUIRE(kill(writer, SIGINT) == 0);
  const ExitStatus status = wait_for(writer);
  const std::string log = read_file(dir.file("run.log"));
  INFO(log);
  CHECK(status.code == 130);
  CHECK_THAT(log, Contains("partial"));

  ResultsStore store(db);
  cells_of_cut_short_run(store, 8);
  CHECK(store.latest_run()->info.cells_planned == 8);
  const auto report = testing::run_seqbench("report --db " + db);
  CHECK_THAT(report.output, Contains("status partial: ") && Contains(" of 8 planned cells stored, ") &&
                                Contains(" missing"));
}

TEST_CASE("a results file from a newer seqbench is refused with a clear error and exit code 3") {
  testing::TempDir dir;
  const std::string db = dir.file("newer.db");
  { ResultsStore store(db); }
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "UPDATE schema_version SET version = 999", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);

  const std::string sweep = dir.write("s.json", timed_sweep(1, 0.01));
  for (const std::string& args : {"run --sweep " + sweep + " --db " + db, "report --db " + db,
                                  "compare " + db + " " + db, "gate --baseline " + db + " --candidate " + db}) {
    INFO(args);
    const auto r = testing::run_seqbench(args);
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.output, Contains("newer") && Contains("999") && Contains(db));
  }
}
