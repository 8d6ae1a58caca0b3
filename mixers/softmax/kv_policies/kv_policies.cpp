// The policies (kv_policy.h): each a few lines over the rules in eviction_rules.h, quest_pages.h
// and kivi_quantizer.h, with its parameters read and checked here.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "mixers/softmax/kv_policies/eviction_rules.h"
#include "mixers/softmax/kv_policies/kv_policy.h"

namespace seqbench {
namespace {

// A policy's parameters: the catalog's defaults overlaid with the spec, read with checks.
class PolicyParams {
 public:
  PolicyParams(std::string name, nlohmann::json values, int64_t context_tokens)
      : name_(std::move(name)), values_(std::move(values)), context_(context_tokens) {}

  [[noreturn]] void fail(const std::string& key, const std::string& expected) const {
    throw std::invalid_argument("kv policy '" + name_ + "': parameter '" + key + "' is " + values_.at(key).dump() +
                                ", expected " + expected);
  }
  int64_t integer(const std::string& key, int64_t lo) const {
    const nlohmann::json& v = values_.at(key);
    if (!v.is_number() || v.get<double>() != std::floor(v.get<double>()) || v.get<double>() < static_cast<double>(lo))
      fail(key, "an integer >= " + std::to_string(lo));
    return static_cast<int64_t>(v.get<double>());
  }
  std::string text(const std::string& key, const std::vector<std::string>& choices) const {
    const nlohmann::json& v = values_.at(key);
    if (v.is_string() && std::find(choices.begin(), choices.end(), v.get<std::string>()) != choices.end())
      return v.get<std::string>();
    std::string listed;
    for (const auto& c : choices) listed += (listed.empty() ? "" : " or ") + c;
    fail(key, listed);
  }
  // Tokens: an integer >= 1, or a fraction in (0, 1) of the context (at least one token).
  int64_t budget() const {
    const nlohmann::json& v = values_.at("budget");
    if (v.is_number_integer()) return integer("budget", 1);
    if (!v.is_number() || !(v.get<double>() > 0.0 && v.get<double>() < 1.0))
      fail("budget", "tokens (an integer >= 1) or a fraction of the context in (0, 1)");
    return std::max<int64_t>(1, std::llround(v.get<double>() * static_cast<double>(context_)));
  }
  // The stored form: the budget in tokens, and the fraction it came from when it was one.
  nlohmann::json resolved() const {
    nlohmann::json out = values_;
    if (!values_.contains("budget")) return out;
    if (!values_.at("budget").is_number_integer()) out["budget_fraction"] = values_.at("budget");
    out["budget"] = budget();
    return out;
  }
  void require(bool ok, const std::string& what) const {
    if (!ok) throw std::invalid_argument("kv policy '" + name_ + "': " + what);
  }

 private:
  std::string name_;
  nlohmann::json values_;
  int64_t context_;
};

class NamedPolicy : public KvPolicy {
 public:
  NamedPolicy(std::string name, nlohmann::json params) : name_(std::move(name)), params_(std::move(params)) {}
  std::string name() const override { return name_; }
  nlohmann::json params() const override { return params_; }

 private:
  std::string name_;
  nlohmann::json params_;
};

class StreamingLlmPolicy : public NamedPolicy {
 public:
  StreamingLlmPolicy(const PolicyParams& p)
      : NamedPolicy("streaming_llm", p.resolved()), budget_(p.budget()), sinks_(p.integer("sinks", 0)) {
    p.require(sinks_ < budget_, "sinks (" + std::to_string(sinks_) + ") must be fewer than the budget (" +
                                    std::to_string(budget_) + " tokens)");
  }
  bool evicts() const override { return true; }
  std::vector<int32_t> keep(const EvictionInput& row) const override {
    return streaming_llm_keep(row.used, budget_, sinks_);
  }

 private:
  int64_t budget_, sinks_;
};

class H2oPolicy : public NamedPolicy {
 public:
  H2oPolicy(const PolicyParams& p, int64_t recent)
      : NamedPolicy("h2o", resolved(p, recent)), budget_(p.budget()), recent_(recent) {
    p.require(recent_ <= budget_, "recent (" + std::to_string(recent_) + ") must be at most the budget (" +
                                      std::to_string(budget_) + " tokens)");
  }
  bool evicts() const override { return true; }
  MassEvidence evidence() const override { return {MassEvidence::every_query, 0}; }
  std::vector<int32_t> keep(const EvictionInput& row) const override {
    return h2o_keep(row.used, row.mass, budget_, recent_);
  }

 private:
  static nlohmann::json resolved(const PolicyParams& p, int64_t recent) {
    nlohmann::json out = p.resolved();
    out["recent"] = recent;
    return out;
  }
  int64_t budget_, recent_;
};

class SnapKvPolicy : public NamedPolicy {
 public:
  SnapKvPolicy(const std::string& name, const PolicyParams& p, bool pyramid)
      : NamedPolicy(name, p.resolved()),
        budget_(p.budget()),
        window_(p.integer("window", 1)),
        kernel_(p.integer("kernel", 1)),
        pooling_(p.text("pooling", {"avg", "max"}) == "avg" ? Pooling::avg : Pooling::max),
        beta_(pyramid ? p.integer("beta", 1) : 0) {
    p.require(window_ < budget_, "window (" + std::to_string(window_) + ") must be smaller than the budget (" +
                                     std::to_string(budget_) + " tokens)");
    p.require(kernel_ % 2 == 1, "kernel must be odd (a centred pooling window), got " + std::to_string(kernel_));
  }
  bool evicts() const override { return true; }
  MassEvidence evidence() const override { return {MassEvidence::last_queries, window_}; }
  std::vector<int32_t> keep(const EvictionInput& row) const override {
    if (beta_ == 0) return snapkv_keep(row.used, row.mass, budget_, window_, kernel_, pooling_);
    return pyramidkv_keep(row.used, row.mass, budget_, window_, kernel_, pooling_, beta_, row.attention_layer,
                          row.attention_layers);
  }

 private:
  int64_t budget_, window_, kernel_;
  Pooling pooling_;
  int64_t beta_;  // 0: SnapKV; PyramidKV otherwise
};

class QuestPolicy : public NamedPolicy {
 public:
  QuestPolicy(const PolicyParams& p) : NamedPolicy("quest", p.resolved()) {
    settings_.budget = p.budget();
    settings_.page_size = p.integer("page_size", 1);
  }
  const QuestSettings* page_selection() const override { return &settings_; }

 private:
  QuestSettings settings_;
};

class KiviPolicy : public NamedPolicy {
 public:
  KiviPolicy(const PolicyParams& p) : NamedPolicy("kivi", p.resolved()) {
    settings_.bits = static_cast<int>(p.integer("bits", 1));
    settings_.residual = p.integer("residual", 1);
    p.require(settings_.bits == 2 || settings_.bits == 4 || settings_.bits == 8,
              "bits must be 2, 4 or 8 (KIVI's packings), got " + std::to_string(settings_.bits));
  }
  const KiviSettings* quantisation() const override { return &settings_; }

 private:
  KiviSettings settings_;
};

// A-shape (sinks + local window) and Tri-shape (the same, but the last `last` queries of a prefill
// see every key) prefill patterns (MInference minference/ops/streaming_kernel.py a_shape_kernel,
// tri_shape_kernel; SCBench Sec. 3): budget = sinks + local window. Decoding stays dense.
class ShapedPrefillPolicy : public NamedPolicy {
 public:
  ShapedPrefillPolicy(const std::string& name, const PolicyParams& p, bool tri)
      : NamedPolicy(name, p.resolved()), sinks_(p.integer("sinks", 0)), last_(tri ? p.integer("last", 1) : 0) {
    const int64_t budget = p.budget();
    p.require(sinks_ < budget, "sinks (" + std::to_string(sinks_) + ") must be fewer than the budget (" +
                                   std::to_string(budget) + " tokens: sinks + local window)");
    local_ = budget - sinks_;
  }
  bool sparse_prefill() const override { return true; }
  void prefill_spans(int64_t t, int64_t chunk_end, KeySpan* spans) const override {
    if (t >= chunk_end - last_) {  // Tri-shape's dense last rows
      spans[0] = {0, static_cast<int32_t>(t + 1)};
      spans[1] = {};
      return;
    }
    spans[0] = {0, static_cast<int32_t>(std::min(sinks_, t + 1))};
    const int64_t begin = std::max(sinks_, t - local_ + 1);
    spans[1] = begin <= t ? KeySpan{static_cast<int32_t>(begin), static_cast<int32_t>(t + 1)} : KeySpan{};
  }

 private:
  int64_t sinks_, last_, local_ = 1;
};

class DensePolicy : public NamedPolicy {
 public:
  DensePolicy() : NamedPolicy("dense", nlohmann::json::object()) {}
};

}  // namespace

const std::vector<std::pair<std::string, nlohmann::json>>& kv_policy_catalog() {
  static const std::vector<std::pair<std::string, nlohmann::json>> catalog{
      {"dense", nlohmann::json::object()},
      {"streaming_llm", {{"budget", 0.5}, {"sinks", 4}}},
      {"h2o", {{"budget", 0.5}, {"recent", nullptr}}},
      {"snapkv", {{"budget", 0.5}, {"window", 8}, {"kernel", 5}, {"pooling", "avg"}}},
      {"pyramidkv", {{"budget", 0.5}, {"window", 8}, {"kernel", 5}, {"pooling", "avg"}, {"beta", 20}}},
      {"quest", {{"budget", 0.5}, {"page_size", 8}}},
      {"kivi", {{"bits", 2}, {"residual", 16}}},
      {"a_shape", {{"budget", 0.5}, {"sinks", 4}}},
      {"tri_shape", {{"budget", 0.5}, {"sinks", 4}, {"last", 8}}},
  };
  return catalog;
}

std::shared_ptr<const KvPolicy> make_kv_policy(const nlohmann::json& spec, int64_t context_tokens) {
  nlohmann::json given = spec.is_string() ? nlohmann::json{{"name", spec}} : spec;
  if (!given.is_object() || !given.contains("name") || !given["name"].is_string())
    throw std::invalid_argument("kv policy: expected a name or an object with a \"name\", got " + spec.dump());
  const std::string name = given["name"];
  given.erase("name");
  const nlohmann::json* defaults = nullptr;
  std::string known;
  for (const auto& [policy, params] : kv_policy_catalog()) {
    if (policy == name) defaults = &params;
    known += (known.empty() ? "" : ", ") + policy;
  }
  if (!defaults) throw std::invalid_argument("unknown kv policy '" + name + "'; known policies: " + known);
  nlohmann::json values = *defaults;
  for (auto it = given.begin(); it != given.end(); ++it) {
    if (!defaults->contains(it.key())) {
      std::string accepted;
      for (auto d = defaults->begin(); d != defaults->end(); ++d) accepted += (accepted.empty() ? "" : ", ") + d.key();
      throw std::invalid_argument("kv policy '" + name + "' has no parameter '" + it.key() + "'" +
                                  (accepted.empty() ? " (it takes none)" : "; accepted: " + accepted));
    }
    values[it.key()] = it.value();
  }
  const PolicyParams p(name, values, context_tokens);
  if (name == "dense") return std::make_shared<DensePolicy>();
  if (name == "streaming_llm") return std::make_shared<StreamingLlmPolicy>(p);
  if (name == "h2o")  // H2O's default splits the cache evenly between heavy hitters and recent tokens (Sec. 5).
    return std::make_shared<H2oPolicy>(p, values["recent"].is_null() ? p.budget() / 2 : p.integer("recent", 0));
  if (name == "snapkv") return std::make_shared<SnapKvPolicy>(name, p, false);
  if (name == "pyramidkv") return std::make_shared<SnapKvPolicy>(name, p, true);
  if (name == "quest") return std::make_shared<QuestPolicy>(p);
  if (name == "kivi") return std::make_shared<KiviPolicy>(p);
  return std::make_shared<ShapedPrefillPolicy>(name, p, name == "tri_shape");
}

}  // namespace seqbench
