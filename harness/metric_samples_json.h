// The JSON text of a metric's repetition samples, as stored in metrics.samples_json.
// JSON has no NaN or infinity, so NaN is written as null and infinities as the strings "Infinity"
// and "-Infinity": a diverged repetition survives the round trip instead of breaking the array.
#pragma once
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace seqbench {

inline std::string samples_to_json(const std::vector<double>& samples) {
  nlohmann::json array = nlohmann::json::array();
  for (double sample : samples) {
    if (sample != sample) {
      array.push_back(nullptr);
    } else if (sample == std::numeric_limits<double>::infinity()) {
      array.push_back("Infinity");
    } else if (sample == -std::numeric_limits<double>::infinity()) {
      array.push_back("-Infinity");
    } else {
      array.push_back(sample);
    }
  }
  return array.dump();
}

// Throws std::invalid_argument when text is not such an array.
inline std::vector<double> samples_from_json(const std::string& text) {
  const nlohmann::json array = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  const auto malformed = [&] {
    return std::invalid_argument("samples must be a JSON array of numbers, got '" + text + "'");
  };
  if (!array.is_array()) throw malformed();
  std::vector<double> samples;
  samples.reserve(array.size());
  for (const auto& item : array) {
    if (item.is_number()) {
      samples.push_back(item.get<double>());
    } else if (item.is_null()) {
      samples.push_back(std::numeric_limits<double>::quiet_NaN());
    } else if (item == "Infinity") {
      samples.push_back(std::numeric_limits<double>::infinity());
    } else if (item == "-Infinity") {
      samples.push_back(-std::numeric_limits<double>::infinity());
    } else {
      throw malformed();
    }
  }
  return samples;
}

}  // namespace seqbench
