// The SQLite results store. Every SQLite failure is caught at the public entry points and rethrown
// as a StoreError whose message names the file and the remedy (see store_error_for).
#include "harness/results_store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <utility>

#include "harness/metric_samples_json.h"
#include "harness/enum_names.h"
#include "harness/results_store_open.h"
#include "harness/results_store_schema.h"
#include "harness/sqlite_statement.h"

namespace seqbench {
namespace {

std::string utc_now_iso8601() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

void require_json(const std::string& text, const char* field) {
  if (!nlohmann::json::accept(text))
    throw std::invalid_argument(std::string(field) + " must be valid JSON, got '" + text + "'");
}

// ---- reading rows ----

// Schema 1 files (read as they are when opened read-only) lack runs.cells_planned.
std::string run_columns(int schema_version) {
  return std::string("SELECT id, started_at, finished_at, status, git_sha, command_line, host, device, driver, "
                     "cuda_version, clocks, environment_json, seed, suite, pid, ") +
         (schema_version >= 2 ? "cells_planned" : "0") + " FROM runs ";
}

// A reader that may not mark abandoned runs still reports them as what they are: partial.
RunRow read_run(const SqliteStatement& row, const std::string& path, bool report_abandoned) {
  RunRow run;
  run.id = row.column_int(0);
  run.info.started_at = row.column_text(1);
  run.finished_at = row.column_text(2);
  std::string status = row.column_text(3);
  try {
    run.status = parse_run_status(status);
  } catch (const std::invalid_argument&) {
    throw StoreError("results store " + path + ": run " + std::to_string(run.id) + " has unknown status '" + status +
                     "'");
  }
  run.info.git_sha = row.column_text(4);
  run.info.command_line = row.column_text(5);
  run.info.host = row.column_text(6);
  run.info.device = row.column_text(7);
  run.info.driver = row.column_text(8);
  run.info.cuda_version = row.column_text(9);
  run.info.clocks = row.column_text(10);
  run.info.environment_json = row.column_text(11);
  run.info.seed = static_cast<uint64_t>(row.column_int(12));  // stored as the same 64 bits
  run.info.suite = row.column_text(13);
  run.info.cells_planned = row.column_int(15);
  if (report_abandoned && run.status == RunStatus::running && run.info.host == this_host() &&
      process_is_gone(row.column_int(14)))
    run.status = RunStatus::partial;
  return run;
}

std::vector<RunRow> query_runs(sqlite3* db, const std::string& path, int schema_version, bool report_abandoned,
                               const std::string& sql_tail, std::optional<int64_t> run_id = std::nullopt) {
  const std::string sql = run_columns(schema_version) + sql_tail;
  SqliteStatement query(db, sql.c_str());
  if (run_id) query.bind(1, *run_id);
  std::vector<RunRow> runs;
  while (query.step()) runs.push_back(read_run(query, path, report_abandoned));
  return runs;
}

}  // namespace

constexpr EnumName<RunStatus> kRunStatusNames[] = {{RunStatus::running, "running"},
                                                   {RunStatus::ok, "ok"},
                                                   {RunStatus::failed, "failed"},
                                                   {RunStatus::partial, "partial"}};

std::string run_status_name(RunStatus status) {
  if (const char* name = name_in(kRunStatusNames, status)) return name;
  throw std::invalid_argument("unknown RunStatus value " + std::to_string(static_cast<int>(status)));
}

RunStatus parse_run_status(const std::string& name) {
  if (const std::optional<RunStatus> status = value_named(kRunStatusNames, name)) return *status;
  throw std::invalid_argument("unknown run status '" + name + "'; expected " + names_listed(kRunStatusNames));
}

ResultsStore::ResultsStore(const std::string& path, int busy_timeout_ms)
    : ResultsStore(path, StoreAccess::read_write, busy_timeout_ms) {}

ResultsStore::ResultsStore(const std::string& path, StoreAccess access, int busy_timeout_ms)
    : path_(path), access_(access), db_(open_store(path, access, busy_timeout_ms)) {
  try {
    schema_ = guarded(path_, [&] { return read_schema_version(db_); });
  } catch (...) {
    sqlite3_close_v2(db_);
    throw;
  }
}

void ResultsStore::require_writable(const char* what) const {
  if (access_ == StoreAccess::read_only)
    throw StoreError("results store " + path_ + " was opened read-only; cannot " + what);
}

ResultsStore::~ResultsStore() { sqlite3_close_v2(db_); }

int ResultsStore::current_schema_version() { return kCurrentSchemaVersion; }

int ResultsStore::schema_version() const { return schema_; }

int64_t ResultsStore::begin_run(const RunInfo& info) {
  require_writable("begin a run");
  require_json(info.environment_json, "RunInfo::environment_json");
  return guarded(path_, [&] {
    SqliteStatement insert(
        db_,
        "INSERT INTO runs(started_at, status, git_sha, command_line, host, pid, device, driver, "
        "cuda_version, clocks, environment_json, seed, suite, cells_planned) "
        "VALUES(?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    // The host and pid are what lets a later open recognise this run as abandoned if we die.
    insert
        .bind_all(info.started_at.empty() ? utc_now_iso8601() : info.started_at, info.git_sha, info.command_line,
                  info.host.empty() ? this_host() : info.host, static_cast<int64_t>(getpid()), info.device, info.driver,
                  info.cuda_version, info.clocks, info.environment_json, static_cast<int64_t>(info.seed), info.suite,
                  info.cells_planned)
        .run();
    return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
  });
}

int64_t ResultsStore::add_cell(int64_t run_id, const CellRecord& cell,
                               const std::vector<Metric>& metrics) {
  require_writable("add a cell");
  require_json(cell.params_json, "CellRecord::params_json");
  for (const Metric& metric : metrics)
    if (metric.name.empty()) throw std::invalid_argument("a metric of the cell has an empty name");
  return guarded(path_, [&] {
    SqliteWriteTransaction transaction(db_);
    SqliteStatement run_exists(db_, "SELECT count(*) FROM runs WHERE id = ?");
    run_exists.bind(1, run_id).step();
    if (run_exists.column_int(0) == 0)
      throw StoreError("results store " + path_ + " has no run " + std::to_string(run_id) +
                       " to add a cell to");

    SqliteStatement insert_cell(
        db_,
        "INSERT INTO cells(run_id, backend, task, params_json, seq_len, d_model, layers, "
        "state_bytes, status, error) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    insert_cell
        .bind_all(run_id, cell.backend, cell.task, cell.params_json, cell.seq_len, cell.d_model, cell.layers,
                  cell.state_bytes, cell.status, cell.error)
        .run();
    int64_t cell_id = static_cast<int64_t>(sqlite3_last_insert_rowid(db_));

    SqliteStatement insert_metric(
        db_,
        "INSERT INTO metrics(cell_id, name, value, unit, n, min, max, stddev, samples_json, turn) "
        "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (const Metric& metric : metrics) {
      insert_metric
          .bind_all(cell_id, metric.name, metric.value, metric.unit, metric.n, metric.min, metric.max, metric.stddev,
                    samples_to_json(metric.samples), metric.turn)
          .run();
      insert_metric.reset();
    }
    transaction.commit();
    return cell_id;
  });
}

void ResultsStore::finish_run(int64_t run_id, RunStatus status) {
  require_writable("finish a run");
  if (status == RunStatus::running)
    throw std::invalid_argument(
        "finish_run needs a final status (ok, failed or partial), got running");
  guarded(path_, [&] {
    SqliteStatement update(db_, "UPDATE runs SET status = ?, finished_at = ? WHERE id = ?");
    update.bind_all(run_status_name(status), utc_now_iso8601(), run_id).run();
    if (sqlite3_changes(db_) == 0)
      throw StoreError("results store " + path_ + " has no run " + std::to_string(run_id) +
                       " to finish");
  });
}

std::vector<RunRow> ResultsStore::runs() const {
  return guarded(path_, [&] { return query_runs(db_, path_, schema_, reading(), "ORDER BY id"); });
}

std::optional<RunRow> ResultsStore::run(int64_t run_id) const {
  return guarded(path_, [&]() -> std::optional<RunRow> {
    auto found = query_runs(db_, path_, schema_, reading(), "WHERE id = ?", run_id);
    if (found.empty()) return std::nullopt;
    return std::move(found.front());
  });
}

std::optional<RunRow> ResultsStore::latest_run() const {
  return guarded(path_, [&]() -> std::optional<RunRow> {
    auto found = query_runs(db_, path_, schema_, reading(), "ORDER BY id DESC LIMIT 1");
    if (found.empty()) return std::nullopt;
    return std::move(found.front());
  });
}

std::vector<CellRow> ResultsStore::cells(int64_t run_id) const {
  return guarded(path_, [&] {
    SqliteStatement query(db_,
                          "SELECT id, backend, task, params_json, seq_len, d_model, layers, "
                          "state_bytes, status, error FROM cells WHERE run_id = ? ORDER BY id");
    query.bind(1, run_id);
    std::vector<CellRow> rows;
    while (query.step()) {
      CellRow row;
      row.run_id = run_id;
      query.read_all(row.id, row.cell.backend, row.cell.task, row.cell.params_json, row.cell.seq_len, row.cell.d_model,
                     row.cell.layers, row.cell.state_bytes, row.cell.status, row.cell.error);
      rows.push_back(std::move(row));
    }
    return rows;
  });
}

std::vector<MetricRow> ResultsStore::metrics(int64_t cell_id) const {
  return guarded(path_, [&] {
    // Files before schema 3 (read as they are when opened read-only) have no turn column.
    const std::string sql = std::string("SELECT name, value, unit, n, min, max, stddev, samples_json, ") +
                            (schema_ >= 3 ? "turn" : "0") + " FROM metrics WHERE cell_id = ? ORDER BY id";
    SqliteStatement query(db_, sql.c_str());
    query.bind(1, cell_id);
    std::vector<MetricRow> rows;
    while (query.step()) {
      MetricRow row;
      row.cell_id = cell_id;
      query.read_all(row.metric.name, row.metric.value, row.metric.unit, row.metric.n, row.metric.min, row.metric.max,
                     row.metric.stddev);
      row.metric.turn = query.column_int(8);
      try {
        row.metric.samples = samples_from_json(query.column_text(7));
      } catch (const std::invalid_argument& error) {
        throw StoreError("results store " + path_ + ", metric " + row.metric.name + " of cell " +
                         std::to_string(cell_id) + ": " + error.what());
      }
      rows.push_back(std::move(row));
    }
    return rows;
  });
}

}  // namespace seqbench
