#include "datasets/json_lines.h"

#include <climits>

namespace seqbench {

std::vector<int32_t> int_array_field(const nlohmann::json& object, const char* field, const std::string& where) {
  if (!object.is_object() || !object.contains(field) || !object.at(field).is_array())
    throw std::invalid_argument(where + ": expected an object with an array \"" + field + "\"");
  std::vector<int32_t> out;
  out.reserve(object.at(field).size());
  for (const auto& v : object.at(field)) {
    if (!v.is_number_integer() || v.get<int64_t>() < INT32_MIN || v.get<int64_t>() > INT32_MAX)
      throw std::invalid_argument(where + ": \"" + field + "\" holds " + v.dump() + ", expected 32-bit integers");
    out.push_back(static_cast<int32_t>(v.get<int64_t>()));
  }
  return out;
}

}  // namespace seqbench
