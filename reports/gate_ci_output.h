// What a CI system shows of a gate: a short Markdown summary for the job page (GitHub's
// $GITHUB_STEP_SUMMARY, a GitLab or Jenkins artifact) and a JUnit XML report, one test case per
// gated metric and per cell, so each regression appears as a failed test with its reason.
#pragma once
#include <string>

#include "reports/gate.h"

namespace seqbench {

// The verdict, the two runs, counts by verdict, and the regressions (then improvements), at most
// `max_rows` rows with a note of how many more there are.
std::string render_gate_summary(const GateResult& result, size_t max_rows = 20);

// JUnit XML (the schema Jenkins, GitLab and GitHub test reporters read): a test case per row,
// class name = the cell, name = the metric; a regression is a <failure>, an informational row
// <skipped>.
std::string render_gate_junit(const GateResult& result);

}  // namespace seqbench
