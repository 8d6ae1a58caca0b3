// Fixtures for the results-store tests: a temporary directory, a raw SQLite connection for setting
// up states the store never creates itself, forked writer processes, and sample runs, cells and
// metrics with exact comparisons.
#pragma once
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "harness/results_store.h"
#include "ops/rng.h"

namespace store_fixtures {

namespace fs = std::filesystem;
using seqbench::CellRecord;
using seqbench::Metric;
using seqbench::ResultsStore;
using seqbench::RunInfo;
using seqbench::RunStatus;
using seqbench::StoreError;

// A fresh directory under /tmp for one test, removed (permissions restored first) at the end.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/seqbench-store-test-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    make_removable(path_);
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  // Tests lock directories and files read-only; give the owner full rights back, top down.
  static void make_removable(const fs::path& path) {
    std::error_code ignored;
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ignored);
    if (!fs::is_directory(fs::symlink_status(path, ignored))) return;
    for (const auto& entry : fs::directory_iterator(path, ignored)) make_removable(entry.path());
  }

  fs::path path_;
};

// A plain SQLite connection, for setting up situations the store never creates by itself.
class RawConnection {
 public:
  explicit RawConnection(const std::string& path) {
    REQUIRE(sqlite3_open(path.c_str(), &db_) == SQLITE_OK);
  }
  ~RawConnection() { sqlite3_close(db_); }
  void exec(const std::string& sql) {
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
    INFO(sql << ": " << sqlite3_errmsg(db_));
    REQUIRE(rc == SQLITE_OK);
  }
  int64_t count(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
    int64_t value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
  }

 private:
  sqlite3* db_ = nullptr;
};

// Runs body in a forked child that leaves through _exit, so it never runs Catch's or the parent's
// cleanup. Returns the child's pid.
inline pid_t spawn(const std::function<int()>& body) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 99;
    try {
      code = body();
    } catch (const std::exception& error) {
      std::fprintf(stderr, "child %d failed: %s\n", static_cast<int>(getpid()), error.what());
    }
    _exit(code);
  }
  return pid;
}

inline int wait_for_exit_code(pid_t pid) {
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);  // reaped, so kill(pid, 0) now reports ESRCH
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

inline RunInfo sample_run_info() {
  RunInfo info;
  info.git_sha = "0123abcd";
  info.command_line = "seqbench run --suite mqar-small --seed 18446744073709551615";
  info.device = "cpu";
  info.driver = "n/a";
  info.cuda_version = "12.4";
  info.clocks = "sm=1980MHz mem=2619MHz";
  info.environment_json = R"({"compiler":"g++ 12","flags":"-O2"})";
  info.seed = std::numeric_limits<uint64_t>::max();  // above INT64_MAX: must survive the cast
  info.suite = "mqar-small";
  return info;
}

// A finished run (suite "stored") of one cell with these metrics, added to the store at path.
inline int64_t write_one_cell_run(const std::string& path, const CellRecord& cell, const std::vector<Metric>& metrics) {
  seqbench::ResultsStore store(path);
  RunInfo info;
  info.suite = "stored";
  const int64_t run = store.begin_run(info);
  store.add_cell(run, cell, metrics);
  store.finish_run(run, seqbench::RunStatus::ok);
  return run;
}

inline CellRecord sample_cell(int index) {
  CellRecord cell;
  cell.backend = index % 2 == 0 ? "linear" : "linear,softmax";
  cell.task = "mqar";
  cell.params_json = R"({"num_kv_pairs":)" + std::to_string(index + 3) + "}";
  cell.seq_len = 64 + 7 * index;
  cell.d_model = 31 + index;
  cell.layers = 1 + index % 3;
  cell.state_bytes = 4096LL * (index + 1);
  if (index % 3 == 2) {
    cell.status = "failed";
    cell.error = "loss became NaN at step " + std::to_string(index);
  }
  return cell;
}

inline std::vector<Metric> sample_metrics(seqbench::Rng& rng, int count) {
  std::vector<Metric> metrics;
  for (int m = 0; m < count; ++m) {
    Metric metric;
    metric.name = "metric_" + std::to_string(m);
    metric.unit = m % 2 == 0 ? "ms" : "fraction";
    metric.n = 1 + 6 * m;  // 1, 7, 13, ... repetitions
    for (int64_t r = 0; r < metric.n; ++r) metric.samples.push_back(rng.uniform(0.1, 100.0));
    metric.value = metric.samples[metric.samples.size() / 2];
    metric.min = rng.uniform(0.0, 0.1);
    metric.max = rng.uniform(100.0, 200.0);
    metric.stddev = rng.uniform();
    metrics.push_back(metric);
  }
  return metrics;
}

// Equal as stored values: NaN matches NaN, everything else must be bit-for-bit the same.
inline bool same_double(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

inline void check_same_metric(const Metric& expected, const Metric& actual) {
  INFO("metric " << expected.name);
  CHECK(actual.name == expected.name);
  CHECK(same_double(actual.value, expected.value));
  CHECK(actual.unit == expected.unit);
  CHECK(actual.n == expected.n);
  CHECK(same_double(actual.min, expected.min));
  CHECK(same_double(actual.max, expected.max));
  CHECK(same_double(actual.stddev, expected.stddev));
  REQUIRE(actual.samples.size() == expected.samples.size());
  for (size_t i = 0; i < expected.samples.size(); ++i) {
    INFO("sample " << i);
    CHECK(same_double(actual.samples[i], expected.samples[i]));
  }
}

inline void check_same_cell(const CellRecord& expected, const CellRecord& actual) {
  CHECK(actual.backend == expected.backend);
  CHECK(actual.task == expected.task);
  CHECK(actual.params_json == expected.params_json);
  CHECK(actual.seq_len == expected.seq_len);
  CHECK(actual.d_model == expected.d_model);
  CHECK(actual.layers == expected.layers);
  CHECK(actual.state_bytes == expected.state_bytes);
  CHECK(actual.status == expected.status);
  CHECK(actual.error == expected.error);
}

inline std::string this_host() {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  return name;
}

}  // namespace store_fixtures
