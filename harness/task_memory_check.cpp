#include "harness/task_memory_check.h"

#include <unistd.h>

#include <cstdio>
#include <stdexcept>

#include "tasks/mqar_segments.h"
#include "tasks/task.h"

namespace seqbench {
namespace {

double number_or_zero(const nlohmann::json& params, const char* key) {
  return params.contains(key) && params[key].is_number() ? params[key].get<double>() : 0.0;
}

double physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0.0;
}

std::string bytes_text(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024 && u < 6) {
    bytes /= 1024;
    ++u;
  }
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.1f %s", bytes, units[u]);
  return buffer;
}

}  // namespace

double task_split_bytes(const std::string& task, const nlohmann::json& overrides) {
  const nlohmann::json params = resolve_task_params(find_task(task), overrides);
  if (task == "mqar") {
    const double segmented = mqar_segment_tokens(params);
    if (segmented > 0) return segmented * 2 * sizeof(int32_t);
  }
  const double seq_len = number_or_zero(params, "seq_len");
  const double num_test = number_or_zero(params, "num_test");
  double tokens = (number_or_zero(params, "num_train") + num_test) * seq_len;
  if (params.contains("test_lengths") && params["test_lengths"].is_array())
    for (const auto& length : params["test_lengths"])
      if (length.is_number()) tokens += num_test * length.get<double>();
  return tokens * 2 * sizeof(int32_t);  // inputs and labels
}

void check_task_fits_in_memory(const std::string& task, const nlohmann::json& overrides) {
  const double need = task_split_bytes(task, overrides), have = physical_memory_bytes();
  if (have <= 0 || need <= have) return;
  const nlohmann::json params = resolve_task_params(find_task(task), overrides);
  throw std::invalid_argument("task " + task + ": num_train=" + params.value("num_train", nlohmann::json()).dump() +
                              " and num_test=" + params.value("num_test", nlohmann::json()).dump() +
                              " examples of seq_len=" + params.value("seq_len", nlohmann::json()).dump() +
                              " tokens (and any test_lengths) need " + bytes_text(need) +
                              " for inputs and labels, more than this machine's " + bytes_text(have) +
                              " of memory; ask for fewer or shorter examples");
}

}  // namespace seqbench
