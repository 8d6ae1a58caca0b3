#include "harness/results_store_open.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <filesystem>
#include <thread>
#include <vector>

#include "harness/path_problem.h"
#include "harness/results_store_schema.h"

namespace seqbench {
namespace {

// A run still marked running whose process on this host no longer exists was killed mid-way:
// its cells are complete (one transaction each), the run itself is partial.
void mark_abandoned_runs_partial(sqlite3* db) {
  std::vector<int64_t> abandoned;
  SqliteStatement running(db, "SELECT id, pid FROM runs WHERE status = 'running' AND host = ?");
  running.bind(1, this_host());
  while (running.step()) {
    if (process_is_gone(running.column_int(1))) abandoned.push_back(running.column_int(0));
  }
  running.reset();
  if (abandoned.empty()) return;

  SqliteWriteTransaction transaction(db);
  SqliteStatement mark(db, "UPDATE runs SET status = 'partial' WHERE id = ? AND status = 'running'");
  for (int64_t run_id : abandoned) {
    mark.bind(1, run_id).run();
    mark.reset();
  }
  transaction.commit();
}

// Switching a fresh file to WAL needs an exclusive lock, and SQLite gives up at once (without the
// busy handler) when two processes race to do it; retry for as long as the busy timeout allows.
std::string switch_to_wal(sqlite3* db, int busy_timeout_ms) {
  const auto give_up_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms);
  for (;;) {
    try {
      SqliteStatement wal(db, "PRAGMA journal_mode = WAL");
      return wal.step() ? wal.column_text(0) : std::string();
    } catch (const SqliteFailure& failure) {
      if (failure.code() != SQLITE_BUSY || std::chrono::steady_clock::now() >= give_up_at) throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void prepare_for_writing(sqlite3* db, const std::string& path, int busy_timeout_ms) {
  if (sqlite3_db_readonly(db, "main") == 1)
    throw SqliteFailure(SQLITE_READONLY, "the file can only be opened read-only");
  const std::string mode = switch_to_wal(db, busy_timeout_ms);
  if (mode != "wal")
    throw StoreError("results store " + path + " could not switch to WAL mode (journal mode '" + mode +
                     "'); put it on a local file system");
  exec_sql(db, "PRAGMA foreign_keys = ON", "enabling foreign keys");
  migrate_schema(db, path);
  mark_abandoned_runs_partial(db);
}

// Reading takes the file as it is: no WAL switch, no migration (an older schema is read with its
// own columns), no marking of abandoned runs.
void check_readable(sqlite3* db, const std::string& path) {
  const int version = read_schema_version(db);
  reject_newer_schema(path, version);
  if (version == 0)
    throw StoreError("'" + path + "' is a SQLite database but not a seqbench results store (no schema_version); " +
                     "name the file `seqbench run` wrote");
}

}  // namespace

StoreError store_error_for(const std::string& path, const SqliteFailure& failure) {
  const std::string store = "results store " + path;
  switch (failure.code()) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return StoreError(store + " is locked by another process past the busy timeout; retry once that process is done (" + failure.what() + ")");
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return StoreError(store + " is corrupt or not a SQLite database (" + failure.what() +
                        "); move it aside or write to another file");
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM: {
      // SQLite says "unable to open database file" for a 300-byte name or a missing directory alike.
      const std::string problem = path_problem(path, PathUse::write);
      return StoreError("cannot write " + store + " (" + failure.what() + "); " +
                        (problem.empty() ? "check that its directory exists and is writable" : problem));
    }
    case SQLITE_FULL:
      return StoreError(store + ": the disk is full (" + failure.what() + ")");
    default:
      return StoreError(store + ": " + failure.what());
  }
}

sqlite3* open_store(const std::string& path, StoreAccess access, int busy_timeout_ms) {
  const bool reading = access == StoreAccess::read_only;
  if (reading) {
    // SQLITE_OPEN_READONLY never creates a file, but a clear message beats "unable to open".
    const std::string problem = path_problem(path, PathUse::read);
    if (!problem.empty()) throw StoreError("cannot read results store " + path + ": " + problem);
  }
  sqlite3* db = nullptr;
  const int flags = reading ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    throw store_error_for(path, SqliteFailure(rc & 0xff, "opening: " + detail));
  }
  try {
    sqlite3_busy_timeout(db, busy_timeout_ms);
    // SQLite reads the header lazily: this first query is what reports a non-database file.
    SqliteStatement(db, "SELECT count(*) FROM sqlite_master").run();
    if (reading)
      check_readable(db, path);
    else
      prepare_for_writing(db, path, busy_timeout_ms);
  } catch (const SqliteFailure& failure) {
    sqlite3_close_v2(db);
    throw store_error_for(path, failure);
  } catch (...) {
    sqlite3_close_v2(db);
    throw;
  }
  return db;
}

std::string this_host() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return std::string();
  return name;
}

// Only ESRCH proves a process is gone; EPERM means it exists but belongs to someone else.
bool process_is_gone(int64_t pid) {
  if (pid <= 0 || pid > INT_MAX) return false;  // not a pid we recorded; leave the run alone
  return kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

}  // namespace seqbench
