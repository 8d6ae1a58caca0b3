// Causal softmax attention: the CPU kernels against a plain double-precision reference (and its
// finite differences), then the "softmax" mixer through the generic conformance checks.
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "mixers/softmax/masked_attention_reference.h"
#include "mixers/softmax/softmax_attention.h"
#include "mixers/softmax/softmax_attention_mixer.h"
#include "ops/parallel.h"
#include "tests/mixer_checks.h"

using namespace seqbench;
using namespace seqbench::mixer_checks;

namespace {

using masked_reference::normal_values;
using masked_reference::widen;

// Causal attention: the plain masked reference with keys j <= i (two-pass softmax in double).
void reference_attention(const std::vector<double>& q, const std::vector<double>& k, const std::vector<double>& v,
                         const AttentionShape& s, std::vector<double>& out, std::vector<double>& lse) {
  masked_reference::attention(
      q, k, v, s, [](int64_t, int64_t i, int64_t j) { return j <= i; }, out, lse);
}

struct Case {
  AttentionShape shape;
  double scale;
  double tol;  // scores of size ~scale^2 carry float rounding of that size into the weights
};

}  // namespace

TEST_CASE("softmax attention forward matches a plain two-pass reference", "[softmax][kernel]") {
  // Lengths past 64 and 128 cross the key-block boundary of the online softmax.
  const std::vector<Case> cases{{{1, 1, 1, 1}, 1.0, 1e-5},   {{2, 7, 3, 4}, 1.0, 1e-5},    {{1, 65, 2, 8}, 1.0, 1e-5},
                                {{3, 130, 1, 5}, 1.0, 1e-5}, {{1, 200, 1, 16}, 1.0, 1e-5}, {{2, 97, 2, 3}, 12.0, 1e-3}};
  uint64_t seed = 11;
  for (const Case& c : cases) {
    const AttentionShape& s = c.shape;
    INFO("B=" << s.batch << " L=" << s.seq_len << " H=" << s.heads << " Dh=" << s.head_dim << " scale=" << c.scale
              << " seed=" << seed);
    Rng rng(seed++);
    const int64_t n = s.batch * s.seq_len * s.heads * s.head_dim;
    // A large scale makes scores of +-100s: the running max must keep exp() finite.
    const auto q = normal_values(n, rng, c.scale), k = normal_values(n, rng, c.scale), v = normal_values(n, rng);
    std::vector<float> out(n), lse(s.batch * s.heads * s.seq_len);
    SoftmaxAttentionKernels::cpu().fwd(q.data(), k.data(), v.data(), out.data(), lse.data(), s);
    std::vector<double> ref_out, ref_lse;
    reference_attention(widen(q), widen(k), widen(v), s, ref_out, ref_lse);
    double worst_out = 0.0, worst_lse = 0.0;
    for (size_t i = 0; i < out.size(); ++i) worst_out = std::max(worst_out, std::fabs(out[i] - ref_out[i]));
    for (size_t i = 0; i < lse.size(); ++i)
      worst_lse = std::max(worst_lse, std::fabs(lse[i] - ref_lse[i]) / (1.0 + std::fabs(ref_lse[i])));
    CHECK(worst_out < c.tol);
    CHECK(worst_lse < c.tol / 10);
  }
}

TEST_CASE("softmax attention backward matches finite differences of the reference", "[softmax][kernel]") {
  const std::vector<AttentionShape> shapes{{1, 1, 1, 3}, {1, 5, 2, 3}, {2, 9, 1, 4}, {1, 70, 1, 2}};
  uint64_t seed = 21;
  for (const AttentionShape& s : shapes) {
    INFO("B=" << s.batch << " L=" << s.seq_len << " H=" << s.heads << " Dh=" << s.head_dim << " seed=" << seed);
    Rng rng(seed++);
    const int64_t n = s.batch * s.seq_len * s.heads * s.head_dim;
    const auto q = normal_values(n, rng), k = normal_values(n, rng), v = normal_values(n, rng);
    const auto dout = normal_values(n, rng);
    std::vector<float> out(n), lse(s.batch * s.heads * s.seq_len), dq(n), dk(n), dv(n);
    SoftmaxAttentionKernels::cpu().fwd(q.data(), k.data(), v.data(), out.data(), lse.data(), s);
    SoftmaxAttentionKernels::cpu().bwd(q.data(), k.data(), v.data(), out.data(), lse.data(), dout.data(), dq.data(), dk.data(),
                              dv.data(), s);

    masked_reference::check_qkv_gradients(q, k, v, dout, dq, dk, dv, [&](const auto& a, const auto& b, const auto& c) {
      std::vector<double> o, l;
      reference_attention(a, b, c, s, o, l);
      return o;
    });
  }
}

TEST_CASE("softmax decode over a KV cache matches the forward's last row and ignores unused slots",
          "[softmax][kernel]") {
  const int64_t B = 2, L = 70, H = 3, D = 4, max_len = 75;
  Rng rng(31);
  const int64_t n = B * L * H * D;
  const auto q = normal_values(n, rng), k = normal_values(n, rng), v = normal_values(n, rng);
  std::vector<float> out(n), lse(B * H * L);
  const AttentionShape s{B, L, H, D};
  SoftmaxAttentionKernels::cpu().fwd(q.data(), k.data(), v.data(), out.data(), lse.data(), s);
  // Cache slots past `len` hold garbage that must never be read.
  auto k_cache = normal_values(B * max_len * H * D, rng, 50.0), v_cache = normal_values(B * max_len * H * D, rng, 50.0);
  for (int64_t len : {1, 2, 64, 65, 70}) {
    INFO("len=" << len);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < len; ++t)
        for (int64_t c = 0; c < H * D; ++c) {
          k_cache[(b * max_len + t) * H * D + c] = k[(b * L + t) * H * D + c];
          v_cache[(b * max_len + t) * H * D + c] = v[(b * L + t) * H * D + c];
        }
    std::vector<float> q_t(B * H * D), out_t(B * H * D);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t c = 0; c < H * D; ++c) q_t[b * H * D + c] = q[(b * L + len - 1) * H * D + c];
    SoftmaxAttentionKernels::cpu().decode(q_t.data(), k_cache.data(), v_cache.data(), len, out_t.data(), {B, max_len, H, D});
    double worst = 0.0;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t c = 0; c < H * D; ++c)
        worst =
            std::max(worst, static_cast<double>(std::fabs(out_t[b * H * D + c] - out[(b * L + len - 1) * H * D + c])));
    CHECK(worst < 1e-6);
  }
}

TEST_CASE("softmax attention kernels give bit-identical results with 1 and 2 threads", "[softmax][kernel]") {
  const AttentionShape s{3, 67, 3, 8};
  Rng rng(41);
  const int64_t n = s.batch * s.seq_len * s.heads * s.head_dim;
  const auto q = normal_values(n, rng), k = normal_values(n, rng), v = normal_values(n, rng);
  const auto dout = normal_values(n, rng);
  auto run = [&](int threads) {
    set_num_threads(threads);
    std::vector<float> out(n), lse(s.batch * s.heads * s.seq_len), dq(n), dk(n), dv(n);
    SoftmaxAttentionKernels::cpu().fwd(q.data(), k.data(), v.data(), out.data(), lse.data(), s);
    SoftmaxAttentionKernels::cpu().bwd(q.data(), k.data(), v.data(), out.data(), lse.data(), dout.data(), dq.data(), dk.data(),
                              dv.data(), s);
    return std::vector<std::vector<float>>{out, lse, dq, dk, dv};
  };
  check_kernels_thread_count_independent(run);
}

TEST_CASE("softmax mixer gradients match finite differences", "[softmax][mixer]") {
  CHECK_NOTHROW(check_mixer_gradients(make_spec("softmax", 12, 1), 1, 1, 101));
  CHECK_NOTHROW(check_mixer_gradients(make_spec("softmax", 12, 3), 2, 7, 102));
  CHECK_NOTHROW(check_mixer_gradients(make_spec("softmax", 24, 3, {}, 9), 1, 65, 103));
  CHECK_NOTHROW(check_mixer_gradients(make_spec("softmax", 10, 1, {}, 5), 3, 13, 104));
}

TEST_CASE("softmax mixer decode matches its parallel forward, with and without prefill", "[softmax][mixer]") {
  for (int seq_len : {1, 7, 64, 65, 130})
    CHECK_NOTHROW(check_forward_matches_decode(make_spec("softmax", 12, 3), 2, seq_len, 200 + seq_len));
  CHECK_NOTHROW(check_forward_matches_decode(make_spec("softmax", 24, 1), 1, 33, 299));
}

TEST_CASE("softmax mixer state is a KV cache of 2 * L * d_model floats", "[softmax][mixer]") {
  check_state_bytes_growth(make_spec("softmax", 24, 3), StateGrowth::linear_in_length);
  auto mixer = make_mixer(make_spec("softmax", 64, 2));
  CHECK(mixer->state_bytes(64) == 2u * 64 * 64 * 4);
}

TEST_CASE("softmax mixer is deterministic, accumulates gradients and checks its inputs", "[softmax][mixer]") {
  check_thread_count_independence(make_spec("softmax", 24, 3), 4, 67, 301);
  check_backward_accumulates(make_spec("softmax", 12, 3), 2, 9, 302);
  check_initialisation_is_seeded(make_spec("softmax", 12, 3));
  check_rejects_bad_inputs(make_spec("softmax", 12, 3));
  check_rejects_bad_specs(make_spec("softmax", 12, 3));
}

TEST_CASE("softmax mixer refuses to step past its cache and takes no params", "[softmax][mixer]") {
  auto mixer = make_mixer(make_spec("softmax", 12, 3));
  auto cache = mixer->make_cache(1, 2);
  Tensor y;
  Rng rng(5);
  mixer->step(random_tensor({1, 12}, rng), y, *cache);
  mixer->step(random_tensor({1, 12}, rng), y, *cache);
  CHECK_THROWS_AS(mixer->step(random_tensor({1, 12}, rng), y, *cache), std::length_error);
  CHECK_THROWS_AS(mixer->forward(random_tensor({1, 3, 12}, rng), y, cache.get()), std::invalid_argument);
  CHECK_THROWS_WITH(make_mixer(make_spec("softmax", 12, 3, {{"window", 4}})),
                    Catch::Matchers::Contains("window") && Catch::Matchers::Contains("(none)"));
}
