// A run's results as one table (a row per cell, its metrics as columns), and its printers:
// Markdown (the catalog's scores, timings and training memory as columns, with units), CSV (one
// row per cell and metric, with unit and repetition statistics), JSON and HTML. Printers are
// separate from measurement (llama-bench style).
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/results_store.h"

namespace seqbench {

struct LeaderboardRow {
  int64_t cell_id = 0;
  std::string backend;          // the registry name or pattern; reports/backend_label.h adds its params
  std::string task;
  std::string task_params;      // the swept task parameters, e.g. num_kv_pairs=8 seq_len=64
  nlohmann::json params;        // the cell's full description
  int64_t seq_len = 0, d_model = 0, layers = 0, state_bytes = 0;
  std::string status;
  std::string error;
  std::map<std::string, double> metrics;  // name -> value
  std::map<std::string, Metric> details;  // name -> unit and repetition statistics, as stored
  // Per-turn figures of session cells (the store's turn column, turns from 1): name -> turn -> value.
  std::map<std::string, std::map<int64_t, double>> per_turn;
};

struct Leaderboard {
  RunRow run;
  std::vector<LeaderboardRow> rows;
};

// "7 of 12 planned cells stored, 5 missing" for a run that stored fewer cells than it planned
// (interrupted, killed, or still running); "" otherwise.
std::string missing_cells_note(const Leaderboard& board);

// Rows with higher accuracy first (rows without accuracy last, in their order).
bool leaderboard_order(const LeaderboardRow* a, const LeaderboardRow* b);

// The given run, or the latest one; throws StoreError when the store has no such run.
Leaderboard load_leaderboard(const ResultsStore& store, std::optional<int64_t> run_id);

std::string render_markdown(const Leaderboard& board);
std::string render_csv(const Leaderboard& board);
std::string render_json(const Leaderboard& board);
std::string render_leaderboard(const Leaderboard& board, const std::string& format);  // md|csv|json|html

std::string format_bytes(double bytes);

}  // namespace seqbench
