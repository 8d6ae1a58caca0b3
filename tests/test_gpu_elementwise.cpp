// The small per-element and per-row kernels of the mixers on the GPU (feature maps, log-sigmoid decay,
// SiLU / swish gate, causal depthwise conv) against their CPU kernels on fresh seeded inputs at odd sizes,
// plus their dispatchers: on Device::cpu they must give exactly the CPU kernels' results (runs everywhere).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "mixers/gla/log_sigmoid_decay_ops.h"
#include "ops/swish_gate_ops.h"
#include "mixers/linear/feature_maps_ops.h"
#include "ops/rng.h"
#include "ops/causal_conv1d_ops.h"

using namespace seqbench;

namespace {

const std::vector<FeatureMap> kAllMaps{FeatureMap::identity, FeatureMap::elu_plus_one, FeatureMap::relu,
                                       FeatureMap::taylor};

std::vector<float> normals(int64_t n, Rng& rng, double scale = 1.0) {
  std::vector<float> out(static_cast<size_t>(n));
  for (auto& x : out) x = static_cast<float>(rng.normal() * scale);
  return out;
}

}  // namespace

TEST_CASE("feature map dispatchers on the CPU give exactly the CPU kernels' results", "[dispatch][feature_maps]") {
  Rng rng(5);
  for (FeatureMap map : kAllMaps) {
    INFO(feature_map_name(map) << " seed=5");
    const int64_t rows = 37, d = 7, f = feature_map_width(map, d);
    const auto x = normals(rows * d, rng), dphi = normals(rows * f, rng);
    std::vector<float> got(rows * f), want(rows * f), got_dx(rows * d), want_dx(rows * d);
    feature_map_fwd(Device::cpu, map, x.data(), got.data(), rows, d);
    feature_map_fwd_cpu(map, x.data(), want.data(), rows, d);
    feature_map_bwd(Device::cpu, map, x.data(), dphi.data(), got_dx.data(), rows, d);
    feature_map_bwd_cpu(map, x.data(), dphi.data(), want_dx.data(), rows, d);
    CHECK(got == want);
    CHECK(got_dx == want_dx);
  }
}

TEST_CASE("decay, SiLU and swish gate dispatchers on the CPU give exactly the CPU kernels' results",
          "[dispatch][gla]") {
  Rng rng(6);
  const int64_t rows = 37, width = 33, n = rows * width, stride = 2 * width + 3;
  const auto z = normals(n, rng, 4.0), dz = normals(n, rng), a = normals(n, rng), gate = normals(rows * stride, rng);
  std::vector<float> got(n), want(n), got2(n), want2(n), got_g(rows * stride), want_g(rows * stride);
  log_sigmoid_decay_fwd(Device::cpu, z.data(), got.data(), n, 16.0f);
  log_sigmoid_decay_fwd_cpu(z.data(), want.data(), n, 16.0f);
  CHECK(got == want);
  log_sigmoid_decay_bwd(Device::cpu, z.data(), dz.data(), got.data(), n, 16.0f);
  log_sigmoid_decay_bwd_cpu(z.data(), dz.data(), want.data(), n, 16.0f);
  CHECK(got == want);
  silu_fwd(Device::cpu, z.data(), got.data(), n);
  silu_fwd_cpu(z.data(), want.data(), n);
  CHECK(got == want);
  silu_bwd(Device::cpu, z.data(), dz.data(), got.data(), n);
  silu_bwd_cpu(z.data(), dz.data(), want.data(), n);
  CHECK(got == want);
  swish_gate_fwd(Device::cpu, a.data(), gate.data() + 1, got.data(), rows, width, stride);
  swish_gate_fwd_cpu(a.data(), gate.data() + 1, want.data(), rows, width, stride);
  CHECK(got == want);
  swish_gate_bwd(Device::cpu, a.data(), gate.data() + 1, dz.data(), got2.data(), got_g.data(), rows, width, stride,
                 stride);
  swish_gate_bwd_cpu(a.data(), gate.data() + 1, dz.data(), want2.data(), want_g.data(), rows, width, stride, stride);
  CHECK(got2 == want2);
  CHECK(got_g == want_g);
}

TEST_CASE("causal conv dispatchers on the CPU give exactly the CPU kernels' results", "[dispatch][ssm]") {
  Rng rng(7);
  const Conv1dShape s{2, 37, 7, 4};
  const int64_t rows = s.batch * s.seq_len, C = s.channels, K = s.kernel, stride = C + 5;
  const auto in = normals(rows * stride, rng), w = normals(K * C, rng), bias = normals(C, rng);
  const auto dout = normals(rows * C, rng);
  std::vector<float> got(rows * C), want(rows * C);
  causal_conv1d_fwd(Device::cpu, in.data(), stride, w.data(), bias.data(), got.data(), s);
  causal_conv1d_fwd_cpu(in.data(), stride, w.data(), bias.data(), want.data(), s);
  CHECK(got == want);

  std::vector<float> got_din(rows * stride), want_din(rows * stride), got_dw(w), want_dw(w), got_db(bias),
      want_db(bias);
  causal_conv1d_bwd(Device::cpu, in.data(), stride, w.data(), dout.data(), got_din.data(), stride, got_dw.data(),
                    got_db.data(), s);
  causal_conv1d_bwd_cpu(in.data(), stride, w.data(), dout.data(), want_din.data(), stride, want_dw.data(),
                        want_db.data(), s);
  CHECK(got_din == want_din);
  CHECK(got_dw == want_dw);
  CHECK(got_db == want_db);

  std::vector<float> got_state(s.batch * (K - 1) * C), want_state(got_state.size());
  causal_conv1d_final_state(Device::cpu, in.data(), stride, got_state.data(), s);
  causal_conv1d_final_state(in.data(), stride, want_state.data(), s);
  CHECK(got_state == want_state);
  std::vector<float> got_t(s.batch * C), want_t(s.batch * C);
  causal_conv1d_decode(Device::cpu, in.data(), stride, w.data(), bias.data(), got_state.data(), got_t.data(), s);
  causal_conv1d_decode_cpu(in.data(), stride, w.data(), bias.data(), want_state.data(), want_t.data(), s);
  CHECK(got_t == want_t);
  CHECK(got_state == want_state);
}

#ifndef SEQBENCH_WITH_CUDA
TEST_CASE("elementwise dispatchers asked for the GPU in a build without CUDA throw naming the op", "[dispatch]") {
  std::vector<float> x(4, 1.0f), y(4);
  CHECK_THROWS_WITH(feature_map_fwd(Device::cuda, FeatureMap::relu, x.data(), y.data(), 2, 2),
                    Catch::Contains("feature_map_fwd") && Catch::Contains("no CUDA backend"));
  CHECK_THROWS_WITH(swish_gate_fwd(Device::cuda, x.data(), x.data(), y.data(), 2, 2, 2),
                    Catch::Contains("swish_gate_fwd"));
  CHECK_THROWS_WITH(
      causal_conv1d_decode(Device::cuda, x.data(), 2, x.data(), x.data(), y.data(), y.data(), Conv1dShape{1, 1, 2, 2}),
      Catch::Contains("causal_conv1d_decode"));
}

TEST_CASE("GPU elementwise kernels are skipped in a build without CUDA", "[gpu]") {
  WARN("no CUDA device: skipped (this build has no CUDA backend)");
}
#else
#include "mixers/gla/log_sigmoid_decay_cuda.cuh"
#include "ops/swish_gate_cuda.cuh"
#include "mixers/linear/feature_maps_cuda.cuh"
#include "ops/causal_conv1d_cuda.cuh"
#include "tests/gpu_kernel_checks.h"

using namespace seqbench::gpu_checks;

namespace {

constexpr double kTolerance = tolerance<float>();

// Rows of `width` floats `stride` apart, starting `offset` floats into a buffer: a column block of a wider
// projection, as the mixers hand their gates and conv inputs over.
struct RowBlock {
  int64_t rows, width, stride, offset;
  int64_t buffer_size() const { return rows == 0 ? offset : offset + (rows - 1) * stride + width; }
};

std::vector<float> gather(const std::vector<float>& buffer, const RowBlock& b) {
  std::vector<float> out;
  for (int64_t r = 0; r < b.rows; ++r)
    for (int64_t i = 0; i < b.width; ++i) out.push_back(buffer[b.offset + r * b.stride + i]);
  return out;
}

// Everything outside the block still holds the NaN it was poisoned with.
bool untouched_outside(const std::vector<float>& buffer, const RowBlock& b) {
  for (int64_t e = 0; e < static_cast<int64_t>(buffer.size()); ++e) {
    const int64_t rel = e - b.offset, r = rel / b.stride, i = rel % b.stride;
    const bool inside = rel >= 0 && r < b.rows && i < b.width;
    if (!inside && !std::isnan(buffer[e])) return false;
  }
  return true;
}

std::string describe(const Conv1dShape& s, int64_t in_stride) {
  std::ostringstream out;
  out << "B=" << s.batch << " L=" << s.seq_len << " C=" << s.channels << " K=" << s.kernel << " stride=" << in_stride;
  return out.str();
}

// A poisoned buffer of at least one float (a K = 1 conv has an empty state), read back at its true size.
std::vector<float> download_first(const DeviceArray<float>& device, int64_t n) {
  auto out = device.download();
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace

TEST_CASE("feature maps forward and backward on the GPU match the CPU kernels", "[gpu][feature_maps]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 101;
  for (FeatureMap map : kAllMaps)
    for (int64_t rows : {1, 2, 37, 129})
      for (int64_t d : {1, 7, 16, 33}) {
        INFO(feature_map_name(map) << " rows=" << rows << " d=" << d << " seed=" << seed);
        Rng rng(seed++);
        const int64_t f = feature_map_width(map, d);
        auto x = normal_values(rows * d, rng);
        x[0] = 0.0f;  // relu's subgradient at 0 and elu's branch point
        const auto dphi = normal_values(rows * f, rng);
        DeviceArray<float> x_d(x), dphi_d(dphi);
        auto phi_d = poisoned<float>(rows * f), dx_d = poisoned<float>(rows * d);
        feature_map_fwd_cuda(map, x_d.data(), phi_d.data(), rows, d);
        feature_map_bwd_cuda(map, x_d.data(), dphi_d.data(), dx_d.data(), rows, d);
        std::vector<float> phi(rows * f), dx(rows * d);
        feature_map_fwd_cpu(map, x.data(), phi.data(), rows, d);
        feature_map_bwd_cpu(map, x.data(), dphi.data(), dx.data(), rows, d);
        CHECK(relative_error(phi_d.download(), phi) < kTolerance);
        CHECK(relative_error(dx_d.download(), dx) < kTolerance);
      }
}

// The CPU computes e^x and log1p with its own polynomials (simd_math.h, relative error < 1e-6), the GPU with
// expf / log1pf (a few ulps): the two differ by about 1e-6 per element, never bit for bit, which the usual
// 1e-4 norm-wise bound covers with room to spare.
TEST_CASE("log-sigmoid decay and SiLU on the GPU match the CPU kernels", "[gpu][gla]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 201;
  for (int64_t n : {1, 7, 33, 257, 4099})
    for (float tau : {1.0f, 16.0f}) {
      INFO("n=" << n << " tau=" << tau << " seed=" << seed);
      Rng rng(seed++);
      auto z = normal_values(n, rng, 4.0);
      z[0] = -30.0f;  // deep in both tails: log_sigmoid ~ z there, and ~ -e^{-z} at the other end
      z[n - 1] = n > 1 ? 30.0f : z[n - 1];
      const auto dy = normal_values(n, rng);
      DeviceArray<float> z_d(z), dy_d(dy);
      auto g_d = poisoned<float>(n), dz_d = poisoned<float>(n), y_d = poisoned<float>(n), dx_d = poisoned<float>(n);
      log_sigmoid_decay_fwd_cuda(z_d.data(), g_d.data(), n, tau);
      log_sigmoid_decay_bwd_cuda(z_d.data(), dy_d.data(), dz_d.data(), n, tau);
      silu_fwd_cuda(z_d.data(), y_d.data(), n);
      silu_bwd_cuda(z_d.data(), dy_d.data(), dx_d.data(), n);
      std::vector<float> g(n), dz(n), y(n), dx(n);
      log_sigmoid_decay_fwd_cpu(z.data(), g.data(), n, tau);
      log_sigmoid_decay_bwd_cpu(z.data(), dy.data(), dz.data(), n, tau);
      silu_fwd_cpu(z.data(), y.data(), n);
      silu_bwd_cpu(z.data(), dy.data(), dx.data(), n);
      CHECK(relative_error(g_d.download(), g) < kTolerance);
      CHECK(relative_error(dz_d.download(), dz) < kTolerance);
      CHECK(relative_error(y_d.download(), y) < kTolerance);
      CHECK(relative_error(dx_d.download(), dx) < kTolerance);
    }
}

// Same tolerance reasoning as above: the sigmoid's exponential differs by ulps between the devices.
TEST_CASE("the swish gate on the GPU matches the CPU kernels with gate rows wider than the gate", "[gpu][gla]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 301;
  for (int64_t rows : {1, 2, 37})
    for (int64_t width : {1, 7, 33})
      for (bool strided : {false, true}) {
        const RowBlock gate{rows, width, strided ? 2 * width + 3 : width, strided ? 2 : 0};
        const RowBlock dgate{rows, width, strided ? width + 5 : width, strided ? 1 : 0};
        INFO("rows=" << rows << " width=" << width << " gate_stride=" << gate.stride << " dgate_stride=" << dgate.stride
                     << " seed=" << seed);
        Rng rng(seed++);
        const int64_t n = rows * width;
        const auto a = normal_values(n, rng), g = normal_values(gate.buffer_size(), rng, 3.0);
        const auto dout = normal_values(n, rng);
        DeviceArray<float> a_d(a), g_d(g), dout_d(dout);
        auto out_d = poisoned<float>(n), da_d = poisoned<float>(n), dg_d = poisoned<float>(dgate.buffer_size());
        swish_gate_fwd_cuda(a_d.data(), g_d.data() + gate.offset, out_d.data(), rows, width, gate.stride);
        swish_gate_bwd_cuda(a_d.data(), g_d.data() + gate.offset, dout_d.data(), da_d.data(),
                            dg_d.data() + dgate.offset, rows, width, gate.stride, dgate.stride);
        std::vector<float> out(n), da(n), dg(dgate.buffer_size());
        swish_gate_fwd_cpu(a.data(), g.data() + gate.offset, out.data(), rows, width, gate.stride);
        swish_gate_bwd_cpu(a.data(), g.data() + gate.offset, dout.data(), da.data(), dg.data() + dgate.offset, rows,
                           width, gate.stride, dgate.stride);
        CHECK(relative_error(out_d.download(), out) < kTolerance);
        CHECK(relative_error(da_d.download(), da) < kTolerance);
        const auto dg_got = dg_d.download();
        CHECK(relative_error(gather(dg_got, dgate), gather(dg, dgate)) < kTolerance);
        CHECK(untouched_outside(dg_got, dgate));
      }
}

namespace {

// Batch 1 and 2, length 1 (only the last tap sees data), lengths around the 64-row gradient chunks, kernel
// sizes 1 (no history), 3 and 4, with contiguous rows and rows wider than the channel count.
std::vector<Conv1dShape> conv_shapes() {
  std::vector<Conv1dShape> shapes;
  for (int64_t batch : {1, 2})
    for (int64_t len : {1, 2, 37, 130})
      for (int64_t channels : {1, 7, 33})
        for (int64_t kernel : {1, 3, 4}) shapes.push_back({batch, len, channels, kernel});
  return shapes;
}

}  // namespace

TEST_CASE("causal conv forward and backward on the GPU match the CPU kernels, strided rows included", "[gpu][ssm]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 401;
  auto shapes = conv_shapes();
  shapes.push_back({2, 40000, 7, 4});  // 80000 rows: more than 1024 chunks of 64, so the chunks grow
  for (const Conv1dShape& s : shapes)
    for (bool strided : {false, true}) {
      const int64_t rows = s.batch * s.seq_len, C = s.channels, K = s.kernel;
      const RowBlock in{rows, C, strided ? 2 * C + 3 : C, strided ? C + 1 : 0};
      const RowBlock din{rows, C, strided ? C + 4 : C, strided ? 2 : 0};
      INFO(describe(s, in.stride) << " din_stride=" << din.stride << " seed=" << seed);
      Rng rng(seed++);
      const auto x = normal_values(in.buffer_size(), rng), w = normal_values(K * C, rng);
      const auto bias = normal_values(C, rng), dout = normal_values(rows * C, rng);
      const auto dw0 = normal_values(K * C, rng), dbias0 = normal_values(C, rng);  // gradients accumulate onto these
      DeviceArray<float> x_d(x), w_d(w), bias_d(bias), dout_d(dout);
      auto out_d = poisoned<float>(rows * C), din_d = poisoned<float>(din.buffer_size());
      DeviceArray<float> dw_d(dw0), dbias_d(dbias0), dw_again(dw0), dbias_again(dbias0);
      causal_conv1d_fwd_cuda(x_d.data() + in.offset, in.stride, w_d.data(), bias_d.data(), out_d.data(), s);
      causal_conv1d_bwd_cuda(x_d.data() + in.offset, in.stride, w_d.data(), dout_d.data(), din_d.data() + din.offset,
                             din.stride, dw_d.data(), dbias_d.data(), s);
      causal_conv1d_bwd_cuda(x_d.data() + in.offset, in.stride, w_d.data(), dout_d.data(), din_d.data() + din.offset,
                             din.stride, dw_again.data(), dbias_again.data(), s);

      std::vector<float> out(rows * C), din_want(din.buffer_size()), dw(dw0), dbias(dbias0);
      causal_conv1d_fwd_cpu(x.data() + in.offset, in.stride, w.data(), bias.data(), out.data(), s);
      causal_conv1d_bwd_cpu(x.data() + in.offset, in.stride, w.data(), dout.data(), din_want.data() + din.offset,
                            din.stride, dw.data(), dbias.data(), s);
      CHECK(relative_error(out_d.download(), out) < kTolerance);
      const auto din_got = din_d.download();
      CHECK(relative_error(gather(din_got, din), gather(din_want, din)) < kTolerance);
      CHECK(untouched_outside(din_got, din));
      CHECK(relative_error(dw_d.download(), dw) < kTolerance);
      CHECK(relative_error(dbias_d.download(), dbias) < kTolerance);
      // A fixed-order reduction: the same inputs give the same bits on every run.
      CHECK(dw_again.download() == dw_d.download());
      CHECK(dbias_again.download() == dbias_d.download());
    }
}

TEST_CASE("causal conv final state and decode steps on the GPU match the CPU kernels", "[gpu][ssm]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 601;
  for (int64_t batch : {1, 2})
    for (int64_t channels : {1, 7, 33})
      for (int64_t kernel : {1, 3, 4})
        for (int64_t prefix : {1, 2, 5})  // shorter than, equal to and longer than the K-1 state slots
          for (bool strided : {false, true}) {
            const Conv1dShape s{batch, prefix, channels, kernel};
            const int64_t C = channels, state_n = batch * (kernel - 1) * C;
            const int64_t stride = strided ? 2 * C + 3 : C, offset = strided ? 1 : 0;
            INFO(describe(s, stride) << " seed=" << seed);
            Rng rng(seed++);
            const RowBlock history{batch * prefix, C, stride, offset}, token{batch, C, stride, offset};
            const auto x = normal_values(history.buffer_size(), rng), w = normal_values(kernel * C, rng);
            const auto bias = normal_values(C, rng);
            DeviceArray<float> x_d(x), w_d(w), bias_d(bias);
            auto state_d = poisoned<float>(std::max<int64_t>(1, state_n));
            std::vector<float> state(state_n);
            causal_conv1d_final_state_cuda(x_d.data() + offset, stride, state_d.data(), s);
            causal_conv1d_final_state(x.data() + offset, stride, state.data(), s);
            CHECK(download_first(state_d, state_n) == state);  // a copy: bit for bit

            for (int step = 0; step < 3; ++step) {
              INFO("decode step " << step);
              const auto x_t = normal_values(token.buffer_size(), rng);
              DeviceArray<float> x_t_d(x_t);
              auto out_d = poisoned<float>(batch * C);
              std::vector<float> out(batch * C);
              causal_conv1d_decode_cuda(x_t_d.data() + offset, stride, w_d.data(), bias_d.data(), state_d.data(),
                                        out_d.data(), s);
              causal_conv1d_decode_cpu(x_t.data() + offset, stride, w.data(), bias.data(), state.data(), out.data(), s);
              CHECK(relative_error(out_d.download(), out) < kTolerance);
              CHECK(download_first(state_d, state_n) == state);
            }
          }
}

TEST_CASE("elementwise dispatchers on Device::cuda run the GPU kernels", "[gpu][dispatch]") {
  SKIP_WITHOUT_GPU();
  Rng rng(701);
  const int64_t rows = 5, d = 7, f = feature_map_width(FeatureMap::taylor, d), n = rows * d;
  const auto x = normal_values(n, rng);
  DeviceArray<float> x_d(x);
  auto phi_d = poisoned<float>(rows * f), y_d = poisoned<float>(n);
  std::vector<float> phi(rows * f), y(n);
  feature_map_fwd(Device::cuda, FeatureMap::taylor, x_d.data(), phi_d.data(), rows, d);
  feature_map_fwd_cpu(FeatureMap::taylor, x.data(), phi.data(), rows, d);
  CHECK(relative_error(phi_d.download(), phi) < kTolerance);
  log_sigmoid_decay_fwd(Device::cuda, x_d.data(), y_d.data(), n, 16.0f);
  log_sigmoid_decay_fwd_cpu(x.data(), y.data(), n, 16.0f);
  CHECK(relative_error(y_d.download(), y) < kTolerance);
  swish_gate_fwd(Device::cuda, x_d.data(), x_d.data(), y_d.data(), rows, d, d);
  swish_gate_fwd_cpu(x.data(), x.data(), y.data(), rows, d, d);
  CHECK(relative_error(y_d.download(), y) < kTolerance);

  const Conv1dShape s{1, rows, d, 3};
  const auto w = normal_values(3 * d, rng), bias = normal_values(d, rng);
  DeviceArray<float> w_d(w), bias_d(bias);
  causal_conv1d_fwd(Device::cuda, x_d.data(), d, w_d.data(), bias_d.data(), y_d.data(), s);
  causal_conv1d_fwd_cpu(x.data(), d, w.data(), bias.data(), y.data(), s);
  CHECK(relative_error(y_d.download(), y) < kTolerance);
}

#endif  // SEQBENCH_WITH_CUDA
