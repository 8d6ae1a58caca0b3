#include "harness/backend_parameters.h"

#include <stdexcept>

#include "models/mixer_registry.h"

namespace seqbench {

std::vector<BackendParameter> backend_parameters(const std::string& backend) {
  MixerSpec probe;
  probe.kind = backend;
  probe.params = {{"(list parameters)", 0}};
  std::string message;
  try {
    make_mixer(probe);
  } catch (const std::invalid_argument& e) {
    message = e.what();
  }
  const std::string marker = "known params: ";
  const auto at = message.find(marker);
  std::vector<BackendParameter> out;
  if (at == std::string::npos) return out;
  const std::string list = message.substr(at + marker.size());
  if (list == "(none)") return out;
  for (size_t begin = 0; begin < list.size();) {
    const size_t end = std::min(list.find(", ", begin), list.size());
    out.push_back({list.substr(begin, end - begin), ""});
    begin = end + 2;
  }
  return out;
}

}  // namespace seqbench
