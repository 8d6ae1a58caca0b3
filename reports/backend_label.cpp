#include "reports/backend_label.h"

namespace seqbench {
namespace {

// key=value pairs with strings unquoted; nested objects in braces.
std::string parameter_text(const nlohmann::json& params) {
  std::string out;
  for (auto it = params.begin(); it != params.end(); ++it) {
    const nlohmann::json& v = it.value();
    const std::string value = v.is_string() ? v.get<std::string>() : v.is_object() ? "{" + parameter_text(v) + "}" : v.dump();
    out += (out.empty() ? "" : ",") + it.key() + "=" + value;
  }
  return out;
}

}  // namespace

std::string backend_label(const std::string& backend, const nlohmann::json& cell_params) {
  if (!cell_params.is_object() || !cell_params.contains("mixer_params")) return backend;
  const nlohmann::json& mixer = cell_params["mixer_params"];
  if (!mixer.is_object() || mixer.empty()) return backend;
  return backend + "(" + parameter_text(mixer) + ")";
}

}  // namespace seqbench
