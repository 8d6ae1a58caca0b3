// A KV cache under a policy (policy_kv_cache.h): prefill, append, evict, page selection and
// quantisation. Checked against the softmax mixer's own cache (dense: bit for bit) and against
// the policies' rules in tests/test_policy_kv_cache.cpp.
#include "mixers/softmax/kv_policies/policy_kv_cache.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "mixers/softmax/kv_policies/attention_mass.h"
#include "mixers/softmax/masked_attention.h"
#include "mixers/softmax/softmax_attention.h"
#include "ops/embedding.h"
#include "ops/row_ops.h"

namespace seqbench {
namespace {

void copy_rows(Device device, const float* src, int64_t src_stride, float* dst, int64_t dst_stride, int64_t rows,
               int64_t width) {
  kernels_for<RowOpKernels>(device).copy_rows(src, src_stride, dst, dst_stride, rows, width);
}

}  // namespace

PolicyKVCache::State PolicyKVCache::initial_state(std::shared_ptr<const KvPolicy> policy, const PolicyCacheShape& shape,
                                                  int attention_layer, int attention_layers,
                                                  bool compresses_every_turn) {
  if (!policy) throw std::invalid_argument("kv policy cache: no policy given");
  if (shape.batch < 1 || shape.max_len < 1 || shape.heads < 1 || shape.head_dim < 1)
    throw std::invalid_argument("kv policy cache: batch, max_len, heads and head_dim must be >= 1, got " +
                                std::to_string(shape.batch) + ", " + std::to_string(shape.max_len) + ", " +
                                std::to_string(shape.heads) + ", " + std::to_string(shape.head_dim));
  State s;
  s.policy = std::move(policy);
  s.shape = shape;
  s.attention_layer = attention_layer;
  s.attention_layers = attention_layers;
  s.compresses_every_turn = compresses_every_turn;
  const Shape kv{shape.batch, shape.max_len, shape.heads, shape.head_dim};
  s.keys = Tensor(kv, shape.device);
  s.values = Tensor(kv, shape.device);
  const auto rows = static_cast<size_t>(shape.batch * shape.heads * shape.max_len);
  s.tokens.assign(rows, 0);
  s.heavy.assign(rows, 0.0f);
  return s;
}

PolicyKVCache::PolicyKVCache(std::shared_ptr<const KvPolicy> policy, const PolicyCacheShape& shape, int attention_layer,
                             int attention_layers, bool compresses_every_turn)
    : PolicyKVCache(initial_state(std::move(policy), shape, attention_layer, attention_layers, compresses_every_turn)) {
}

PolicyKVCache::PolicyKVCache(State state)
    : s_(std::move(state)), spans_(s_.shape.device), ids_(s_.shape.device), limits_(s_.shape.device) {}

std::unique_ptr<MixerCache> PolicyKVCache::clone() const {
  std::unique_ptr<PolicyKVCache> copy(new PolicyKVCache(s_));
  copy->position = position;
  return copy;
}

AttentionShape PolicyKVCache::cache_shape() const {
  return {{s_.shape.batch, s_.shape.max_len, s_.shape.heads}, s_.shape.head_dim};
}

void PolicyKVCache::attend_prefill(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out) {
  const int64_t B = s_.shape.batch, H = s_.shape.heads, L = q.dim(1), d = d_model(), max_len = s_.shape.max_len;
  const Device device = s_.shape.device;
  if (q.dim(0) != B || L > max_len)
    throw std::invalid_argument("kv policy cache: made for batch " + std::to_string(B) + " of up to " +
                                std::to_string(max_len) + " tokens, prefill got batch " + std::to_string(q.dim(0)) +
                                " of " + std::to_string(L));
  const KvPolicy& policy = *s_.policy;
  s_.evidence.clear();
  s_.recording = true;
  s_.compressed = false;
  s_.decoding = true;
  s_.turn_tokens_left = 0;
  s_.quantized = {};
  std::fill(s_.heavy.begin(), s_.heavy.end(), 0.0f);
  const int64_t page_size = policy.page_selection() ? policy.page_selection()->page_size : 1;
  s_.pages.assign(static_cast<size_t>(B * H), PageBounds{page_size, s_.shape.head_dim, 0, {}, {}});

  const AttentionShape shape{{B, L, H}, s_.shape.head_dim};
  out.resize(q.shape(), device);
  lse_.resize({B, H, L}, device);
  if (policy.sparse_prefill()) {
    std::vector<KeySpan> host(static_cast<size_t>(L * kSparsePrefillSpans));
    for (int64_t t = 0; t < L; ++t) policy.prefill_spans(t, L, host.data() + t * kSparsePrefillSpans);
    spans_.upload(host);
    kernels_for<MaskedAttentionKernels>(device).fwd(q.data(), k.data(), v.data(), out.data(), lse_.data(),
                                                    spans_.table(kSparsePrefillSpans, false), shape);
  } else {
    kernels_for<SoftmaxAttentionKernels>(device).fwd(q.data(), k.data(), v.data(), out.data(), lse_.data(), shape);
  }
  copy_rows(device, k.data(), L * d, s_.keys.data(), max_len * d, B, L * d);
  copy_rows(device, v.data(), L * d, s_.values.data(), max_len * d, B, L * d);
  s_.used = L;
  position = L;
  for (int64_t bh = 0; bh < B * H; ++bh)
    for (int64_t s = 0; s < L; ++s) s_.tokens[bh * max_len + s] = static_cast<int32_t>(s);
  after_append(0);

  const MassEvidence evidence = policy.evidence();
  if (evidence.kind == MassEvidence::every_query) keep_evidence(q, 0);
  if (evidence.kind == MassEvidence::last_queries) {
    const int64_t w = std::min(evidence.window, L);
    Tensor rows({B, w, d}, device);
    copy_rows(device, q.data() + (L - w) * d, L * d, rows.data(), w * d, B, w * d);
    keep_evidence(rows, L - w);
  }
}

void PolicyKVCache::attend_step(const Tensor& q_t, const Tensor& k_t, const Tensor& v_t, Tensor& out_t) {
  const int64_t B = s_.shape.batch, H = s_.shape.heads, Dh = s_.shape.head_dim, d = d_model();
  const int64_t max_len = s_.shape.max_len;
  const Device device = s_.shape.device;
  if (q_t.dim(0) != B)
    throw std::invalid_argument("kv policy cache: made for batch " + std::to_string(B) + ", step got batch " +
                                std::to_string(q_t.dim(0)));
  if (s_.used >= max_len)
    throw std::length_error("kv policy cache: full (" + std::to_string(max_len) +
                            " slots); make it with a larger max_len");
  const int64_t slot = s_.used;
  copy_rows(device, k_t.data(), d, s_.keys.data() + slot * d, max_len * d, B, d);
  copy_rows(device, v_t.data(), d, s_.values.data() + slot * d, max_len * d, B, d);
  for (int64_t bh = 0; bh < B * H; ++bh) {
    s_.tokens[bh * max_len + slot] = static_cast<int32_t>(position);
    s_.heavy[bh * max_len + slot] = 0.0f;
  }
  ++s_.used;
  after_append(slot);

  const KvPolicy& policy = *s_.policy;
  out_t.resize(q_t.shape(), device);
  if (s_.decoding && policy.page_selection()) {
    const Tensor q = q_t.to(Device::cpu);
    const QuestSettings& settings = *policy.page_selection();
    const int64_t width = settings.pages_read(s_.pages.front().pages());
    std::vector<KeySpan> spans;
    for (int64_t bh = 0; bh < B * H; ++bh) {
      const std::vector<KeySpan> row = quest_page_spans(s_.pages[bh], q.data() + bh * Dh, settings);
      spans.insert(spans.end(), row.begin(), row.end());
    }
    attend_with_spans(q_t, spans, width, true, out_t);
  } else if (!s_.decoding && policy.sparse_prefill()) {
    // Sparse-prefill policies never evict, so slots are tokens.
    std::vector<KeySpan> spans(kSparsePrefillSpans);
    policy.prefill_spans(position, position + s_.turn_tokens_left, spans.data());
    attend_with_spans(q_t, spans, kSparsePrefillSpans, false, out_t);
  } else {
    kernels_for<SoftmaxAttentionKernels>(device).decode(q_t.data(), s_.keys.data(), s_.values.data(), s_.used,
                                                        out_t.data(), cache_shape());
  }
  if (policy.evicts() && s_.recording) {
    Tensor row = q_t;
    row.reshape({B, 1, d});
    keep_evidence(row, slot);
  }
  ++position;
  if (!s_.decoding && --s_.turn_tokens_left <= 0) s_.decoding = true;
}

void PolicyKVCache::begin_turn_prefill(int64_t tokens) {
  if (tokens < 1)
    throw std::invalid_argument("kv policy cache: a turn adds at least one token, got " + std::to_string(tokens));
  s_.decoding = false;
  s_.turn_tokens_left = tokens;
}

void PolicyKVCache::begin_decoding() {
  s_.decoding = true;
  s_.turn_tokens_left = 0;
}

void PolicyKVCache::keep_evidence(const Tensor& rows, int64_t first_slot) {
  s_.evidence.push_back({rows, first_slot});
  const MassEvidence evidence = s_.policy->evidence();
  if (evidence.kind != MassEvidence::last_queries) return;
  // Only the last `window` queries are read: drop blocks that lie wholly before them.
  int64_t total = 0;
  for (const QueryBlock& block : s_.evidence) total += block.rows.dim(1);
  while (total - s_.evidence.front().rows.dim(1) >= evidence.window) {
    total -= s_.evidence.front().rows.dim(1);
    s_.evidence.erase(s_.evidence.begin());
  }
}

std::vector<float> PolicyKVCache::evidence_mass() {
  const int64_t B = s_.shape.batch, H = s_.shape.heads, d = d_model();
  const Device device = s_.shape.device;
  const MassEvidence evidence = s_.policy->evidence();
  int64_t total = 0;
  for (const QueryBlock& block : s_.evidence) total += block.rows.dim(1);
  const int64_t n = evidence.kind == MassEvidence::last_queries ? std::min(evidence.window, total) : total;
  // The last n recorded queries, in order, and the last slot each sees (its own).
  Tensor rows({B, n, d}, device);
  std::vector<int32_t> limits;
  int64_t skip = total - n, r = 0;
  for (const QueryBlock& block : s_.evidence) {
    const int64_t count = block.rows.dim(1), from = std::min(skip, count);
    skip -= from;
    if (count == from) continue;
    copy_rows(device, block.rows.data() + from * d, count * d, rows.data() + r * d, n * d, B, (count - from) * d);
    for (int64_t i = from; i < count; ++i) limits.push_back(static_cast<int32_t>(block.first_slot + i));
    r += count - from;
  }
  limits_.upload(limits);
  Tensor mass({B * H, s_.used}, device);
  kernels_for<AttentionMassKernels>(device).mass(rows.data(), n, limits_.data(), s_.keys.data(), s_.used, mass.data(),
                                                 cache_shape());
  const Tensor host = mass.to(Device::cpu);
  return std::vector<float>(host.data(), host.data() + host.numel());
}

void PolicyKVCache::compress() {
  const KvPolicy& policy = *s_.policy;
  const MassEvidence evidence = policy.evidence();
  if (!policy.evicts() || (s_.compressed && !s_.compresses_every_turn)) return;
  if (evidence.kind != MassEvidence::none && s_.evidence.empty()) return;  // nothing new to rank by
  const int64_t B = s_.shape.batch, H = s_.shape.heads, max_len = s_.shape.max_len, used = s_.used;
  std::vector<float> mass;
  if (evidence.kind != MassEvidence::none) mass = evidence_mass();
  if (evidence.kind == MassEvidence::every_query)  // H2O's accumulated attention
    for (int64_t bh = 0; bh < B * H; ++bh)
      for (int64_t s = 0; s < used; ++s) s_.heavy[bh * max_len + s] += mass[bh * used + s];
  std::vector<std::vector<int32_t>> keep(static_cast<size_t>(B * H));
  for (int64_t bh = 0; bh < B * H; ++bh) {
    EvictionInput row{used, nullptr, s_.attention_layer, s_.attention_layers};
    if (evidence.kind == MassEvidence::last_queries) row.mass = mass.data() + bh * used;
    if (evidence.kind == MassEvidence::every_query) row.mass = s_.heavy.data() + bh * max_len;
    keep[bh] = policy.keep(row);
  }
  evict(keep);
  s_.evidence.clear();
  s_.recording = s_.compresses_every_turn;
  s_.compressed = true;
}

void PolicyKVCache::evict(const std::vector<std::vector<int32_t>>& keep) {
  const int64_t B = s_.shape.batch, H = s_.shape.heads, Dh = s_.shape.head_dim, d = d_model();
  const int64_t max_len = s_.shape.max_len, n = static_cast<int64_t>(keep.front().size());
  for (const auto& row : keep)
    if (static_cast<int64_t>(row.size()) != n)
      throw std::logic_error("kv policy '" + s_.policy->name() + "' kept " + std::to_string(row.size()) +
                             " tokens in one row and " + std::to_string(n) + " in another");
  if (n == s_.used) return;  // ascending and distinct: every slot kept
  const Device device = s_.shape.device;
  std::vector<int32_t> ids(static_cast<size_t>(B * n * H));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t h = 0; h < H; ++h)
        ids[(b * n + j) * H + h] = static_cast<int32_t>((b * max_len + keep[b * H + h][j]) * H + h);
  ids_.upload(ids);
  gathered_.resize({B * n * H, Dh}, device);
  for (Tensor* cache : {&s_.keys, &s_.values}) {
    kernels_for<EmbeddingKernels>(device).gather(cache->data(), ids_.data(), gathered_.data(), B * n * H, Dh);
    copy_rows(device, gathered_.data(), n * d, cache->data(), max_len * d, B, n * d);
  }
  for (int64_t bh = 0; bh < B * H; ++bh)
    for (int64_t j = 0; j < n; ++j) {  // keep[bh][j] >= j: compacting in place reads before it writes
      s_.tokens[bh * max_len + j] = s_.tokens[bh * max_len + keep[bh][j]];
      s_.heavy[bh * max_len + j] = s_.heavy[bh * max_len + keep[bh][j]];
    }
  s_.used = n;
}

std::vector<float> PolicyKVCache::host_rows(const Tensor& cache, int64_t first, int64_t last) const {
  const int64_t B = s_.shape.batch, d = d_model(), n = last - first;
  Tensor rows({B, n, d}, s_.shape.device);
  copy_rows(s_.shape.device, cache.data() + first * d, s_.shape.max_len * d, rows.data(), n * d, B, n * d);
  const Tensor host = rows.to(Device::cpu);
  return std::vector<float>(host.data(), host.data() + host.numel());
}

void PolicyKVCache::put_rows(const std::vector<float>& rows, int64_t first, int64_t last, Tensor& cache) const {
  const int64_t B = s_.shape.batch, d = d_model(), n = last - first;
  Tensor host({B, n, d});
  std::copy(rows.begin(), rows.end(), host.data());
  const Tensor on_device = host.to(s_.shape.device);
  copy_rows(s_.shape.device, on_device.data(), n * d, cache.data() + first * d, s_.shape.max_len * d, B, n * d);
}

void PolicyKVCache::after_append(int64_t first_slot) {
  const int64_t B = s_.shape.batch, H = s_.shape.heads, Dh = s_.shape.head_dim, used = s_.used;
  const KvPolicy& policy = *s_.policy;
  if (policy.page_selection()) {
    const int64_t n = used - first_slot;
    const std::vector<float> keys = host_rows(s_.keys, first_slot, used);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < n; ++j)
        for (int64_t h = 0; h < H; ++h) s_.pages[b * H + h].add_key(keys.data() + ((b * n + j) * H + h) * Dh);
  }
  if (const KiviSettings* kivi = policy.quantisation()) {
    const KiviSplit target = kivi_quantized_tokens(used, *kivi);
    const int64_t d = d_model(), R = kivi->residual;
    if (target.keys > s_.quantized.keys) {  // keys per channel, over each complete group of R tokens
      const int64_t n = target.keys - s_.quantized.keys;
      std::vector<float> rows = host_rows(s_.keys, s_.quantized.keys, target.keys);
      for (int64_t b = 0; b < B; ++b)
        for (int64_t g = 0; g < n / R; ++g)
          for (int64_t c = 0; c < d; ++c) fake_quantize_group(rows.data() + (b * n + g * R) * d + c, R, d, kivi->bits);
      put_rows(rows, s_.quantized.keys, target.keys, s_.keys);
      s_.quantized.keys = target.keys;
    }
    if (target.values > s_.quantized.values) {  // values per token, over each head's channels
      const int64_t n = target.values - s_.quantized.values;
      std::vector<float> rows = host_rows(s_.values, s_.quantized.values, target.values);
      for (int64_t r = 0; r < B * n * H; ++r) fake_quantize_group(rows.data() + r * Dh, Dh, 1, kivi->bits);
      put_rows(rows, s_.quantized.values, target.values, s_.values);
      s_.quantized.values = target.values;
    }
  }
}

void PolicyKVCache::attend_with_spans(const Tensor& q_t, const std::vector<KeySpan>& spans, int64_t width,
                                      bool per_head, Tensor& out_t) {
  spans_.upload(spans);
  kernels_for<MaskedAttentionKernels>(s_.shape.device)
      .decode(q_t.data(), s_.keys.data(), s_.values.data(), out_t.data(), spans_.table(width, per_head), cache_shape());
}

double PolicyKVCache::bytes_per_sequence() const {
  const KvPolicy& policy = *s_.policy;
  const double d = static_cast<double>(d_model()), fp32 = 4.0;
  if (const KiviSettings* kivi = policy.quantisation())
    return kivi_bytes(s_.used, s_.shape.heads, s_.shape.head_dim, *kivi);
  double bytes = static_cast<double>(s_.used) * 2 * d * fp32;
  if (policy.page_selection() && !s_.pages.empty())  // Quest's per-page minimum and maximum keys
    bytes += static_cast<double>(s_.pages.front().pages()) * 2 * d * fp32;
  return bytes;
}

double PolicyKVCache::retained_fraction(int64_t b, const std::vector<int32_t>& tokens) const {
  if (tokens.empty()) return 1.0;
  const int64_t H = s_.shape.heads, max_len = s_.shape.max_len;
  double sum = 0.0;
  for (int64_t h = 0; h < H; ++h) {
    const int32_t* row = s_.tokens.data() + (b * H + h) * max_len;
    int64_t found = 0;
    for (int32_t token : tokens) found += std::binary_search(row, row + s_.used, token);
    sum += static_cast<double>(found) / static_cast<double>(tokens.size());
  }
  return sum / static_cast<double>(H);
}

}  // namespace seqbench
