// The SQLite results store: exact round trips, one transaction per cell, concurrent writers in
// separate processes, runs abandoned by a dead process, and the file-level errors.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <limits>

#include "harness/results_store.h"
#include "tests/results_store_fixtures.h"

using namespace store_fixtures;
using Catch::Matchers::Contains;

TEST_CASE("run status names round-trip and unknown names are rejected", "[store]") {
  for (RunStatus status :
       {RunStatus::running, RunStatus::ok, RunStatus::failed, RunStatus::partial})
    CHECK(seqbench::parse_run_status(seqbench::run_status_name(status)) == status);
  CHECK(seqbench::run_status_name(RunStatus::partial) == "partial");
  CHECK_THROWS_AS(seqbench::parse_run_status("done"), std::invalid_argument);
  CHECK_THROWS_WITH(seqbench::parse_run_status(""), Contains("running, ok, failed or partial"));
}

TEST_CASE("a run with cells and metrics reads back exactly after reopening", "[store]") {
  TempDir dir;
  const std::string path = dir.file("results.db");
  const uint64_t seed = 20261123;
  INFO("seed " << seed);
  seqbench::Rng rng(seed);

  std::vector<CellRecord> cells;
  std::vector<std::vector<Metric>> metrics;
  for (int i = 0; i < 5; ++i) {
    cells.push_back(sample_cell(i));
    metrics.push_back(sample_metrics(rng, i));  // 0 to 4 metrics per cell
  }
  // A diverged measurement: NaN headline, infinite and NaN repetitions.
  metrics[3][1].value = std::numeric_limits<double>::quiet_NaN();
  metrics[3][1].samples[2] = std::numeric_limits<double>::infinity();
  metrics[3][1].samples[4] = -std::numeric_limits<double>::infinity();
  metrics[3][1].samples[5] = std::numeric_limits<double>::quiet_NaN();
  metrics[3][1].max = std::numeric_limits<double>::infinity();

  int64_t run_id = 0;
  std::vector<int64_t> cell_ids;
  {
    ResultsStore store(path);
    CHECK(store.path() == path);
    CHECK(store.schema_version() == ResultsStore::current_schema_version());
    CHECK_FALSE(store.latest_run().has_value());
    run_id = store.begin_run(sample_run_info());
    CHECK(store.run(run_id)->status == RunStatus::running);
    for (size_t i = 0; i < cells.size(); ++i)
      cell_ids.push_back(store.add_cell(run_id, cells[i], metrics[i]));
    store.finish_run(run_id, RunStatus::ok);
  }

  ResultsStore store(path);
  REQUIRE(store.runs().size() == 1);
  auto run = store.run(run_id);
  REQUIRE(run.has_value());
  CHECK(store.latest_run()->id == run_id);
  CHECK_FALSE(store.run(run_id + 1).has_value());
  CHECK(run->status == RunStatus::ok);
  const RunInfo expected = sample_run_info();
  CHECK(run->info.git_sha == expected.git_sha);
  CHECK(run->info.command_line == expected.command_line);
  CHECK(run->info.host == this_host());  // filled in because it was left empty
  CHECK(run->info.device == expected.device);
  CHECK(run->info.driver == expected.driver);
  CHECK(run->info.cuda_version == expected.cuda_version);
  CHECK(run->info.clocks == expected.clocks);
  CHECK(run->info.environment_json == expected.environment_json);
  CHECK(run->info.seed == expected.seed);
  CHECK(run->info.suite == expected.suite);
  CHECK_THAT(run->info.started_at, Catch::Matchers::Matches(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"));
  CHECK_THAT(run->finished_at, Catch::Matchers::Matches(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"));
  CHECK(run->finished_at >= run->info.started_at);

  auto cell_rows = store.cells(run_id);
  REQUIRE(cell_rows.size() == cells.size());
  for (size_t i = 0; i < cells.size(); ++i) {
    INFO("cell " << i);
    CHECK(cell_rows[i].id == cell_ids[i]);
    CHECK(cell_rows[i].run_id == run_id);
    check_same_cell(cells[i], cell_rows[i].cell);
    auto metric_rows = store.metrics(cell_ids[i]);
    REQUIRE(metric_rows.size() == metrics[i].size());
    for (size_t m = 0; m < metrics[i].size(); ++m) {
      CHECK(metric_rows[m].cell_id == cell_ids[i]);
      check_same_metric(metrics[i][m], metric_rows[m].metric);
    }
  }
}

TEST_CASE("a given start time and host are kept as written", "[store]") {
  TempDir dir;
  ResultsStore store(dir.file("results.db"));
  RunInfo info;
  info.started_at = "2026-11-23T09:15:02Z";
  info.host = "node-17";
  int64_t run_id = store.begin_run(info);
  CHECK(store.run(run_id)->info.started_at == "2026-11-23T09:15:02Z");
  CHECK(store.run(run_id)->info.host == "node-17");
  CHECK(store.run(run_id)->finished_at.empty());
  CHECK(store.run(run_id)->info.environment_json == "{}");
}

TEST_CASE("a cell whose metrics fail to insert leaves no trace and earlier cells intact",
          "[store]") {
  TempDir dir;
  const std::string path = dir.file("results.db");
  ResultsStore store(path);
  seqbench::Rng rng(7);
  int64_t run_id = store.begin_run(sample_run_info());
  int64_t first = store.add_cell(run_id, sample_cell(0), sample_metrics(rng, 3));
  int64_t second = store.add_cell(run_id, sample_cell(1), sample_metrics(rng, 2));

  // The cell row and the first metric are written before the injected failure hits the second.
  RawConnection raw(path);
  raw.exec(
      "CREATE TRIGGER fail_on_boom BEFORE INSERT ON metrics WHEN NEW.name = 'boom' "
      "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  auto doomed = sample_metrics(rng, 3);
  doomed[1].name = "boom";
  CHECK_THROWS_WITH(store.add_cell(run_id, sample_cell(2), doomed),
                    Contains(path) && Contains("injected failure"));

  auto cell_rows = store.cells(run_id);
  REQUIRE(cell_rows.size() == 2);
  CHECK(cell_rows[0].id == first);
  CHECK(cell_rows[1].id == second);
  CHECK(store.metrics(first).size() == 3);
  CHECK(store.metrics(second).size() == 2);
  CHECK(raw.count("SELECT count(*) FROM metrics") == 5);

  // The connection is usable again: the failed transaction was rolled back, not left open.
  raw.exec("DROP TRIGGER fail_on_boom");
  store.add_cell(run_id, sample_cell(2), doomed);
  CHECK(store.cells(run_id).size() == 3);
}

TEST_CASE("add_cell on a store another writer holds fails as locked and writes nothing",
          "[store]") {
  TempDir dir;
  const std::string path = dir.file("results.db");
  ResultsStore store(path, /*busy_timeout_ms=*/50);
  seqbench::Rng rng(11);
  int64_t run_id = store.begin_run(sample_run_info());
  store.add_cell(run_id, sample_cell(0), sample_metrics(rng, 2));

  RawConnection other_writer(path);
  other_writer.exec("BEGIN IMMEDIATE");
  CHECK_THROWS_WITH(
      store.add_cell(run_id, sample_cell(1), sample_metrics(rng, 2)),
      Contains(path) && Contains("locked by another process") && Contains("retry once") &&
          !Contains("--busy-timeout"));  // no such flag: the message names only what exists
  CHECK(store.cells(run_id).size() == 1);  // readers are not blocked by a writer in WAL mode
  ResultsStore reader(path, /*busy_timeout_ms=*/50);
  CHECK(reader.cells(run_id).size() == 1);
  other_writer.exec("ROLLBACK");

  store.add_cell(run_id, sample_cell(1), sample_metrics(rng, 2));
  CHECK(store.cells(run_id).size() == 2);
}

TEST_CASE("opening a store held by an exclusive lock fails after the busy timeout", "[store]") {
  TempDir dir;
  const std::string path = dir.file("results.db");
  RawConnection holder(path);  // rollback-journal mode, where an exclusive lock blocks readers too
  holder.exec(
      "CREATE TABLE unrelated(x INTEGER); BEGIN EXCLUSIVE; INSERT INTO unrelated VALUES(1)");
  CHECK_THROWS_WITH(ResultsStore(path, /*busy_timeout_ms=*/50),
                    Contains(path) && Contains("locked by another process"));
  holder.exec("ROLLBACK");
}

TEST_CASE("two processes adding cells to one new store at once lose nothing", "[store]") {
  TempDir dir;
  const std::string path = dir.file("results.db");  // created by whichever child gets there first
  const int cells_per_process = 50;
  auto writer = [&](uint64_t seed) {
    return [&path, seed, cells_per_process]() {
      ResultsStore store(path);
      seqbench::Rng rng(seed);
      int64_t run_id = store.begin_run(sample_run_info());
      for (int i = 0; i < cells_per_process; ++i)
        store.add_cell(run_id, sample_cell(i), sample_metrics(rng, 3));
      store.finish_run(run_id, RunStatus::ok);
      return 0;
    };
  };
  pid_t first = spawn(writer(1));
  pid_t second = spawn(writer(2));
  CHECK(wait_for_exit_code(first) == 0);
  CHECK(wait_for_exit_code(second) == 0);

  ResultsStore store(path);
  auto runs = store.runs();
  REQUIRE(runs.size() == 2);
  size_t total_cells = 0;
  for (const auto& run : runs) {
    CHECK(run.status == RunStatus::ok);
    auto cell_rows = store.cells(run.id);
    CHECK(cell_rows.size() == static_cast<size_t>(cells_per_process));
    total_cells += cell_rows.size();
    for (const auto& cell : cell_rows) CHECK(store.metrics(cell.id).size() == 3);
  }
  CHECK(total_cells == 2 * static_cast<size_t>(cells_per_process));
}

TEST_CASE("a run whose process died is marked partial on the next open, cells intact", "[store]") {
  TempDir dir;
  const std::string path = dir.file("results.db");
  ResultsStore live(path);
  int64_t live_run = live.begin_run(sample_run_info());  // ours: this process is still alive

  pid_t child = spawn([&path]() {
    ResultsStore store(path);
    seqbench::Rng rng(3);
    int64_t run_id = store.begin_run(sample_run_info());
    for (int i = 0; i < 3; ++i) store.add_cell(run_id, sample_cell(i), sample_metrics(rng, 2));
    _exit(1);  // dies without finish_run and without closing the store
    return 0;
  });
  CHECK(wait_for_exit_code(child) == 1);

  auto before = live.latest_run();  // read through the old connection: nothing marked yet
  REQUIRE(before.has_value());
  CHECK(before->status == RunStatus::running);

  ResultsStore reopened(path);
  auto dead = reopened.latest_run();
  REQUIRE(dead.has_value());
  CHECK(dead->id != live_run);
  CHECK(dead->status == RunStatus::partial);
  CHECK(dead->finished_at.empty());
  auto cell_rows = reopened.cells(dead->id);
  REQUIRE(cell_rows.size() == 3);
  for (int i = 0; i < 3; ++i) {
    check_same_cell(sample_cell(i), cell_rows[i].cell);
    CHECK(reopened.metrics(cell_rows[i].id).size() == 2);
  }
  CHECK(reopened.run(live_run)->status == RunStatus::running);
}

TEST_CASE("a file that is not a database is refused with an error naming it", "[store]") {
  TempDir dir;
  const std::string path = dir.file("notes.db");
  std::ofstream(path) << "these are my notes, not a database\n";
  CHECK_THROWS_AS(ResultsStore(path), StoreError);
  CHECK_THROWS_WITH(ResultsStore(path), Contains(path) && Contains("not a SQLite database"));
}

TEST_CASE("a store written by a newer schema is refused, naming both versions", "[store]") {
  TempDir dir;
  const std::string path = dir.file("results.db");
  { ResultsStore store(path); }
  RawConnection(path).exec("UPDATE schema_version SET version = 999");
  const std::string current = std::to_string(ResultsStore::current_schema_version());
  CHECK_THROWS_WITH(ResultsStore(path), Contains(path) && Contains("newer") &&
                                            Contains("schema 999") && Contains("up to " + current));
}

TEST_CASE("an unwritable location is reported as a StoreError naming the path and the cause", "[store]") {
  TempDir dir;
  SECTION("a directory that does not exist") {
    const std::string path = dir.file("missing-dir/results.db");
    CHECK_THROWS_WITH(ResultsStore(path), Contains(path) && Contains("directory") && Contains("does not exist"));
  }
  SECTION("a file name longer than the file system allows") {
    const std::string path = dir.file(std::string(300, 'r') + ".db");
    CHECK_THROWS_WITH(ResultsStore(path), Contains("303 bytes long") && Contains("255"));
  }
  SECTION("a parent that is a regular file") {
    std::ofstream(dir.file("plain-file")) << "x";
    const std::string path = dir.file("plain-file/results.db");
    CHECK_THROWS_WITH(ResultsStore(path), Contains(path));
  }
  SECTION("a read-only directory or file") {
    if (geteuid() == 0) return;  // permission bits do not stop root
    const std::string in_locked_dir = dir.file("locked/results.db");
    fs::create_directory(dir.file("locked"));
    fs::permissions(dir.file("locked"), fs::perms::owner_read | fs::perms::owner_exec);
    CHECK_THROWS_AS(ResultsStore(in_locked_dir), StoreError);

    const std::string read_only = dir.file("read-only.db");
    { ResultsStore store(read_only); }
    fs::permissions(read_only, fs::perms::owner_read);
    CHECK_THROWS_WITH(ResultsStore(read_only), Contains(read_only) && Contains("permission"));
    CHECK(ResultsStore(read_only, seqbench::StoreAccess::read_only).runs().empty());  // reading needs no write access
  }
}

TEST_CASE("an older file is migrated to the current schema on open", "[store]") {
  TempDir dir;
  const std::string path = dir.file("results.db");
  SECTION("an empty file, as an empty SQLite database, is schema 0") {
    std::ofstream(path).flush();
    REQUIRE(fs::file_size(path) == 0);
  }
  SECTION("a schema_version table that is still empty is schema 0") {
    RawConnection(path).exec("CREATE TABLE schema_version(version INTEGER NOT NULL)");
  }
  ResultsStore store(path);
  CHECK(store.schema_version() == ResultsStore::current_schema_version());
  RawConnection raw(path);
  CHECK(raw.count("SELECT count(*) FROM schema_version") == 1);
  CHECK(raw.count("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN "
                  "('cells_by_run', 'metrics_by_cell')") == 2);
  int64_t run_id = store.begin_run(sample_run_info());
  store.add_cell(run_id, sample_cell(0), {});
  CHECK(store.cells(run_id).size() == 1);
}

TEST_CASE("writes naming a missing run or malformed JSON are rejected", "[store]") {
  TempDir dir;
  const std::string path = dir.file("results.db");
  ResultsStore store(path);
  CHECK_THROWS_WITH(store.add_cell(42, sample_cell(0), {}),
                    Contains(path) && Contains("no run 42"));
  CHECK_THROWS_WITH(store.finish_run(42, RunStatus::ok), Contains("no run 42"));
  int64_t run_id = store.begin_run(sample_run_info());
  CHECK_THROWS_AS(store.finish_run(run_id, RunStatus::running), std::invalid_argument);

  CellRecord bad_cell = sample_cell(0);
  bad_cell.params_json = "{not json";
  CHECK_THROWS_WITH(store.add_cell(run_id, bad_cell, {}), Contains("params_json"));
  RunInfo bad_run = sample_run_info();
  bad_run.environment_json = "";
  CHECK_THROWS_WITH(store.begin_run(bad_run), Contains("environment_json"));
  Metric unnamed;
  CHECK_THROWS_AS(store.add_cell(run_id, sample_cell(0), {unnamed}), std::invalid_argument);
  CHECK(store.cells(run_id).empty());
  CHECK(store.runs().size() == 1);
}

TEST_CASE("a stored metric with malformed samples is reported, not crashed on", "[store]") {
  TempDir dir;
  const std::string path = dir.file("results.db");
  ResultsStore store(path);
  int64_t run_id = store.begin_run(sample_run_info());
  Metric loss;
  loss.name = "loss";
  loss.samples = {1.5};
  int64_t cell_id = store.add_cell(run_id, sample_cell(0), {loss});
  RawConnection(path).exec("UPDATE metrics SET samples_json = '[1.5, \"fast\"]'");
  CHECK_THROWS_WITH(store.metrics(cell_id),
                    Contains(path) && Contains("loss") && Contains("[1.5, \"fast\"]"));
}
