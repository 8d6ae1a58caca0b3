// Reading JSON Lines files (datasets and predictions): one JSON object per line, blank lines
// skipped, every error naming "file:line".
#pragma once
#include <cstdint>
#include <istream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace seqbench {

// Calls on_line(object, "origin:N") for every non-blank line; throws std::invalid_argument
// "origin:N: not valid JSON" on a line that does not parse.
template <class OnLine>
void for_each_json_line(std::istream& in, const std::string& origin, OnLine on_line) {
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = origin + ":" + std::to_string(number);
    const nlohmann::json object = nlohmann::json::parse(line, nullptr, false);
    if (object.is_discarded()) throw std::invalid_argument(where + ": not valid JSON");
    on_line(object, where);
  }
}

// The int32 array `field` of one line's object; throws std::invalid_argument naming `where`.
std::vector<int32_t> int_array_field(const nlohmann::json& object, const char* field, const std::string& where);

}  // namespace seqbench
