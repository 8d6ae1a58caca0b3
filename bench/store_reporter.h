// `seqbench_bench --store FILE.db`: a console reporter that also files every benchmark as one cell
// of one run in the results store. Each repetition's per-iteration time is a sample, so
// `seqbench compare` and `seqbench gate` can test two benchmark runs with the U test.
#pragma once
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>

#include "harness/results_store.h"

namespace seqbench::bench {

class StoreReporter : public benchmark::ConsoleReporter {
 public:
  // Opens the store (throws StoreError when it cannot be written); the run begins with the first
  // benchmark's results.
  StoreReporter(const std::string& db_path, const std::string& command_line);
  void ReportRuns(const std::vector<Run>& runs) override;
  // Marks the run ok (or failed when a benchmark reported an error); returns the run id, 0 when
  // no benchmark reported.
  int64_t finish();
  int cells() const { return cells_; }

 private:
  std::unique_ptr<ResultsStore> store_;
  std::string command_line_;
  int64_t run_id_ = 0;
  int cells_ = 0;
  bool any_failed_ = false;
};

}  // namespace seqbench::bench
