// Mamba-2 style SSM: the causal conv and SSD scan kernels against plain loops in double (and their
// finite differences), then the "ssm" mixer, with and without its conv, through the generic
// conformance checks.
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "mixers/ssm/ssd.h"
#include "mixers/ssm/ssm_mixer.h"
#include "ops/causal_conv1d.h"
#include "ops/parallel.h"
#include "tests/finite_difference.h"
#include "tests/mixer_checks.h"
#include "tests/random_values.h"
#include "tests/seeded_cases.h"

using namespace seqbench;
using namespace seqbench::mixer_checks;

namespace {

using testing::for_each_seeded_case;
using testing::normal_values;
using testing::numeric_gradients;
using testing::uniform_values;
using testing::weighted_sum;
using testing::widen;
using testing::worst_mixed_error;

// out[t, c] = bias[c] + sum_j w[j, c] in[t - (K-1) + j, c] (zero before t = 0), plainly, in double.
std::vector<double> reference_conv(const std::vector<double>& in, const std::vector<double>& w,
                                   const std::vector<double>& bias, const Conv1dShape& s) {
  const int64_t L = s.seq_len, C = s.channels, K = s.kernel;
  std::vector<double> out(static_cast<size_t>(s.batch * L * C));
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t t = 0; t < L; ++t)
      for (int64_t c = 0; c < C; ++c) {
        double sum = bias[c];
        for (int64_t j = 0; j < K; ++j) {
          const int64_t src = t - (K - 1) + j;
          if (src >= 0) sum += w[j * C + c] * in[(b * L + src) * C + c];
        }
        out[(b * L + t) * C + c] = sum;
      }
  return out;
}

// Rows of `width` floats copied into rows `stride` apart (a column block of a wider tensor).
std::vector<float> spread_rows(const std::vector<float>& x, int64_t width, int64_t stride, int64_t offset) {
  const int64_t rows = static_cast<int64_t>(x.size()) / width;
  std::vector<float> out(static_cast<size_t>(rows * stride), 99.0f);
  for (int64_t r = 0; r < rows; ++r)
    std::copy(x.begin() + r * width, x.begin() + (r + 1) * width, out.begin() + r * stride + offset);
  return out;
}

struct SsdData {
  std::vector<float> x, b, c, dt_raw, dt_bias, a_log, d_skip;
};

SsdData random_ssd(const SsdShape& s, Rng& rng) {
  const int64_t rows = s.batch * s.seq_len;
  return {normal_values(rows * s.heads * s.head_dim, rng),
          normal_values(rows * s.state_dim, rng),
          normal_values(rows * s.state_dim, rng),
          normal_values(rows * s.heads, rng),
          uniform_values(s.heads, rng, -1.0, 1.0),
          uniform_values(s.heads, rng, -1.0, 1.5),
          normal_values(s.heads, rng)};
}

// h_t = exp(dt_t A) h_{t-1} + dt_t B_t x_t^T, y_t = C_t^T h_t + D x_t per head, written out in double.
std::vector<double> reference_ssd(const std::vector<std::vector<double>>& a, const SsdShape& s,
                                  std::vector<double>* final_state = nullptr) {
  const auto &x = a[0], &B = a[1], &C = a[2], &dt_raw = a[3], &dt_bias = a[4], &a_log = a[5], &D = a[6];
  const int64_t L = s.seq_len, H = s.heads, P = s.head_dim, N = s.state_dim;
  std::vector<double> y(static_cast<size_t>(s.batch * L * H * P));
  if (final_state) final_state->assign(static_cast<size_t>(s.batch * H * N * P), 0.0);
  for (int64_t bt = 0; bt < s.batch; ++bt)
    for (int64_t h = 0; h < H; ++h) {
      std::vector<double> S(static_cast<size_t>(N * P), 0.0);
      for (int64_t t = 0; t < L; ++t) {
        const int64_t r = bt * L + t;
        const double dt = std::log1p(std::exp(dt_raw[r * H + h] + dt_bias[h]));
        const double decay = std::exp(-dt * std::exp(a_log[h]));
        for (int64_t n = 0; n < N; ++n)
          for (int64_t p = 0; p < P; ++p)
            S[n * P + p] = decay * S[n * P + p] + dt * B[r * N + n] * x[(r * H + h) * P + p];
        for (int64_t p = 0; p < P; ++p) {
          double out = D[h] * x[(r * H + h) * P + p];
          for (int64_t n = 0; n < N; ++n) out += C[r * N + n] * S[n * P + p];
          y[(r * H + h) * P + p] = out;
        }
      }
      if (final_state) std::copy(S.begin(), S.end(), final_state->begin() + (bt * H + h) * N * P);
    }
  return y;
}

// The kernel's inputs as column blocks of one [rows, width] buffer, as the mixer passes them:
// x | B | C | dt_raw at offsets 1, 1 + HP, 1 + HP + N, 1 + HP + 2N (one padding column in front).
struct PackedSsd {
  std::vector<float> buffer;
  SsdInputs in;
};

PackedSsd pack(const SsdData& d, const SsdShape& s) {
  const int64_t HP = s.heads * s.head_dim, N = s.state_dim, width = 1 + HP + 2 * N + s.heads + 2;
  const int64_t rows = s.batch * s.seq_len;
  PackedSsd p;
  p.buffer.assign(static_cast<size_t>(rows * width), 99.0f);
  for (int64_t r = 0; r < rows; ++r) {
    float* row = p.buffer.data() + r * width;
    std::copy(d.x.begin() + r * HP, d.x.begin() + (r + 1) * HP, row + 1);
    std::copy(d.b.begin() + r * N, d.b.begin() + (r + 1) * N, row + 1 + HP);
    std::copy(d.c.begin() + r * N, d.c.begin() + (r + 1) * N, row + 1 + HP + N);
    std::copy(d.dt_raw.begin() + r * s.heads, d.dt_raw.begin() + (r + 1) * s.heads, row + 1 + HP + 2 * N);
  }
  const float* base = p.buffer.data();
  p.in = {base + 1, width, base + 1 + HP, base + 1 + HP + N, width, base + 1 + HP + 2 * N, width,
          d.dt_bias.data(), d.a_log.data(), d.d_skip.data()};
  return p;
}

std::string describe_case(const SsdShape& s, int64_t chunk) {
  return "B=" + std::to_string(s.batch) + " L=" + std::to_string(s.seq_len) + " H=" + std::to_string(s.heads) +
         " P=" + std::to_string(s.head_dim) + " N=" + std::to_string(s.state_dim) + " chunk=" + std::to_string(chunk);
}

}  // namespace

TEST_CASE("causal conv1d matches a plain loop, its decode steps and finite differences", "[ssm][kernel]") {
  uint64_t seed = 1;
  for (const Conv1dShape& s : std::vector<Conv1dShape>{{1, 1, 3, 4}, {2, 7, 5, 4}, {1, 9, 3, 1}, {2, 3, 2, 5}}) {
    INFO("B=" << s.batch << " L=" << s.seq_len << " C=" << s.channels << " K=" << s.kernel << " seed " << seed);
    Rng rng(seed++);
    const int64_t rows = s.batch * s.seq_len, C = s.channels, K = s.kernel, stride = C + 3;
    const auto in = normal_values(rows * C, rng), w = normal_values(K * C, rng), bias = normal_values(C, rng);
    const auto dout = normal_values(rows * C, rng);
    const auto strided = spread_rows(in, C, stride, 2);
    std::vector<float> out(static_cast<size_t>(rows * C));
    CausalConv1dKernels::cpu().fwd(strided.data() + 2, stride, w.data(), bias.data(), out.data(), s);
    CHECK(worst_mixed_error(out, reference_conv(widen(in), widen(w), widen(bias), s)) < 1e-6);

    // Decode from an empty state, then from the final state of a prefix.
    for (int64_t prefix : {int64_t{0}, s.seq_len / 2}) {
      std::vector<float> state(static_cast<size_t>(s.batch * (K - 1) * C), 0.0f);
      std::vector<float> out_t(static_cast<size_t>(s.batch * C));
      if (prefix > 0) {
        std::vector<float> head;
        for (int64_t b = 0; b < s.batch; ++b)
          head.insert(head.end(), in.begin() + b * s.seq_len * C, in.begin() + (b * s.seq_len + prefix) * C);
        CausalConv1dKernels::cpu().final_state(head.data(), C, state.data(), {s.batch, prefix, C, K});
      }
      for (int64_t t = prefix; t < s.seq_len; ++t) {
        std::vector<float> in_t;
        for (int64_t b = 0; b < s.batch; ++b)
          in_t.insert(in_t.end(), in.begin() + (b * s.seq_len + t) * C, in.begin() + (b * s.seq_len + t + 1) * C);
        CausalConv1dKernels::cpu().decode(in_t.data(), C, w.data(), bias.data(), state.data(), out_t.data(),
                                 {s.batch, 1, C, K});
        for (int64_t b = 0; b < s.batch; ++b)
          for (int64_t c = 0; c < C; ++c)
            CHECK(out_t[b * C + c] == Approx(out[(b * s.seq_len + t) * C + c]).margin(1e-6));
      }
    }

    std::vector<float> din(static_cast<size_t>(rows * stride), 7.0f), dw(w.size(), 0.5f), dbias(C, -0.5f);
    CausalConv1dKernels::cpu().bwd(strided.data() + 2, stride, w.data(), dout.data(), din.data() + 1, stride, dw.data(),
                          dbias.data(), s);
    std::vector<std::vector<double>> args{widen(in), widen(w), widen(bias)};
    const auto numeric = numeric_gradients(
        args, 1e-6, [&]() { return weighted_sum(reference_conv(args[0], args[1], args[2], s), dout); });
    std::vector<float> din_rows(in.size());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < C; ++c) din_rows[r * C + c] = din[r * stride + 1 + c];
    for (auto& e : dw) e -= 0.5f;  // dw and dbias accumulate onto what they held
    for (auto& e : dbias) e += 0.5f;
    CHECK(worst_mixed_error(din_rows, numeric[0]) < 1e-5);
    CHECK(worst_mixed_error(dw, numeric[1]) < 1e-5);
    CHECK(worst_mixed_error(dbias, numeric[2]) < 1e-5);
    CHECK(din[0] == 7.0f);  // columns outside the block are left alone
  }
}

TEST_CASE("SSD forward matches the plain selective-scan recurrence", "[ssm][kernel]") {
  const std::tuple kCases{std::vector<SsdShape>{{1, 1, 1, 3, 2}, {2, 9, 3, 2, 5}, {1, 70, 2, 4, 3}},
                          std::vector<int64_t>{1, 4, 64}};
  for_each_seeded_case(kCases, 10, describe_case, [](const SsdShape& s, int64_t chunk, Rng& rng) {
    const SsdData d = random_ssd(s, rng);
    const PackedSsd p = pack(d, s);
    SsdWorkspace ws;
    std::vector<float> y(d.x.size());
    std::vector<float> final_state(static_cast<size_t>(s.batch * s.heads * s.state_dim * s.head_dim));
    SsdKernels::cpu().fwd(p.in, y.data(), final_state.data(), ws, s, chunk);
    std::vector<double> expected_state;
    const auto expected = reference_ssd(
        {widen(d.x), widen(d.b), widen(d.c), widen(d.dt_raw), widen(d.dt_bias), widen(d.a_log), widen(d.d_skip)}, s,
        &expected_state);
    CHECK(worst_mixed_error(y, expected) < 2e-5);
    CHECK(worst_mixed_error(final_state, expected_state) < 2e-5);

    // Decode steps from an empty state reproduce the same outputs.
    SsdWorkspace step_ws;
    std::vector<float> state(final_state.size(), 0.0f), y_t(static_cast<size_t>(s.batch * s.heads * s.head_dim));
    const int64_t width = p.in.x_stride, HP = s.heads * s.head_dim;
    std::vector<float> rows_t(static_cast<size_t>(s.batch * width));
    for (int64_t t = 0; t < s.seq_len; ++t) {
      for (int64_t b = 0; b < s.batch; ++b)
        std::copy(p.buffer.begin() + (b * s.seq_len + t) * width, p.buffer.begin() + (b * s.seq_len + t + 1) * width,
                  rows_t.begin() + b * width);
      SsdInputs in_t = p.in;
      const int64_t shift = rows_t.data() - p.buffer.data();
      in_t.x += shift;
      in_t.b += shift;
      in_t.c += shift;
      in_t.dt_raw += shift;
      SsdKernels::cpu().decode(in_t, state.data(), y_t.data(), step_ws, s);
      for (int64_t b = 0; b < s.batch; ++b)
        for (int64_t i = 0; i < HP; ++i) CHECK(y_t[b * HP + i] == Approx(y[(b * s.seq_len + t) * HP + i]).margin(1e-5));
    }
  });
}

TEST_CASE("SSD backward matches finite differences of the recurrence", "[ssm][kernel]") {
  const std::tuple kCases{std::vector<SsdShape>{{1, 1, 1, 2, 3}, {2, 7, 2, 3, 2}, {1, 10, 3, 2, 2}},
                          std::vector<int64_t>{1, 3, 64}};
  for_each_seeded_case(kCases, 50, describe_case, [](const SsdShape& s, int64_t chunk, Rng& rng) {
    const SsdData d = random_ssd(s, rng);
    const auto dy = normal_values(static_cast<int64_t>(d.x.size()), rng);
    const PackedSsd p = pack(d, s);
    SsdWorkspace ws;
    std::vector<float> y(d.x.size());
    SsdKernels::cpu().fwd(p.in, y.data(), nullptr, ws, s, chunk);
    // Gradients into a packed buffer laid out like the inputs; parameter grads start non-zero.
    std::vector<float> dbuf(p.buffer.size(), 7.0f), ddt_bias(s.heads, 1.0f), da_log(s.heads, 1.0f),
        dd_skip(s.heads, 1.0f);
    const int64_t width = p.in.x_stride, HP = s.heads * s.head_dim, N = s.state_dim;
    SsdGrads g{dbuf.data() + 1,
               width,
               dbuf.data() + 1 + HP,
               dbuf.data() + 1 + HP + N,
               width,
               dbuf.data() + 1 + HP + 2 * N,
               width,
               ddt_bias.data(),
               da_log.data(),
               dd_skip.data()};
    SsdKernels::cpu().bwd(p.in, dy.data(), g, ws, s, chunk);

    std::vector<std::vector<double>> args{widen(d.x),       widen(d.b),     widen(d.c),     widen(d.dt_raw),
                                          widen(d.dt_bias), widen(d.a_log), widen(d.d_skip)};
    const auto numeric = numeric_gradients(args, 1e-6, [&]() { return weighted_sum(reference_ssd(args, s), dy); });
    const int64_t rows = s.batch * s.seq_len;
    auto column_block = [&](int64_t offset, int64_t cols) {
      std::vector<float> out;
      for (int64_t r = 0; r < rows; ++r)
        out.insert(out.end(), dbuf.begin() + r * width + offset, dbuf.begin() + r * width + offset + cols);
      return out;
    };
    for (auto* grad : {&ddt_bias, &da_log, &dd_skip})
      for (auto& e : *grad) e -= 1.0f;
    CHECK(worst_mixed_error(column_block(1, HP), numeric[0]) < 1e-4);
    CHECK(worst_mixed_error(column_block(1 + HP, N), numeric[1]) < 1e-4);
    CHECK(worst_mixed_error(column_block(1 + HP + N, N), numeric[2]) < 1e-4);
    CHECK(worst_mixed_error(column_block(1 + HP + 2 * N, s.heads), numeric[3]) < 1e-4);
    CHECK(worst_mixed_error(ddt_bias, numeric[4]) < 1e-4);
    CHECK(worst_mixed_error(da_log, numeric[5]) < 1e-4);
    CHECK(worst_mixed_error(dd_skip, numeric[6]) < 1e-4);
    CHECK(dbuf[0] == 7.0f);  // the padding column is left alone
  });
}

TEST_CASE("ssm mixer gradients match finite differences, with and without the conv and the output norm", "[ssm][mixer]") {
  check_mixer_gradients(make_spec("ssm", 8, 1, {{"head_dim", 4}}), 1, 1, 401);
  check_mixer_gradients(make_spec("ssm", 12, 3, {{"head_dim", 8}, {"d_state", 5}, {"chunk_size", 5}}), 2, 13, 402);
  check_mixer_gradients(make_spec("ssm", 7, 1, {{"head_dim", 7}, {"expand", 1}, {"conv_kernel", 0}}), 1, 11, 403);
  check_mixer_gradients(make_spec("ssm", 10, 2, {{"head_dim", 5}, {"conv_kernel", 2}, {"chunk_size", 3}}), 2, 9, 404);
  check_mixer_gradients(make_spec("ssm", 16, 2, {}, 3), 1, 65, 405);
  check_mixer_gradients(make_spec("ssm", 8, 1, {{"head_dim", 4}, {"norm", false}}), 2, 7, 406);
}

TEST_CASE("ssm mixer decode matches its parallel forward, with and without prefill", "[ssm][mixer]") {
  for (int seq_len : {1, 3, 7, 64, 65, 130})
    check_forward_matches_decode(make_spec("ssm", 16, 2), 2, seq_len, 500 + seq_len);
  for (int seq_len : {1, 5, 6, 13})
    check_forward_matches_decode(make_spec("ssm", 12, 3, {{"head_dim", 8}, {"d_state", 5}, {"chunk_size", 5}}), 1,
                                 seq_len, 520 + seq_len);
  check_forward_matches_decode(make_spec("ssm", 7, 1, {{"head_dim", 7}, {"conv_kernel", 0}}), 3, 17, 540);
  check_forward_matches_decode(make_spec("ssm", 7, 1, {{"head_dim", 7}, {"conv_kernel", 1}}), 2, 9, 541);
  check_forward_matches_decode(make_spec("ssm", 7, 1, {{"head_dim", 7}, {"conv_kernel", 6}}), 2, 11, 542);
  check_forward_matches_decode(make_spec("ssm", 16, 2, {{"norm", false}}), 2, 65, 543);
}

TEST_CASE("ssm mixer state is d_inner * d_state plus the conv's last inputs at every length", "[ssm][mixer]") {
  check_state_bytes_growth(make_spec("ssm", 24, 3), StateGrowth::constant);
  // d_model 64: d_inner 128, N 16; conv keeps 3 inputs of 128 + 32 channels.
  CHECK(make_mixer(make_spec("ssm", 64, 2))->state_bytes(4096) == (128u * 16 + 3 * 160) * 4);
  CHECK(make_mixer(make_spec("ssm", 64, 2, {{"conv_kernel", 0}}))->state_bytes(64) == 128u * 16 * 4);
  CHECK(make_mixer(make_spec("ssm", 64, 2, {{"d_state", 8}, {"expand", 1}}))->state_bytes(1) ==
        (64u * 8 + 3 * 80) * 4);
}

TEST_CASE("ssm mixer has d_inner / head_dim heads whatever n_heads says", "[ssm][mixer]") {
  for (int n_heads : {1, 2, 4}) {
    auto mixer = make_mixer(make_spec("ssm", 32, n_heads));
    CHECK(ssm_d_inner(*mixer) == 64);
    CHECK(ssm_heads(*mixer) == 4);
  }
  // in_proj, conv weight and bias, dt_bias, A_log, D, out_proj
  auto mixer = make_mixer(make_spec("ssm", 32, 1));
  const auto params = mixer->params();
  REQUIRE(params.size() == 7);
  CHECK(params[0]->value.shape() == Shape{2 * 64 + 2 * 16 + 4, 32});
  CHECK(params[1]->value.shape() == Shape{4, 64 + 2 * 16});
  CHECK(params[6]->value.shape() == Shape{32, 64});
  CHECK(make_mixer(make_spec("ssm", 32, 1, {{"conv_kernel", 0}}))->params().size() == 5);
}

TEST_CASE("ssm mixer is deterministic, accumulates gradients and checks its inputs", "[ssm][mixer]") {
  check_thread_count_independence(make_spec("ssm", 24, 3, {{"chunk_size", 16}}), 4, 67, 601);
  check_backward_accumulates(make_spec("ssm", 12, 3, {{"head_dim", 8}, {"chunk_size", 4}}), 2, 9, 602);
  check_initialisation_is_seeded(make_spec("ssm", 16, 2));
  check_rejects_bad_inputs(make_spec("ssm", 16, 2));
  check_rejects_bad_specs(make_spec("ssm", 16, 2));
}

TEST_CASE("ssm mixer rejects sizes that do not split into heads and malformed params by name", "[ssm][mixer]") {
  CHECK_THROWS_WITH(make_mixer(make_spec("ssm", 12, 3)),
                    Catch::Matchers::Contains("24") && Catch::Matchers::Contains("head_dim 16"));
  CHECK_THROWS_WITH(make_mixer(make_spec("ssm", 16, 2, {{"d_state", 0}})), Catch::Matchers::Contains("d_state"));
  CHECK_THROWS_WITH(make_mixer(make_spec("ssm", 16, 2, {{"conv_kernel", -1}})),
                    Catch::Matchers::Contains("conv_kernel"));
  CHECK_THROWS_WITH(make_mixer(make_spec("ssm", 16, 2, {{"expand", 1.5}})),
                    Catch::Matchers::Contains("expand") && Catch::Matchers::Contains("integer"));
  CHECK_THROWS_WITH(make_mixer(make_spec("ssm", 16, 2, {{"dstate", 8}})),
                    Catch::Matchers::Contains("dstate") && Catch::Matchers::Contains("d_state"));
}
