// Which metrics a report shows as columns, in what order, and how a value reads. The order
// follows the metric catalog (scores, timings, memory, informational), and within one base name
// the '@' suffixes in numeric order (accuracy, accuracy@len256, accuracy@len1024), so every
// printer lays out a run the same way. Headers carry the unit: "prefill_ms@len64 (ms)".
#pragma once
#include <set>
#include <string>
#include <vector>

namespace seqbench {

// names sorted by catalog position, then suffix text with its number compared as a number;
// names the catalog lacks go last, alphabetically.
std::vector<std::string> ordered_metric_names(const std::set<std::string>& names);

// "prefill_ms@len64 (ms)"; a name without a known unit stays as it is.
std::string metric_header(const std::string& name);

// A value as a person reads it: bytes as KiB/MiB, fractions with three decimals, other figures
// with four significant digits and a k/M/G prefix from 10^4 up (139.4k tokens/s).
std::string metric_value_text(const std::string& name, double value);

// The figures a Markdown leaderboard shows: scores named accuracy (every length), timings in ms
// (not the rates computed from them) and peak training memory.
bool shown_in_markdown(const std::string& name);

}  // namespace seqbench
