#include "models/mixer_params.h"

#include <cmath>
#include <stdexcept>

namespace seqbench {
namespace {

std::string prefix(const MixerSpec& spec) { return "mixer '" + spec.kind + "': "; }

const nlohmann::json* find_param(const MixerSpec& spec, const char* key) {
  if (!spec.params.is_object()) return nullptr;
  auto it = spec.params.find(key);
  if (it == spec.params.end() || it->is_null()) return nullptr;
  return &*it;
}

[[noreturn]] void wrong_type(const MixerSpec& spec, const char* key, const nlohmann::json& value,
                             const char* expected) {
  throw std::invalid_argument(prefix(spec) + "param '" + key + "' is " + value.dump() + ", expected " +
                              expected);
}

const MixerParamInfo* find_info(const MixerParamTable& table, const std::string& key) {
  for (const MixerParamInfo& info : table)
    if (key == info.name) return &info;
  return nullptr;
}

const nlohmann::json& table_default(const MixerSpec& spec, const MixerParamTable& table, const char* key) {
  const MixerParamInfo* info = find_info(table, key);
  if (!info) throw std::logic_error(prefix(spec) + "reads param '" + key + "', which its table does not declare");
  return info->default_value;
}

}  // namespace

void check_mixer_params(const MixerSpec& spec, const MixerParamTable& known) {
  if (spec.params.is_null()) return;
  if (!spec.params.is_object())
    throw std::invalid_argument(prefix(spec) + "params must be a JSON object, got " + spec.params.dump());
  for (auto it = spec.params.begin(); it != spec.params.end(); ++it) {
    if (find_info(known, it.key())) continue;
    std::string names;
    for (const MixerParamInfo& info : known) names += (names.empty() ? "" : ", ") + std::string(info.name);
    throw std::invalid_argument(prefix(spec) + "unknown param '" + it.key() + "'; known params: " +
                                (names.empty() ? "(none)" : names));
  }
}

int mixer_param_int(const MixerSpec& spec, const MixerParamTable& table, const char* key) {
  return mixer_param_int(spec, key, table_default(spec, table, key).get<int>());
}

bool mixer_param_bool(const MixerSpec& spec, const MixerParamTable& table, const char* key) {
  return mixer_param_bool(spec, key, table_default(spec, table, key).get<bool>());
}

double mixer_param_double(const MixerSpec& spec, const MixerParamTable& table, const char* key) {
  return mixer_param_double(spec, key, table_default(spec, table, key).get<double>());
}

std::string mixer_param_string(const MixerSpec& spec, const MixerParamTable& table, const char* key) {
  return mixer_param_string(spec, key, table_default(spec, table, key).get<std::string>());
}

int mixer_param_int_at_least(const MixerSpec& spec, const MixerParamTable& table, const char* key, int minimum) {
  const int value = mixer_param_int(spec, table, key);
  if (value < minimum)
    throw std::invalid_argument(prefix(spec) + "param '" + key + "' is " + std::to_string(value) +
                                ", expected an integer >= " + std::to_string(minimum));
  return value;
}

bool has_mixer_param(const MixerSpec& spec, const char* key) { return find_param(spec, key) != nullptr; }

int mixer_param_int(const MixerSpec& spec, const char* key, int fallback) {
  const nlohmann::json* value = find_param(spec, key);
  if (!value) return fallback;
  if (value->is_number_integer()) return value->get<int>();
  // 64.0 from a JSON writer that prints every number as a float is still an integer.
  if (value->is_number_float()) {
    const double d = value->get<double>();
    if (std::floor(d) == d && std::fabs(d) < 2147483647.0) return static_cast<int>(d);
  }
  wrong_type(spec, key, *value, "an integer");
}

bool mixer_param_bool(const MixerSpec& spec, const char* key, bool fallback) {
  const nlohmann::json* value = find_param(spec, key);
  if (!value) return fallback;
  if (value->is_boolean()) return value->get<bool>();
  wrong_type(spec, key, *value, "true or false");
}

double mixer_param_double(const MixerSpec& spec, const char* key, double fallback) {
  const nlohmann::json* value = find_param(spec, key);
  if (!value) return fallback;
  if (value->is_number()) return value->get<double>();
  wrong_type(spec, key, *value, "a number");
}

std::string mixer_param_string(const MixerSpec& spec, const char* key, const std::string& fallback) {
  const nlohmann::json* value = find_param(spec, key);
  if (!value) return fallback;
  if (value->is_string()) return value->get<std::string>();
  wrong_type(spec, key, *value, "a string");
}

}  // namespace seqbench
