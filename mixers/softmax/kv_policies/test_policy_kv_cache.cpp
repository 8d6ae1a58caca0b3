// PolicyKVCache against references: with the dense policy, bit for bit the softmax mixer's own
// cache; under every other policy, attention over exactly the keys (and, for KIVI, the quantised
// values) its rule leaves, computed here in double from the raw q, k and v.
#include <catch2/catch.hpp>
#include <cmath>
#include <set>

#include "mixers/softmax/kv_policies/eviction_rules.h"
#include "mixers/softmax/kv_policies/kivi_quantizer.h"
#include "mixers/softmax/kv_policies/policy_kv_cache.h"
#include "mixers/softmax/softmax_attention_mixer.h"
#include "tests/mixer_checks.h"

using namespace seqbench;
using namespace seqbench::mixer_checks;

namespace {

constexpr int64_t B = 2, H = 2, Dh = 4, D = H * Dh;

// Random q, k, v for `tokens` tokens: [B, tokens, D].
struct Qkv {
  Tensor q, k, v;
  Qkv(int64_t tokens, uint64_t seed) {
    Rng rng(seed);
    q = random_tensor({B, tokens, D}, rng);
    k = random_tensor({B, tokens, D}, rng);
    v = random_tensor({B, tokens, D}, rng);
  }
  float at(const Tensor& x, int64_t b, int64_t t, int64_t h, int64_t d) const {
    return x[((b * x.dim(1) + t) * H + h) * Dh + d];
  }
  // q_t . k_j of (b, h), in double.
  double qk(int64_t b, int64_t h, int64_t t, int64_t j) const {
    double dot = 0;
    for (int64_t e = 0; e < Dh; ++e) dot += double(at(q, b, t, h, e)) * at(k, b, j, h, e);
    return dot;
  }
  // Prefills `cache` with tokens [0, L) and returns the prefill's attention output.
  Tensor prefill(PolicyKVCache& cache, int64_t L) const {
    Tensor out;
    cache.attend_prefill(time_range(q, 0, L), time_range(k, 0, L), time_range(v, 0, L), out);
    return out;
  }
};

std::unique_ptr<PolicyKVCache> make_cache(const nlohmann::json& policy, int64_t max_len, bool every_turn = false,
                                          int64_t context = 100) {
  return std::make_unique<PolicyKVCache>(make_kv_policy(policy, context), PolicyCacheShape{B, max_len, H, Dh}, 0, 1,
                                         every_turn);
}

// Attention of query token t of (b, h) over `keys` (token indices), values possibly replaced.
double reference(const Qkv& x, const Tensor& values, int64_t b, int64_t h, int64_t t, const std::set<int64_t>& keys,
                 int64_t d) {
  std::vector<double> s;
  double top = -1e300;
  for (int64_t j : keys) {
    s.push_back(x.qk(b, h, t, j) / std::sqrt(double(Dh)));
    top = std::max(top, s.back());
  }
  double z = 0, out = 0;
  size_t i = 0;
  for (int64_t j : keys) {
    const double p = std::exp(s[i++] - top);
    z += p;
    out += p * values[((b * values.dim(1) + j) * H + h) * Dh + d];
  }
  return out / z;
}

// Steps token t of x through the cache and checks its output against the reference over keys(b, h).
template <class KeysOf>
void check_step(PolicyKVCache& cache, const Qkv& x, int64_t t, KeysOf keys_of, const Tensor* values = nullptr) {
  Tensor out;
  cache.attend_step(time_slice(x.q, t), time_slice(x.k, t), time_slice(x.v, t), out);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t d = 0; d < Dh; ++d) {
        INFO("token " << t << " b " << b << " h " << h);
        CHECK(out[b * D + h * Dh + d] ==
              Approx(reference(x, values ? *values : x.v, b, h, t, keys_of(b, h), d)).margin(1e-5));
      }
}

// The causal attention mass on each key j < L of (b, h), summed over the queries [first, L), in double
// (scale 1/2 = Dh^-1/2): what SnapKV (over its observation window) and H2O (over every query) rank by.
std::vector<float> attention_mass(const Qkv& x, int64_t b, int64_t h, int64_t first, int64_t L) {
  std::vector<float> mass(L, 0.0f);
  for (int64_t t = first; t < L; ++t) {
    std::vector<double> s;
    double z = 0;
    for (int64_t j = 0; j <= t; ++j) {
      s.push_back(std::exp(x.qk(b, h, t, j) / 2.0));
      z += s.back();
    }
    for (int64_t j = 0; j <= t; ++j) mass[j] += static_cast<float>(s[j] / z);
  }
  return mass;
}

std::set<int64_t> range(int64_t begin, int64_t end) {
  std::set<int64_t> out;
  for (int64_t j = begin; j < end; ++j) out.insert(j);
  return out;
}

}  // namespace

TEST_CASE("a dense policy cache decodes bit for bit as the softmax mixer's own cache", "[kv_policies]") {
  const MixerSpec spec = make_spec("softmax", D, H);
  SoftmaxAttentionMixer plain_mixer(spec), policy_mixer(spec);
  Rng rng(5);
  const Tensor x = random_tensor({B, 11, D}, rng);
  auto plain = plain_mixer.make_cache(B, 11);
  auto policy = make_cache("dense", 11);
  Tensor y_plain, y_policy;
  plain_mixer.forward(time_range(x, 0, 7), y_plain, plain.get());
  policy_mixer.forward(time_range(x, 0, 7), y_policy, policy.get());
  CHECK(bit_identical(y_plain, y_policy));
  for (int64_t t = 7; t < 11; ++t) {
    plain_mixer.step(time_slice(x, t), y_plain, *plain);
    policy_mixer.step(time_slice(x, t), y_policy, *policy);
    CHECK(bit_identical(y_plain, y_policy));
  }
  CHECK(policy->position == 11);
  CHECK(policy->kept_tokens() == 11);
  CHECK(policy->bytes_per_sequence() == 11 * 2 * D * 4);
}

TEST_CASE("StreamingLLM's cache attends over its sinks, its window and what came after", "[kv_policies]") {
  const Qkv x(12, 21);
  auto cache = make_cache({{"name", "streaming_llm"}, {"budget", 4}, {"sinks", 1}}, 12);
  Tensor out = x.prefill(*cache, 8);
  CHECK(cache->kept_tokens() == 8);  // the prefill itself attends over everything; compress() evicts
  cache->compress();
  CHECK(cache->kept_tokens() == 4);
  CHECK(cache->retained_fraction(0, {0, 1}) == 0.5);
  CHECK(cache->retained_fraction(1, {5, 6, 7}) == 1.0);
  check_step(*cache, x, 8, [](int64_t, int64_t) { return std::set<int64_t>{0, 5, 6, 7, 8}; });
  check_step(*cache, x, 9, [](int64_t, int64_t) { return std::set<int64_t>{0, 5, 6, 7, 8, 9}; });
  cache->compress();  // compressed once already: later tokens stay (SCBench's behaviour)
  CHECK(cache->kept_tokens() == 6);
}

TEST_CASE("an every-turn cache compresses again after each turn's new tokens", "[kv_policies]") {
  const Qkv x(12, 22);
  auto cache = make_cache({{"name", "streaming_llm"}, {"budget", 4}, {"sinks", 1}}, 12, true);
  Tensor out = x.prefill(*cache, 6);
  cache->compress();
  cache->begin_turn_prefill(3);
  for (int64_t t = 6; t < 9; ++t) cache->attend_step(time_slice(x.q, t), time_slice(x.k, t), time_slice(x.v, t), out);
  cache->compress();
  CHECK(cache->kept_tokens() == 4);
  check_step(*cache, x, 9, [](int64_t, int64_t) { return std::set<int64_t>{0, 6, 7, 8, 9}; });
}

TEST_CASE("SnapKV's cache keeps per head the prefix tokens its observation window attends to", "[kv_policies]") {
  const Qkv x(16, 23);
  const int64_t L = 12, window = 3, budget = 7;
  auto cache = make_cache({{"name", "snapkv"}, {"budget", budget}, {"window", window}, {"kernel", 1}}, 16);
  Tensor out = x.prefill(*cache, L);
  cache->compress();
  REQUIRE(cache->kept_tokens() == budget);
  std::vector<std::set<int64_t>> kept(B * H);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const std::vector<float> mass = attention_mass(x, b, h, L - window, L);
      for (int32_t slot : snapkv_keep(L, mass.data(), budget, window, 1, Pooling::avg)) kept[b * H + h].insert(slot);
    }
  for (int64_t b = 0; b < B; ++b) {
    // Retention averages over heads: head 0's kept tokens are all in head 0, some in head 1.
    const std::set<int64_t>&mine = kept[b * H], &other = kept[b * H + 1];
    std::vector<int32_t> tokens(mine.begin(), mine.end());
    double shared = 0;
    for (int64_t j : mine) shared += other.count(j);
    CHECK(cache->retained_fraction(b, tokens) == Approx((1.0 + shared / budget) / 2));
    std::vector<int32_t> all(L);
    for (int64_t j = 0; j < L; ++j) all[j] = static_cast<int32_t>(j);
    CHECK(cache->retained_fraction(b, all) == Approx(double(budget) / L));
  }
  check_step(*cache, x, L, [&](int64_t b, int64_t h) {
    std::set<int64_t> keys = kept[b * H + h];
    keys.insert(L);
    return keys;
  });
}

TEST_CASE("H2O's cache keeps the tokens with the most attention from every prefill query", "[kv_policies]") {
  const Qkv x(14, 24);
  const int64_t L = 10;
  auto cache = make_cache({{"name", "h2o"}, {"budget", 5}, {"recent", 2}}, 14);
  Tensor out = x.prefill(*cache, L);
  cache->compress();
  CHECK(cache->kept_tokens() == 5);
  std::vector<std::set<int64_t>> kept(B * H);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const std::vector<float> mass = attention_mass(x, b, h, 0, L);
      for (int32_t slot : h2o_keep(L, mass.data(), 5, 2)) kept[b * H + h].insert(slot);
    }
  check_step(*cache, x, L, [&](int64_t b, int64_t h) {
    std::set<int64_t> keys = kept[b * H + h];
    keys.insert(L);
    return keys;
  });
  CHECK(cache->retained_fraction(0, {8, 9}) == 1.0);  // the recent window
}

TEST_CASE("Quest's decoding query reads only the pages with the highest key bounds", "[kv_policies]") {
  const Qkv x(24, 25);
  const int64_t L = 20, page = 4;
  auto cache = make_cache({{"name", "quest"}, {"budget", 8}, {"page_size", page}}, 24);
  Tensor out = x.prefill(*cache, L);
  cache->compress();  // keeps everything
  CHECK(cache->kept_tokens() == L);
  CHECK(cache->bytes_per_sequence() == L * 2 * D * 4 + 5 * 2 * D * 4);  // plus each page's min and max
  auto pages_of = [&](int64_t b, int64_t h, int64_t t) {
    PageBounds bounds{page, Dh, 0, {}, {}};
    for (int64_t j = 0; j <= t; ++j) {
      float key[Dh];
      for (int64_t e = 0; e < Dh; ++e) key[e] = x.at(x.k, b, j, h, e);
      bounds.add_key(key);
    }
    float q[Dh];
    for (int64_t e = 0; e < Dh; ++e) q[e] = x.at(x.q, b, t, h, e);
    std::set<int64_t> keys;
    for (const KeySpan& s : quest_page_spans(bounds, q, QuestSettings{8, page}))
      for (int64_t j = s.begin; j < s.end; ++j) keys.insert(j);
    return keys;
  };
  check_step(*cache, x, L, [&](int64_t b, int64_t h) { return pages_of(b, h, L); });
  cache->begin_turn_prefill(1);  // a turn's tokens attend densely
  check_step(*cache, x, L + 1, [&](int64_t, int64_t) { return range(0, L + 2); });
}

TEST_CASE("KIVI's cache attends over keys quantised per channel and values per token", "[kv_policies]") {
  const Qkv x(24, 26);
  const int64_t L = 20, R = 8;
  auto cache = make_cache({{"name", "kivi"}, {"bits", 2}, {"residual", R}}, 24);
  const Tensor out = x.prefill(*cache, L);
  auto dense = make_cache("dense", 24);
  // The prefill attends in full precision; the cache is quantised after.
  CHECK(bit_identical(out, x.prefill(*dense, L)));
  // Expected cache after token L: keys [0, 16) by channel in groups of 8, values [0, 13) by token.
  Qkv quantised = x;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t g = 0; g < 2; ++g)
        for (int64_t e = 0; e < Dh; ++e)
          fake_quantize_group(quantised.k.data() + ((b * 24 + g * R) * H + h) * Dh + e, R, D, 2);
      for (int64_t t = 0; t < L + 1 - R; ++t)
        fake_quantize_group(quantised.v.data() + ((b * 24 + t) * H + h) * Dh, Dh, 1, 2);
    }
  Qkv reads = x;
  reads.k = quantised.k;
  check_step(
      *cache, reads, L, [&](int64_t, int64_t) { return range(0, L + 1); }, &quantised.v);
  CHECK(cache->bytes_per_sequence() == kivi_bytes(L + 1, H, Dh, KiviSettings{2, R}));
}

TEST_CASE("A-shape prefills with sinks and a local window and decodes densely", "[kv_policies]") {
  const Qkv x(16, 27);
  const int64_t L = 10;
  auto cache = make_cache({{"name", "a_shape"}, {"budget", 4}, {"sinks", 1}}, 16);
  Tensor out = x.prefill(*cache, L);
  for (int64_t t : {2, 9})
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h) {
        const std::set<int64_t> keys = t == 2 ? range(0, 3) : std::set<int64_t>{0, 7, 8, 9};
        CHECK(out[((b * L + t) * H + h) * Dh] == Approx(reference(x, x.v, b, h, t, keys, 0)).margin(1e-5));
      }
  CHECK(cache->kept_tokens() == L);  // the full cache is kept
  cache->begin_turn_prefill(2);      // a turn's tokens use the pattern too
  check_step(*cache, x, L, [](int64_t, int64_t) { return std::set<int64_t>{0, 8, 9, 10}; });
  check_step(*cache, x, L + 1, [](int64_t, int64_t) { return std::set<int64_t>{0, 9, 10, 11}; });
  check_step(*cache, x, L + 2, [](int64_t, int64_t) { return range(0, L + 3); });  // decoding: dense
}

TEST_CASE("a policy cache's snapshot continues bit for bit and leaves the original alone", "[kv_policies]") {
  const Qkv x(16, 28);
  auto cache = make_cache({{"name", "snapkv"}, {"budget", 6}, {"window", 2}}, 16, true);
  x.prefill(*cache, 9);
  Tensor a, b;
  cache->compress();
  auto snapshot = cache->clone();
  auto& copy = dynamic_cast<PolicyKVCache&>(*snapshot);
  for (int64_t t = 9; t < 12; ++t) {
    cache->attend_step(time_slice(x.q, t), time_slice(x.k, t), time_slice(x.v, t), a);
    copy.attend_step(time_slice(x.q, t), time_slice(x.k, t), time_slice(x.v, t), b);
    CHECK(bit_identical(a, b));
  }
  cache->compress();
  copy.compress();
  CHECK(copy.kept_tokens() == cache->kept_tokens());
  cache->attend_step(time_slice(x.q, 12), time_slice(x.k, 12), time_slice(x.v, 12), a);
  copy.attend_step(time_slice(x.q, 12), time_slice(x.k, 12), time_slice(x.v, 12), b);
  CHECK(bit_identical(a, b));
}
