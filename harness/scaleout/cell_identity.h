// A cell's stable identity: what it is (backend, task, every parameter, seed, device), not where it
// stands in a sweep. Shards are dealt by it (harness/scaleout/shard_assignment.h), so `--shard i/N`
// picks the same cells whichever order the sweep file lists its axes in, and `seqbench merge`
// recognises a cell by it across shard files.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "harness/results_store.h"
#include "harness/sweep.h"

namespace seqbench {

// The canonical text of the cell's description (CellSpec::to_json, keys sorted).
std::string cell_identity(const CellSpec& cell);

// The same text read back from a stored cell: its params_json keeps the description the run was
// given and adds results beside it (lr_sweep, resolved task parameters), which are left out here.
std::string stored_cell_identity(const CellRecord& cell);

// 64-bit FNV-1a: fixed by its definition, so every machine and build agrees on it (std::hash
// promises neither).
uint64_t stable_hash(const std::string& text);

// What a run records about its sweep (in the run's environment JSON, key "sweep"), so shard files
// can be checked to come from one sweep and merged into one run:
//   {"name": ..., "fingerprint": "16 hex digits", "cells": N, "shard": "i/N"}
// The fingerprint hashes the sorted cell identities: the same cells give the same fingerprint
// however the sweep lists them.
nlohmann::json sweep_record(const Sweep& sweep, int shard_index, int shard_count);
std::string hex64(uint64_t value);

}  // namespace seqbench
