// The wgmma wrappers alone (ops/cuda/hopper/wgmma.cuh): one 64 x N x 16 bf16 product, A from shared
// memory or registers, B K-major (as K in S = Q K^T) or MN-major (as V in O = P V), at each k16 step
// of a 128B-swizzled tile, against a CPU matmul of the same bf16 values. The products are exact in
// fp32 up to summation order, hence the tight tolerance. Skips on a GPU that is not sm_90.
#include <catch2/catch.hpp>
#include <tuple>
#include <vector>

#include "ops/cuda/hopper/tensor_map.h"
#include "ops/cuda/hopper/wgmma_probe.h"
#include "tests/gpu_kernel_checks.h"
#include "tests/seeded_cases.h"

using namespace seqbench;
using namespace seqbench::gpu_checks;
using seqbench::testing::for_each_seeded_case;
using bf16 = __nv_bfloat16;

TEST_CASE("one wgmma product through the Hopper wrappers matches a CPU matmul", "[gpu][hopper]") {
  SKIP_WITHOUT_GPU();
  if (!hopper::current_device_is_sm90()) {
    SUCCEED("not a compute capability 9.0 GPU: wgmma cannot run here; skipped");
    return;
  }
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
    hopper::wgmma_probe(a_d.data(), b_d.data(), d.data(), {n, regs, mn, step});
    std::vector<float> want(64 * n, 0.0f);
    for (int i = 0; i < 64; ++i)
      for (int j = 0; j < n; ++j) {
        double sum = 0.0;
        for (int kk = 0; kk < 16; ++kk) sum += static_cast<double>(a[i * 16 + kk]) * b[kk * n + j];
        want[i * n + j] = static_cast<float>(sum);
      }
    CHECK(relative_error(d.download(), want) < 1e-5);
  });
}
