// End-to-end faults: concurrent writers, a run killed mid-way, Ctrl-C, and a results file from a
// newer seqbench, all through the real `seqbench` binary.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "harness/results_store.h"
#include "tests/cli_harness.h"

using namespace seqbench;
using Catch::Matchers::Contains;

namespace {

// Profile-only cells whose duration the budget fixes: a noise target of 0 is never met, so each
// cell measures for budget_s and stores its metrics in one transaction.
std::string timed_sweep(int cells, double budget_s) {
  std::string seeds;
  for (int i = 0; i < cells; ++i) seeds += (i ? ", " : "") + std::to_string(i);
  return R"({"name": "faults", "seeds": [)" + seeds + R"(], "backends": ["softmax"],
    "tasks": [{"name": "mqar", "vocab_size": 64, "seq_len": 16, "num_kv_pairs": 2, "num_train": 4, "num_test": 2}],
    "model": {"d_model": 16, "n_layers": 1, "mlp_expand": 0},
    "train": {"epochs": 0, "batch_size": 2},
    "profile": {"prefill_lengths": [16], "target_rel_noise": 0, "budget_s": )" +
         std::to_string(budget_s) + R"(, "max_repetitions": 1000000000}})";
}

// Starts `seqbench args...` with its output in log_path; returns the child's pid.
pid_t start_seqbench(const std::vector<std::string>& args, const std::string& log_path) {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (log >= 0) {
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
    }
    std::vector<char*> argv{const_cast<char*>(SEQBENCH_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(SEQBENCH_BINARY, argv.data());
    _exit(127);
  }
  return pid;
}

struct ExitStatus {
  int code = -1;    // when exited
  int signal = 0;   // when killed
};

ExitStatus wait_for(pid_t pid) {
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  ExitStatus out;
  if (WIFEXITED(status)) out.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) out.signal = WTERMSIG(status);
  return out;
}

// Cells stored so far, read through a separate read-only connection (-1 before the schema exists).
int64_t stored_cells(const std::string& db_path) {
  sqlite3* db = nullptr;
  int64_t count = -1;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 2000);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM cells", -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
      count = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return count;
}

void wait_for_first_cell(const std::string& db_path, pid_t writer) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (stored_cells(db_path) < 1) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    REQUIRE(kill(writer, 0) == 0);  // still running
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
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
  const std::string sweep = dir.write("s.json", timed_sweep(8, 0.4));
  const pid_t writer = start_seqbench({"run", "--sweep", sweep, "--db", db, "--threads", "1"}, dir.file("run.log"));
  wait_for_first_cell(db, writer);
  REQUIRE(kill(writer, SIGKILL) == 0);
  CHECK(wait_for(writer).signal == SIGKILL);

  ResultsStore store(db);  // reopening notices the dead writer
  const auto run = store.latest_run();
  REQUIRE(run);
  CHECK(run->status == RunStatus::partial);
  const auto cells = store.cells(run->id);
  CHECK(cells.size() >= 1);
  CHECK(cells.size() < 8);
  for (const auto& cell : cells) {
    CHECK(cell.cell.status == "ok");
    bool has_latency = false;
    for (const auto& m : store.metrics(cell.id)) has_latency |= m.metric.name == "prefill_ms@len16";
    CHECK(has_latency);
  }
}

TEST_CASE("Ctrl-C stops a run after the current repetition, stores it as partial and exits 130") {
  testing::TempDir dir;
  const std::string db = dir.file("interrupted.db");
  const std::string sweep = dir.write("s.json", timed_sweep(8, 0.4));
  const pid_t writer = start_seqbench({"run", "--sweep", sweep, "--db", db, "--threads", "1"}, dir.file("run.log"));
  wait_for_first_cell(db, writer);
  REQUIRE(kill(writer, SIGINT) == 0);
  const ExitStatus status = wait_for(writer);
  const std::string log = read_file(dir.file("run.log"));
  INFO(log);
  CHECK(status.code == 130);
  CHECK_THAT(log, Contains("partial"));

  ResultsStore store(db);
  const auto run = store.latest_run();
  REQUIRE(run);
  CHECK(run->status == RunStatus::partial);
  CHECK(store.cells(run->id).size() >= 1);
  CHECK(store.cells(run->id).size() < 8);
  CHECK(run->info.cells_planned == 8);
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
