// The results store's schema as an ordered list of migrations. Step N turns a schema-(N-1) file
// into a schema-N file; a file is brought forward by running every step above its version in one
// transaction. Never edit a released step: append a new one, so every older file can be upgraded.
#pragma once
#include <sqlite3.h>

#include <iterator>
#include <string>

#include "harness/results_store.h"
#include "harness/sqlite_statement.h"

namespace seqbench {

struct SchemaMigration {
  int version;      // the schema version this step produces
  const char* sql;  // DDL only; several statements separated by ';'
};

// Text columns are NOT NULL with '' defaults so readers never meet NULL where they expect text;
// REAL columns stay nullable because SQLite stores a NaN (e.g. a diverged loss) as NULL.
// finished_at is NULL until the run finishes.
inline constexpr SchemaMigration kSchemaMigrations[] = {
    {1, R"sql(
CREATE TABLE runs(
  id INTEGER PRIMARY KEY,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  status TEXT NOT NULL CHECK(status IN ('running', 'ok', 'failed', 'partial')),
  git_sha TEXT NOT NULL DEFAULT '',
  command_line TEXT NOT NULL DEFAULT '',
  host TEXT NOT NULL DEFAULT '',
  pid INTEGER NOT NULL DEFAULT 0,
  device TEXT NOT NULL DEFAULT '',
  driver TEXT NOT NULL DEFAULT '',
  cuda_version TEXT NOT NULL DEFAULT '',
  clocks TEXT NOT NULL DEFAULT '',
  environment_json TEXT NOT NULL DEFAULT '{}',
  seed INTEGER NOT NULL DEFAULT 0,
  suite TEXT NOT NULL DEFAULT ''
);
CREATE TABLE cells(
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  backend TEXT NOT NULL DEFAULT '',
  task TEXT NOT NULL DEFAULT '',
  params_json TEXT NOT NULL DEFAULT '{}',
  seq_len INTEGER NOT NULL DEFAULT 0,
  d_model INTEGER NOT NULL DEFAULT 0,
  layers INTEGER NOT NULL DEFAULT 0,
  state_bytes INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'ok',
  error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX cells_by_run ON cells(run_id);
CREATE TABLE metrics(
  id INTEGER PRIMARY KEY,
  cell_id INTEGER NOT NULL REFERENCES cells(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  value REAL,
  unit TEXT NOT NULL DEFAULT '',
  n INTEGER NOT NULL DEFAULT 1,
  min REAL,
  max REAL,
  stddev REAL,
  samples_json TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX metrics_by_cell ON metrics(cell_id);
)sql"},
    // The number of cells a run set out to store, so a partial run's report can say how many are missing.
    {2, R"sql(
ALTER TABLE runs ADD COLUMN cells_planned INTEGER NOT NULL DEFAULT 0;
)sql"},
    // The turn of a shared-context session a metric belongs to; 0 = not per turn, or the session aggregate.
    {3, R"sql(
ALTER TABLE metrics ADD COLUMN turn INTEGER NOT NULL DEFAULT 0;
)sql"},
};

inline constexpr int kCurrentSchemaVersion = std::end(kSchemaMigrations)[-1].version;

// 0 for a file without a schema_version table (new, empty, or never a store).
inline int read_schema_version(sqlite3* db) {
  SqliteStatement has_table(
      db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  if (!has_table.step() || has_table.column_int(0) == 0) return 0;
  SqliteStatement version(db, "SELECT max(version) FROM schema_version");
  return version.step() ? static_cast<int>(version.column_int(0)) : 0;  // empty table reads 0
}

inline void reject_newer_schema(const std::string& path, int found) {
  if (found <= kCurrentSchemaVersion) return;
  throw StoreError("results store " + path + " was written by a newer seqbench (schema " +
                   std::to_string(found) + ", this build reads up to " +
                   std::to_string(kCurrentSchemaVersion) + "); upgrade seqbench to read it");
}

// Brings the file to kCurrentSchemaVersion. Throws StoreError for a newer file, SqliteFailure
// for anything SQLite refuses (the transaction is then rolled back and the file left as it was).
inline void migrate_schema(sqlite3* db, const std::string& path) {
  int found = read_schema_version(db);
  reject_newer_schema(path, found);
  if (found == kCurrentSchemaVersion) return;  // the common case takes no write lock

  SqliteWriteTransaction transaction(db);
  found = read_schema_version(db);  // another process may have migrated while we waited
  reject_newer_schema(path, found);
  if (found == kCurrentSchemaVersion) return;
  exec_sql(db, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)",
           "creating the schema_version table");
  for (const SchemaMigration& step : kSchemaMigrations) {
    if (step.version <= found) continue;
    exec_sql(
        db, step.sql,
        "migrating from schema " + std::to_string(found) + " to " + std::to_string(step.version));
  }
  exec_sql(db, "DELETE FROM schema_version", "updating schema_version");
  SqliteStatement record(db, "INSERT INTO schema_version(version) VALUES(?)");
  record.bind(1, static_cast<int64_t>(kCurrentSchemaVersion)).run();
  transaction.commit();
}

}  // namespace seqbench
