// The parameters a mixer backend accepts, for `seqbench list backends`.
//
// HOOK: models/mixer_registry.h does not yet say which parameters a backend takes or what their
// defaults are. Until MixerInfo carries them (name, default, meaning), the names are found by
// asking make_mixer for a parameter no backend has: every backend refuses it and lists what it
// knows (models/mixer_params.h). Defaults then come from the registry in one place instead.
#pragma once
#include <string>
#include <vector>

namespace seqbench {

struct BackendParameter {
  std::string name;
  std::string default_value;  // "" until the registry exposes defaults
};

// The backend's own parameters, in the order it lists them; short_conv (accepted by every
// backend) is not included.
std::vector<BackendParameter> backend_parameters(const std::string& backend);

}  // namespace seqbench
