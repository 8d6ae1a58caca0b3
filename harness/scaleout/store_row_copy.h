// Writing a merged run: rows copied from the shard files column for column, so whatever columns
// the schema has (today's and any a later migration adds) arrive as they were written.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/results_store.h"

namespace seqbench {

// The run-row fields a merge sets; every other column comes from the first shard run.
struct MergedRunFields {
  std::string started_at, finished_at, host, device, git_sha, command_line, environment_json;
  RunStatus status = RunStatus::ok;
  int64_t cells_planned = 0;
};

// One cell (with its metrics) to copy from a shard file.
struct CellCopy {
  std::string path;
  int64_t cell_id = 0;
};

// In one transaction: creates the merged run (a copy of template_run in template_path) unless
// run_id names one already in out_path, copies every cell and its metrics into it, and sets the
// run's fields. Returns the merged run's id. Throws StoreError.
int64_t write_merged_run(const std::string& out_path, std::optional<int64_t> run_id, const std::string& template_path,
                         int64_t template_run, const MergedRunFields& fields, const std::vector<CellCopy>& cells);

}  // namespace seqbench
