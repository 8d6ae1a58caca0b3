#include "reports/metric_columns.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <tuple>

#include "reports/leaderboard.h"
#include "reports/metric_catalog.h"

namespace seqbench {
namespace {

// (catalog position, suffix without digits, the suffix's number) for sorting.
std::tuple<size_t, std::string, long long, std::string> sort_key(const std::string& name) {
  const auto& catalog = metric_catalog();
  const std::string base = metric_base_name(name);
  size_t position = catalog.size();
  for (size_t i = 0; i < catalog.size(); ++i)
    if (catalog[i].name == base) position = i;
  std::string suffix = name.substr(base.size()), letters;
  long long number = -1;
  for (size_t i = 0; i < suffix.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(suffix[i]))) {
      number = std::atoll(suffix.c_str() + i);
      break;
    }
    letters += suffix[i];
  }
  return {position, letters, number, name};
}

}  // namespace

std::vector<std::string> ordered_metric_names(const std::set<std::string>& names) {
  std::vector<std::string> out(names.begin(), names.end());
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) { return sort_key(a) < sort_key(b); });
  return out;
}

std::string metric_header(const std::string& name) {
  const MetricInfo* info = find_metric_info(name);
  return info ? name + " (" + info->unit + ")" : name;
}

std::string metric_value_text(const std::string& name, double value) {
  const MetricInfo* info = find_metric_info(name);
  const std::string unit = info ? info->unit : "";
  if (unit == "bytes") return format_bytes(value);
  char buffer[48];
  if (unit == "fraction") {
    std::snprintf(buffer, sizeof buffer, "%.3f", value);
    return buffer;
  }
  // Rates read better as 139.4k than as 1.394e+05; small figures keep four significant digits.
  const char* prefixes[] = {"", "k", "M", "G", "T", "P"};
  int p = 0;
  double shown = value;
  while (std::abs(shown) >= 1e4 && p < 5) {
    shown /= 1000;
    ++p;
  }
  std::snprintf(buffer, sizeof buffer, "%.4g%s", shown, prefixes[p]);
  return buffer;
}

bool shown_in_markdown(const std::string& name) {
  const MetricInfo* info = find_metric_info(name);
  if (!info) return false;
  if (info->name == "accuracy") return true;
  if (info->kind == MetricKind::timing) return info->unit == "ms";
  return name == "peak_mem_bytes@train";
}

}  // namespace seqbench
