// Output files never cost data: -o refuses a results store even with --force, overwrites another
// existing file only with --force, and writes through a temporary file.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "harness/output_file.h"
#include "harness/results_store.h"
#include "harness/timing_stats.h"
#include "tests/cli_harness.h"
#include "tests/results_store_fixtures.h"

using namespace seqbench;
using Catch::Matchers::Contains;

namespace {

void write_store(const std::string& db) {
  CellRecord cell;
  cell.backend = "softmax";
  cell.task = "mqar";
  store_fixtures::write_one_cell_run(db, cell,
                                     {make_metric("accuracy", 0.5), make_metric("prefill_ms@len64", {1.0, 1.1, 0.9})});
}

// Files in dir, not counting SQLite's -wal and -shm side files of a store that was read.
size_t files_in(const std::string& dir) {
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    n += name.find("-wal") == std::string::npos && name.find("-shm") == std::string::npos;
  }
  return n;
}

}  // namespace

TEST_CASE("report, compare, gate and dataset export never overwrite a results store, even with --force") {
  testing::TempDir dir;
  const std::string db = dir.file("results.db"), other = dir.file("other.db");
  write_store(db);
  write_store(other);
  const std::string before = testing::read_file(db);
  for (const std::string& args :
       {"report --db " + db + " -o " + db, "report --db " + db + " -o " + other + " --force",
        "compare " + db + " " + other + " -o " + other, "gate --baseline " + db + " --candidate " + other + " -o " + db,
        "dataset export --task mqar --param num_train=2 --param num_test=2 -o " + db + " --force"}) {
    INFO(args);
    const auto r = testing::run_seqbench(args);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Contains("refusing to overwrite") && Contains("SQLite"));
  }
  CHECK(testing::read_file(db) == before);
  CHECK(testing::run_seqbench("report --db " + db).exit_code == 0);  // still a store
}

TEST_CASE("an existing output file is overwritten only with --force, and a new one is written whole") {
  testing::TempDir dir;
  const std::string db = dir.file("results.db");
  write_store(db);
  const std::string notes = dir.write("notes.md", "my notes\n");
  auto r = testing::run_seqbench("report --db " + db + " -o " + notes);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("notes.md") && Contains("already exists") && Contains("--force"));
  CHECK(testing::read_file(notes) == "my notes\n");

  r = testing::run_seqbench("report --db " + db + " -o " + notes + " --force");
  CHECK(r.exit_code == 0);
  CHECK_THAT(testing::read_file(notes), Contains("# seqbench leaderboard"));

  const std::string fresh = dir.file("fresh.csv");
  r = testing::run_seqbench("report --db " + db + " --format csv -o " + fresh);
  CHECK(r.exit_code == 0);
  CHECK_THAT(testing::read_file(fresh), Contains("accuracy"));
  const std::string exported = dir.file("data.jsonl");
  r = testing::run_seqbench("dataset export --task mqar --param num_train=2 --param num_test=2 -o " + exported);
  CHECK(r.exit_code == 0);
  r = testing::run_seqbench("dataset export --task mqar --param num_train=2 --param num_test=2 -o " + exported);
  CHECK(r.exit_code == 2);
  // No temporary files are left behind: the store, its notes, the report and the export with its
  // description.
  CHECK(files_in(dir.path) == 5);
  CHECK(testing::read_file(exported + ".meta.json").find("\"task\": \"mqar\"") != std::string::npos);
}

TEST_CASE("an output path in a missing directory or naming a directory is refused before any work") {
  testing::TempDir dir;
  CHECK_THROWS_WITH(check_output_path(dir.file("missing/out.md"), false, "-o"), Contains("does not exist"));
  CHECK_THROWS_WITH(check_output_path(dir.path, true, "-o"), Contains("is a directory"));
  CHECK_NOTHROW(check_output_path(dir.file("new.md"), false, "-o"));
  CHECK_FALSE(is_sqlite_file(dir.write("text.db", "SQLite format 2 is not a thing")));
}
