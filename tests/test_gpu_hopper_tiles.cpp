// The Hopper tile layer alone (ops/cuda/hopper/), so a layout error shows up outside any kernel:
// one TMA box load (tensor map dimensions and strides, zero fill past the sequence end, the 128-byte
// swizzle) against the bytes computed on the CPU; one 64 x N x 16 bf16 wgmma, A from shared memory
// (K-major, or transposed: MN-major as dS^T in the attention backward's dQ = dS K) or registers, B
// K-major (as K in S = Q K^T) or MN-major (as V in O = P V), at each k16 step of a swizzled tile,
// against a CPU matmul of the same bf16 values (exact in fp32 up to summation order, hence the tight
// tolerance). Skips on a GPU that is not sm_90.
#include <catch2/catch.hpp>
#include <tuple>
#include <vector>

#include "ops/cuda/hopper/tma_probe.h"
#include "ops/cuda/hopper/wgmma_probe.h"
#include "tests/gpu_kernel_checks.h"
#include "tests/seeded_cases.h"

using namespace seqbench;
using namespace seqbench::gpu_checks;
using seqbench::testing::for_each_seeded_case;
using bf16 = __nv_bfloat16;

TEST_CASE("a TMA box load places a [B, L, H, D] tile swizzled in shared memory, zeros past the end", "[gpu][hopper]") {
  SKIP_WITHOUT_SM90();
  // The box starts at token 37 of 100, so its last 65 rows lie past the end; column 64 of 128.
  const hopper::TmaProbe p{2, 100, 3, 128, 128, 64, 37, 2, 1};
  Rng rng(17);
  std::vector<float> x = normal_values(p.batch * p.seq * p.heads * p.head_dim, rng);
  auto x_d = upload_rounded<bf16>(x);
  auto got = poisoned<bf16>(p.box_rows * 64);
  hopper::tma_probe(x_d.data(), got.data(), p);
  std::vector<float> want(p.box_rows * 64, 0.0f);
  for (int r = 0; r < p.box_rows; ++r)
    for (int c = 0; c < 64; ++c) {
      const int64_t token = p.row + r;
      // Byte (r, 2c) of a 128-byte row, its 16-byte chunk XOR-ed with r % 8 (the 128-byte swizzle).
      const int byte = r * 128 + (((2 * c) / 16) ^ (r % 8)) * 16 + (2 * c) % 16;
      if (token < p.seq)
        want[byte / 2] = x[((p.batch_index * p.seq + token) * p.heads + p.head) * p.head_dim + p.column + c];
    }
  CHECK(download_floats(got) == want);
}

namespace {

// d[64 x n] = a[64 x 16] b[16 x n], row-major, in double.
std::vector<float> cpu_product(const std::vector<float>& a, const std::vector<float>& b, int n) {
  std::vector<float> d(64 * n, 0.0f);
  for (int i = 0; i < 64; ++i)
    for (int j = 0; j < n; ++j) {
      double sum = 0.0;
      for (int kk = 0; kk < 16; ++kk) sum += static_cast<double>(a[i * 16 + kk]) * b[kk * n + j];
      d[i * n + j] = static_cast<float>(sum);
    }
  return d;
}

}  // namespace

TEST_CASE("one wgmma product through the Hopper wrappers matches a CPU matmul", "[gpu][hopper]") {
  SKIP_WITHOUT_SM90();
  const std::tuple<std::vector<int>, std::vector<bool>, std::vector<bool>, std::vector<int>> cases{
      {64, 128}, {false, true}, {false, true}, {0, 1, 3}};
  auto describe = [](int n, bool regs, bool mn, int step) {
    return "n=" + std::to_string(n) + (regs ? " A in registers" : " A in shared") +
           (mn ? " B MN-major" : " B K-major") + " k_step=" + std::to_string(step);
  };
  for_each_seeded_case(cases, 5, describe, [](int n, bool regs, bool mn, int step, Rng& rng) {
    std::vector<float> a = normal_values(64 * 16, rng), b = normal_values(16 * n, rng);
    auto a_d = upload_rounded<bf16>(a), b_d = upload_rounded<bf16>(b);
    auto d = poisoned<float>(64 * n);
    hopper::wgmma_probe(a_d.data(), b_d.data(), d.data(), {n, regs, mn, step, false});
    CHECK(relative_error(d.download(), cpu_product(a, b, n)) < 1e-5);
  });
}

TEST_CASE("one wgmma product with a transposed (MN-major) shared-memory A matches a CPU matmul", "[gpu][hopper]") {
  SKIP_WITHOUT_SM90();
  const std::tuple<std::vector<int>, std::vector<bool>, std::vector<int>> cases{{64, 128}, {false, true}, {0, 1, 3}};
  auto describe = [](int n, bool mn, int step) {
    return "n=" + std::to_string(n) + " A MN-major" + (mn ? " B MN-major" : " B K-major") +
           " k_step=" + std::to_string(step);
  };
  for_each_seeded_case(cases, 7, describe, [](int n, bool mn, int step, Rng& rng) {
    std::vector<float> a = normal_values(64 * 16, rng), b = normal_values(16 * n, rng);
    auto a_d = upload_rounded<bf16>(a), b_d = upload_rounded<bf16>(b);
    auto d = poisoned<float>(64 * n);
    hopper::wgmma_probe(a_d.data(), b_d.data(), d.data(), {n, false, mn, step, true});
    CHECK(relative_error(d.download(), cpu_product(a, b, n)) < 1e-5);
  });
}
