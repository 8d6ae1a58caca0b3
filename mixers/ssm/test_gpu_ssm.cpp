// Mamba-2's SSD scan: the CUDA kernels against the CPU kernels on fresh seeded inputs at odd sizes
// (forward with chunk states and final state, backward with the parameter gradients, decode), fp32,
// norm-wise relative error 1e-4, on packed rows as the mixer's projection holds them. Built only with
// CUDA; each case skips itself (with a warning) on a machine without a GPU.
#include <catch2/catch.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "mixers/ssm/ssd.h"
#include "tests/gpu_kernel_checks.h"
#include "tests/seeded_cases.h"

using namespace seqbench;
using namespace seqbench::gpu_checks;
using seqbench::testing::for_each_seeded_case;

namespace {

constexpr double kTolerance = 1e-4;  // fp32 on both sides: only the summation order differs

std::string describe(const SsdShape& s, int64_t chunk) {
  std::ostringstream out;
  out << "B=" << s.batch << " L=" << s.seq_len << " H=" << s.heads << " P=" << s.head_dim << " N=" << s.state_dim
      << ", chunk " << chunk;
  return out.str();
}

// SSD rows packed as a wider projection would hold them: [1 spare column | x | B | C | dt_raw]; the
// parameters as [dt_bias | A_log | D], each `heads` long.
int64_t packed_width(const SsdShape& s) { return 1 + s.heads * s.head_dim + 2 * s.state_dim + s.heads; }

// SsdInputs from const pointers, SsdGrads from mutable ones: their members line up.
template <class Operands, class P>
Operands packed(P rows, P params, const SsdShape& s) {
  const int64_t width = packed_width(s);
  const P x = rows + 1, b = x + s.heads * s.head_dim, c = b + s.state_dim, dt_raw = c + s.state_dim;
  return Operands{x, width, b, c, width, dt_raw, width, params, params + s.heads, params + 2 * s.heads};
}

SsdInputs packed_inputs(const float* rows, const float* params, const SsdShape& s) {
  return packed<SsdInputs>(rows, params, s);
}

SsdGrads packed_grads(float* rows, float* params, const SsdShape& s) { return packed<SsdGrads>(rows, params, s); }

// Rows of `rows_count` packed rows; dt_bias in [-3, -1] and A_log in [0, 1.5] give log decays of
// roughly -0.05 to -0.5 per step, as Mamba-2's initialisation does.
struct SsdData {
  std::vector<float> rows, params;
};

SsdData random_ssd(const SsdShape& s, int64_t rows_count, Rng& rng) {
  SsdData d{normal_values(rows_count * packed_width(s), rng), {}};
  for (const auto& [lo, hi] : {std::pair{-3.0, -1.0}, std::pair{0.0, 1.5}, std::pair{0.5, 1.5}})
    for (float x : uniform_values(s.heads, rng, lo, hi)) d.params.push_back(x);
  return d;
}

// Length 1, primes; head_dim (value columns) and state_dim (key rows) 1, 7, 16, 33.
const std::vector<SsdShape> kSsdShapes = {
    {1, 1, 1, 3, 2}, {2, 37, 3, 16, 7}, {1, 70, 2, 33, 16}, {2, 9, 5, 1, 1}, {1, 131, 2, 7, 33},
};
// Each shape in chunks of 1, 5 and 64 tokens.
const std::tuple<std::vector<SsdShape>, std::vector<int64_t>> kSsdCases{kSsdShapes, {1, 5, 64}};

std::vector<float> tensor_values(const Tensor& t) {
  const Tensor host = t.to(Device::cpu);
  return std::vector<float>(host.data(), host.data() + host.numel());
}

}  // namespace

TEST_CASE("SSD forward on the GPU matches the CPU kernel, chunk states and final state included", "[gpu][ssm]") {
  SKIP_WITHOUT_GPU();
  for_each_seeded_case(kSsdCases, 700, describe, [](const SsdShape& s, int64_t chunk, Rng& rng) {
    const int64_t rows = s.batch * s.seq_len, y_count = rows * s.heads * s.head_dim;
    const int64_t state_size = s.batch * s.heads * s.state_dim * s.head_dim;
    SsdData d = random_ssd(s, rows, rng);
    auto rows_d = upload_rounded<float>(d.rows), params_d = upload_rounded<float>(d.params);
    auto y = poisoned<float>(y_count), final_state = poisoned<float>(state_size);
    SsdWorkspace ws;
    SsdKernels::cuda().fwd(packed_inputs(rows_d.data(), params_d.data(), s), y.data(), final_state.data(), ws, s,
                           chunk);

    SsdWorkspace want_ws;
    std::vector<float> want_y(y_count), want_final(state_size);
    SsdKernels::cpu().fwd(packed_inputs(d.rows.data(), d.params.data(), s), want_y.data(), want_final.data(), want_ws,
                          s, chunk);
    CHECK(relative_error(y.download(), want_y) < kTolerance);
    CHECK(relative_error(final_state.download(), want_final) < kTolerance);
    CHECK(ws.chunk_states.device() == Device::cuda);
    CHECK(relative_error(tensor_values(ws.chunk_states), tensor_values(want_ws.chunk_states)) < kTolerance);
  });
}

TEST_CASE("SSD backward on the GPU matches the CPU kernel, parameter gradients accumulated", "[gpu][ssm]") {
  SKIP_WITHOUT_GPU();
  for_each_seeded_case(kSsdCases, 900, describe, [](const SsdShape& s, int64_t chunk, Rng& rng) {
    const int64_t rows = s.batch * s.seq_len, y_count = rows * s.heads * s.head_dim, width = packed_width(s);
    SsdData d = random_ssd(s, rows, rng);
    std::vector<float> dy = normal_values(y_count, rng);
    auto rows_d = upload_rounded<float>(d.rows), params_d = upload_rounded<float>(d.params);
    auto dy_d = upload_rounded<float>(dy), y = poisoned<float>(y_count);
    // Row gradients start as NaN bytes (every gradient column must be written), parameter ones at 1.
    auto drows = poisoned<float>(static_cast<int64_t>(d.rows.size()));
    std::vector<float> dparams(d.params.size(), 1.0f);
    auto dparams_d = upload_rounded<float>(dparams);
    SsdWorkspace ws;
    const SsdInputs in = packed_inputs(rows_d.data(), params_d.data(), s);
    SsdKernels::cuda().fwd(in, y.data(), nullptr, ws, s, chunk);
    SsdKernels::cuda().bwd(in, dy_d.data(), packed_grads(drows.data(), dparams_d.data(), s), ws, s, chunk);

    SsdWorkspace want_ws;
    std::vector<float> want_y(y_count), want_drows(d.rows.size(), 0.0f);
    const SsdInputs want_in = packed_inputs(d.rows.data(), d.params.data(), s);
    SsdKernels::cpu().fwd(want_in, want_y.data(), nullptr, want_ws, s, chunk);
    SsdKernels::cpu().bwd(want_in, dy.data(), packed_grads(want_drows.data(), dparams.data(), s), want_ws, s, chunk);
    // Compare the gradient columns only: column 0 of each row is no gradient's.
    std::vector<float> got_rows = drows.download(), got, want;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 1; c < width; ++c) {
        got.push_back(got_rows[r * width + c]);
        want.push_back(want_drows[r * width + c]);
      }
    CHECK(relative_error(got, want) < kTolerance);
    CHECK(relative_error(dparams_d.download(), dparams) < kTolerance);
  });
}

TEST_CASE("SSD backward on the GPU refuses a workspace that holds no GPU forward", "[gpu][ssm]") {
  const SsdShape s{1, 3, 1, 2, 2};
  SsdWorkspace ws;
  CHECK_THROWS_AS(SsdKernels::cuda().bwd({}, nullptr, {}, ws, s, 4), std::invalid_argument);
}

TEST_CASE("SSD decode steps on the GPU match the CPU kernel through the dispatcher", "[gpu][ssm]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 1100;
  for (const SsdShape& s : kSsdShapes) {
    INFO(describe(s, 1) << " seed=" << seed);
    Rng rng(seed++);
    const int64_t y_count = s.batch * s.heads * s.head_dim;
    std::vector<float> state = normal_values(s.batch * s.heads * s.state_dim * s.head_dim, rng);
    auto state_d = upload_rounded<float>(state);
    SsdWorkspace ws, want_ws;
    for (int step = 0; step < 3; ++step) {
      INFO("step " << step);
      SsdData d = random_ssd(s, s.batch, rng);
      auto rows_d = upload_rounded<float>(d.rows), params_d = upload_rounded<float>(d.params);
      auto y = poisoned<float>(y_count);
      kernels_for<SsdKernels>(Device::cuda)
          .decode(packed_inputs(rows_d.data(), params_d.data(), s), state_d.data(), y.data(), ws, s);
      std::vector<float> want_y(y_count);
      SsdKernels::cpu().decode(packed_inputs(d.rows.data(), d.params.data(), s), state.data(), want_y.data(), want_ws, s);
      CHECK(relative_error(y.download(), want_y) < kTolerance);
      CHECK(relative_error(state_d.download(), state) < kTolerance);
    }
  }
}
