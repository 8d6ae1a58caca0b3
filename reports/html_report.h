// `seqbench report --format html`: one self-contained page (inline CSS and SVG, no scripts, no
// external resources) with the run's description, its leaderboard, and plots:
//   - accuracy vs decode-state bytes per backend, log x (the recall/memory frontier of Zoology),
//     one plot per task setting;
//   - prefill latency vs sequence length (prefill_ms@len<L>), log-log;
//   - peak memory vs sequence length (peak_mem_bytes@prefill<L>) and decode state vs sequence
//     length (state_bytes@len<L>).
// A plot whose metrics the run lacks is left out with a one-line note.
#pragma once
#include <string>

#include "reports/leaderboard.h"

namespace seqbench {

std::string render_html_report(const Leaderboard& board);

}  // namespace seqbench
