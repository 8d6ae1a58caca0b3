#include <catch2/catch.hpp>

#include <array>
#include <vector>

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
