// Opening the results store's SQLite file, for writing (created if missing, WAL mode, migrated,
// abandoned runs marked partial) or for reading only (the file must exist and is never written).
// Internal to the store: harness/results_store.h is the interface.
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "harness/results_store.h"
#include "harness/sqlite_statement.h"

namespace seqbench {

// A StoreError whose message names the file, what went wrong and the remedy.
StoreError store_error_for(const std::string& path, const SqliteFailure& failure);

// Runs body, turning SQLite failures into StoreErrors about path (the file they happened in).
// StoreError and std::invalid_argument (caller mistakes) pass through unchanged.
template <class Body>
auto guarded(const std::string& path, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const SqliteFailure& failure) {
    throw store_error_for(path, failure);
  }
}

// Opens path; throws StoreError (the connection closed) on any failure.
sqlite3* open_store(const std::string& path, StoreAccess access, int busy_timeout_ms);

std::string this_host();
// True only when no process with this pid exists (kill reports ESRCH).
bool process_is_gone(int64_t pid);

}  // namespace seqbench
