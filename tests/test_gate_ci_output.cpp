// A gate ready for CI: a short Markdown summary for the job page and a JUnit XML report in which
// each regression is a failed test.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <regex>

#include "harness/results_store.h"
#include "harness/timing_stats.h"
#include "tests/cli_harness.h"

using namespace seqbench;
using Catch::Matchers::Contains;

namespace {

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

void write_run(const std::string& db, double prefill_ms, double accuracy) {
  ResultsStore store(db);
  RunInfo info;
  info.suite = "ci <&>";
  const int64_t run = store.begin_run(info);
  for (const char* backend : {"softmax", "linear"}) {
    CellRecord cell;
    cell.backend = backend;
    cell.task = "mqar";
    const double ms = backend == std::string("softmax") ? prefill_ms : 5.0;
    store.add_cell(run, cell,
                   {make_metric("prefill_ms@len64", {ms, ms * 1.01, ms * 0.99, ms * 1.02, ms * 0.98, ms, ms * 1.005}),
                    make_metric("accuracy", accuracy), make_metric("best_lr", 1e-3)});
  }
  store.finish_run(run, RunStatus::ok);
}

}  // namespace

TEST_CASE("gate --summary and --junit report each regression for a CI job page and test reporter") {
  testing::TempDir dir;
  const std::string base = dir.file("base.db"), slow = dir.file("slow.db"), same = dir.file("same.db");
  write_run(base, 10.0, 0.9);
  write_run(slow, 13.0, 0.9);
  write_run(same, 10.0, 0.9);
  const std::string summary = dir.file("summary.md"), junit = dir.file("gate.xml");
  auto r = testing::run_seqbench("gate --baseline " + base + " --candidate " + slow + " --summary " + summary +
                                 " --junit " + junit);
  INFO(r.output);
  CHECK(r.exit_code == 1);
  const std::string md = file_text(summary);
  CHECK_THAT(md, Contains("### seqbench gate: FAIL (1 regression)") && Contains("| REGRESSED | softmax") &&
                     Contains("prefill_ms@len64") && Contains("30.0% worse"));
  CHECK(std::count(md.begin(), md.end(), '\n') < 15);  // short: a job page, not the full table

  const std::string xml = file_text(junit);
  CHECK_THAT(xml, Catch::StartsWith("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
  CHECK_THAT(xml, Contains("<testsuites name=\"seqbench gate\" tests=\"6\" failures=\"1\" errors=\"0\" skipped=\"2\">"));
  CHECK(count_of(xml, "<testcase ") == 6);
  CHECK(count_of(xml, "<failure ") == 1);
  CHECK(count_of(xml, "<skipped ") == 2);  // best_lr is informational
  CHECK_THAT(xml, Contains("name=\"prefill_ms@len64\"") && Contains("ci &lt;&amp;&gt;"));
  // Every element that opens is closed (a light well-formedness check without an XML parser).
  CHECK(count_of(xml, "<testcase ") == count_of(xml, "</testcase>"));
  CHECK(count_of(xml, "<testsuite ") == count_of(xml, "</testsuite>"));

  // A passing gate writes a passing report; existing files are refused without --force.
  r = testing::run_seqbench("gate --baseline " + base + " --candidate " + same + " --summary " + summary +
                            " --junit " + junit);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("--force"));
  r = testing::run_seqbench("gate --baseline " + base + " --candidate " + same + " --summary " + summary +
                            " --junit " + junit + " --force");
  CHECK(r.exit_code == 0);
  CHECK_THAT(file_text(summary), Contains("PASS (0 regressions)"));
  CHECK_THAT(file_text(junit), Contains("failures=\"0\""));
}
