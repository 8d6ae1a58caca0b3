// Sharding a sweep by what its cells are: shards partition the sweep, are the same whatever order the
// sweep lists its axes in, and share the cells and the work evenly; the identity a stored cell reads
// back as is the one its run was given; multi-worker runs hand out the longest cells first.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "harness/cell_runner.h"
#include "harness/scaleout/cell_cost.h"
#include "harness/scaleout/cell_identity.h"
#include "harness/scaleout/shard_assignment.h"
#include "harness/sweep.h"
#include "harness/sweep_runner.h"

using namespace seqbench;
using nlohmann::json;

namespace {

json grid_spec() {
  return json::parse(R"({
    "name": "grid", "seeds": [0, 1],
    "backends": ["softmax", {"name": "linear", "feature_map": ["identity", "elu"]}],
    "tasks": [{"name": "mqar", "seq_len": [16, 32], "vocab_size": 64, "num_kv_pairs": 2, "num_train": 8, "num_test": 4}],
    "model": {"d_model": [16, 32], "n_layers": 1},
    "train": {"epochs": 1, "batch_size": 4}
  })");
}

std::set<std::string> identities_of_shard(const Sweep& sweep, int index, int count) {
  std::set<std::string> out;
  for (size_t i : shard_cells(sweep.cells, index, count)) out.insert(cell_identity(sweep.cells[i]));
  return out;
}

}  // namespace

TEST_CASE("the shards of a sweep hold every cell exactly once, and each about 1/N of them") {
  const Sweep sweep = expand_sweep(grid_spec());
  REQUIRE(sweep.cells.size() == 24);
  for (int count : {1, 2, 3, 5, 7, 24, 30}) {
    INFO(count << " shards");
    std::vector<int> seen(sweep.cells.size(), 0);
    for (int shard = 0; shard < count; ++shard) {
      const auto cells = shard_cells(sweep.cells, shard, count);
      CHECK(cells.size() >= sweep.cells.size() / count);
      CHECK(cells.size() <= (sweep.cells.size() + count - 1) / count);
      CHECK(std::is_sorted(cells.begin(), cells.end()));
      for (size_t i : cells) ++seen[i];
    }
    CHECK(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
  }
}

TEST_CASE("a shard holds the same cells when the sweep lists its axes and seeds in another order") {
  json reordered = grid_spec();
  reordered["seeds"] = {1, 0};
  reordered["backends"] = json::parse(R"([{"name": "linear", "feature_map": ["elu", "identity"]}, "softmax"])");
  reordered["tasks"][0]["seq_len"] = {32, 16};
  reordered["model"]["d_model"] = {32, 16};
  const Sweep a = expand_sweep(grid_spec()), b = expand_sweep(reordered);
  REQUIRE(cell_identity(a.cells.front()) != cell_identity(b.cells.front()));  // really another order
  for (int shard = 0; shard < 3; ++shard) CHECK(identities_of_shard(a, shard, 3) == identities_of_shard(b, shard, 3));
  CHECK(sweep_record(a, 0, 1)["fingerprint"] == sweep_record(b, 0, 1)["fingerprint"]);
}

TEST_CASE("shards share the work: each gets one of the largest cells before any gets a second") {
  const Sweep sweep = expand_sweep(grid_spec());
  // 6 cells of the largest size (seq_len 32, d_model 32), 3 shards: two each.
  for (int shard = 0; shard < 3; ++shard) {
    int largest = 0;
    for (size_t i : shard_cells(sweep.cells, shard, 3))
      largest += sweep.cells[i].d_model == 32 && sweep.cells[i].task_params["seq_len"] == 32;
    CHECK(largest == 2);
  }
}

TEST_CASE("a different sweep has a different fingerprint, and a shard's record names its shard") {
  json other = grid_spec();
  other["model"]["d_model"] = {16, 64};
  const json a = sweep_record(expand_sweep(grid_spec()), 1, 4), b = sweep_record(expand_sweep(other), 1, 4);
  CHECK(a["fingerprint"] != b["fingerprint"]);
  CHECK(a["cells"] == 24);
  CHECK(a["shard"] == "1/4");
  CHECK(a["name"] == "grid");
  CHECK_FALSE(sweep_record(expand_sweep(grid_spec()), 0, 1).contains("shard"));
}

TEST_CASE("a stored cell reads back as the identity its run was given, results and failures alike") {
  const Sweep sweep = expand_sweep(grid_spec());
  const CellSpec& cell = sweep.cells[5];
  TaskCache tasks;
  bool ok = false;
  std::ostringstream log;
  const CellOutcome outcome = run_cell_or_record_failure(cell, tasks, log, ok);
  REQUIRE(ok);
  CHECK(json::parse(outcome.record.params_json).contains("lr_sweep"));  // results beside the description
  CHECK(stored_cell_identity(outcome.record) == cell_identity(cell));
  CHECK(stored_cell_identity(failed_cell_outcome(cell, "out of memory").record) == cell_identity(cell));
  CHECK(stored_cell_identity(failed_cell_outcome(sweep.cells[6], "x").record) != cell_identity(cell));
}

TEST_CASE("the stable hash is FNV-1a 64, the same on every machine") {
  CHECK(stable_hash("") == 14695981039346656037ull);
  CHECK(hex64(stable_hash("a")) == "af63dc4c8601ec8c");
}

TEST_CASE("cells are handed out longest first: longer sequences, wider models, more examples and epochs") {
  json spec = json::parse(R"({
    "name": "sizes", "backends": ["softmax"],
    "tasks": [{"name": "mqar", "seq_len": [16, 64], "vocab_size": 64, "num_kv_pairs": 2, "num_train": [8, 32]}],
    "model": {"d_model": [16, 32], "n_layers": 1}, "train": {"epochs": [1, 2]}
  })");
  const Sweep sweep = expand_sweep(spec);
  std::vector<size_t> all(sweep.cells.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  const auto order = longest_first(sweep.cells, all);
  const CellSpec& first = sweep.cells[order.front()];
  const CellSpec& last = sweep.cells[order.back()];
  CHECK(first.task_params["seq_len"] == 64);
  CHECK(first.d_model == 32);
  CHECK(first.task_params["num_train"] == 32);
  CHECK(first.train.epochs == 2);
  CHECK(last.task_params["seq_len"] == 16);
  CHECK(last.d_model == 16);
  for (size_t i = 1; i < order.size(); ++i)
    CHECK(estimated_cell_cost(sweep.cells[order[i - 1]]) >= estimated_cell_cost(sweep.cells[order[i]]));
}
