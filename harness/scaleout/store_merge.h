// `seqbench merge OUT.db IN.db...`: the runs of a sweep's shard files combined into one run of OUT,
// as if one process had run the whole sweep. Every input run must record the same sweep
// fingerprint (the same cells; harness/scaleout/cell_identity.h); runs of another sweep are refused.
// A cell is recognised by its stable identity: one already in OUT's merged run, or met twice among
// the inputs with the same results, is added once (merging a shard again adds nothing); two
// different results for one cell are a conflict, reported with both sources, and nothing is
// written. Rows are copied column for column (any column the schema has), in one transaction.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/results_store.h"

namespace seqbench {

class MergeConflict : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct MergeSummary {
  std::string out_path;
  int64_t run_id = 0;
  bool created = false;       // a new merged run (false: cells added to the one already in OUT)
  int input_runs = 0;
  int cells_added = 0;
  int cells_already_there = 0;  // duplicates skipped, found in OUT or earlier in the inputs
  int64_t cells_stored = 0;     // in the merged run after the merge
  int64_t cells_planned = 0;    // the whole sweep
  RunStatus status = RunStatus::ok;
  std::vector<std::string> notes;  // e.g. shards built from different sources
};

// Throws MergeConflict (conflicting duplicates), std::invalid_argument (different sweeps, OUT also
// an input, a run without a sweep record or still running) or StoreError (unreadable input, OUT
// not writable).
MergeSummary merge_shard_stores(const std::string& out_path, const std::vector<std::string>& inputs,
                                const std::string& command_line);

}  // namespace seqbench
