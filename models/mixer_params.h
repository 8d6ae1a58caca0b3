// Reading a mixer's backend-specific params (MixerSpec::params): every backend keeps one table of
// the keys it understands, with their defaults and meanings, so a misspelt key is an error instead
// of a silently ignored setting, a default is written in one place, and `seqbench list backends`
// prints the same table the constructor reads.
#pragma once
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/mixer.h"

namespace seqbench {

// One parameter a backend accepts: its default (null where it depends on the shape, as linear's
// feature_dim = head_dim) and what it does.
struct MixerParamInfo {
  const char* name;
  nlohmann::json default_value;
  const char* meaning;
};
using MixerParamTable = std::vector<MixerParamInfo>;

// Throws std::invalid_argument naming the first unknown key and listing the known ones; also
// when params is neither an object nor null.
void check_mixer_params(const MixerSpec& spec, const MixerParamTable& known);

// The key's value, or the table's default when it is absent; std::logic_error when the table has
// no such key (a backend reading a param it does not declare).
int mixer_param_int(const MixerSpec& spec, const MixerParamTable& table, const char* key);
bool mixer_param_bool(const MixerSpec& spec, const MixerParamTable& table, const char* key);
double mixer_param_double(const MixerSpec& spec, const MixerParamTable& table, const char* key);
std::string mixer_param_string(const MixerSpec& spec, const MixerParamTable& table, const char* key);
// mixer_param_int, then std::invalid_argument naming the key, the value and the bound when it is
// below `minimum`.
int mixer_param_int_at_least(const MixerSpec& spec, const MixerParamTable& table, const char* key, int minimum);

// Typed getters: the fallback when the key is absent (or null); std::invalid_argument naming
// the key, the value and the expected type when it is present with the wrong type.
int mixer_param_int(const MixerSpec& spec, const char* key, int fallback);
bool mixer_param_bool(const MixerSpec& spec, const char* key, bool fallback);
double mixer_param_double(const MixerSpec& spec, const char* key, double fallback);
std::string mixer_param_string(const MixerSpec& spec, const char* key, const std::string& fallback);
bool has_mixer_param(const MixerSpec& spec, const char* key);

}  // namespace seqbench
