// A KV cache policy: what an attention layer's cache keeps and what its attention reads, at the
// points of SCBench's KV cache lifecycle (Li et al., ICLR 2025, Sec. 2; microsoft/MInference,
// minference/modules/kvcompression.py): generation (the prefill's attention pattern: A-shape,
// Tri-shape), compression (eviction: StreamingLLM, H2O, SnapKV, PyramidKV; quantisation: KIVI),
// retrieval (page selection per decoding query: Quest). Dense keeps everything. A policy is
// settings and rules only; PolicyKVCache (policy_kv_cache.h) applies it to a cache.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mixers/softmax/kv_policies/kivi_quantizer.h"
#include "mixers/softmax/kv_policies/quest_pages.h"
#include "mixers/softmax/masked_attention.h"  // KeySpan

namespace seqbench {

// The attention an eviction policy ranks cached tokens by (attention_mass.h): none, the mass from
// the last `window` queries (SnapKV's observation window), or from every query (H2O).
struct MassEvidence {
  enum Kind { none, last_queries, every_query } kind = none;
  int64_t window = 0;
};

// One (batch, head) row of a cache: slots [0, used) in token order, and what the evidence gave.
struct EvictionInput {
  int64_t used = 0;
  const float* mass = nullptr;                    // [used]: the evidence's attention mass per slot (null for none)
  int attention_layer = 0, attention_layers = 1;  // among the model's attention layers (PyramidKV)
};

class KvPolicy {
 public:
  virtual ~KvPolicy() = default;
  virtual std::string name() const = 0;
  // Every parameter as resolved (budgets in tokens): what a cell stores.
  virtual nlohmann::json params() const = 0;

  // Generation. True when prefill queries see a sparse key set instead of every earlier key:
  // prefill_spans then writes the kSparsePrefillSpans spans of the query at token t, in a prefill
  // whose last token is chunk_end - 1 (every token is cached: slots are tokens).
  virtual bool sparse_prefill() const { return false; }
  virtual void prefill_spans(int64_t t, int64_t chunk_end, KeySpan* spans) const {}

  // Compression by eviction: the evidence the rule reads and the kept slots of a row, ascending;
  // every row of a cache keeps the same number.
  virtual bool evicts() const { return false; }
  virtual MassEvidence evidence() const { return {}; }
  virtual std::vector<int32_t> keep(const EvictionInput& row) const { return {}; }

  // Compression by quantisation, and retrieval by pages; null when the policy does neither.
  virtual const KiviSettings* quantisation() const { return nullptr; }
  virtual const QuestSettings* page_selection() const { return nullptr; }
};

constexpr int64_t kSparsePrefillSpans = 2;

// {"name": "snapkv", "budget": 64, "window": 8, ...}: the policy with every parameter checked. A
// budget is tokens (an integer >= 1) or a fraction of the context (a number in (0, 1)), resolved
// against context_tokens. Throws std::invalid_argument naming the policy, the parameter, its value
// and what is accepted (unknown names and parameters included).
std::shared_ptr<const KvPolicy> make_kv_policy(const nlohmann::json& spec, int64_t context_tokens);

// Every policy name with its parameters and defaults, for `seqbench list` and errors.
const std::vector<std::pair<std::string, nlohmann::json>>& kv_policy_catalog();

}  // namespace seqbench
