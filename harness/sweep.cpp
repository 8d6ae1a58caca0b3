#include "harness/sweep.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <fstream>
#include <set>
#include <sstream>

#include "harness/path_problem.h"
#include "models/mixer_registry.h"
#include "tasks/task.h"

namespace seqbench {
namespace {

const std::set<std::string> kTopKeys{"name", "description", "seeds", "seed", "device", "precision", "backends",
                                     "tasks", "model", "train", "profile", "scenario"};
const std::set<std::string> kModelKeys{"d_model", "n_layers", "n_heads", "mlp_expand", "position"};
const std::set<std::string> kTrainKeys{"lr", "epochs", "batch_size", "weight_decay", "warmup_fraction",
                                       "beta1", "beta2", "grad_clip", "early_stop_accuracy", "max_steps",
                                       "time_budget_s", "min_lr_fraction", "eval_every_steps"};

// Upper bounds of the integer settings: far above any real use, low enough to catch a typo
// before it wraps around or asks for more memory or time than exists.
constexpr int64_t kMaxEpochs = 1'000'000;
constexpr int64_t kMaxBatch = 1 << 20;
constexpr int64_t kMaxSteps = 1'000'000'000'000;
constexpr int64_t kMaxWidth = 1 << 16;
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxExpand = 64;

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

// A JSON number read as a double; nullopt when absent.
std::optional<double> number_at(const nlohmann::json& obj, const char* key, const std::string& where) {
  if (!obj.contains(key)) return std::nullopt;
  const auto& v = obj.at(key);
  if (!v.is_number()) fail(where + "." + key, "expected a number, got " + v.dump());
  return v.get<double>();
}

// An interval of accepted values, written as the message shows it: "[0, 1)", "(0, 1]", ">= 0".
struct Range {
  double lo, hi;
  bool lo_open, hi_open;
  std::string text() const {
    if (std::isinf(hi)) return std::string(lo_open ? "> " : ">= ") + number_text(lo);
    return (lo_open ? "(" : "[") + number_text(lo) + ", " + number_text(hi) + (hi_open ? ")" : "]");
  }
  bool contains(double v) const {
    return (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  }
  static std::string number_text(double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g", v);
    return buffer;
  }
};
const Range kNonNegative{0, INFINITY, false, true};
const Range kUnitClosed{0, 1, false, false};     // [0, 1]
const Range kUnitHalfOpen{0, 1, false, true};    // [0, 1): Adam's betas (1 never forgets, the bias correction divides by 0)
const Range kUnitAboveZero{0, 1, true, false};   // (0, 1]

// A number that must lie in `range`: a setting outside it trains nothing meaningful (a beta of 1,
// a negative weight decay), so it is refused before any cell runs instead of silently clamped.
double get_in_range(const nlohmann::json& obj, const char* key, double fallback, const Range& range,
                    const std::string& where, const std::string& why) {
  const std::optional<double> v = number_at(obj, key, where);
  if (!v) return fallback;
  if (!range.contains(*v))
    fail(where + "." + key, "expected a number in " + range.text() + ", got " + obj.at(key).dump() + " (" + why + ")");
  return *v;
}

// An integer in [lo, hi]; an integral float (1e3, 64.0) counts, since JSON writes both alike. The
// bounds keep a typo from wrapping around (10000000000 into an int) or asking for a run that can
// never end or fit; `why` says what the upper bound protects.
int64_t get_integer(const nlohmann::json& obj, const char* key, int64_t fallback, int64_t lo, int64_t hi,
                    const std::string& where, const std::string& why) {
  if (!obj.contains(key)) return fallback;
  const auto& v = obj.at(key);
  const std::string name = where + "." + key;
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi))
    fail(name, v.dump() + " is more than the " + std::to_string(hi) + " allowed (" + why + ")");
  if (!v.is_number()) fail(name, "expected an integer, got " + v.dump());
  const double d = v.get<double>();
  if (d != std::floor(d)) fail(name, "expected an integer, got " + v.dump());
  if (d < static_cast<double>(lo)) fail(name, "expected at least " + std::to_string(lo) + ", got " + v.dump());
  if (d > static_cast<double>(hi)) {
    char shown[32];  // 1e9 reads as 1000000000, not 1000000000.0
    std::snprintf(shown, sizeof shown, "%.0f", d);
    fail(name, std::string(shown) + " is more than the " + std::to_string(hi) + " allowed (" + why + ")");
  }
  return v.is_number_integer() ? v.get<int64_t>() : static_cast<int64_t>(d);
}

std::string get_string(const nlohmann::json& obj, const char* key, const std::string& fallback,
                       const std::string& where) {
  if (!obj.contains(key)) return fallback;
  const auto& v = obj.at(key);
  if (!v.is_string()) fail(where + "." + key, "expected a string, got " + v.dump());
  return v.get<std::string>();
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
  // epochs 0 is profile-only mode: no training and no scoring, just the profiler's measurements.
  c.epochs = static_cast<int>(get_integer(t, "epochs", c.epochs, 0, kMaxEpochs, where,
                                          "a run that long never finishes; bound training with max_steps or "
                                          "time_budget_s instead"));
  c.batch_size = get_integer(t, "batch_size", c.batch_size, 1, kMaxBatch, where, "a batch that large cannot fit");
  c.max_steps = get_integer(t, "max_steps", c.max_steps, 0, kMaxSteps, where, "0 means the epochs decide");
  c.eval_every_steps = get_integer(t, "eval_every_steps", c.eval_every_steps, 0, kMaxSteps, where, "0 means each epoch");
  c.early_stop_accuracy = get_in_range(t, "early_stop_accuracy", c.early_stop_accuracy, kUnitAboveZero, where,
                                       "training stops once the valid accuracy reaches it; 1 stops only at a "
                                       "perfect score");
  c.time_budget_s = get_in_range(t, "time_budget_s", c.time_budget_s, kNonNegative, where, "0 means no budget");
  o.weight_decay = get_in_range(t, "weight_decay", o.weight_decay, kNonNegative, where, "0 means no decay");
  o.warmup_fraction = get_in_range(t, "warmup_fraction", o.warmup_fraction, kUnitClosed, where,
                                   "the fraction of the steps spent warming up");
  o.min_lr_fraction = get_in_range(t, "min_lr_fraction", o.min_lr_fraction, kUnitClosed, where,
                                   "the fraction of lr the cosine decays to");
  o.beta1 = get_in_range(t, "beta1", o.beta1, kUnitHalfOpen, where, "Adam's first-moment decay");
  o.beta2 = get_in_range(t, "beta2", o.beta2, kUnitHalfOpen, where, "Adam's second-moment decay");
  o.grad_clip = get_in_range(t, "grad_clip", o.grad_clip, kNonNegative, where, "0 means no clipping");
  return c;
}

Sweep expand_checked_sweep(const nlohmann::json& spec);

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
  try {
    return expand_checked_sweep(spec);
  } catch (const nlohmann::json::exception& e) {
    // Every key is read through a typed getter; this only keeps a missed one from exiting 1.
    throw SweepError(std::string("sweep: a value has the wrong JSON type: ") + e.what());
  }
}

namespace {

Sweep expand_checked_sweep(const nlohmann::json& spec) {
  check_keys(spec, kTopKeys, "spec");
  Sweep sweep;
  sweep.name = get_string(spec, "name", "sweep", "spec");
  sweep.description = get_string(spec, "description", "", "spec");
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
  const std::string device = get_string(spec, "device", "cpu", "spec");
  parse_device(device);
  const std::string precision = get_string(spec, "precision", "fp32", "spec");
  try {
    parse_precision(precision);
  } catch (const std::invalid_argument& e) {
    fail("precision", e.what());
  }
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

  std::vector<ScenarioSpec> scenarios;  // harness/scenarios/scenario_spec.h: replay axes, innermost
  if (spec.contains("scenario")) {
    try {
      scenarios = expand_scenario_spec(spec["scenario"]);
    } catch (const std::invalid_argument& e) {
      throw SweepError(std::string("sweep ") + e.what());
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
              const std::string too_big = "a model that large cannot fit in memory";
              cell.d_model = static_cast<int>(
                  get_integer(model_combo, "d_model", cell.d_model, 1, kMaxWidth, "model", too_big));
              cell.n_layers = static_cast<int>(
                  get_integer(model_combo, "n_layers", cell.n_layers, 1, kMaxLayers, "model", too_big));
              cell.n_heads = static_cast<int>(
                  get_integer(model_combo, "n_heads", cell.n_heads, 1, kMaxWidth, "model", "at most d_model"));
              cell.mlp_expand = static_cast<int>(
                  get_integer(model_combo, "mlp_expand", cell.mlp_expand, 0, kMaxExpand, "model", too_big));
              cell.position = get_string(model_combo, "position", cell.position, "model");
              cell.train = parse_train(train_combo, cell.learning_rates);
              if (cell.train.epochs == 0 && !profile.enabled())
                fail("train.epochs", "0 means profile only (no training) and needs a \"profile\" object");
              cell.profile = profile;
              cell.seed = seed;
              cell.device = device;
              cell.precision = precision;
              if (scenarios.empty()) {
                sweep.cells.push_back(std::move(cell));
                continue;
              }
              for (const ScenarioSpec& scenario : scenarios_for_backend(scenarios, cell.backend)) {
                try {
                  check_scenario_task(scenario, task_name, task_combo, seed);
                } catch (const std::invalid_argument& e) {
                  fail("scenario", e.what());
                }
                sweep.cells.push_back(cell);
                sweep.cells.back().scenario = scenario;
              }
            }
    }
  return sweep;
}

}  // namespace

nlohmann::json parse_sweep_text(const std::string& text, const std::string& origin) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw SweepError("malformed sweep JSON in " + origin + ": " + e.what());
  }
}

nlohmann::json read_sweep_file(const std::string& path) {
  const std::string problem = path_problem(path, PathUse::read);
  if (!problem.empty()) throw SweepError("cannot read sweep file: " + problem);
  std::ifstream in(path);
  if (!in) throw SweepError("cannot read sweep file '" + path + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_sweep_text(buffer.str(), "'" + path + "'");
}

}  // namespace seqbench
