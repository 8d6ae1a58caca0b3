#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "ops/bf16_bits.h"
#include "ops/matmul.h"
#include "ops/parallel.h"
#include "ops/rng.h"
#include "tests/random_values.h"

using namespace seqbench;
using seqbench::testing::normal_values;

namespace {

// C = op(A) op(B) written plainly, in double.
std::vector<float> naive_matmul(const std::vector<float>& a, const std::vector<float>& b, const MatmulShape& s) {
  std::vector<float> c(static_cast<size_t>(s.m * s.n));
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = 0; j < s.n; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < s.k; ++p) {
        const float av = s.trans_a ? a[p * s.m + i] : a[i * s.k + p];
        const float bv = s.trans_b ? b[j * s.k + p] : b[p * s.n + j];
        sum += static_cast<double>(av) * bv;
      }
      c[i * s.n + j] = static_cast<float>(sum);
    }
  return c;
}

}  // namespace

TEST_CASE("matmul matches a naive product for every transpose combination at odd sizes") {
  const uint64_t seed = 42;
  Rng rng(seed);
  INFO("seed " << seed);
  for (auto dims : std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {7, 5, 3}, {13, 600, 17}, {64, 64, 64}, {5, 1, 129}}) {
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        MatmulShape s{dims[0], dims[1], dims[2], ta == 1, tb == 1, false};
        auto a = normal_values(s.m * s.k, rng);
        auto b = normal_values(s.k * s.n, rng);
        std::vector<float> c(static_cast<size_t>(s.m * s.n), 99.0f);
        MatmulKernels::cpu().matmul(a.data(), b.data(), c.data(), s);
        auto expected = naive_matmul(a, b, s);
        INFO("m=" << s.m << " n=" << s.n << " k=" << s.k << " ta=" << ta << " tb=" << tb);
        for (size_t i = 0; i < c.size(); ++i) REQUIRE(c[i] == Approx(expected[i]).margin(1e-4).epsilon(1e-4));
      }
  }
}

TEST_CASE("matmul with accumulate adds to the existing output") {
  Rng rng(7);
  MatmulShape s{9, 11, 5, false, false, true};
  auto a = normal_values(s.m * s.k, rng);
  auto b = normal_values(s.k * s.n, rng);
  std::vector<float> c(static_cast<size_t>(s.m * s.n), 1.5f);
  MatmulKernels::cpu().matmul(a.data(), b.data(), c.data(), s);
  auto expected = naive_matmul(a, b, s);
  for (size_t i = 0; i < c.size(); ++i) REQUIRE(c[i] == Approx(expected[i] + 1.5f).margin(1e-4));
}

TEST_CASE("matmul gives bit-identical results with one thread and with two") {
  Rng rng(3);
  MatmulShape s{67, 130, 71, true, false, false};
  auto a = normal_values(s.m * s.k, rng);
  auto b = normal_values(s.k * s.n, rng);
  std::vector<float> one(static_cast<size_t>(s.m * s.n)), two(one.size());
  set_num_threads(1);
  MatmulKernels::cpu().matmul(a.data(), b.data(), one.data(), s);
  set_num_threads(2);
  MatmulKernels::cpu().matmul(a.data(), b.data(), two.data(), s);
  set_num_threads(0);
  REQUIRE(one == two);
}

TEST_CASE("bf16 rounding is round to nearest even on fp32's top half, and keeps NaN and infinity") {
  auto bits = [](uint32_t x) {
    float f;
    std::memcpy(&f, &x, sizeof f);
    return f;
  };
  const std::vector<std::pair<float, uint16_t>> cases{
      {1.0f, 0x3f80},
      {bits(0x3f808000u), 0x3f80},   // exactly halfway, even neighbour below
      {bits(0x3f818000u), 0x3f82},   // exactly halfway, even neighbour above
      {bits(0x3f808001u), 0x3f81},   // just above halfway
      {-2.5f, 0xc020},
      {bits(0x7f7fffffu), 0x7f80},   // the largest float rounds to infinity, as on the GPU
      {std::numeric_limits<float>::infinity(), 0x7f80},
      {0.0f, 0x0000},
  };
  std::vector<float> in;
  for (const auto& c : cases) in.push_back(c.first);
  in.push_back(std::numeric_limits<float>::quiet_NaN());
  std::vector<uint16_t> out(in.size());
  MatmulKernels::cpu().round_to_bf16(in.data(), out.data(), static_cast<int64_t>(in.size()));
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i << " input " << in[i]);
    CHECK(out[i] == cases[i].second);
    CHECK(bf16_bits_to_float(out[i]) == bf16_bits_to_float(float_to_bf16_bits(in[i])));
  }
  CHECK(std::isnan(bf16_bits_to_float(out.back())));
}

TEST_CASE("the bf16-operand matmul is the fp32 product of the rounded operands, every transpose, accumulating or not") {
  const uint64_t seed = 77;
  Rng rng(seed);
  INFO("seed " << seed);
  for (auto dims : std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {7, 5, 3}, {13, 70, 17}}) {
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        const MatmulShape s{dims[0], dims[1], dims[2], ta == 1, tb == 1, ta != tb};
        auto a = normal_values(s.m * s.k, rng), b = normal_values(s.k * s.n, rng);
        std::vector<uint16_t> a16(a.size()), b16(b.size());
        MatmulKernels::cpu().round_to_bf16(a.data(), a16.data(), s.m * s.k);
        MatmulKernels::cpu().round_to_bf16(b.data(), b16.data(), s.k * s.n);
        std::vector<float> a_rounded, b_rounded;
        for (uint16_t x : a16) a_rounded.push_back(bf16_bits_to_float(x));
        for (uint16_t x : b16) b_rounded.push_back(bf16_bits_to_float(x));
        std::vector<float> c(static_cast<size_t>(s.m * s.n), 0.5f);
        MatmulKernels::cpu().matmul_bf16_operands(a16.data(), b16.data(), c.data(), s);
        const auto expected = naive_matmul(a_rounded, b_rounded, s);
        const auto unrounded = naive_matmul(a, b, s);
        INFO("m=" << s.m << " n=" << s.n << " k=" << s.k << " ta=" << ta << " tb=" << tb);
        const float base = s.accumulate ? 0.5f : 0.0f;
        double rounding_effect = 0;
        for (size_t i = 0; i < c.size(); ++i) {
          REQUIRE(c[i] == Approx(expected[i] + base).margin(1e-5).epsilon(1e-5));
          rounding_effect = std::max(rounding_effect, std::abs(double(expected[i]) - unrounded[i]));
        }
        // The operands really were rounded: bf16 keeps 8 significant bits.
        if (s.k > 1) CHECK(rounding_effect > 1e-4);
      }
  }
}
