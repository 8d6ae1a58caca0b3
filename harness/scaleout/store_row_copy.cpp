#include "harness/scaleout/store_row_copy.h"

#include <unistd.h>

#include <map>
#include <memory>
#include <set>

#include "harness/results_store_open.h"
#include "harness/sqlite_statement.h"

namespace seqbench {
namespace {

struct Connection {
  std::string path;
  sqlite3* db = nullptr;
  ~Connection() { sqlite3_close_v2(db); }
};

std::set<std::string> table_columns(sqlite3* db, const std::string& table) {
  const std::string sql = "PRAGMA table_info(" + table + ")";
  SqliteStatement info(db, sql.c_str());
  std::set<std::string> columns;
  while (info.step()) columns.insert(info.column_text(1));
  return columns;
}

class Prepared {
 public:
  Prepared(sqlite3* db, const std::string& sql) : db_(db), sql_(sql) {
    check(sqlite3_prepare_v2(db_, sql_.c_str(), -1, &stmt_, nullptr), "preparing");
  }
  ~Prepared() { sqlite3_finalize(stmt_); }
  Prepared(const Prepared&) = delete;
  Prepared& operator=(const Prepared&) = delete;
  sqlite3_stmt* get() const { return stmt_; }
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc != SQLITE_ROW) check(rc == SQLITE_DONE ? SQLITE_OK : rc, "running");
    return rc == SQLITE_ROW;
  }
  void check(int rc, const char* action) const {
    if (rc != SQLITE_OK) throw SqliteFailure(rc & 0xff, std::string(action) + " `" + sql_ + "`: " + sqlite3_errmsg(db_));
  }

 private:
  sqlite3* db_;
  std::string sql_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Copies the rows of `table` in `from` whose key_column is key_value into `to`, every column both
// files have except id and parent_column, which is set to parent_value (none when empty).
// Returns the new rows' ids as (old id, new id), in id order.
std::vector<std::pair<int64_t, int64_t>> copy_rows(Connection& from, Connection& to, const std::string& table,
                                                   const std::string& key_column, int64_t key_value,
                                                   const std::string& parent_column, int64_t parent_value) {
  const std::set<std::string> theirs = guarded(from.path, [&] { return table_columns(from.db, table); });
  std::string names, slots;
  for (const std::string& column : table_columns(to.db, table))
    if (theirs.count(column) && column != "id" && column != parent_column) {
      names += (names.empty() ? "\"" : ", \"") + column + "\"";
      slots += slots.empty() ? "?" : ", ?";
    }
  const bool has_parent = !parent_column.empty();
  Prepared select = guarded(from.path, [&] {
    return Prepared(from.db, "SELECT id, " + names + " FROM " + table + " WHERE " + key_column + " = ? ORDER BY id");
  });
  const std::string insert_sql = "INSERT INTO " + table + "(" + names + (has_parent ? ", " + parent_column : "") +
                                 ") VALUES(" + slots + (has_parent ? ", ?" : "") + ")";
  Prepared insert(to.db, insert_sql);
  select.check(sqlite3_bind_int64(select.get(), 1, key_value), "binding");
  std::vector<std::pair<int64_t, int64_t>> ids;
  const int columns = sqlite3_column_count(select.get()) - 1;
  while (guarded(from.path, [&] { return select.step(); })) {
    sqlite3_reset(insert.get());
    for (int c = 0; c < columns; ++c)
      insert.check(sqlite3_bind_value(insert.get(), c + 1, sqlite3_column_value(select.get(), c + 1)), "binding");
    if (has_parent) insert.check(sqlite3_bind_int64(insert.get(), columns + 1, parent_value), "binding");
    insert.step();
    ids.emplace_back(sqlite3_column_int64(select.get(), 0), sqlite3_last_insert_rowid(to.db));
  }
  return ids;
}

Connection& input(std::map<std::string, std::unique_ptr<Connection>>& open, const std::string& path) {
  auto& connection = open[path];
  if (!connection) connection.reset(new Connection{path, open_store(path, StoreAccess::read_only, 10000)});
  return *connection;
}

}  // namespace

int64_t write_merged_run(const std::string& out_path, std::optional<int64_t> run_id, const std::string& template_path,
                         int64_t template_run, const MergedRunFields& fields, const std::vector<CellCopy>& cells) {
  Connection out{out_path, open_store(out_path, StoreAccess::read_write, 10000)};
  std::map<std::string, std::unique_ptr<Connection>> inputs;
  return guarded(out_path, [&] {
    SqliteWriteTransaction transaction(out.db);
    const int64_t id =
        run_id ? *run_id : copy_rows(input(inputs, template_path), out, "runs", "id", template_run, "", 0).at(0).second;
    for (const CellCopy& cell : cells) {
      Connection& from = input(inputs, cell.path);
      const int64_t copied = copy_rows(from, out, "cells", "id", cell.cell_id, "run_id", id).at(0).second;
      copy_rows(from, out, "metrics", "cell_id", cell.cell_id, "cell_id", copied);
    }
    SqliteStatement update(out.db,
                           "UPDATE runs SET started_at = ?, finished_at = ?, host = ?, device = ?, git_sha = ?, "
                           "command_line = ?, environment_json = ?, status = ?, cells_planned = ?, pid = ? WHERE id = ?");
    update.bind(1, fields.started_at);
    if (fields.finished_at.empty())
      update.bind_null(2);
    else
      update.bind(2, fields.finished_at);
    update.bind(3, fields.host)
        .bind(4, fields.device)
        .bind(5, fields.git_sha)
        .bind(6, fields.command_line)
        .bind(7, fields.environment_json)
        .bind(8, run_status_name(fields.status))
        .bind(9, fields.cells_planned)
        .bind(10, static_cast<int64_t>(getpid()))
        .bind(11, id)
        .run();
    transaction.commit();
    return id;
  });
}

}  // namespace seqbench
