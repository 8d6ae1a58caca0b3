#include "bench_gpu/anchor_results.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace seqbench {
namespace {

using nlohmann::json;

std::string row_name(const json& row, size_t index) {
  const auto key = row.find("key");
  return "anchor row " + std::to_string(index) +
         (key != row.end() && key->is_string() ? " ('" + key->get<std::string>() + "')" : std::string());
}

std::string required_text(const json& row, const char* field, size_t index) {
  const auto it = row.find(field);
  if (it == row.end() || !it->is_string() || it->get<std::string>().empty())
    throw std::invalid_argument(row_name(row, index) + ": \"" + field + "\" must be a non-empty string");
  return it->get<std::string>();
}

double positive_ms(const json& value, const std::string& where) {
  if (!value.is_number() || !(value.get<double>() > 0))
    throw std::invalid_argument(where + " must be a positive number of milliseconds, got " + value.dump());
  return value.get<double>();
}

AnchorResult parse_row(const json& row, size_t index) {
  if (!row.is_object()) throw std::invalid_argument(row_name(row, index) + " must be an object, got " + row.dump());
  AnchorResult r;
  r.key = required_text(row, "key", index);
  r.impl = required_text(row, "impl", index);
  const bool has_error = row.contains("error") && !row["error"].is_null();
  const bool has_ms = row.contains("ms") && !row["ms"].is_null();
  if (has_error == has_ms)
    throw std::invalid_argument(row_name(row, index) + ": needs exactly one of \"ms\" and \"error\"");
  if (has_error) {
    r.error = row["error"].is_string() ? row["error"].get<std::string>() : row["error"].dump();
    return r;
  }
  r.ms = positive_ms(row["ms"], row_name(row, index) + " \"ms\"");
  if (row.contains("samples_ms")) {
    const json& samples = row["samples_ms"];
    if (!samples.is_array() || samples.empty())
      throw std::invalid_argument(row_name(row, index) + ": \"samples_ms\" must be a non-empty array");
    for (const json& s : samples) r.samples_ms.push_back(positive_ms(s, row_name(row, index) + " sample"));
  } else {
    r.samples_ms = {r.ms};
  }
  return r;
}

}  // namespace

AnchorFile parse_anchor_file(const std::string& json_text) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::parse_error& e) {
    throw std::invalid_argument(std::string("anchor file is not JSON: ") + e.what());
  }
  if (!doc.is_object() || !doc.contains("rows") || !doc["rows"].is_array())
    throw std::invalid_argument("anchor file must be an object with a \"rows\" array");
  AnchorFile file;
  if (doc.contains("device") && doc["device"].is_string()) file.device = doc["device"].get<std::string>();
  if (doc.contains("versions")) file.versions = doc["versions"].dump();
  for (size_t i = 0; i < doc["rows"].size(); ++i) {
    AnchorResult r = parse_row(doc["rows"][i], i);
    for (const AnchorResult& seen : file.rows)
      if (seen.key == r.key && seen.impl == r.impl)
        throw std::invalid_argument(row_name(doc["rows"][i], i) + ": impl '" + r.impl + "' appears twice for this key");
    file.rows.push_back(std::move(r));
  }
  return file;
}

AnchorFile read_anchor_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("cannot read anchor file '" + path + "' (run bench_gpu/anchor_kernels.py first)");
  std::stringstream text;
  text << in.rdbuf();
  try {
    return parse_anchor_file(text.str());
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(path + ": " + e.what());
  }
}

std::vector<const AnchorResult*> anchors_for(const AnchorFile& file, const std::string& key) {
  std::vector<const AnchorResult*> found;
  for (const AnchorResult& r : file.rows)
    if (r.key == key) found.push_back(&r);
  return found;
}

const AnchorResult* fastest_anchor(const AnchorFile& file, const std::string& key) {
  const AnchorResult* best = nullptr;
  for (const AnchorResult* r : anchors_for(file, key))
    if (r->error.empty() && (!best || r->ms < best->ms)) best = r;
  return best;
}

}  // namespace seqbench
