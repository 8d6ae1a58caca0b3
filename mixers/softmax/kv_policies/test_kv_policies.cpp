// The KV policies' rules against hand-computed cases (eviction_rules.h, quest_pages.h,
// kivi_quantizer.h, the sparse prefill spans), the attention mass kernel against a direct
// double-precision sum, and the policy parameters' checks.
#include <catch2/catch.hpp>
#include <cmath>

#include "mixers/softmax/kv_policies/attention_mass.h"
#include "mixers/softmax/kv_policies/eviction_rules.h"
#include "mixers/softmax/kv_policies/kivi_quantizer.h"
#include "mixers/softmax/kv_policies/kv_policy.h"
#include "mixers/softmax/kv_policies/quest_pages.h"
#include "ops/rng.h"

using namespace seqbench;
using Slots = std::vector<int32_t>;

TEST_CASE("StreamingLLM keeps the sinks and the most recent tokens", "[kv_policies]") {
  CHECK(streaming_llm_keep(10, 6, 2) == Slots{0, 1, 6, 7, 8, 9});
  CHECK(streaming_llm_keep(6, 6, 2) == Slots{0, 1, 2, 3, 4, 5});
  CHECK(streaming_llm_keep(9, 4, 0) == Slots{5, 6, 7, 8});
}

TEST_CASE("H2O keeps the recent window and the heaviest older tokens, ties to the earlier", "[kv_policies]") {
  const std::vector<float> mass{0.5f, 0.1f, 0.9f, 0.3f, 0.3f, 0.05f, 0.2f, 0.1f};
  CHECK(h2o_keep(8, mass.data(), 5, 2) == Slots{0, 2, 3, 6, 7});
  CHECK(h2o_keep(8, mass.data(), 8, 2) == Slots{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(h2o_keep(8, mass.data(), 2, 2) == Slots{6, 7});
}

TEST_CASE("SnapKV pools the window's attention as avg_pool1d and max_pool1d do", "[kv_policies]") {
  const std::vector<float> mass{3, 0, 6, 3};
  const std::vector<float> avg = pool_scores(mass.data(), 4, 3, Pooling::avg);  // zero padding counted
  CHECK(avg == std::vector<float>{1, 3, 3, 3});
  CHECK(pool_scores(mass.data(), 4, 3, Pooling::max) == std::vector<float>{3, 6, 6, 6});
  CHECK(pool_scores(mass.data(), 4, 1, Pooling::avg) == mass);
}

TEST_CASE("SnapKV keeps the observation window and the prefix tokens it attends to most", "[kv_policies]") {
  const std::vector<float> mass{0.1f, 0.7f, 0.2f, 0.05f, 0.6f, 0.3f, 0.0f, 0.5f, 9.0f, 9.0f};
  CHECK(snapkv_keep(10, mass.data(), 6, 2, 1, Pooling::avg) == Slots{1, 4, 5, 7, 8, 9});
  // Pooled over 3: (.27 .33 .32 .28 .32 .30 .27 .17), so 1, 2, 4, 5.
  CHECK(snapkv_keep(10, mass.data(), 6, 2, 3, Pooling::avg) == Slots{1, 2, 4, 5, 8, 9});
  CHECK(snapkv_keep(5, mass.data(), 6, 2, 1, Pooling::avg) == Slots{0, 1, 2, 3, 4});  // below the budget
}

TEST_CASE("PyramidKV's budgets fall linearly over the layers as the reference computes them", "[kv_policies]") {
  // budget 20, window 4: 16 per layer on average; beta 4: min 4, max 28, steps 12.
  CHECK(pyramidkv_prefix_budget(100, 20, 4, 4, 0, 3) == 28);
  CHECK(pyramidkv_prefix_budget(100, 20, 4, 4, 1, 3) == 16);
  CHECK(pyramidkv_prefix_budget(100, 20, 4, 4, 2, 3) == 4);
  // max capped at used - window = 30, min raised to 32 - 30 = 2.
  CHECK(pyramidkv_prefix_budget(34, 20, 4, 20, 0, 3) == 30);
  CHECK(pyramidkv_prefix_budget(34, 20, 4, 20, 1, 3) == 16);
  CHECK(pyramidkv_prefix_budget(34, 20, 4, 20, 2, 3) == 2);
  // Below twice the budget, and with one layer: SnapKV's.
  CHECK(pyramidkv_prefix_budget(30, 20, 4, 4, 0, 3) == 16);
  CHECK(pyramidkv_prefix_budget(100, 20, 4, 4, 0, 1) == 16);
  std::vector<float> mass(34, 0.0f);
  mass[5] = 1.0f;
  mass[20] = 2.0f;
  CHECK(pyramidkv_keep(34, mass.data(), 20, 4, 1, Pooling::avg, 20, 2, 3) == Slots{5, 20, 30, 31, 32, 33});
}

TEST_CASE("Quest bounds each page by its channels' min and max and reads the best pages", "[kv_policies]") {
  PageBounds pages{2, 2, 0, {}, {}};
  const std::vector<std::vector<float>> keys{{1, -1}, {2, 0}, {-3, 1}, {0, 0}, {1, 5}};
  for (const auto& k : keys) pages.add_key(k.data());
  REQUIRE(pages.pages() == 3);
  const float q[2] = {1, -1};
  CHECK(pages.upper_bound(q, 0) == 3.0f);   // max(1, 2) + max(1, 0)
  CHECK(pages.upper_bound(q, 1) == 0.0f);   // max(-3, 0) + max(0, -1)
  CHECK(pages.upper_bound(q, 2) == -4.0f);  // 1 - 5
  CHECK(QuestSettings{8, 2}.pages_read(10) == 4);
  CHECK(QuestSettings{2, 2}.pages_read(10) == 3);  // at least 3 pages, as quest.py
  CHECK(QuestSettings{2, 2}.pages_read(2) == 2);

  PageBounds single{1, 2, 0, {}, {}};
  for (const auto& k : keys) single.add_key(k.data());
  const std::vector<KeySpan> spans = quest_page_spans(single, q, QuestSettings{3, 1});  // q.k = 2 2 -4 0 -4
  REQUIRE(spans.size() == 3);
  CHECK((spans[0].begin == 0 && spans[0].end == 1));
  CHECK((spans[1].begin == 1 && spans[1].end == 2));
  CHECK((spans[2].begin == 3 && spans[2].end == 4));
}

TEST_CASE("KIVI quantises to 2^bits levels between a group's min and max", "[kv_policies]") {
  std::vector<float> x{0.0f, 1.0f, 2.0f, 3.3f};
  fake_quantize_group(x.data(), 4, 1, 2);  // scale 1.1: codes 0 1 2 3
  CHECK(x[0] == 0.0f);
  CHECK(x[1] == Approx(1.1f));
  CHECK(x[2] == Approx(2.2f));
  CHECK(x[3] == Approx(3.3f));
  std::vector<float> strided{5, 9, 5, 9};  // every other value: a constant group stays as it is
  fake_quantize_group(strided.data(), 2, 2, 2);
  CHECK(strided == std::vector<float>{5, 9, 5, 9});
  const KiviSplit split = kivi_quantized_tokens(37, KiviSettings{2, 16});
  CHECK(split.keys == 32);    // two complete key groups
  CHECK(split.values == 21);  // all but the last 16 values
  // keys: 32*8 codes of 2 bits (64 B) + 2 groups * 8 channels * fp16 scale and min (64 B) + 5 fp32 tokens (160 B);
  // values: 21*8 codes (42 B) + 21 tokens * 2 heads * 4 B (168 B) + 16 fp32 tokens (512 B).
  CHECK(kivi_bytes(37, 2, 4, KiviSettings{2, 16}) == 64 + 64 + 160 + 42 + 168 + 512);
}

TEST_CASE("A-shape prefill sees sinks and a local window, Tri-shape's last queries everything", "[kv_policies]") {
  const auto a_shape = make_kv_policy({{"name", "a_shape"}, {"budget", 5}, {"sinks", 2}}, 100);
  const auto tri = make_kv_policy({{"name", "tri_shape"}, {"budget", 5}, {"sinks", 2}, {"last", 2}}, 100);
  KeySpan spans[2];
  a_shape->prefill_spans(6, 8, spans);
  CHECK((spans[0].begin == 0 && spans[0].end == 2 && spans[1].begin == 4 && spans[1].end == 7));
  a_shape->prefill_spans(1, 8, spans);
  CHECK((spans[0].end == 2 && spans[1].size() == 0));
  tri->prefill_spans(5, 8, spans);
  CHECK((spans[0].end == 2 && spans[1].begin == 3 && spans[1].end == 6));
  tri->prefill_spans(6, 8, spans);
  CHECK((spans[0].begin == 0 && spans[0].end == 7 && spans[1].size() == 0));
}

TEST_CASE("the attention mass sums each key's softmax probability over the queries that see it", "[kv_policies]") {
  const AttentionShape cache{{2, 9, 2}, 3};  // batch 2, 9 slots, 2 heads, head_dim 3
  const int64_t used = 7, rows = 3;
  Rng rng(41);
  std::vector<float> q(2 * rows * 2 * 3), keys(2 * 9 * 2 * 3);
  for (float& x : q) x = static_cast<float>(rng.normal());
  for (float& x : keys) x = static_cast<float>(rng.normal());
  const std::vector<int32_t> limits{4, 5, 6};
  std::vector<float> mass(2 * 2 * used);
  AttentionMassKernels::cpu().mass(q.data(), rows, limits.data(), keys.data(), used, mass.data(), cache);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t j = 0; j < used; ++j) {
        double expected = 0;
        for (int64_t r = 0; r < rows; ++r) {
          std::vector<double> s;
          for (int64_t k = 0; k <= limits[r]; ++k) {
            double dot = 0;
            for (int64_t d = 0; d < 3; ++d)
              dot += q[((b * rows + r) * 2 + h) * 3 + d] * keys[((b * 9 + k) * 2 + h) * 3 + d];
            s.push_back(dot / std::sqrt(3.0));
          }
          double z = 0;
          for (double x : s) z += std::exp(x);
          if (j <= limits[r]) expected += std::exp(s[j]) / z;
        }
        CHECK(mass[(b * 2 + h) * used + j] == Approx(expected).epsilon(1e-5));
      }
}

TEST_CASE("policy budgets resolve fractions of the context and bad parameters name their values", "[kv_policies]") {
  const auto snap = make_kv_policy({{"name", "snapkv"}, {"budget", 0.25}, {"window", 4}}, 100);
  CHECK(snap->params()["budget"] == 25);
  CHECK(snap->params()["budget_fraction"] == 0.25);
  CHECK(snap->params()["kernel"] == 5);
  CHECK(make_kv_policy("h2o", 40)->params()["recent"] == 10);  // budget 0.5 of 40, half of it recent
  CHECK(make_kv_policy("dense", 1)->params() == nlohmann::json::object());
  CHECK_THROWS_WITH(make_kv_policy({{"name", "snapkv"}, {"budget", 8}, {"window", 8}}, 100),
                    "kv policy 'snapkv': window (8) must be smaller than the budget (8 tokens)");
  CHECK_THROWS_WITH(make_kv_policy({{"name", "kivi"}, {"bits", 3}}, 100),
                    "kv policy 'kivi': bits must be 2, 4 or 8 (KIVI's packings), got 3");
  CHECK_THROWS_WITH(make_kv_policy({{"name", "quest"}, {"budget", 1.5}}, 100),
                    Catch::Matchers::StartsWith("kv policy 'quest': parameter 'budget' is 1.5, expected tokens"));
  CHECK_THROWS_WITH(make_kv_policy({{"name", "quest"}, {"pages", 4}}, 100),
                    "kv policy 'quest' has no parameter 'pages'; accepted: budget, page_size");
  CHECK_THROWS_WITH(make_kv_policy("lru", 100),
                    Catch::Matchers::StartsWith("unknown kv policy 'lru'; known policies: dense, "));
}
