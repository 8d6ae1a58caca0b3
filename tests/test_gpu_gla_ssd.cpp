// Gated linear attention and Mamba-2's SSD: the CUDA kernels against the CPU kernels on fresh seeded
// inputs at odd sizes (forward with chunk states and final state, backward with the decay gradient,
// decode), fp32, norm-wise relative error 1e-4; and the dispatchers on the CPU against the CPU kernels.
// GPU cases skip themselves (with a warning) without a GPU or in builds without CUDA.
#include <catch2/catch.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mixers/gla/gla_ops.h"
#include "ops/rng.h"
#include "mixers/ssm/ssd_ops.h"

using namespace seqbench;

namespace {

std::vector<float> normal_floats(int64_t n, Rng& rng) {
  std::vector<float> out(static_cast<size_t>(n));
  for (auto& x : out) x = static_cast<float>(rng.normal());
  return out;
}

std::vector<float> uniform_floats(int64_t n, Rng& rng, double lo, double hi) {
  std::vector<float> out(static_cast<size_t>(n));
  for (auto& x : out) x = static_cast<float>(rng.uniform(lo, hi));
  return out;
}

int64_t qk_count(const GlaShape& s) { return s.batch * s.seq_len * s.heads * s.key_dim; }
int64_t v_count(const GlaShape& s) { return s.batch * s.seq_len * s.heads * s.value_dim; }
int64_t g_count(const GlaShape& s) { return s.batch * s.seq_len * s.heads * s.decay_width(); }
int64_t state_count(const GlaShape& s) { return s.batch * s.heads * s.key_dim * s.value_dim; }
int64_t chunk_state_count(const GlaShape& s, const GlaOptions& o) {
  return state_count(s) * gla_num_chunks(s.seq_len, o.chunk_size);
}

// Log decays uniform in [min_log_decay, 0].
struct GlaData {
  std::vector<float> q, k, v, g;
};

GlaData random_gla(const GlaShape& s, Rng& rng, double min_log_decay) {
  return {normal_floats(qk_count(s), rng), normal_floats(qk_count(s), rng), normal_floats(v_count(s), rng),
          uniform_floats(g_count(s), rng, min_log_decay, 0.0)};
}

std::string describe(const GlaShape& s, int64_t chunk) {
  std::ostringstream out;
  out << "B=" << s.batch << " L=" << s.seq_len << " H=" << s.heads << " K=" << s.key_dim << " V=" << s.value_dim
      << (s.channel_decay ? " channel" : " scalar") << " decay, chunk " << chunk;
  return out.str();
}

std::string describe(const SsdShape& s, int64_t chunk) {
  std::ostringstream out;
  out << "B=" << s.batch << " L=" << s.seq_len << " H=" << s.heads << " P=" << s.head_dim << " N=" << s.state_dim
      << ", chunk " << chunk;
  return out.str();
}

// SSD rows packed as a wider projection would hold them: [1 spare column | x | B | C | dt_raw]; the
// parameters as [dt_bias | A_log | D], each `heads` long.
int64_t packed_width(const SsdShape& s) { return 1 + s.heads * s.head_dim + 2 * s.state_dim + s.heads; }

SsdInputs packed_inputs(const float* rows, const float* params, const SsdShape& s) {
  const int64_t width = packed_width(s), x_width = s.heads * s.head_dim;
  SsdInputs in;
  in.x = rows + 1;
  in.x_stride = width;
  in.b = in.x + x_width;
  in.c = in.b + s.state_dim;
  in.bc_stride = width;
  in.dt_raw = in.c + s.state_dim;
  in.dt_stride = width;
  in.dt_bias = params;
  in.a_log = params + s.heads;
  in.d_skip = params + 2 * s.heads;
  return in;
}

SsdGrads packed_grads(float* rows, float* params, const SsdShape& s) {
  const int64_t width = packed_width(s), x_width = s.heads * s.head_dim;
  SsdGrads g;
  g.dx = rows + 1;
  g.dx_stride = width;
  g.db = g.dx + x_width;
  g.dc = g.db + s.state_dim;
  g.dbc_stride = width;
  g.ddt_raw = g.dc + s.state_dim;
  g.ddt_stride = width;
  g.ddt_bias = params;
  g.da_log = params + s.heads;
  g.dd_skip = params + 2 * s.heads;
  return g;
}

// Rows of `rows_count` packed rows; dt_bias in [-3, -1] and A_log in [0, 1.5] give log decays of
// roughly -0.05 to -0.5 per step, as Mamba-2's initialisation does.
struct SsdData {
  std::vector<float> rows, params;
};

SsdData random_ssd(const SsdShape& s, int64_t rows_count, Rng& rng) {
  SsdData d{normal_floats(rows_count * packed_width(s), rng), {}};
  for (const auto& [lo, hi] : {std::pair{-3.0, -1.0}, std::pair{0.0, 1.5}, std::pair{0.5, 1.5}})
    for (float x : uniform_floats(s.heads, rng, lo, hi)) d.params.push_back(x);
  return d;
}

}  // namespace

TEST_CASE("the GLA dispatchers on the CPU give exactly the CPU kernels' results", "[gla][dispatch]") {
  for (bool channel : {true, false}) {
    const GlaShape s{2, 13, 3, 5, 7, channel};
    const GlaOptions o{4, 0.6f};
    INFO(describe(s, o.chunk_size) << " seed=7");
    Rng rng(7);
    const GlaData in = random_gla(s, rng, -2.0);
    std::vector<float> out(v_count(s)), states(chunk_state_count(s, o)), final_state(state_count(s));
    std::vector<float> want_out = out, want_states = states, want_final = final_state;
    gla_fwd(Device::cpu, in.q.data(), in.k.data(), in.v.data(), in.g.data(), out.data(), states.data(),
            final_state.data(), s, o);
    gla_fwd_cpu(in.q.data(), in.k.data(), in.v.data(), in.g.data(), want_out.data(), want_states.data(),
                want_final.data(), s, o);
    CHECK(out == want_out);
    CHECK(states == want_states);
    CHECK(final_state == want_final);

    const std::vector<float> dout = normal_floats(v_count(s), rng);
    std::vector<float> dq(qk_count(s)), dk(qk_count(s)), dv(v_count(s)), dg(g_count(s));
    std::vector<float> want_dq = dq, want_dk = dk, want_dv = dv, want_dg = dg;
    gla_bwd(Device::cpu, in.q.data(), in.k.data(), in.v.data(), in.g.data(), states.data(), dout.data(), dq.data(),
            dk.data(), dv.data(), dg.data(), s, o);
    gla_bwd_cpu(in.q.data(), in.k.data(), in.v.data(), in.g.data(), states.data(), dout.data(), want_dq.data(),
                want_dk.data(), want_dv.data(), want_dg.data(), s, o);
    CHECK(dq == want_dq);
    CHECK(dk == want_dk);
    CHECK(dv == want_dv);
    CHECK(dg == want_dg);

    const int64_t pairs = s.batch * s.heads;
    std::vector<float> out_t(pairs * s.value_dim), want_out_t = out_t, want_state = final_state;
    gla_decode(Device::cpu, in.q.data(), in.k.data(), in.v.data(), in.g.data(), final_state.data(), out_t.data(), s, o);
    gla_decode_cpu(in.q.data(), in.k.data(), in.v.data(), in.g.data(), want_state.data(), want_out_t.data(), s, o);
    CHECK(out_t == want_out_t);
    CHECK(final_state == want_state);
  }
}

TEST_CASE("the SSD dispatchers on the CPU give exactly the CPU kernels' results", "[ssm][dispatch]") {
  const SsdShape s{2, 11, 3, 4, 5};
  const int64_t chunk = 4, rows = s.batch * s.seq_len, y_count = rows * s.heads * s.head_dim;
  INFO(describe(s, chunk) << " seed=8");
  Rng rng(8);
  const SsdData d = random_ssd(s, rows, rng);
  const SsdInputs in = packed_inputs(d.rows.data(), d.params.data(), s);
  SsdWorkspace ws, want_ws;
  std::vector<float> y(y_count), final_state(s.batch * s.heads * s.state_dim * s.head_dim);
  std::vector<float> want_y = y, want_final = final_state;
  ssd_fwd(Device::cpu, in, y.data(), final_state.data(), ws, s, chunk);
  ssd_fwd_cpu(in, want_y.data(), want_final.data(), want_ws, s, chunk);
  CHECK(y == want_y);
  CHECK(final_state == want_final);

  const std::vector<float> dy = normal_floats(y_count, rng);
  std::vector<float> drows(d.rows.size(), 7.0f), dparams(d.params.size(), 1.0f);
  std::vector<float> want_drows = drows, want_dparams = dparams;
  ssd_bwd(Device::cpu, in, dy.data(), packed_grads(drows.data(), dparams.data(), s), ws, s, chunk);
  ssd_bwd_cpu(in, dy.data(), packed_grads(want_drows.data(), want_dparams.data(), s), want_ws, s, chunk);
  CHECK(drows == want_drows);
  CHECK(dparams == want_dparams);

  std::vector<float> y_t(s.batch * s.heads * s.head_dim), want_y_t = y_t, want_state = final_state;
  ssd_decode(Device::cpu, in, final_state.data(), y_t.data(), ws, s);
  ssd_decode_cpu(in, want_state.data(), want_y_t.data(), want_ws, s);
  CHECK(y_t == want_y_t);
  CHECK(final_state == want_state);
}

#ifndef SEQBENCH_WITH_CUDA
TEST_CASE("the GLA and SSD dispatchers refuse the GPU in a build without CUDA", "[gla][ssm][dispatch]") {
  const GlaShape s{1, 1, 1, 1, 1, true};
  CHECK_THROWS_WITH(gla_decode(Device::cuda, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, s, {}),
                    Catch::Contains("gla_decode") && Catch::Contains("no CUDA backend"));
  SsdWorkspace ws;
  CHECK_THROWS_WITH(ssd_fwd(Device::cuda, {}, nullptr, nullptr, ws, {1, 1, 1, 1, 1}, 4),
                    Catch::Contains("ssd_fwd") && Catch::Contains("no CUDA backend"));
}

TEST_CASE("GPU GLA and SSD kernels are skipped in a build without CUDA", "[gpu]") {
  WARN("no CUDA device: skipped (this build has no CUDA backend)");
}
#else
#include "mixers/gla/gla_cuda.cuh"
#include "mixers/ssm/ssd_cuda.cuh"
#include "tests/gpu_kernel_checks.h"

using namespace seqbench::gpu_checks;

namespace {

constexpr double kTolerance = 1e-4;  // fp32 on both sides: only the summation order differs

// Length 1, primes, lengths that cut 8-step rounds and 5- and 64-token chunks unevenly; key_dim on
// both sides of each register-tile width (32, 64, 128) up to the limit 256; value_dim over one and
// several 32-column tiles.
const std::vector<GlaShape> kGlaShapes = {
    {1, 1, 1, 1, 1, true},     {2, 37, 3, 7, 33, true},  {1, 70, 2, 16, 16, true},  {2, 23, 1, 33, 7, true},
    {1, 131, 2, 20, 40, true}, {1, 19, 2, 130, 5, true}, {1, 11, 1, 256, 65, true},
};

std::vector<float> tensor_values(const Tensor& t) {
  const Tensor host = t.to(Device::cpu);
  return std::vector<float>(host.data(), host.data() + host.numel());
}

}  // namespace

TEST_CASE("GLA forward on the GPU matches the CPU kernel, chunk states and final state included", "[gpu][gla]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 100;
  for (GlaShape s : kGlaShapes)
    for (bool channel : {true, false})
      for (int64_t chunk : {1, 5, 64}) {
        s.channel_decay = channel;
        const GlaOptions o{chunk, 0.7f};
        INFO(describe(s, chunk) << " seed=" << seed);
        Rng rng(seed++);
        GlaData in = random_gla(s, rng, -2.0);
        auto q = upload_rounded<float>(in.q), k = upload_rounded<float>(in.k), v = upload_rounded<float>(in.v);
        auto g = upload_rounded<float>(in.g);
        auto out = poisoned<float>(v_count(s)), states = poisoned<float>(chunk_state_count(s, o));
        auto final_state = poisoned<float>(state_count(s));
        gla_fwd_cuda(q.data(), k.data(), v.data(), g.data(), out.data(), states.data(), final_state.data(), s, o);

        std::vector<float> want_out(v_count(s)), want_states(chunk_state_count(s, o)), want_final(state_count(s));
        gla_fwd_cpu(in.q.data(), in.k.data(), in.v.data(), in.g.data(), want_out.data(), want_states.data(),
                    want_final.data(), s, o);
        CHECK(relative_error(out.download(), want_out) < kTolerance);
        CHECK(relative_error(states.download(), want_states) < kTolerance);
        CHECK(relative_error(final_state.download(), want_final) < kTolerance);
      }
}

TEST_CASE("GLA backward on the GPU matches the CPU kernel, decay gradient included", "[gpu][gla]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 300;
  for (GlaShape s : kGlaShapes)
    for (bool channel : {true, false})
      for (int64_t chunk : {1, 5, 64}) {
        s.channel_decay = channel;
        const GlaOptions o{chunk, 0.7f};
        INFO(describe(s, chunk) << " seed=" << seed);
        Rng rng(seed++);
        GlaData in = random_gla(s, rng, -2.0);
        std::vector<float> dout = normal_floats(v_count(s), rng);
        // Both sides differentiate from the same saved chunk states.
        std::vector<float> out(v_count(s)), states(chunk_state_count(s, o));
        gla_fwd_cpu(in.q.data(), in.k.data(), in.v.data(), in.g.data(), out.data(), states.data(), nullptr, s, o);
        auto q = upload_rounded<float>(in.q), k = upload_rounded<float>(in.k), v = upload_rounded<float>(in.v);
        auto g = upload_rounded<float>(in.g), states_d = upload_rounded<float>(states);
        auto dout_d = upload_rounded<float>(dout);
        auto dq = poisoned<float>(qk_count(s)), dk = poisoned<float>(qk_count(s)), dv = poisoned<float>(v_count(s));
        auto dg = poisoned<float>(g_count(s));
        gla_bwd_cuda(q.data(), k.data(), v.data(), g.data(), states_d.data(), dout_d.data(), dq.data(), dk.data(),
                     dv.data(), dg.data(), s, o);

        std::vector<float> want_dq(qk_count(s)), want_dk(qk_count(s)), want_dv(v_count(s)), want_dg(g_count(s));
        gla_bwd_cpu(in.q.data(), in.k.data(), in.v.data(), in.g.data(), states.data(), dout.data(), want_dq.data(),
                    want_dk.data(), want_dv.data(), want_dg.data(), s, o);
        CHECK(relative_error(dq.download(), want_dq) < kTolerance);
        CHECK(relative_error(dk.download(), want_dk) < kTolerance);
        CHECK(relative_error(dv.download(), want_dv) < kTolerance);
        CHECK(relative_error(dg.download(), want_dg) < kTolerance);

        if (chunk == 5) {  // without a decay gradient the other gradients are the same
          auto dq_only = poisoned<float>(qk_count(s));
          gla_bwd_cuda(q.data(), k.data(), v.data(), g.data(), states_d.data(), dout_d.data(), dq_only.data(),
                       dk.data(), dv.data(), nullptr, s, o);
          CHECK(relative_error(dq_only.download(), want_dq) < kTolerance);
        }
      }
}

TEST_CASE("GLA decode steps on the GPU match the CPU kernel through the dispatcher", "[gpu][gla]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 500;
  for (GlaShape s : std::vector<GlaShape>{{1, 1, 1, 1, 1, true},
                                          {2, 1, 3, 7, 33, true},
                                          {1, 1, 2, 16, 16, true},
                                          {3, 1, 1, 33, 7, true},
                                          {1, 1, 2, 256, 300, true}})
    for (bool channel : {true, false}) {
      s.channel_decay = channel;
      const GlaOptions o{64, 0.7f};
      INFO(describe(s, o.chunk_size) << " seed=" << seed);
      Rng rng(seed++);
      std::vector<float> state = normal_floats(state_count(s), rng);
      auto state_d = upload_rounded<float>(state);
      for (int step = 0; step < 3; ++step) {
        INFO("step " << step);
        GlaData in = random_gla(s, rng, -2.0);  // seq_len 1: one token per (batch, head)
        auto q = upload_rounded<float>(in.q), k = upload_rounded<float>(in.k), v = upload_rounded<float>(in.v);
        auto g = upload_rounded<float>(in.g);
        auto out = poisoned<float>(v_count(s));
        gla_decode(Device::cuda, q.data(), k.data(), v.data(), g.data(), state_d.data(), out.data(), s, o);
        std::vector<float> want_out(v_count(s));
        gla_decode_cpu(in.q.data(), in.k.data(), in.v.data(), in.g.data(), state.data(), want_out.data(), s, o);
        CHECK(relative_error(out.download(), want_out) < kTolerance);
        CHECK(relative_error(state_d.download(), state) < kTolerance);
      }
    }
}

TEST_CASE("GLA on the GPU rejects key_dim above its limit and a missing chunk-state buffer", "[gpu][gla]") {
  const GlaShape wide{1, 4, 1, kGlaCudaMaxKeyDim + 1, 8, true};
  CHECK_THROWS_WITH(gla_fwd_cuda(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, wide, {}),
                    Catch::Contains("key_dim must be <= 256") && Catch::Contains("257"));
  CHECK_THROWS_AS(
      gla_bwd_cuda(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, wide, {}),
      std::invalid_argument);
  const GlaShape s{1, 4, 1, 8, 8, true};
  CHECK_THROWS_WITH(gla_fwd_cuda(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, s, {}),
                    Catch::Contains("chunk_states"));
}

namespace {

// Length 1, primes; head_dim (value columns) and state_dim (key rows) 1, 7, 16, 33.
const std::vector<SsdShape> kSsdShapes = {
    {1, 1, 1, 3, 2}, {2, 37, 3, 16, 7}, {1, 70, 2, 33, 16}, {2, 9, 5, 1, 1}, {1, 131, 2, 7, 33},
};

}  // namespace

TEST_CASE("SSD forward on the GPU matches the CPU kernel, chunk states and final state included", "[gpu][ssm]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 700;
  for (const SsdShape& s : kSsdShapes)
    for (int64_t chunk : {1, 5, 64}) {
      INFO(describe(s, chunk) << " seed=" << seed);
      Rng rng(seed++);
      const int64_t rows = s.batch * s.seq_len, y_count = rows * s.heads * s.head_dim;
      const int64_t state_size = s.batch * s.heads * s.state_dim * s.head_dim;
      SsdData d = random_ssd(s, rows, rng);
      auto rows_d = upload_rounded<float>(d.rows), params_d = upload_rounded<float>(d.params);
      auto y = poisoned<float>(y_count), final_state = poisoned<float>(state_size);
      SsdWorkspace ws;
      ssd_fwd_cuda(packed_inputs(rows_d.data(), params_d.data(), s), y.data(), final_state.data(), ws, s, chunk);

      SsdWorkspace want_ws;
      std::vector<float> want_y(y_count), want_final(state_size);
      ssd_fwd_cpu(packed_inputs(d.rows.data(), d.params.data(), s), want_y.data(), want_final.data(), want_ws, s,
                  chunk);
      CHECK(relative_error(y.download(), want_y) < kTolerance);
      CHECK(relative_error(final_state.download(), want_final) < kTolerance);
      CHECK(ws.chunk_states.device() == Device::cuda);
      CHECK(relative_error(tensor_values(ws.chunk_states), tensor_values(want_ws.chunk_states)) < kTolerance);
    }
}

TEST_CASE("SSD backward on the GPU matches the CPU kernel, parameter gradients accumulated", "[gpu][ssm]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 900;
  for (const SsdShape& s : kSsdShapes)
    for (int64_t chunk : {1, 5, 64}) {
      INFO(describe(s, chunk) << " seed=" << seed);
      Rng rng(seed++);
      const int64_t rows = s.batch * s.seq_len, y_count = rows * s.heads * s.head_dim, width = packed_width(s);
      SsdData d = random_ssd(s, rows, rng);
      std::vector<float> dy = normal_floats(y_count, rng);
      auto rows_d = upload_rounded<float>(d.rows), params_d = upload_rounded<float>(d.params);
      auto dy_d = upload_rounded<float>(dy), y = poisoned<float>(y_count);
      // Row gradients start as NaN bytes (every gradient column must be written), parameter ones at 1.
      auto drows = poisoned<float>(static_cast<int64_t>(d.rows.size()));
      std::vector<float> dparams(d.params.size(), 1.0f);
      auto dparams_d = upload_rounded<float>(dparams);
      SsdWorkspace ws;
      const SsdInputs in = packed_inputs(rows_d.data(), params_d.data(), s);
      ssd_fwd_cuda(in, y.data(), nullptr, ws, s, chunk);
      ssd_bwd_cuda(in, dy_d.data(), packed_grads(drows.data(), dparams_d.data(), s), ws, s, chunk);

      SsdWorkspace want_ws;
      std::vector<float> want_y(y_count), want_drows(d.rows.size(), 0.0f);
      const SsdInputs want_in = packed_inputs(d.rows.data(), d.params.data(), s);
      ssd_fwd_cpu(want_in, want_y.data(), nullptr, want_ws, s, chunk);
      ssd_bwd_cpu(want_in, dy.data(), packed_grads(want_drows.data(), dparams.data(), s), want_ws, s, chunk);
      // Compare the gradient columns only: column 0 of each row is no gradient's.
      std::vector<float> got_rows = drows.download(), got, want;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 1; c < width; ++c) {
          got.push_back(got_rows[r * width + c]);
          want.push_back(want_drows[r * width + c]);
        }
      CHECK(relative_error(got, want) < kTolerance);
      CHECK(relative_error(dparams_d.download(), dparams) < kTolerance);
    }
}

TEST_CASE("SSD backward on the GPU refuses a workspace that holds no GPU forward", "[gpu][ssm]") {
  const SsdShape s{1, 3, 1, 2, 2};
  SsdWorkspace ws;
  CHECK_THROWS_AS(ssd_bwd_cuda({}, nullptr, {}, ws, s, 4), std::invalid_argument);
}

TEST_CASE("SSD decode steps on the GPU match the CPU kernel through the dispatcher", "[gpu][ssm]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 1100;
  for (const SsdShape& s : kSsdShapes) {
    INFO(describe(s, 1) << " seed=" << seed);
    Rng rng(seed++);
    const int64_t y_count = s.batch * s.heads * s.head_dim;
    std::vector<float> state = normal_floats(s.batch * s.heads * s.state_dim * s.head_dim, rng);
    auto state_d = upload_rounded<float>(state);
    SsdWorkspace ws, want_ws;
    for (int step = 0; step < 3; ++step) {
      INFO("step " << step);
      SsdData d = random_ssd(s, s.batch, rng);
      auto rows_d = upload_rounded<float>(d.rows), params_d = upload_rounded<float>(d.params);
      auto y = poisoned<float>(y_count);
      ssd_decode(Device::cuda, packed_inputs(rows_d.data(), params_d.data(), s), state_d.data(), y.data(), ws, s);
      std::vector<float> want_y(y_count);
      ssd_decode_cpu(packed_inputs(d.rows.data(), d.params.data(), s), state.data(), want_y.data(), want_ws, s);
      CHECK(relative_error(y.download(), want_y) < kTolerance);
      CHECK(relative_error(state_d.download(), state) < kTolerance);
    }
  }
}
#endif
