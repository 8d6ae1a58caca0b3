// The SQLite results store: runs, cells, metrics, and a schema-version table with migrations.
// One file, WAL mode, a busy timeout so concurrent writers wait instead of failing, and one
// transaction per cell so a run that dies halfway loses nothing already stored.
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct sqlite3;

namespace seqbench {

// Every store failure (locked, corrupt, newer schema, unwritable path) is reported as this, with
// a message naming the file and what to do.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class RunStatus { running, ok, failed, partial };
enum class StoreAccess { read_write, read_only };
std::string run_status_name(RunStatus status);
RunStatus parse_run_status(const std::string& name);

struct RunInfo {
  std::string started_at;   // ISO 8601 UTC; filled by begin_run when empty
  std::string git_sha;
  std::string command_line;
  std::string host;
  std::string device;       // "cpu" or the GPU's name
  std::string driver;
  std::string cuda_version;
  std::string clocks;
  std::string environment_json = "{}";  // compiler, flags, CPU model, ... (free-form JSON)
  uint64_t seed = 0;
  std::string suite;        // suite or sweep name
  int64_t cells_planned = 0;  // cells the run set out to store (0: not recorded, schema 1 files)
};

struct RunRow {
  int64_t id = 0;
  RunInfo info;
  std::string finished_at;
  RunStatus status = RunStatus::running;
};

struct Metric {
  std::string name;     // accuracy, loss, prefill_ms, decode_ms_per_token, peak_mem_bytes, ...
  double value = 0;     // the headline figure (the median for repeated measurements)
  std::string unit;     // "fraction", "ms", "bytes", "tokens/s", ...
  int64_t n = 1;        // repetitions behind value
  double min = 0, max = 0, stddev = 0;
  std::vector<double> samples;  // the repetitions themselves, for statistical comparison
  // The turn of a shared-context session the figure belongs to (harness/scenarios/); 0 for every
  // other metric and for a session's aggregate over its turns.
  int64_t turn = 0;
};

struct CellRecord {
  std::string backend;       // as written in the sweep (e.g. "linear" or "linear,softmax")
  std::string task;
  std::string params_json = "{}";  // the full cell description
  int64_t seq_len = 0;
  int64_t d_model = 0;
  int64_t layers = 0;
  int64_t state_bytes = 0;
  std::string status = "ok";       // ok / failed
  std::string error;               // message when failed
};

struct CellRow {
  int64_t id = 0;
  int64_t run_id = 0;
  CellRecord cell;
};

struct MetricRow {
  int64_t cell_id = 0;
  Metric metric;
};

class ResultsStore {
 public:
  // Opens or creates the store at path and migrates it to the current schema. Throws StoreError
  // for a corrupt file, a file written by a newer seqbench, a locked database that stays locked
  // past the busy timeout, or an unwritable location.
  explicit ResultsStore(const std::string& path, int busy_timeout_ms = 10000);
  // With StoreAccess::read_only: opens an existing store and never writes to it: no file is
  // created, no WAL switch, no migration (an older schema is read as it is), and a run left
  // `running` by a process that died reads as partial without being marked. Writes throw
  // StoreError. Throws StoreError for a missing file, a non-store or a newer schema.
  ResultsStore(const std::string& path, StoreAccess access, int busy_timeout_ms = 10000);
  ~ResultsStore();
  ResultsStore(const ResultsStore&) = delete;
  ResultsStore& operator=(const ResultsStore&) = delete;

  static int current_schema_version();
  int schema_version() const;  // of the file as opened (current, unless read-only and older)
  const std::string& path() const { return path_; }
  bool reading() const { return access_ == StoreAccess::read_only; }

  int64_t begin_run(const RunInfo& info);                  // status running
  // One transaction: the cell and all its metrics, or nothing.
  int64_t add_cell(int64_t run_id, const CellRecord& cell, const std::vector<Metric>& metrics);
  void finish_run(int64_t run_id, RunStatus status);

  std::vector<RunRow> runs() const;
  std::optional<RunRow> run(int64_t run_id) const;
  std::optional<RunRow> latest_run() const;
  std::vector<CellRow> cells(int64_t run_id) const;
  std::vector<MetricRow> metrics(int64_t cell_id) const;

 private:
  void require_writable(const char* what) const;

  std::string path_;
  StoreAccess access_ = StoreAccess::read_write;
  sqlite3* db_ = nullptr;
  int schema_ = 0;
};

}  // namespace seqbench
