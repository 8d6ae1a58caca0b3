// Mamba-2's SSD in bf16 on the GLA tensor-core kernels (ssd_bf16.cuh) against the fp32 CPU SSD kernels
// (ssd_cpu.cpp, one B/C group, no D term) on bf16-rounded inputs at odd lengths: y, chunk states, final
// state and every gradient, norm-wise relative error within the bf16 tolerance, for both forwards; dA, a sum
// over the sequence that cancels, within that tolerance of the size of its terms.
#include <catch2/catch.hpp>
#include <cmath>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "mixers/gla/gla.h"
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
// 900 at batch * heads 2, whose few walks leave the fused forward walking 8 segments of the sequence
// (gla_scalar_fwd_segments), the last one chunk of 4 tokens, dt scaling their start states; there dA sums
// terms 32 times its size (da_term_sizes).
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

// |A_h| sum_t |dt_t dg_t| per head, dg = dL/d(dt A) from the fp32 CPU GLA on the SSD's own mapping (q = C,
// k = B, v = dt x, log decay dt A): the size of the terms whose sum is dA_log = A sum_t dt_t dg_t. The sum
// cancels (at L 900 it is 1/32 of its terms' size for one head), and each dg_t comes from bf16 states, so the
// GPU's dA is held to the bf16 tolerance of its terms: every dg_t within it puts dA within it of this.
std::vector<float> da_term_sizes(const SsdShape& s, const std::vector<float>& x, const std::vector<float>& b,
                                 const std::vector<float>& c, const std::vector<float>& dy,
                                 const std::vector<float>& dt, const std::vector<float>& a) {
  const int64_t rows = s.batch * s.seq_len, H = s.heads, P = s.head_dim, N = s.state_dim;
  std::vector<float> q(rows * H * N), k(rows * H * N), v(rows * H * P), g(rows * H);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t h = 0; h < H; ++h) {
      g[r * H + h] = dt[r * H + h] * a[h];
      for (int64_t n = 0; n < N; ++n) q[(r * H + h) * N + n] = c[r * N + n], k[(r * H + h) * N + n] = b[r * N + n];
      for (int64_t p = 0; p < P; ++p) v[(r * H + h) * P + p] = dt[r * H + h] * x[(r * H + h) * P + p];
    }
  GlaShape gs;
  gs.batch = s.batch, gs.seq_len = s.seq_len, gs.heads = H, gs.key_dim = N, gs.value_dim = P;
  gs.channel_decay = false;
  const GlaOptions o{64, 1.0f};
  std::vector<float> out(v.size()), states(s.batch * H * ((s.seq_len + 63) / 64) * N * P);
  GlaKernels::cpu().fwd(q.data(), k.data(), v.data(), g.data(), out.data(), states.data(), nullptr, gs, o);
  std::vector<float> dq(q.size()), dk(k.size()), dv(v.size()), dg(g.size());
  GlaKernels::cpu().bwd(q.data(), k.data(), v.data(), g.data(), states.data(), dy.data(), dq.data(), dk.data(),
                        dv.data(), dg.data(), gs, o);
  std::vector<float> sizes(H, 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t h = 0; h < H; ++h) sizes[h] += std::fabs(a[h] * dt[r * H + h] * dg[r * H + h]);
  return sizes;
}

double norm(const std::vector<float>& values) {
  double sum = 0.0;
  for (float v : values) sum += static_cast<double>(v) * v;
  return std::sqrt(sum);
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
    std::vector<float> da_error(H);
    for (int64_t h = 0; h < H; ++h) da_error[h] = got_da_log[h] - want_da_log[h];
    const double term_size = norm(da_term_sizes(s, x, b, c, dy, dt, a));
    INFO("dA: error " << norm(da_error) << " (relative " << norm(da_error) / norm(want_da_log) << "), terms' size "
                      << term_size);
    CHECK(norm(da_error) <= tolerance<bf16>() * term_size);
  });
}

TEST_CASE("bf16 SSD names the shapes it cannot run", "[gpu][ssm][bf16]") {
  CHECK(ssd_bf16_unsupported({2, 100, 4, 64, 128, 2}).empty());
  CHECK_THAT(ssd_bf16_unsupported({2, 100, 4, 64, 128, 3}), Catch::Contains("groups=3"));
  CHECK_THAT(ssd_bf16_unsupported({2, 100, 4, 64, 16, 1}), Catch::Contains("key_dim=16"));
}
