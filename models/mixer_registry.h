// Mixer backends by name. Adding a backend is one register call in mixer_registry.cpp.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/mixer.h"
#include "models/mixer_params.h"

namespace seqbench {

using MixerFactory = std::function<std::unique_ptr<Mixer>(const MixerSpec&)>;

struct MixerInfo {
  std::string name;
  std::string description;
  MixerFactory factory;
  const MixerParamTable& params;  // what `seqbench list backends` prints
};

const std::vector<MixerInfo>& mixer_backends();
// Throws std::invalid_argument naming the unknown backend and listing the known ones.
std::unique_ptr<Mixer> make_mixer(const MixerSpec& spec);
bool is_mixer_backend(const std::string& name);

}  // namespace seqbench
