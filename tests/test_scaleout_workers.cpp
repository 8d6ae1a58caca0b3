// Runs spread over worker processes (`run --workers N`, the CPU form of `--devices`): the same
// results as one process, a killed worker failing only its own cell, Ctrl-C stopping every worker,
// a worker that would run other cells refused.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "harness/results_store.h"
#include "harness/scaleout/worker_devices.h"
#include "tests/cli_harness.h"
#include "tests/scaleout_fixtures.h"
#include "tests/seqbench_process.h"

using namespace seqbench;
using namespace seqbench::testing;
using Catch::Matchers::Contains;

namespace {

// The pid the run logged for worker `number`, waiting up to 30 s for the line.
pid_t worker_pid(const std::string& log_path, int number, pid_t run) {
  const std::regex started("worker " + std::to_string(number) + " \\(pid ([0-9]+)");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    std::smatch m;
    const std::string log = read_file(log_path);
    if (std::regex_search(log, m, started)) return static_cast<pid_t>(std::stoi(m[1]));
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    REQUIRE(kill(run, 0) == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void wait_for_log(const std::string& log_path, const std::string& text, pid_t run) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (read_file(log_path).find(text) == std::string::npos) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    REQUIRE(kill(run, 0) == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Writes text to the named pipe once a reader has opened it.
void write_to_reader(const std::string& fifo, const std::string& text) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int fd;
  while ((fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK)) < 0) {  // ENXIO: no reader yet
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  fcntl(fd, F_SETFL, 0);
  REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  close(fd);
}

}  // namespace

TEST_CASE("a sweep run by two CPU workers stores the same cells and scores as one process") {
  TempDir dir;
  const std::string sweep = dir.write("s.json", kEightCellSweep);
  const auto single = run_seqbench("run --sweep " + sweep + " --threads 1 --db " + dir.file("single.db"));
  REQUIRE(single.exit_code == 0);
  const auto workers = run_seqbench("run --sweep " + sweep + " --threads 1 --workers 2 --db " + dir.file("w.db"));
  INFO(workers.output);
  REQUIRE(workers.exit_code == 0);
  CHECK_THAT(workers.output, Contains("worker 1 (pid") && Contains("worker 2 (pid") && Contains("8 ok, 0 failed"));

  RunRow run;
  check_same_results(cells_by_identity(dir.file("single.db")), cells_by_identity(dir.file("w.db"), &run));
  CHECK(run.status == RunStatus::ok);
  CHECK(run.info.cells_planned == 8);
  CHECK(nlohmann::json::parse(run.info.environment_json)["workers"] == 2);
}

TEST_CASE("a worker killed in the middle of a cell fails that cell only; another worker runs the rest") {
  TempDir dir;
  const std::string db = dir.file("killed.db"), log = dir.file("run.log");
  const std::string sweep = dir.write("s.json", timed_sweep(6, 0.4));
  const pid_t run = start_seqbench({"run", "--sweep", sweep, "--db", db, "--threads", "1", "--workers", "2"}, log);
  const pid_t victim = worker_pid(log, 1, run);
  wait_for_log(log, "worker 1: ", run);  // it holds a cell that takes 0.4 s
  REQUIRE(kill(victim, SIGKILL) == 0);
  const ExitStatus status = wait_for(run);
  const std::string output = read_file(log);
  INFO(output);
  CHECK(status.code == 1);  // a cell failed
  CHECK_THAT(output, Contains("starting another in its place"));

  ResultsStore store(db, StoreAccess::read_only);
  const auto stored = store.latest_run();
  REQUIRE(stored);
  CHECK(stored->status == RunStatus::failed);
  const auto cells = store.cells(stored->id);
  REQUIRE(cells.size() == 6);
  int failed = 0;
  for (const auto& cell : cells) {
    if (cell.cell.status == "failed") {
      ++failed;
      CHECK_THAT(cell.cell.error, Contains("worker 1 (pid " + std::to_string(victim) + ")") &&
                                      Contains("killed by signal 9") && Contains("while running this cell"));
      CHECK(store.metrics(cell.id).empty());
    } else {
      CHECK(cell.cell.status == "ok");
      CHECK_FALSE(store.metrics(cell.id).empty());
    }
  }
  CHECK(failed == 1);
}

TEST_CASE("Ctrl-C stops every worker, stores the run as partial and exits 130") {
  TempDir dir;
  const std::string db = dir.file("interrupted.db"), log = dir.file("run.log");
  const std::string sweep = dir.write("s.json", timed_sweep(10, 0.4));
  const pid_t run = start_seqbench({"run", "--sweep", sweep, "--db", db, "--threads", "1", "--workers", "2"}, log);
  const pid_t first = worker_pid(log, 1, run), second = worker_pid(log, 2, run);
  wait_for_first_cell(db, run);
  REQUIRE(kill(run, SIGINT) == 0);
  const ExitStatus status = wait_for(run);
  const std::string output = read_file(log);
  INFO(output);
  CHECK(status.code == 130);
  CHECK_THAT(output, Contains("partial"));
  CHECK(kill(first, 0) == -1);  // no worker outlives its run
  CHECK(kill(second, 0) == -1);

  const ResultsStore store(db, StoreAccess::read_only);
  for (const auto& cell : cells_of_cut_short_run(store, 10))
    CHECK(cell.cell.status == "ok");  // an interrupted cell is not stored at all
}

TEST_CASE("worker counts and GPU lists are checked before anything runs") {
  TempDir dir;
  const std::string sweep = dir.write("s.json", kEightCellSweep), db = dir.file("r.db");
  for (const char* bad : {"--workers 0", "--workers 257", "--workers two", "--devices 0,0", "--devices 1,,2",
                          "--devices gpu0", "--workers 2 --devices 0", "--devices 0 --device cpu",
                          "--workers-per-gpu 0", "--workers-per-gpu 17", "--workers-per-gpu 2",
                          "--workers 2 --workers-per-gpu 2"}) {
    INFO(bad);
    const auto r = run_seqbench("run --sweep " + sweep + " --db " + db + " " + bad);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Contains("seqbench: error:"));
    CHECK_FALSE(std::filesystem::exists(db));
  }
#ifndef SEQBENCH_WITH_CUDA
  const auto r = run_seqbench("run --sweep " + sweep + " --db " + db + " --devices 0");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("--devices 0 needs a build with CUDA") && Contains("--workers N"));
  CHECK_FALSE(std::filesystem::exists(db));
#endif
}

TEST_CASE("an MPS daemon is seen through its control pipe") {
  TempDir dir;
  const char* before = std::getenv("CUDA_MPS_PIPE_DIRECTORY");
  const std::string saved = before ? before : "";
  setenv("CUDA_MPS_PIPE_DIRECTORY", dir.path.c_str(), 1);
  CHECK_FALSE(mps_daemon_running());
  dir.write("control", "");
  CHECK(mps_daemon_running());
  if (before)
    setenv("CUDA_MPS_PIPE_DIRECTORY", saved.c_str(), 1);
  else
    unsetenv("CUDA_MPS_PIPE_DIRECTORY");
}

TEST_CASE("a worker that expanded another sweep is stopped before it runs a cell, and no other takes its place") {
  TempDir dir;
  const std::string fifo = dir.file("sweep.json"), db = dir.file("r.db"), log = dir.file("run.log");
  REQUIRE(mkfifo(fifo.c_str(), 0644) == 0);
  const pid_t run = start_seqbench({"run", "--sweep", fifo, "--db", db, "--threads", "1", "--workers", "1"}, log);
  // The run reads one sweep; the worker it starts reads the file again and gets another.
  std::string other = kEightCellSweep;
  other.replace(other.find("\"seeds\": [0, 1]"), 15, "\"seeds\": [0, 7]");
  write_to_reader(fifo, kEightCellSweep);
  wait_for_log(log, "1 workers ->", run);  // the run has read its sweep and starts the worker
  write_to_reader(fifo, other);
  const ExitStatus status = wait_for(run);
  const std::string output = read_file(log);
  INFO(output);
  CHECK(status.code == 1);
  CHECK_THAT(output, Contains("worker 1 expanded another sweep") && Contains("before it could take a cell") &&
                         Contains("no worker is left to run the remaining 8 cells"));
  ResultsStore store(db, StoreAccess::read_only);
  CHECK(store.latest_run()->status == RunStatus::failed);
  CHECK(store.cells(store.latest_run()->id).empty());
}
