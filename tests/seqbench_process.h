// Running `seqbench` as a background process, as a user or a cluster would: start it with its output
// in a log file, watch its results store fill, signal it, and read how it ended.
#pragma once
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "harness/results_store.h"
#include "tests/cli_harness.h"

namespace seqbench::testing {

// Profile-only cells whose duration the budget fixes: a noise target of 0 is never met, so each
// cell measures for budget_s and stores its metrics in one transaction.
inline std::string timed_sweep(int cells, double budget_s) {
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
inline pid_t start_seqbench(const std::vector<std::string>& args, const std::string& log_path) {
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

inline ExitStatus wait_for(pid_t pid) {
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  ExitStatus out;
  if (WIFEXITED(status)) out.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) out.signal = WTERMSIG(status);
  return out;
}

// Cells stored so far, read through a separate read-only connection (-1 before the schema exists).
inline int64_t stored_cells(const std::string& db_path) {
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

inline void wait_for_first_cell(const std::string& db_path, pid_t writer) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (stored_cells(db_path) < 1) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    REQUIRE(kill(writer, 0) == 0);  // still running
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// The latest run of store, which a kill or Ctrl-C cut short: partial, with some but not all of
// its `planned` cells stored. Returns those cells.
inline std::vector<CellRow> cells_of_cut_short_run(const ResultsStore& store, size_t planned) {
  const auto run = store.latest_run();
  REQUIRE(run);
  CHECK(run->status == RunStatus::partial);
  const auto cells = store.cells(run->id);
  CHECK(cells.size() >= 1);
  CHECK(cells.size() < planned);
  return cells;
}

}  // namespace seqbench::testing
