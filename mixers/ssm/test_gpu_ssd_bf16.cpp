// Mamba-2's SSD in bf16 on the GLA tensor-core kernels (ssd_bf16.cuh) against the fp32 CPU SSD kernels
// (ssd_cpu.cpp, one B/C group, no D term) on bf16-rounded inputs at odd lengths: y, chunk states, final
// state and every gradient, norm-wise relative error within the bf16 tolerance, for both forwards.
#include <catch2/catch.hpp>
#include <cmath>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "mixers/ssm/ssd.h"
#include "mixers/ssm/ssd_bf16.cuh"
#include "tests/gpu_kernel_checks.h"
#include "tests/seeded_cases.h"

using namespace seqbench;
using namespace seqbench::gpu_checks;
using seqbench::testing::for_each_seeded_case;

namespace {

using bf16 = __nv_bfloat16;

// {batch, seq_len, heads, P, N}: lengths 1, 63, 65 and 130 around the 64-token chunk, P and N 64 or 128; then
// 900 at batch * heads 2, 15 chunks, the last of 4 tokens: a long sequence on few walks, where the scalar
// GLA forward would walk segments side by side (gla_scalar_fwd_segments) but, with SSD's value scale, walks
// the sequence once (the segmented walk failed dA here on the H200).
const std::tuple<std::vector<SsdShape>> kCases{{{1, 1, 2, 64, 128},
                                                {2, 63, 2, 64, 64},
                                                {2, 65, 3, 64, 128},
                                                {1, 130, 2, 128, 64},
                                                {1, 130, 3, 128, 128},
                                                {1, 900, 2, 64, 128}}};

std::string describe(const SsdShape& s) {
  std::ostringstream out;
  out << "B=" << s.batch << " L=" << s.seq_len << " H=" << s.heads << " P=" << s.head_dim << " N=" << s.state_dim;
  return out.str();
}

float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }
float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

void check_close(const char* what, const std::vector<float>& got, const std::vector<float>& want) {
  const double error = relative_error(got, want);
  INFO(what << ": norm-wise relative error " << error);
  CHECK(error < tolerance<bf16>());
}

}  // namespace

TEST_CASE("bf16 SSD on the GLA tensor-core kernels matches the fp32 CPU SSD, forward and backward",
          "[gpu][ssm][bf16]") {
  SKIP_WITHOUT_GPU();
  for_each_seeded_case(kCases, 1300, describe, [](const SsdShape& s, Rng& rng) {
    const int64_t rows = s.batch * s.seq_len, H = s.heads, P = s.head_dim, N = s.state_dim;
    const SsdBf16Shape bs{s.batch, s.seq_len, H, P, N, 1};
    std::vector<float> x = normal_values(rows * H * P, rng), b = normal_values(rows * N, rng);
    std::vector<float> c = normal_values(rows * N, rng), dy = normal_values(rows * H * P, rng);
    std::vector<float> dt_raw = normal_values(rows * H, rng);
    // dt_bias in [-3, -1] and A_log in [0, 1.5], as Mamba-2 initialises them; no D term.
    std::vector<float> dt_bias = uniform_values(H, rng, -3.0, -1.0), a_log = uniform_values(H, rng, 0.0, 1.5);
    const std::vector<float> d_skip(H, 0.0f);
    std::vector<float> dt(rows * H), a(H);
    for (int64_t h = 0; h < H; ++h) a[h] = -std::exp(a_log[h]);
    for (int64_t i = 0; i < rows * H; ++i) dt[i] = softplus(dt_raw[i] + dt_bias[i % H]);
    auto x_d = upload_rounded<bf16>(x), b_d = upload_rounded<bf16>(b), c_d = upload_rounded<bf16>(c);
    auto dy_d = upload_rounded<bf16>(dy);
    DeviceArray<float> dt_d(dt), a_d(a), workspace(ssd_bf16_workspace_floats(bs));

    const SsdInputs in{x.data(), H * P, b.data(), c.data(), N, dt_raw.data(), H, dt_bias.data(), a_log.data(),
                       d_skip.data()};
    SsdWorkspace want_ws;
    std::vector<float> want_y(rows * H * P), want_final(s.batch * H * N * P);
    SsdKernels::cpu().fwd(in, want_y.data(), want_final.data(), want_ws, s, 64);
    const Tensor want_states = want_ws.chunk_states.to(Device::cpu);

    auto states = poisoned<bf16>(ssd_bf16_chunk_state_elements(bs));
    for (const GlaScalarFwdVariant variant : {GlaScalarFwdVariant::split, GlaScalarFwdVariant::fused}) {
      INFO("forward variant " << gla_scalar_fwd_variant_name(variant));
      auto y = poisoned<bf16>(rows * H * P);
      auto final_state = poisoned<float>(s.batch * H * N * P);
      ssd_bf16_fwd_cuda(x_d.data(), dt_d.data(), a_d.data(), b_d.data(), c_d.data(), y.data(), states.data(),
                        final_state.data(), workspace.data(), bs, variant);
      check_close("y", download_floats(y), want_y);
      check_close("final state", final_state.download(), want_final);
      check_close("chunk states", download_floats(states),
                  std::vector<float>(want_states.data(), want_states.data() + want_states.numel()));
    }

    auto dx = poisoned<bf16>(rows * H * P), db = poisoned<bf16>(rows * N), dc = poisoned<bf16>(rows * N);
    auto ddt = poisoned<float>(rows * H);
    auto da = poisoned<float>(H);
    ssd_bf16_bwd_cuda(x_d.data(), dt_d.data(), a_d.data(), b_d.data(), c_d.data(), states.data(), dy_d.data(),
                      dx.data(), ddt.data(), da.data(), db.data(), dc.data(), workspace.data(), bs);

    std::vector<float> want_dx(rows * H * P), want_db(rows * N), want_dc(rows * N), want_ddt_raw(rows * H);
    std::vector<float> want_ddt_bias(H, 0.0f), want_da_log(H, 0.0f), want_dd(H, 0.0f);
    const SsdGrads grads{want_dx.data(), H * P, want_db.data(), want_dc.data(), N, want_ddt_raw.data(), H,
                         want_ddt_bias.data(), want_da_log.data(), want_dd.data()};
    SsdKernels::cpu().bwd(in, dy.data(), grads, want_ws, s, 64);
    check_close("dx", download_floats(dx), want_dx);
    check_close("dB", download_floats(db), want_db);
    check_close("dC", download_floats(dc), want_dc);
    // The CPU differentiates through softplus and A = -exp(A_log): d dt_raw = d dt sigmoid(.), d A_log = A dA.
    std::vector<float> got_ddt_raw = ddt.download(), got_da_log = da.download();
    for (int64_t i = 0; i < rows * H; ++i) got_ddt_raw[i] *= sigmoid(dt_raw[i] + dt_bias[i % H]);
    for (int64_t h = 0; h < H; ++h) got_da_log[h] *= a[h];
    check_close("d dt", got_ddt_raw, want_ddt_raw);
    check_close("dA", got_da_log, want_da_log);
  });
}

TEST_CASE("bf16 SSD names the shapes it cannot run", "[gpu][ssm][bf16]") {
  CHECK(ssd_bf16_unsupported({2, 100, 4, 64, 128, 2}).empty());
  CHECK_THAT(ssd_bf16_unsupported({2, 100, 4, 64, 128, 3}), Catch::Contains("groups=3"));
  CHECK_THAT(ssd_bf16_unsupported({2, 100, 4, 64, 16, 1}), Catch::Contains("key_dim=16"));
}
