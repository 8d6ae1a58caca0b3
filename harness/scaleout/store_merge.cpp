#include "harness/scaleout/store_merge.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "harness/results_store_open.h"
#include "harness/scaleout/shard_runs.h"
#include "harness/scaleout/store_row_copy.h"

namespace seqbench {
namespace {

struct NewCell {
  const ShardRun* from;
  const StoredCell* cell;
};

struct Conflict {
  std::string first_source, second_source, label, difference;
};

bool same_file(const std::string& a, const std::string& b) {
  std::error_code error;
  if (std::filesystem::exists(a, error) && std::filesystem::exists(b, error))
    return std::filesystem::equivalent(a, b, error);
  return std::filesystem::absolute(a).lexically_normal() == std::filesystem::absolute(b).lexically_normal();
}

std::string describe_sweep(const ShardRun& run) {
  return "'" + run.sweep.value("name", std::string()) + "' (" + run.sweep.value("cells", nlohmann::json(0)).dump() +
         " cells, fingerprint " + run.sweep["fingerprint"].get<std::string>() + ")";
}

void check_one_sweep(const std::vector<ShardRun>& runs) {
  for (const ShardRun& run : runs)
    if (run.sweep["fingerprint"] != runs.front().sweep["fingerprint"])
      throw std::invalid_argument(runs.front().source() + " ran sweep " + describe_sweep(runs.front()) + " but " +
                                  run.source() + " ran " + describe_sweep(run) +
                                  "; merge the shards of one sweep at a time");
}

[[noreturn]] void throw_conflicts(const std::vector<Conflict>& conflicts) {
  std::string message = std::to_string(conflicts.size()) + " cell" + (conflicts.size() == 1 ? " has" : "s have") +
                        " two different results; nothing was merged:";
  const size_t shown = std::min<size_t>(conflicts.size(), 10);
  for (size_t i = 0; i < shown; ++i)
    message += "\n  " + conflicts[i].label + ": " + conflicts[i].first_source + " and " + conflicts[i].second_source +
               " differ (" + conflicts[i].difference + ")";
  if (conflicts.size() > shown) message += "\n  and " + std::to_string(conflicts.size() - shown) + " more";
  message += "\nmerge only one result of each cell (leave out the stale shard file, or merge into another OUT)";
  throw MergeConflict(message);
}

std::string joined(const std::set<std::string>& values) {
  std::string out;
  for (const std::string& v : values)
    if (!v.empty()) out += (out.empty() ? "" : ", ") + v;
  return out;
}

// Adds each comma-separated part of text to values.
void add_parts(std::set<std::string>& values, const std::string& text) {
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(", ", start), text.size());
    if (comma > start) values.insert(text.substr(start, comma - start));
    start = comma + 2;
  }
}

RunStatus merged_status(const std::vector<StoredCell>& cells, int64_t planned) {
  if (static_cast<int64_t>(cells.size()) < planned) return RunStatus::partial;
  for (const StoredCell& cell : cells)
    if (cell.row.cell.status != "ok") return RunStatus::failed;
  return RunStatus::ok;
}

}  // namespace

MergeSummary merge_shard_stores(const std::string& out_path, const std::vector<std::string>& inputs,
                                const std::string& command_line) {
  if (inputs.empty()) throw std::invalid_argument("merge needs at least one shard file to read");
  for (const std::string& input : inputs)
    if (same_file(input, out_path))
      throw std::invalid_argument("merge output " + out_path + " is also an input (" + input +
                                  "); write the merged run to another file");
  std::vector<ShardRun> runs;
  for (const std::string& input : inputs)
    for (ShardRun& run : read_shard_runs(input)) runs.push_back(std::move(run));
  if (runs.empty()) throw std::invalid_argument("the shard files hold no runs to merge");
  check_one_sweep(runs);
  const std::string fingerprint = runs.front().sweep["fingerprint"];

  ResultsStore out(out_path);  // created and migrated if need be
  std::optional<RunRow> target;
  for (const RunRow& run : out.runs()) {
    const nlohmann::json sweep = sweep_of(run);
    if (!sweep.is_null() && sweep["fingerprint"] == fingerprint && sweep.contains("merged_from")) target = run;
  }
  const std::vector<StoredCell> existing = target ? read_stored_cells(out, target->id) : std::vector<StoredCell>{};

  // Every cell once: the first result of each key is kept, an identical one skipped, a different one a conflict.
  MergeSummary summary;
  std::map<std::string, std::pair<std::string, const StoredCell*>> known;
  for (const StoredCell& cell : existing) known[cell.key] = {out_path + " run " + std::to_string(target->id), &cell};
  std::vector<NewCell> added;
  std::vector<Conflict> conflicts;
  for (const ShardRun& run : runs)
    for (const StoredCell& cell : run.cells) {
      auto [at, is_new] = known.try_emplace(cell.key, run.source(), &cell);
      if (is_new) {
        added.push_back({&run, &cell});
        continue;
      }
      const std::string difference = first_difference(*at->second.second, cell);
      if (difference.empty())
        ++summary.cells_already_there;
      else
        conflicts.push_back({at->second.first, run.source(), cell_label_with_seed(cell), difference});
    }
  if (!conflicts.empty()) throw_conflicts(conflicts);
  // Seeds in order, as a single run stores them, so compare pairs seed with seed.
  std::stable_sort(added.begin(), added.end(),
                   [](const NewCell& a, const NewCell& b) { return a.cell->seed < b.cell->seed; });

  // The merged run's row: where and when its cells were measured, and from which shard runs.
  std::set<std::string> hosts, devices, shas;
  std::string started, finished;
  nlohmann::json environment = nlohmann::json::parse(
      target ? target->info.environment_json : runs.front().run.info.environment_json, nullptr, false);
  if (!environment.is_object()) environment = nlohmann::json::object();
  nlohmann::json sweep = runs.front().sweep;
  sweep.erase("shard");
  sweep["merged_from"] = target ? sweep_of(*target)["merged_from"] : nlohmann::json::array();
  if (target) {
    add_parts(hosts, target->info.host), add_parts(devices, target->info.device), add_parts(shas, target->info.git_sha);
    started = target->info.started_at, finished = target->finished_at;
  }
  for (const ShardRun& run : runs) {
    hosts.insert(run.run.info.host), devices.insert(run.run.info.device), shas.insert(run.run.info.git_sha);
    if (started.empty() || run.run.info.started_at < started) started = run.run.info.started_at;
    if (run.run.finished_at > finished) finished = run.run.finished_at;
    if (std::find(sweep["merged_from"].begin(), sweep["merged_from"].end(), run.source()) == sweep["merged_from"].end())
      sweep["merged_from"].push_back(run.source());
  }
  environment["sweep"] = sweep;
  if (shas.size() > 1) summary.notes.push_back("the shards were built from different sources: " + joined(shas));

  summary.out_path = out_path;
  summary.input_runs = static_cast<int>(runs.size());
  summary.cells_planned = sweep.value("cells", int64_t{0});
  summary.created = !target;
  summary.cells_added = static_cast<int>(added.size());
  std::vector<StoredCell> after = existing;
  for (const NewCell& n : added) after.push_back(*n.cell);
  summary.cells_stored = static_cast<int64_t>(after.size());
  summary.status = merged_status(after, summary.cells_planned);

  MergedRunFields fields{started, finished, joined(hosts), joined(devices), joined(shas), command_line,
                         environment.dump(), summary.status, summary.cells_planned};
  std::vector<CellCopy> copies;
  for (const NewCell& n : added) copies.push_back({n.from->path, n.cell->row.id});
  summary.run_id = write_merged_run(out_path, target ? std::optional<int64_t>(target->id) : std::nullopt,
                                    runs.front().path, runs.front().run.id, fields, copies);
  return summary;
}

}  // namespace seqbench
