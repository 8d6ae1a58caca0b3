#include "reports/gate_ci_output.h"

#include <map>
#include <sstream>

#include "reports/svg_plot.h"
#include "reports/table_text.h"

namespace seqbench {
namespace {

std::string value_text(double value, const std::string& unit) {
  return short_number(value) + (unit.empty() ? "" : " " + unit);
}

}  // namespace

std::string render_gate_summary(const GateResult& result, size_t max_rows) {
  std::map<GateVerdict, int> counts;
  for (const auto& r : result.rows) ++counts[r.verdict];
  std::ostringstream out;
  out << "### seqbench gate: " << (result.passed() ? "PASS" : "FAIL") << " (" << result.regressions()
      << (result.regressions() == 1 ? " regression" : " regressions") << ")\n\n"
      << "- baseline: " << md_cell(result.baseline_label) << "\n- candidate: " << md_cell(result.candidate_label)
      << "\n- " << result.rows.size() << " rows: " << counts[GateVerdict::regressed] << " regressed, "
      << counts[GateVerdict::within_noise] << " worse within noise, " << counts[GateVerdict::improved] << " improved, "
      << counts[GateVerdict::pass] << " pass, " << counts[GateVerdict::informational] << " not gated\n";
  std::vector<const GateRow*> shown;
  for (const GateRow* r : rows_by_severity(result))
    if (r->verdict == GateVerdict::regressed || r->verdict == GateVerdict::improved) shown.push_back(r);
  if (shown.empty()) return out.str();
  out << "\n| verdict | cell | metric | baseline | candidate | change |\n|---|---|---|---:|---:|---:|\n";
  for (size_t i = 0; i < shown.size() && i < max_rows; ++i) {
    const GateRow& r = *shown[i];
    out << "| " << gate_verdict_name(r.verdict) << " | " << md_cell(r.cell) << " | " << md_cell(r.metric) << " | "
        << value_text(r.baseline, r.unit) << " | " << value_text(r.candidate, r.unit) << " | " << gate_change_text(r)
        << " |\n";
  }
  if (shown.size() > max_rows) out << "\n... and " << shown.size() - max_rows << " more (see the full gate report)\n";
  return out.str();
}

std::string render_gate_junit(const GateResult& result) {
  int failures = 0, skipped = 0;
  for (const auto& r : result.rows) {
    failures += r.verdict == GateVerdict::regressed;
    skipped += r.verdict == GateVerdict::informational;
  }
  std::ostringstream out;
  const std::string counts = " tests=\"" + std::to_string(result.rows.size()) + "\" failures=\"" +
                             std::to_string(failures) + "\" errors=\"0\" skipped=\"" + std::to_string(skipped) + "\"";
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"seqbench gate\"" << counts << ">\n"
      << "  <testsuite name=\"seqbench gate: " << xml_escape(result.candidate_label) << " vs "
      << xml_escape(result.baseline_label) << "\"" << counts << ">\n";
  for (const auto& r : result.rows) {
    out << "    <testcase classname=\"" << xml_escape(r.cell) << "\" name=\"" << xml_escape(r.metric)
        << "\" time=\"0\">";
    const std::string detail = "baseline " + value_text(r.baseline, r.unit) + ", candidate " +
                               value_text(r.candidate, r.unit) + ", change " + gate_change_text(r) + ": " + r.reason;
    if (r.verdict == GateVerdict::regressed)
      out << "\n      <failure message=\"" << xml_escape(r.reason) << "\" type=\"regression\">" << xml_escape(detail)
          << "</failure>\n    ";
    else if (r.verdict == GateVerdict::informational)
      out << "\n      <skipped message=\"" << xml_escape(r.reason) << "\"/>\n    ";
    else
      out << "\n      <system-out>" << xml_escape(std::string(gate_verdict_name(r.verdict)) + ": " + detail)
          << "</system-out>\n    ";
    out << "</testcase>\n";
  }
  out << "  </testsuite>\n</testsuites>\n";
  return out.str();
}

}  // namespace seqbench
