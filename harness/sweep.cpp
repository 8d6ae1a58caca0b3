#include "harness/sweep.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "models/mixer_registry.h"
#include "tasks/task.h"

namespace seqbench {
namespace {

const std::set<std::string> kTopKeys{"name", "description", "seeds", "seed", "device", "backends", "tasks",
                                     "model", "train", "profile"};
const std::set<std::string> kModelKeys{"d_model", "n_layers", "n_heads", "mlp_expand", "position"};
const std::set<std::string> kTrainKeys{"lr", "epochs", "batch_size", "weight_decay", "warmup_fraction",
                                       "beta1", "beta2", "grad_clip", "early_stop_accuracy", "max_steps",
                                       "time_budget_s", "min_lr_fraction", "eval_every_steps"};

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw SweepError("sweep " + where + ": " + what);
}

void check_keys(const nlohmann::json& obj, const std::set<std::string>& known, const std::string& where) {
  if (!obj.is_object()) fail(where, "expected a JSON object, got " + obj.dump());
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (!known.count(it.key())) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      fail(where, "unknown key '" + it.key() + "' (known: " + list + ")");
    }
}

template <typename T>
T get_number(const nlohmann::json& obj, const char* key, T fallback, const std::string& where) {
  if (!obj.contains(key)) return fallback;
  const auto& v = obj.at(key);
  if (!v.is_number()) fail(where + "." + key, "expected a number, got " + v.dump());
  if (std::is_integral<T>::value && !v.is_number_integer()) fail(where + "." + key, "expected an integer, got " + v.dump());
  return v.get<T>();
}

std::vector<nlohmann::json> as_list(const nlohmann::json& v, const std::string& where) {
  if (v.is_array()) {
    if (v.empty()) fail(where, "is an empty list");
    return std::vector<nlohmann::json>(v.begin(), v.end());
  }
  return {v};
}

// A backend entry is a name ("softmax", "linear,softmax") or {"name": ..., <mixer params>}.
std::vector<std::pair<std::string, nlohmann::json>> expand_backends(const nlohmann::json& list) {
  std::vector<std::pair<std::string, nlohmann::json>> out;
  for (const auto& entry : as_list(list, "backends")) {
    if (entry.is_string()) {
      out.emplace_back(entry.get<std::string>(), nlohmann::json::object());
      continue;
    }
    if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string())
      fail("backends", "each entry must be a name or an object with a \"name\", got " + entry.dump());
    nlohmann::json params = entry;
    const std::string name = params["name"];
    params.erase("name");
    for (const auto& combo : expand_axes(params)) out.emplace_back(name, combo);
  }
  return out;
}

TrainConfig parse_train(const nlohmann::json& t, std::vector<double>& lrs) {
  const std::string where = "train";
  TrainConfig c;
  OptimizerConfig& o = c.optimizer;
  lrs.clear();
  for (const auto& v : as_list(t.value("lr", nlohmann::json(1e-3)), "train.lr")) {
    if (!v.is_number() || v.get<double>() <= 0) fail("train.lr", "expected positive numbers, got " + v.dump());
    lrs.push_back(v.get<double>());
  }
  c.epochs = get_number<int>(t, "epochs", c.epochs, where);
  c.batch_size = get_number<int64_t>(t, "batch_size", c.batch_size, where);
  c.early_stop_accuracy = get_number<double>(t, "early_stop_accuracy", c.early_stop_accuracy, where);
  c.max_steps = get_number<int64_t>(t, "max_steps", c.max_steps, where);
  c.eval_every_steps = get_number<int64_t>(t, "eval_every_steps", c.eval_every_steps, where);
  c.time_budget_s = get_number<double>(t, "time_budget_s", c.time_budget_s, where);
  o.weight_decay = get_number<double>(t, "weight_decay", o.weight_decay, where);
  o.warmup_fraction = get_number<double>(t, "warmup_fraction", o.warmup_fraction, where);
  o.min_lr_fraction = get_number<double>(t, "min_lr_fraction", o.min_lr_fraction, where);
  o.beta1 = get_number<double>(t, "beta1", o.beta1, where);
  o.beta2 = get_number<double>(t, "beta2", o.beta2, where);
  o.grad_clip = get_number<double>(t, "grad_clip", o.grad_clip, where);
  // epochs 0 is profile-only mode: no training and no scoring, just the profiler's measurements.
  if (c.epochs < 0) fail("train.epochs", "must be >= 0 (0: profile only), got " + std::to_string(c.epochs));
  if (c.batch_size <= 0) fail("train.batch_size", "must be positive, got " + std::to_string(c.batch_size));
  return c;
}

}  // namespace

std::vector<nlohmann::json> expand_axes(const nlohmann::json& obj, const std::vector<std::string>& scalar_lists) {
  std::vector<nlohmann::json> combos{nlohmann::json::object()};
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const bool axis = it.value().is_array() &&
                      std::find(scalar_lists.begin(), scalar_lists.end(), it.key()) == scalar_lists.end();
    std::vector<nlohmann::json> values = axis ? as_list(it.value(), it.key()) : std::vector<nlohmann::json>{it.value()};
    std::vector<nlohmann::json> next;
    for (const auto& combo : combos)
      for (const auto& v : values) {
        nlohmann::json c = combo;
        c[it.key()] = v;
        next.push_back(std::move(c));
      }
    combos = std::move(next);
  }
  return combos;
}

Sweep expand_sweep(const nlohmann::json& spec) {
  check_keys(spec, kTopKeys, "spec");
  Sweep sweep;
  sweep.name = spec.value("name", std::string("sweep"));
  sweep.description = spec.value("description", std::string());
  if (!spec.contains("backends")) fail("spec", "missing \"backends\"");
  if (!spec.contains("tasks")) fail("spec", "missing \"tasks\"");

  std::vector<uint64_t> seeds;
  for (const auto& s : as_list(spec.contains("seeds") ? spec["seeds"] : spec.value("seed", nlohmann::json(0)), "seeds")) {
    // Up to 2^64 - 1, the range --seed accepts (parsed JSON holds those as unsigned).
    if (!s.is_number_unsigned() && !(s.is_number_integer() && s.get<int64_t>() >= 0)) fail("seeds", "expected integers from 0 to 18446744073709551615, got " + s.dump());
    seeds.push_back(s.get<uint64_t>());
  }
  const nlohmann::json model = spec.value("model", nlohmann::json::object());
  check_keys(model, kModelKeys, "model");
  const nlohmann::json train = spec.value("train", nlohmann::json::object());
  check_keys(train, kTrainKeys, "train");
  const std::string device = spec.value("device", std::string("cpu"));
  parse_device(device);
  ProfileSpec profile;
  if (spec.contains("profile")) {
    try {
      profile = parse_profile_spec(spec["profile"]);
    } catch (const SweepError&) {
      throw;
    } catch (const std::invalid_argument& e) {
      throw SweepError(e.what());
    }
  }

  const auto backends = expand_backends(spec["backends"]);
  for (const auto& backend : backends) parse_backend_pattern(backend.first);  // unknown names fail here
  for (uint64_t seed : seeds)
    for (const auto& task_entry : as_list(spec["tasks"], "tasks")) {
      if (!task_entry.is_object() || !task_entry.contains("name") || !task_entry["name"].is_string())
        fail("tasks", "each entry must be an object with a \"name\", got " + task_entry.dump());
      nlohmann::json task_params = task_entry;
      const std::string task_name = task_params["name"];
      find_task(task_name);  // unknown task -> error listing the known ones
      task_params.erase("name");
      for (const auto& task_combo : expand_axes(task_params))
        for (const auto& model_combo : expand_axes(model))
          for (const auto& [backend, mixer_params] : backends)
            for (const auto& train_combo : expand_axes(train, {"lr"})) {
              CellSpec cell;
              cell.backend = backend;
              cell.mixer_params = mixer_params;
              cell.task = task_name;
              cell.task_params = task_combo;
              cell.d_model = get_number<int>(model_combo, "d_model", cell.d_model, "model");
              cell.n_layers = get_number<int>(model_combo, "n_layers", cell.n_layers, "model");
              cell.n_heads = get_number<int>(model_combo, "n_heads", cell.n_heads, "model");
              cell.mlp_expand = get_number<int>(model_combo, "mlp_expand", cell.mlp_expand, "model");
              cell.position = model_combo.value("position", cell.position);
              cell.train = parse_train(train_combo, cell.learning_rates);
              if (cell.train.epochs == 0 && !profile.enabled())
                fail("train.epochs", "0 means profile only (no training) and needs a \"profile\" object");
              cell.profile = profile;
              cell.seed = seed;
              cell.device = device;
              sweep.cells.push_back(std::move(cell));
            }
    }
  return sweep;
}

nlohmann::json parse_sweep_text(const std::string& text, const std::string& origin) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw SweepError("malformed sweep JSON in " + origin + ": " + e.what());
  }
}

nlohmann::json read_sweep_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw SweepError("cannot read sweep file '" + path + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_sweep_text(buffer.str(), "'" + path + "'");
}

}  // namespace seqbench
