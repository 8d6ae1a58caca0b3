// Depth x length heat maps for the retrieval tasks (needle, passkey): for each backend, a
// Markdown table with one row per needle depth and one column per sequence length, each cell
// the accuracy there. Lengths come from two places: a row's training seq_len (metric
// "accuracy") and its length splits (metrics "accuracy@len<N>", tasks/length_splits.h); both
// together give the familiar needle-in-a-haystack picture from one sweep over depth.
#pragma once
#include <string>
#include <vector>

#include "reports/leaderboard.h"

namespace seqbench {

// `rows` are one task's leaderboard rows. Rows without a numeric "depth" task parameter are
// skipped; returns "" when no row has one. Rows that differ only in seed are averaged. Tables are
// split by backend (with its mixer params) and by any other task parameter that varies between
// the rows (e.g. variant), and by d_model when that varies.
std::string render_depth_length_heatmap(const std::vector<const LeaderboardRow*>& rows,
                                        const std::string& metric = "accuracy");

}  // namespace seqbench
