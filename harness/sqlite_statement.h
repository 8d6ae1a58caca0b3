// Thin RAII wrappers over the SQLite C API for the results store: a prepared statement with bound
// parameters, and a write transaction that rolls back unless committed.
// Failures throw SqliteFailure carrying SQLite's result code; the store turns it into a StoreError
// that names the file and says what to do, so this layer stays free of user-facing wording.
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

namespace seqbench {

class SqliteFailure : public std::runtime_error {
 public:
  SqliteFailure(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }  // the primary result code (SQLITE_BUSY, SQLITE_NOTADB, ...)

 private:
  int code_;
};

// Runs SQL without parameters (schema changes, transaction control); throws SqliteFailure.
inline void exec_sql(sqlite3* db, const char* sql, const std::string& doing) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) throw SqliteFailure(rc & 0xff, doing + ": " + sqlite3_errmsg(db));
}

class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, const char* sql) : db_(db), sql_(sql) {
    int rc = sqlite3_prepare_v2(db_, sql, -1, &stmt_, nullptr);
    if (rc != SQLITE_OK) fail(rc, "preparing");
  }
  ~SqliteStatement() { sqlite3_finalize(stmt_); }
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // Parameters are 1-based, as in sqlite3_bind_*.
  SqliteStatement& bind(int index, int64_t value) {
    return checked_bind(sqlite3_bind_int64(stmt_, index, value));
  }
  // NaN is stored as NULL by SQLite itself; column_double reads NULL back as NaN.
  SqliteStatement& bind(int index, double value) {
    return checked_bind(sqlite3_bind_double(stmt_, index, value));
  }
  SqliteStatement& bind(int index, const std::string& value) {
    return checked_bind(sqlite3_bind_text(stmt_, index, value.data(),
                                          static_cast<int>(value.size()), SQLITE_TRANSIENT));
  }
  SqliteStatement& bind_null(int index) { return checked_bind(sqlite3_bind_null(stmt_, index)); }
  // Binds values to parameters 1, 2, ... in order: an INSERT's row reads as its column list.
  template <class... Values>
  SqliteStatement& bind_all(const Values&... values) {
    int index = 0;
    (bind(++index, values), ...);
    return *this;
  }

  // Returns true while a row is available; false once the statement is done.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) fail(rc, "running");
    return rc == SQLITE_ROW;
  }
  void run() {
    while (step()) {
    }
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  // Columns are 0-based, as in sqlite3_column_*. NULL reads as 0, NaN and "" respectively.
  int64_t column_int(int index) const { return sqlite3_column_int64(stmt_, index); }
  double column_double(int index) const {
    if (sqlite3_column_type(stmt_, index) == SQLITE_NULL)
      return std::numeric_limits<double>::quiet_NaN();
    return sqlite3_column_double(stmt_, index);
  }
  std::string column_text(int index) const {
    const unsigned char* text = sqlite3_column_text(stmt_, index);
    if (text == nullptr) return std::string();
    return std::string(reinterpret_cast<const char*>(text),
                       static_cast<size_t>(sqlite3_column_bytes(stmt_, index)));
  }
  // Reads columns 0, 1, ... into outs in order, each as its type: a row reads as its SELECT list.
  template <class... Outs>
  void read_all(Outs&... outs) const {
    int index = 0;
    (read_column(index++, outs), ...);
  }

 private:
  void read_column(int index, int64_t& out) const { out = column_int(index); }
  void read_column(int index, double& out) const { out = column_double(index); }
  void read_column(int index, std::string& out) const { out = column_text(index); }
  SqliteStatement& checked_bind(int rc) {
    if (rc != SQLITE_OK) fail(rc, "binding a parameter of");
    return *this;
  }
  [[noreturn]] void fail(int rc, const char* action) const {
    throw SqliteFailure(rc & 0xff, std::string(action) + " `" + sql_ + "`: " + sqlite3_errmsg(db_));
  }

  sqlite3* db_;
  const char* sql_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE takes the write lock up front (waiting up to the busy timeout), so a writer never
// fails halfway through on a lock upgrade; the destructor rolls back whatever was not committed.
class SqliteWriteTransaction {
 public:
  explicit SqliteWriteTransaction(sqlite3* db) : db_(db) {
    exec_sql(db_, "BEGIN IMMEDIATE", "starting a write transaction");
  }
  ~SqliteWriteTransaction() {
    // A failed COMMIT can leave the transaction open, so ask SQLite rather than trusting a flag.
    if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  SqliteWriteTransaction(const SqliteWriteTransaction&) = delete;
  SqliteWriteTransaction& operator=(const SqliteWriteTransaction&) = delete;

  void commit() { exec_sql(db_, "COMMIT", "committing a write transaction"); }

 private:
  sqlite3* db_;
};

}  // namespace seqbench
