// The report of shared-context session cells (harness/scenarios/), after SCBench's figures (Li et
// al., ICLR 2025, Fig. 3-6): per task and mode a table of exact match per turn for every mixer and
// KV policy, the needle retention heat map (record depth x turn), and in HTML the plots: exact
// match vs turn, vs budget at turn 1 and turn T, vs KV/state bytes (multi-turn and multi-request
// side by side), and prefill and decode latency vs context length. Printers only: every figure is
// read from the leaderboard rows (their per-turn metrics).
#pragma once
#include <string>

#include "reports/leaderboard.h"

namespace seqbench {

bool is_scenario_row(const LeaderboardRow& row);

// "" when the run has no session cells.
std::string render_scenario_markdown(const Leaderboard& board);
std::string render_scenario_html(const Leaderboard& board);

}  // namespace seqbench
