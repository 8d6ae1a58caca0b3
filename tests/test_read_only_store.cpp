// Reading needs no write access: report, compare and gate open the store read-only, so they never
// create a file, switch its journal mode, migrate it or mark its runs.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>

#include "harness/timing_stats.h"
#include "tests/cli_harness.h"
#include "tests/results_store_fixtures.h"

using namespace store_fixtures;
using Catch::Matchers::Contains;
using seqbench::make_metric;
using seqbench::StoreAccess;
using seqbench::testing::read_file;

namespace {

int64_t add_finished_run(const std::string& path) {
  ResultsStore store(path);
  const int64_t run = store.begin_run(sample_run_info());
  store.add_cell(run, sample_cell(0), {make_metric("prefill_ms@len64", {1.0, 1.1, 1.2}), make_metric("accuracy", 0.5)});
  store.finish_run(run, RunStatus::ok);
  return run;
}

std::string journal_mode(const std::string& path) {
  RawConnection raw(path);
  return raw.count("SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'") ? "wal" : "not wal";
}

}  // namespace

TEST_CASE("report, compare and gate leave a store byte for byte as it was, journal mode included") {
  TempDir dir;
  const std::string path = dir.file("results.db");
  add_finished_run(path);
  add_finished_run(path);
  RawConnection(path).exec("PRAGMA journal_mode = DELETE");  // as a copy made by other tools may be
  REQUIRE(journal_mode(path) == "not wal");
  const std::string before = read_file(path);
  for (const std::string& args : {"report --db " + path, "report --db " + path + " --format html",
                                  "compare " + path + ":1 " + path + ":2",
                                  "gate --baseline " + path + ":1 --candidate " + path + ":2"}) {
    INFO(args);
    const auto r = seqbench::testing::run_seqbench(args);
    INFO(r.output);
    CHECK(r.exit_code == 0);
  }
  CHECK(journal_mode(path) == "not wal");
  CHECK(read_file(path) == before);
}

TEST_CASE("report on a missing file creates nothing and says the file does not exist") {
  TempDir dir;
  const std::string path = dir.file("missing.db");
  for (const std::string& args : {"report --db " + path, "compare " + path + " " + path,
                                  "gate --baseline " + path + " --candidate " + path}) {
    const auto r = seqbench::testing::run_seqbench(args);
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.output, Contains("missing.db") && Contains("does not exist"));
  }
  CHECK_FALSE(fs::exists(path));
  CHECK_THROWS_WITH(ResultsStore(path, StoreAccess::read_only), Contains("does not exist"));
  CHECK_FALSE(fs::exists(path));
}

TEST_CASE("a reader reports a run whose process died as partial without marking it in the file") {
  TempDir dir;
  const std::string path = dir.file("results.db");
  { ResultsStore create(path); }
  const pid_t writer = spawn([&] {
    ResultsStore store(path);
    store.begin_run(sample_run_info());
    return 0;  // leaves without finishing: the run stays "running"
  });
  REQUIRE(wait_for_exit_code(writer) == 0);
  {
    ResultsStore reader(path, StoreAccess::read_only);
    REQUIRE(reader.latest_run());
    CHECK(reader.latest_run()->status == RunStatus::partial);
    CHECK_THROWS_WITH(reader.begin_run(sample_run_info()), Contains("read-only"));
  }
  CHECK(RawConnection(path).count("SELECT count(*) FROM runs WHERE status = 'running'") == 1);
}

TEST_CASE("an older store is read as it is by a reader and migrated only by a writer") {
  TempDir dir;
  const std::string path = dir.file("results.db");
  add_finished_run(path);
  {
    RawConnection raw(path);
    raw.exec("ALTER TABLE runs DROP COLUMN cells_planned");
    raw.exec("ALTER TABLE metrics DROP COLUMN turn");
    raw.exec("UPDATE schema_version SET version = 1");
  }
  {
    ResultsStore reader(path, StoreAccess::read_only);
    CHECK(reader.schema_version() == 1);
    REQUIRE(reader.runs().size() == 1);
    CHECK(reader.runs()[0].info.cells_planned == 0);
  }
  CHECK(RawConnection(path).count("SELECT version FROM schema_version") == 1);
  ResultsStore writer(path);
  CHECK(writer.schema_version() == ResultsStore::current_schema_version());
}

TEST_CASE("a store on a read-only file can be reported on") {
  if (geteuid() == 0) {
    WARN("SKIPPED: permission bits do not stop root");
    return;
  }
  TempDir dir;
  const std::string path = dir.file("results.db");
  add_finished_run(path);
  fs::permissions(path, fs::perms::owner_read);
  const auto r = seqbench::testing::run_seqbench("report --db " + path);
  INFO(r.output);
  CHECK(r.exit_code == 0);
}
