#include "datasets/predictions_jsonl.h"

#include <algorithm>
#include <istream>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <stdexcept>

#include "datasets/dataset_export.h"
#include "datasets/json_lines.h"

namespace seqbench {
namespace {

// Ids listed in an error before "and N more".
constexpr size_t kListedIds = 5;

std::string listed(const std::vector<std::string>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size() && i < kListedIds; ++i) out += (i ? ", " : "") + ids[i];
  if (ids.size() > kListedIds) out += " and " + std::to_string(ids.size() - kListedIds) + " more";
  return out;
}

// The example index an id names, or -1 when it is not an id of this split: only the exact
// form example_id writes counts ("test-07" and "test-7 " do not).
int64_t index_of(const std::string& id, const std::string& split, int64_t num_examples) {
  const std::string prefix = split + "-";
  if (id.size() <= prefix.size() || id.compare(0, prefix.size(), prefix) != 0) return -1;
  const std::string digits = id.substr(prefix.size());
  if (digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  const int64_t index = std::stoll(digits);
  return index < num_examples && example_id(split, index) == id ? index : -1;
}

}  // namespace

std::vector<int32_t> read_predictions_by_id(std::istream& in, const std::string& split, int64_t num_examples,
                                            int64_t seq_len, const std::string& origin) {
  std::vector<int32_t> predictions(static_cast<size_t>(num_examples * seq_len), 0);
  std::vector<std::string> line_of(static_cast<size_t>(num_examples));  // where each example's row came from
  std::vector<std::string> extra;
  for_each_json_line(in, origin, [&](const nlohmann::json& object, const std::string& where) {
    if (!object.is_object() || !object.contains("id") || !object.at("id").is_string())
      throw std::invalid_argument(where + ": expected a string \"id\" naming the example (\"" +
                                  example_id(split, 0) + "\" ...), got " +
                                  (object.is_object() && object.contains("id") ? object.at("id").dump() : "none"));
    const std::string id = object.at("id").get<std::string>();
    const std::vector<int32_t> row = int_array_field(object, "predictions", where);
    if (static_cast<int64_t>(row.size()) != seq_len)
      throw std::invalid_argument(where + ": " + std::to_string(row.size()) + " predictions for '" + id +
                                  "', expected seq_len " + std::to_string(seq_len));
    const int64_t index = index_of(id, split, num_examples);
    if (index < 0) {
      extra.push_back(id);
      return;
    }
    if (!line_of[index].empty())
      throw std::invalid_argument(where + ": id '" + id + "' again (first at " + line_of[index] + ")");
    line_of[index] = where;
    std::copy(row.begin(), row.end(), predictions.begin() + index * seq_len);
  });
  std::vector<std::string> missing;
  for (int64_t i = 0; i < num_examples; ++i)
    if (line_of[i].empty()) missing.push_back(example_id(split, i));
  if (!missing.empty() || !extra.empty()) {
    std::string message = origin + ": predictions do not match split '" + split + "' (" +
                          std::to_string(num_examples) + " examples";
    if (num_examples > 0) message += ", ids " + example_id(split, 0) + " .. " + example_id(split, num_examples - 1);
    message += ")";
    if (!missing.empty())
      message += "; " + std::to_string(missing.size()) + " missing: " + listed(missing);
    if (!extra.empty())
      message += "; " + std::to_string(extra.size()) + " not in the split: " + listed(extra);
    throw std::invalid_argument(message);
  }
  return predictions;
}

void write_predictions_jsonl(const std::vector<int32_t>& predictions, int64_t seq_len, const std::string& split,
                             std::ostream& out) {
  if (seq_len <= 0 || predictions.size() % static_cast<size_t>(seq_len) != 0)
    throw std::invalid_argument("write_predictions_jsonl: " + std::to_string(predictions.size()) +
                                " predictions do not split into rows of seq_len " + std::to_string(seq_len));
  for (size_t i = 0; i < predictions.size(); i += static_cast<size_t>(seq_len)) {
    out << "{\"id\":" << nlohmann::json(example_id(split, static_cast<int64_t>(i / seq_len))).dump()
        << ",\"predictions\":[";
    for (int64_t t = 0; t < seq_len; ++t) out << (t ? "," : "") << predictions[i + t];
    out << "]}\n";
  }
}

}  // namespace seqbench
