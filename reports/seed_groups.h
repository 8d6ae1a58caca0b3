// Several seeds of one cell, read together. Cells that differ only in their seed (and in what a
// run records or measures about itself: cell_match_key in reports/run_matching.h) form a group;
// a report shows each group's mean with its 95% interval and the number of seeds behind it, and
// names the seed wherever it shows a row per seed.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "reports/leaderboard.h"

namespace seqbench {

// Mean and the two-sided 95% Student-t interval of the mean over n seeds: mean +- t(0.975, n-1)
// * s / sqrt(n) (for n > 31 the normal 1.96). A fraction's interval is cut to [0, 1], the range
// it cannot leave. n = 1 has no interval (low = high = mean).
struct SeedSummary {
  int64_t n = 0;
  double mean = 0, low = 0, high = 0;
};
SeedSummary summarize_seeds(const std::vector<double>& values, bool fraction);

struct SeedGroup {
  std::string key;                          // cell_match_key of its cells, width and depth
  std::vector<const LeaderboardRow*> rows;  // in the run's order
  std::vector<uint64_t> seeds() const;     // ascending
  // The summary of `metric` over the rows that have it; n = 0 when none does.
  SeedSummary summary(const std::string& metric) const;
  double mean_or_nan(const std::string& metric) const;
};

// Groups in the order their first cell appears.
std::vector<SeedGroup> group_by_seed(const std::vector<const LeaderboardRow*>& rows);
std::vector<SeedGroup> group_by_seed(const Leaderboard& board);
std::vector<SeedGroup> group_by_seed(const Leaderboard&& board) = delete;  // groups point into the board

// The seed a cell ran with (its stored parameters' "seed"; 0 when absent).
uint64_t row_seed(const LeaderboardRow& row);
// True when the rows hold more than one seed of some cell.
bool has_repeated_seeds(const std::vector<SeedGroup>& groups);

// "0.912 [0.871, 0.953] n=3", or "0.912 n=1".
std::string seed_summary_text(const std::string& metric, const SeedSummary& s);

}  // namespace seqbench
