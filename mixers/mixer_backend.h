// What the backends' .cpp files share: the checks and errors of their specs, and (each backend's
// class living in its .cpp, behind the registry's factory) the cast behind the few facts their
// tests read (gla_decay, ssm_heads, ...).
#pragma once
#include <stdexcept>
#include <string>

#include "models/mixer.h"
#include "models/mixer_params.h"
#include "models/mixer_validation.h"

namespace seqbench {

// std::invalid_argument "mixer '<kind>': <message>", for a param the backend cannot use.
[[noreturn]] inline void bad_param(const MixerSpec& spec, const std::string& message) {
  throw std::invalid_argument("mixer '" + spec.kind + "': " + message);
}

// The spec, once its shape and its params are valid for `params` (std::invalid_argument if not): for a
// constructor's initialiser list, so that no member is built from a bad spec.
inline const MixerSpec& checked_spec(const MixerSpec& spec, const MixerParamTable& params) {
  validate_mixer_shape(spec);
  check_mixer_params(spec, params);
  return spec;
}

// A string param read through `parse` (an enum's parser, say); the parser's std::invalid_argument
// becomes this mixer's error (bad_param).
template <class Parse>
auto parse_mixer_param(const MixerSpec& spec, const MixerParamTable& table, const char* name, Parse parse) {
  try {
    return parse(mixer_param_string(spec, table, name));
  } catch (const std::invalid_argument& e) {
    bad_param(spec, e.what());
  }
}

// Throws std::invalid_argument when `mixer` is not a `Backend` (the registry's `kind`).
template <class Backend>
const Backend& backend_of(const Mixer& mixer, const char* kind) {
  if (const auto* backend = dynamic_cast<const Backend*>(&mixer)) return *backend;
  throw std::invalid_argument("mixer '" + mixer.spec().kind + "' is not a " + kind + " mixer");
}

}  // namespace seqbench
