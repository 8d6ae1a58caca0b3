// Reading a mixer's backend-specific params (MixerSpec::params): every backend names the keys it
// understands, so a misspelt key is an error instead of a silently ignored setting.
#pragma once
#include <initializer_list>
#include <string>

#include "models/mixer.h"

namespace seqbench {

// Throws std::invalid_argument naming the first unknown key and listing the known ones; also
// when params is neither an object nor null.
void check_mixer_params(const MixerSpec& spec, std::initializer_list<const char*> known);

// Typed getters: the fallback when the key is absent (or null); std::invalid_argument naming
// the key, the value and the expected type when it is present with the wrong type.
int mixer_param_int(const MixerSpec& spec, const char* key, int fallback);
bool mixer_param_bool(const MixerSpec& spec, const char* key, bool fallback);
double mixer_param_double(const MixerSpec& spec, const char* key, double fallback);
std::string mixer_param_string(const MixerSpec& spec, const char* key, const std::string& fallback);
bool has_mixer_param(const MixerSpec& spec, const char* key);

}  // namespace seqbench
