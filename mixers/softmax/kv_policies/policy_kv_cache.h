// A softmax attention layer's KV cache under a KV policy (kv_policy.h), for shared-context
// sessions (harness/scenarios/). Keys and values live in [B, max_len, H, Dh] as the plain cache's
// do; after an eviction each (batch, head) row keeps its own tokens, compacted to slots [0, used)
// in token order (every row keeps as many), and `tokens` says which token each slot holds. Our
// models add positions at the embedding, so a kept key needs no re-positioning (SCBench's RoPE
// models keep the rotated keys for the same reason).
//
// Lifecycle, as SCBench runs it (minference/modules/kvcompression.py, BaseKVCache.update): the
// first prefill attends over every key (or the policy's sparse pattern) and the session runner
// then calls compress(); later tokens are appended uncompressed, unless the runner compresses
// again after each turn's new tokens (compression "every turn"). What runs where: attention
// (dense decode, span-restricted prefill and decode), key and value writes, the attention mass of
// the evidence (attention_mass.h) and the gathers of an eviction run on the cache's device; the
// rankings, Quest's page bounds and selection and KIVI's quantisation run on the host, reading and
// writing only the rows they need.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "mixers/softmax/kv_policies/kv_policy.h"
#include "mixers/softmax/managed_kv_cache.h"
#include "mixers/softmax/span_buffer.h"
#include "ops/index_buffer.h"

namespace seqbench {

struct PolicyCacheShape {
  int64_t batch = 1, max_len = 1, heads = 1, head_dim = 1;
  Device device = Device::cpu;
};

class PolicyKVCache final : public ManagedKVCache {
 public:
  // attention_layer of attention_layers: where the layer sits among the model's softmax layers
  // (PyramidKV's budgets fall with it). compresses_every_turn: whether compress() follows every
  // turn's new tokens or only the first prefill (then no evidence is kept after it).
  PolicyKVCache(std::shared_ptr<const KvPolicy> policy, const PolicyCacheShape& shape, int attention_layer,
                int attention_layers, bool compresses_every_turn);

  std::unique_ptr<MixerCache> clone() const override;
  void attend_prefill(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out) override;
  void attend_step(const Tensor& q_t, const Tensor& k_t, const Tensor& v_t, Tensor& out_t) override;

  // The next `tokens` steps are a turn's new tokens (a prefill: sparse-prefill policies use their
  // pattern); after them, steps decode (Quest reads its pages). A prefill is followed by decoding.
  void begin_turn_prefill(int64_t tokens);
  void begin_decoding();
  // Evicts by the policy's rule, ranking by the attention of the queries seen since the last
  // compression; nothing for a policy that does not evict, nor after the first compression unless
  // the cache compresses every turn.
  void compress();

  const KvPolicy& policy() const { return *s_.policy; }
  int64_t kept_tokens() const { return s_.used; }  // per sequence and head
  double bytes_per_sequence() const;               // fp32, or KIVI's packed bytes, plus Quest's bounds
  // The fraction of `tokens` (token positions of sequence b) still cached, averaged over heads.
  double retained_fraction(int64_t b, const std::vector<int32_t>& tokens) const;

 private:
  // Queries kept as evidence for the next compression: [B, rows, H * Dh] from token first_slot on.
  struct QueryBlock {
    Tensor rows;
    int64_t first_slot = 0;
  };
  struct State {
    std::shared_ptr<const KvPolicy> policy;
    PolicyCacheShape shape;
    int attention_layer = 0, attention_layers = 1;
    Tensor keys, values;          // [B, max_len, H, Dh]
    int64_t used = 0;             // slots in use, the same in every (batch, head) row
    std::vector<int32_t> tokens;  // [B * H, max_len]: the token each slot holds
    std::vector<float> heavy;     // [B * H, max_len]: H2O's accumulated attention per slot
    std::vector<QueryBlock> evidence;
    bool compresses_every_turn = false;
    bool recording = true;  // keeping evidence: before the first compression, and after it when every turn
    bool compressed = false;
    bool decoding = true;
    int64_t turn_tokens_left = 0;
    std::vector<PageBounds> pages;  // [B * H] (Quest)
    KiviSplit quantized;            // tokens quantised so far (KIVI)
  };
  explicit PolicyKVCache(State state);
  static State initial_state(std::shared_ptr<const KvPolicy> policy, const PolicyCacheShape& shape, int attention_layer,
                             int attention_layers, bool compresses_every_turn);

  int64_t d_model() const { return s_.shape.heads * s_.shape.head_dim; }
  AttentionShape cache_shape() const;
  void keep_evidence(const Tensor& rows, int64_t first_slot);
  std::vector<float> evidence_mass();  // [B * H, used]
  void evict(const std::vector<std::vector<int32_t>>& keep);
  void after_append(int64_t first_slot);
  void attend_with_spans(const Tensor& q_t, const std::vector<KeySpan>& spans, int64_t width, bool per_head,
                         Tensor& out_t);
  // Slots [first, last) of every sequence as host floats [B, last - first, H, Dh]; write back with put_rows.
  std::vector<float> host_rows(const Tensor& cache, int64_t first, int64_t last) const;
  void put_rows(const std::vector<float>& rows, int64_t first, int64_t last, Tensor& cache) const;

  State s_;
  // Scratch, never part of a snapshot.
  Tensor lse_, gathered_;
  SpanBuffer spans_{Device::cpu};
  IndexBuffer ids_{Device::cpu}, limits_{Device::cpu};
};

}  // namespace seqbench
