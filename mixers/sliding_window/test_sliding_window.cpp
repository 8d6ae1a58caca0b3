// Sliding-window attention: the shared masked-attention kernels against a plain masked reference
// (and against the softmax kernels when the window covers everything), the sink + window key
// spans and their ring-buffer decode form, then the "sliding_window" mixer through the generic
// conformance checks and against the softmax mixer.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "mixers/sliding_window/sink_window_spans.h"
#include "mixers/softmax/masked_attention.h"
#include "mixers/softmax/masked_attention_reference.h"
#include "mixers/softmax/softmax_attention.h"
#include "tests/mixer_checks.h"

using namespace seqbench;
using namespace seqbench::mixer_checks;
namespace ref = seqbench::masked_reference;

namespace {

struct Window {
  int64_t sinks, window;
  bool sees(int64_t i, int64_t j) const { return j <= i && (j < sinks || j > i - window); }
};

std::vector<KeySpan> sequence_spans(int64_t seq_len, const Window& w) {
  std::vector<KeySpan> spans(static_cast<size_t>(seq_len * kSinkWindowSpans));
  sink_window_sequence_spans(seq_len, w.sinks, w.window, spans.data());
  return spans;
}

// A window's spans over one sequence (shared by every head), and the keys they must hold.
struct WindowKeys {
  Window window;
  std::vector<KeySpan> spans;

  WindowKeys(const AttentionShape& s, const Window& w) : window(w), spans(sequence_spans(s.seq_len, w)) {}
  SpanTable table() const { return {spans.data(), kSinkWindowSpans, false}; }
  ref::KeyMember member() const {
    return [w = window](int64_t, int64_t i, int64_t j) { return w.sees(i, j); };
  }
};

std::string describe(const AttentionShape& s, const Window& w) {
  return "B=" + std::to_string(s.batch) + " L=" + std::to_string(s.seq_len) + " H=" + std::to_string(s.heads) +
         " Dh=" + std::to_string(s.head_dim) + " sinks=" + std::to_string(w.sinks) +
         " window=" + std::to_string(w.window);
}

nlohmann::json window_param(int window) { return {{"window", window}}; }

}  // namespace

TEST_CASE("sink and window spans hold exactly the keys a query may see, in order and disjoint",
          "[sliding_window][kernel]") {
  for (const Window& w : {Window{0, 1}, Window{0, 5}, Window{3, 1}, Window{4, 16}, Window{0, 100}, Window{50, 2}}) {
    const int64_t L = 41;
    INFO("sinks=" << w.sinks << " window=" << w.window);
    const auto spans = sequence_spans(L, w);
    for (int64_t i = 0; i < L; ++i) {
      INFO("query " << i);
      const KeySpan* row = spans.data() + i * kSinkWindowSpans;
      CHECK(row[0].begin <= row[0].end);
      CHECK(row[1].begin <= row[1].end);
      if (row[0].size() > 0 && row[1].size() > 0) CHECK(row[0].end <= row[1].begin);
      for (int64_t j = 0; j < L; ++j) {
        const bool in_spans = (j >= row[0].begin && j < row[0].end) || (j >= row[1].begin && j < row[1].end);
        CHECK(in_spans == w.sees(i, j));
      }
    }
  }
}

TEST_CASE("masked attention forward matches a plain masked reference", "[sliding_window][kernel]") {
  struct Case {
    AttentionShape shape;
    Window window;
    double scale, tol;  // scores of size ~scale^2 carry float rounding of that size into the weights
  };
  // Windows longer than 64 keys cross the kernel's key-block boundary; sinks with window 1 give two
  // spans far apart; a window past L is full causal attention.
  const std::vector<Case> cases{{{1, 1, 1, 1}, {0, 1}, 1.0, 1e-5},    {{2, 7, 3, 4}, {0, 3}, 1.0, 1e-5},
                                {{1, 130, 2, 5}, {0, 100}, 1.0, 1e-5}, {{3, 29, 1, 8}, {4, 1}, 1.0, 1e-5},
                                {{1, 150, 1, 3}, {70, 70}, 1.0, 1e-5}, {{2, 53, 2, 3}, {2, 200}, 12.0, 1e-3}};
  uint64_t seed = 11;
  for (const Case& c : cases) {
    INFO(describe(c.shape, c.window) << " seed=" << seed);
    const WindowKeys keys(c.shape, c.window);
    ref::check_forward(c.shape, keys.table(), keys.member(), seed++, c.scale, c.tol);
  }
}

TEST_CASE("masked attention backward matches finite differences of the masked reference",
          "[sliding_window][kernel]") {
  struct Case {
    AttentionShape shape;
    Window window;
  };
  const std::vector<Case> cases{{{1, 1, 1, 3}, {0, 1}}, {{1, 9, 2, 3}, {0, 1}}, {{2, 11, 1, 4}, {0, 4}},
                                {{1, 13, 1, 2}, {3, 2}}, {{1, 70, 1, 2}, {1, 66}}};
  uint64_t seed = 21;
  for (const Case& c : cases) {
    INFO(describe(c.shape, c.window) << " seed=" << seed);
    const WindowKeys keys(c.shape, c.window);
    ref::check_backward(c.shape, keys.table(), keys.member(), seed++);
  }
}

TEST_CASE("a window covering the sequence gives the softmax kernels' results", "[sliding_window][kernel]") {
  const AttentionShape s{2, 75, 3, 8};
  Rng rng(31);
  const int64_t n = s.batch * s.seq_len * s.heads * s.head_dim, rows = s.batch * s.heads * s.seq_len;
  const auto q = ref::normal_values(n, rng), k = ref::normal_values(n, rng), v = ref::normal_values(n, rng);
  const auto dout = ref::normal_values(n, rng);
  const auto spans = sequence_spans(s.seq_len, {0, s.seq_len});
  const SpanTable keys{spans.data(), kSinkWindowSpans, false};
  std::vector<float> out(n), lse(rows), dq(n), dk(n), dv(n), s_out(n), s_lse(rows), s_dq(n), s_dk(n), s_dv(n);
  MaskedAttentionKernels::cpu().fwd(q.data(), k.data(), v.data(), out.data(), lse.data(), keys, s);
  MaskedAttentionKernels::cpu().bwd(q.data(), k.data(), v.data(), lse.data(), dout.data(), dq.data(), dk.data(), dv.data(),
                           keys, s);
  SoftmaxAttentionKernels::cpu().fwd(q.data(), k.data(), v.data(), s_out.data(), s_lse.data(), s);
  SoftmaxAttentionKernels::cpu().bwd(q.data(), k.data(), v.data(), s_out.data(), s_lse.data(), dout.data(), s_dq.data(),
                            s_dk.data(), s_dv.data(), s);
  auto worst = [](const std::vector<float>& a, const std::vector<float>& b) {
    double w = 0.0;
    for (size_t i = 0; i < a.size(); ++i) w = std::max(w, std::fabs(static_cast<double>(a[i]) - b[i]));
    return w;
  };
  CHECK(worst(out, s_out) < 1e-6);
  CHECK(worst(lse, s_lse) < 1e-5);
  CHECK(worst(dq, s_dq) < 1e-5);
  CHECK(worst(dk, s_dk) < 1e-5);
  CHECK(worst(dv, s_dv) < 1e-5);
}

TEST_CASE("ring-buffer decode spans read the sinks and the window's tokens from their slots",
          "[sliding_window][kernel]") {
  for (const SinkWindowRing& ring : {SinkWindowRing{0, 1, 1}, SinkWindowRing{0, 5, 5}, SinkWindowRing{3, 4, 7},
                                     SinkWindowRing{2, 16, 9}, SinkWindowRing{6, 3, 4}}) {
    INFO("sinks=" << ring.sinks << " window=" << ring.window << " slots=" << ring.slots);
    // A ring shorter than the window is only used up to `slots` tokens.
    const bool full_ring = ring.slots == ring.sinks + ring.window;
    const int64_t positions = full_ring ? 40 : ring.slots;
    std::vector<int64_t> token_in_slot(static_cast<size_t>(ring.slots), -1);
    for (int64_t t = 0; t < positions; ++t) {
      INFO("position " << t);
      token_in_slot[ring.slot_of(t)] = t;
      KeySpan spans[kSinkWindowDecodeSpans];
      sink_window_decode_spans(t, ring, spans);
      std::vector<int64_t> seen;
      for (const KeySpan& sp : spans)
        for (int32_t slot = sp.begin; slot < sp.end; ++slot) seen.push_back(token_in_slot[slot]);
      std::vector<int64_t> expected;
      for (int64_t j = 0; j <= t; ++j)
        if (Window{ring.sinks, ring.window}.sees(t, j)) expected.push_back(j);
      CHECK(seen == expected);  // in token order, so decode sums keys as the forward does
    }
  }
}

TEST_CASE("masked decode over a ring cache matches the forward's rows and ignores other slots",
          "[sliding_window][kernel]") {
  const int64_t B = 2, L = 70, H = 3, D = 4;
  const SinkWindowRing ring{2, 5, 7};
  Rng rng(41);
  const int64_t n = B * L * H * D, row = H * D;
  const auto q = ref::normal_values(n, rng), k = ref::normal_values(n, rng), v = ref::normal_values(n, rng);
  std::vector<float> out(n), lse(B * H * L);
  const AttentionShape s{B, L, H, D};
  const auto spans = sequence_spans(L, {ring.sinks, ring.window});
  const SpanTable keys{spans.data(), kSinkWindowSpans, false};
  MaskedAttentionKernels::cpu().fwd(q.data(), k.data(), v.data(), out.data(), lse.data(), keys, s);
  // Slots not yet written hold garbage that must never be read.
  auto k_cache = ref::normal_values(B * ring.slots * row, rng, 50.0);
  auto v_cache = ref::normal_values(B * ring.slots * row, rng, 50.0);
  for (int64_t t = 0; t < L; ++t) {
    INFO("position " << t);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t c = 0; c < row; ++c) {
        k_cache[(b * ring.slots + ring.slot_of(t)) * row + c] = k[(b * L + t) * row + c];
        v_cache[(b * ring.slots + ring.slot_of(t)) * row + c] = v[(b * L + t) * row + c];
      }
    std::vector<float> q_t(B * row), out_t(B * row);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t c = 0; c < row; ++c) q_t[b * row + c] = q[(b * L + t) * row + c];
    KeySpan decode[kSinkWindowDecodeSpans];
    sink_window_decode_spans(t, ring, decode);
    MaskedAttentionKernels::cpu().decode(q_t.data(), k_cache.data(), v_cache.data(), out_t.data(),
                                {decode, kSinkWindowDecodeSpans, false}, {B, ring.slots, H, D});
    double worst = 0.0;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t c = 0; c < row; ++c)
        worst = std::max(worst, static_cast<double>(std::fabs(out_t[b * row + c] - out[(b * L + t) * row + c])));
    CHECK(worst < 1e-6);
  }
}

TEST_CASE("sliding-window mixer with a window covering the sequence is the softmax mixer",
          "[sliding_window][mixer]") {
  for (int window : {13, 1000}) {
    INFO("window " << window);
    const int B = 2, L = 13, D = 12;
    auto sliding = make_mixer(make_spec("sliding_window", D, 3, window_param(window), 17));
    auto softmax = make_mixer(make_spec("softmax", D, 3, {}, 17));
    check_mixers_agree(*sliding, *softmax, {B, L, D}, 51);
    const auto ps = sliding->params(), pf = softmax->params();
    for (size_t i = 0; i < ps.size(); ++i) {
      INFO(ps[i]->name);
      CHECK(bit_identical(ps[i]->value, pf[i]->value));
    }
  }
}

TEST_CASE("sliding-window mixer gradients match finite differences", "[sliding_window][mixer]") {
  CHECK_NOTHROW(check_mixer_gradients(make_spec("sliding_window", 12, 1, window_param(1)), 1, 1, 101));
  CHECK_NOTHROW(check_mixer_gradients(make_spec("sliding_window", 12, 1, window_param(1)), 2, 5, 102));
  CHECK_NOTHROW(check_mixer_gradients(make_spec("sliding_window", 12, 3, window_param(3)), 2, 7, 103));
  CHECK_NOTHROW(check_mixer_gradients(make_spec("sliding_window", 10, 2, {}, 5), 1, 37, 104));
  CHECK_NOTHROW(check_mixer_gradients(make_spec("sliding_window", 24, 3, window_param(70), 9), 1, 67, 105));
}

TEST_CASE("sliding-window mixer decode matches its parallel forward, with and without prefill",
          "[sliding_window][mixer]") {
  for (int window : {1, 2, 16, 64, 200})
    for (int seq_len : {1, 7, 17, 65, 130}) {
      if (seq_len == 130 && window < 64) continue;  // long sequences are covered by the ring test below
      CHECK_NOTHROW(check_forward_matches_decode(make_spec("sliding_window", 12, 3, window_param(window)), 2, seq_len,
                                                 200 + seq_len + window));
    }
  CHECK_NOTHROW(check_forward_matches_decode(make_spec("sliding_window", 24, 1, window_param(5)), 1, 33, 299));
}

TEST_CASE("a ring holding the whole window decodes past the cache's max_len; a shorter one stops there",
          "[sliding_window][mixer]") {
  const int B = 2, D = 12, window = 5, L = 23;
  auto mixer = make_mixer(make_spec("sliding_window", D, 3, window_param(window)));
  Rng rng(61);
  const Tensor x = random_tensor({B, L, D}, rng);
  Tensor y_full, y_prefix, y_t;
  mixer->forward(x, y_full, nullptr);
  for (int prefill : {0, 3, 12}) {
    INFO("prefill " << prefill);
    auto cache = mixer->make_cache(B, window);
    if (prefill > 0) {
      mixer->forward(time_range(x, 0, prefill), y_prefix, cache.get());
      CHECK(max_mixed_error(y_prefix, time_range(y_full, 0, prefill)) < 1e-5);
    }
    for (int t = prefill; t < L; ++t) {
      INFO("decode position " << t);
      mixer->step(time_slice(x, t), y_t, *cache);
      CHECK(max_mixed_error(y_t, time_slice(y_full, t)) < 1e-5);
    }
  }
  auto short_cache = mixer->make_cache(B, 3);
  for (int t = 0; t < 3; ++t) mixer->step(time_slice(x, t), y_t, *short_cache);
  CHECK_THROWS_AS(mixer->step(time_slice(x, 3), y_t, *short_cache), std::length_error);
  CHECK_THROWS_AS(mixer->forward(time_range(x, 0, 4), y_t, mixer->make_cache(B, 3).get()), std::invalid_argument);
}

TEST_CASE("sliding-window mixer state is 2 * min(L, window) * d_model floats", "[sliding_window][mixer]") {
  auto mixer = make_mixer(make_spec("sliding_window", 64, 2, window_param(16)));
  CHECK(mixer->state_bytes(1) == 2u * 1 * 64 * 4);
  CHECK(mixer->state_bytes(10) == 2u * 10 * 64 * 4);
  CHECK(mixer->state_bytes(16) == 2u * 16 * 64 * 4);
  CHECK(mixer->state_bytes(64) == 2u * 16 * 64 * 4);
  CHECK(mixer->state_bytes(100000) == 2u * 16 * 64 * 4);
  CHECK(make_mixer(make_spec("sliding_window", 24, 3))->state_bytes(1000) == 2u * 16 * 24 * 4);  // default 16
  check_state_bytes_growth(make_spec("sliding_window", 24, 3, window_param(1)), StateGrowth::constant);
}

TEST_CASE("sliding-window mixer is deterministic, accumulates gradients and checks its inputs",
          "[sliding_window][mixer]") {
  check_thread_count_independence(make_spec("sliding_window", 24, 3, window_param(7)), 4, 67, 301);
  check_backward_accumulates(make_spec("sliding_window", 12, 3, window_param(3)), 2, 9, 302);
  check_initialisation_is_seeded(make_spec("sliding_window", 12, 3));
  check_rejects_bad_inputs(make_spec("sliding_window", 12, 3));
  check_rejects_bad_specs(make_spec("sliding_window", 12, 3));
}

TEST_CASE("sliding-window mixer refuses a window below 1 and params it does not know", "[sliding_window][mixer]") {
  CHECK_THROWS_WITH(make_mixer(make_spec("sliding_window", 12, 3, window_param(0))),
                    Catch::Matchers::Contains("'window' is 0") && Catch::Matchers::Contains(">= 1"));
  CHECK_THROWS_AS(make_mixer(make_spec("sliding_window", 12, 3, window_param(-4))), std::invalid_argument);
  CHECK_THROWS_AS(make_mixer(make_spec("sliding_window", 12, 3, {{"window", "wide"}})), std::invalid_argument);
  CHECK_THROWS_WITH(make_mixer(make_spec("sliding_window", 12, 3, {{"sinks", 2}})),
                    Catch::Matchers::Contains("sinks") && Catch::Matchers::Contains("window"));
}
