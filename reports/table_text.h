// Small text helpers shared by the comparison and gate printers.
#pragma once
#include <cstdio>
#include <string>

namespace seqbench {

// Quotes a CSV field when it holds a comma, quote or newline (RFC 4180).
inline std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Four significant digits: enough to see a 0.1% change, short enough for a table.
inline std::string short_number(double v) {
  char buffer[48];
  std::snprintf(buffer, sizeof(buffer), "%.4g", v);
  return buffer;
}

// A Markdown table cell: pipes would end the cell early.
inline std::string md_cell(std::string s) {
  for (size_t p = s.find('|'); p != std::string::npos; p = s.find('|', p + 2)) s.replace(p, 1, "\\|");
  return s;
}

}  // namespace seqbench
