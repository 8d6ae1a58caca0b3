// The delta rule's CUDA kernels (forward with checkpoints and final state, backward, decode, the gate maps)
// against the CPU kernels on fresh seeded inputs at odd sizes, fp32, norm-wise relative error 1e-4. Built
// only with CUDA; each case skips itself (with a warning) on a machine without a GPU.
#include <catch2/catch.hpp>
#include <cstring>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "mixers/delta/delta_rule.h"
#include "mixers/delta/delta_rule_gates.h"
#include "mixers/delta/delta_test_inputs.h"
#include "tests/gpu_kernel_checks.h"
#include "tests/seeded_cases.h"

using namespace seqbench;
using namespace seqbench::gpu_checks;

namespace {

using DeltaData = testing::DeltaInputs<float>;
using testing::describe_delta_case;
using testing::for_each_seeded_case;
using testing::random_delta_inputs;

int64_t state_floats(const DeltaRuleShape& s) { return s.batch * s.heads * s.key_dim * s.value_dim; }
int64_t checkpoint_floats(const DeltaRuleShape& s, const DeltaRuleOptions& o) {
  return state_floats(s) * delta_rule_checkpoint_count(s, o);
}

}  // namespace

namespace {

// Head dims 1, 7, 16, 33 (odd warp splits), 64, 128 (the model sizes), 256 (the limit: its state exceeds
// shared memory, so it scans in global memory); lengths 1, primes and ones that cut every chunk size unevenly.
const std::vector<DeltaRuleShape> kDeltaShapes = {
    {1, 1, 1, 1, 1},     {2, 7, 3, 4, 5},      {1, 37, 2, 16, 16},  {2, 67, 1, 33, 7},
    {1, 130, 2, 64, 64}, {1, 11, 1, 128, 128}, {1, 3, 1, 256, 256}, {1, 6, 1, 7, 256},
};

// Device copies of the inputs (log_decay only when gated).
struct DeviceDelta {
  DeviceArray<float> q, k, v, beta, log_decay;
  explicit DeviceDelta(const DeltaData& d)
      : q(d.q),
        k(d.k),
        v(d.v),
        beta(d.beta),
        log_decay(d.log_decay.empty() ? DeviceArray<float>() : DeviceArray<float>(d.log_decay)) {}
  const float* decay() const { return log_decay.size() ? log_decay.data() : nullptr; }
};

DeltaRuleOptions options(int64_t chunk, int64_t recompute_span) {
  DeltaRuleOptions o;
  o.chunk_size = chunk;
  o.recompute_span = recompute_span;
  return o;
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

}  // namespace

TEST_CASE("delta rule forward on the GPU matches the CPU kernel, checkpoints and final state included",
          "[gpu][delta]") {
  SKIP_WITHOUT_GPU();
  const std::tuple kCases{kDeltaShapes, std::vector<bool>{false, true}, std::vector<int64_t>{1, 5, 64}};
  auto describe_case = [](const DeltaRuleShape& s, bool gated, int64_t chunk) {
    return describe_delta_case(s, options(chunk, 0), gated);
  };
  for_each_seeded_case(kCases, 101, describe_case, [](const DeltaRuleShape& s, bool gated, int64_t chunk, Rng& rng) {
    const DeltaRuleOptions o = options(chunk, 0);
    const DeltaData d = random_delta_inputs(s, s.seq_len, rng, gated);
    const DeviceDelta g(d);
    auto out = poisoned<float>(d.v.size()), ckpt = poisoned<float>(checkpoint_floats(s, o));
    auto fin = poisoned<float>(state_floats(s));
    DeltaRuleKernels::cuda().fwd(g.q.data(), g.k.data(), g.v.data(), g.beta.data(), g.decay(), out.data(), ckpt.data(),
                                 fin.data(), s, o);
    std::vector<float> want_out(d.v.size()), want_ckpt(ckpt.size()), want_fin(fin.size());
    DeltaRuleKernels::cpu().fwd(d.q.data(), d.k.data(), d.v.data(), d.beta.data(), d.decay(), want_out.data(),
                                want_ckpt.data(), want_fin.data(), s, o);
    CHECK(relative_error(out.download(), want_out) < 1e-4);
    CHECK(relative_error(ckpt.download(), want_ckpt) < 1e-4);
    CHECK(relative_error(fin.download(), want_fin) < 1e-4);
    // Without checkpoints or final state the output is the same, bit for bit.
    auto bare = poisoned<float>(d.v.size());
    DeltaRuleKernels::cuda().fwd(g.q.data(), g.k.data(), g.v.data(), g.beta.data(), g.decay(), bare.data(), nullptr,
                                 nullptr, s, o);
    CHECK(bitwise_equal(bare.download(), out.download()));
  });
}

TEST_CASE("delta rule backward on the GPU matches the CPU kernel at every chunk size and recompute span",
          "[gpu][delta]") {
  SKIP_WITHOUT_GPU();
  const std::tuple kCases{kDeltaShapes, std::vector<bool>{false, true}, std::vector<int64_t>{1, 5, 64},
                          std::vector<int64_t>{0, 3}};
  auto describe_case = [](const DeltaRuleShape& s, bool gated, int64_t chunk, int64_t span) {
    return describe_delta_case(s, options(chunk, span), gated);
  };
  for_each_seeded_case(
      kCases, 201, describe_case, [](const DeltaRuleShape& s, bool gated, int64_t chunk, int64_t span, Rng& rng) {
        const DeltaRuleOptions o = options(chunk, span);
        const DeltaData d = random_delta_inputs(s, s.seq_len, rng, gated);
        const std::vector<float> dout = normal_values(static_cast<int64_t>(d.v.size()), rng);
        std::vector<float> out(d.v.size()), ckpt(checkpoint_floats(s, o));
        DeltaRuleKernels::cpu().fwd(d.q.data(), d.k.data(), d.v.data(), d.beta.data(), d.decay(), out.data(),
                                    ckpt.data(), nullptr, s, o);
        const DeviceDelta g(d);
        const DeviceArray<float> ckpt_d(ckpt), dout_d(dout);
        const int64_t nk = d.q.size(), nv = d.v.size(), rows = d.beta.size();
        auto dq = poisoned<float>(nk), dk = poisoned<float>(nk), dv = poisoned<float>(nv);
        auto db = poisoned<float>(rows), dg = poisoned<float>(rows);
        DeltaRuleKernels::cuda().bwd(g.q.data(), g.k.data(), g.v.data(), g.beta.data(), g.decay(), ckpt_d.data(),
                                     dout_d.data(), dq.data(), dk.data(), dv.data(), db.data(), dg.data(), s, o);
        std::vector<float> want_dq(nk), want_dk(nk), want_dv(nv), want_db(rows), want_dg(rows);
        DeltaRuleKernels::cpu().bwd(d.q.data(), d.k.data(), d.v.data(), d.beta.data(), d.decay(), ckpt.data(),
                                    dout.data(), want_dq.data(), want_dk.data(), want_dv.data(), want_db.data(),
                                    want_dg.data(), s, o);
        CHECK(relative_error(dq.download(), want_dq) < 1e-4);
        CHECK(relative_error(dk.download(), want_dk) < 1e-4);
        CHECK(relative_error(dv.download(), want_dv) < 1e-4);
        CHECK(relative_error(db.download(), want_db) < 1e-4);
        if (gated) CHECK(relative_error(dg.download(), want_dg) < 1e-4);

        // A caller's workspace gives the same gradients, bit for bit (fixed-order sums: also run to run).
        DeviceArray<float> workspace(delta_rule_bwd_workspace_floats(s, o));
        auto dq2 = poisoned<float>(nk), dk2 = poisoned<float>(nk), dv2 = poisoned<float>(nv);
        auto db2 = poisoned<float>(rows), dg2 = poisoned<float>(rows);
        delta_rule_bwd_cuda(g.q.data(), g.k.data(), g.v.data(), g.beta.data(), g.decay(), ckpt_d.data(), dout_d.data(),
                            dq2.data(), dk2.data(), dv2.data(), db2.data(), dg2.data(), s, o, workspace.data());
        CHECK(bitwise_equal(dq2.download(), dq.download()));
        CHECK(bitwise_equal(dk2.download(), dk.download()));
        CHECK(bitwise_equal(dv2.download(), dv.download()));
        CHECK(bitwise_equal(db2.download(), db.download()));
        if (gated) CHECK(bitwise_equal(dg2.download(), dg.download()));
      });
}

TEST_CASE("delta rule decode on the GPU updates the state and output as the CPU kernel does", "[gpu][delta]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 301;
  for (const DeltaRuleShape& s : kDeltaShapes)
    for (bool gated : {false, true}) {
      INFO(describe_delta_case(s, DeltaRuleOptions{}, gated) << " seed=" << seed);
      Rng rng(seed++);
      std::vector<float> state = normal_values(state_floats(s), rng, 0.3);
      DeviceArray<float> state_d(state);
      for (int step = 0; step < 3; ++step) {
        INFO("step " << step);
        const DeltaData t = random_delta_inputs(s, 1, rng, gated);
        const DeviceDelta g(t);
        auto out = poisoned<float>(t.v.size());
        DeltaRuleKernels::cuda().decode(g.q.data(), g.k.data(), g.v.data(), g.beta.data(), g.decay(), state_d.data(), out.data(),
                               s);
        std::vector<float> want(t.v.size());
        DeltaRuleKernels::cpu().decode(t.q.data(), t.k.data(), t.v.data(), t.beta.data(), t.decay(), state.data(), want.data(),
                              s);
        CHECK(relative_error(out.download(), want) < 1e-4);
        CHECK(relative_error(state_d.download(), state) < 1e-4);
        state = state_d.download();  // both continue from the same state
      }
    }
}

TEST_CASE("delta rule CUDA kernels reject head dims beyond their limit and bad options by name", "[gpu][delta]") {
  SKIP_WITHOUT_GPU();
  DeltaRuleOptions o;
  CHECK_THROWS_WITH(
      DeltaRuleKernels::cuda().fwd(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, {1, 4, 1, 257, 8}, o),
      Catch::Contains("key_dim") && Catch::Contains("257"));
  CHECK_THROWS_WITH(
      DeltaRuleKernels::cuda().decode(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, {1, 0, 1, 8, 300}),
      Catch::Contains("value_dim") && Catch::Contains("300"));
  o.chunk_size = 0;
  CHECK_THROWS_AS(DeltaRuleKernels::cuda().bwd(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                      nullptr, nullptr, nullptr, {1, 4, 1, 8, 8}, o),
                  std::invalid_argument);
}

TEST_CASE("l2 row normalisation on the GPU matches the CPU kernel, in place too", "[gpu][delta]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 501;
  for (int64_t rows : {1, 37, 1000})
    for (int64_t width : {1, 7, 33, 128}) {
      INFO("rows=" << rows << " width=" << width << " seed=" << seed);
      Rng rng(seed++);
      const std::vector<float> x = normal_values(rows * width, rng), dy = normal_values(rows * width, rng);
      const DeviceArray<float> x_d(x), dy_d(dy);
      auto y = poisoned<float>(x.size()), dx = poisoned<float>(x.size());
      DeltaRuleGateKernels::cuda().l2_normalize_fwd(x_d.data(), y.data(), rows, width, 1e-6f);
      DeltaRuleGateKernels::cuda().l2_normalize_bwd(x_d.data(), dy_d.data(), dx.data(), rows, width, 1e-6f);
      std::vector<float> want_y(x.size()), want_dx(x.size());
      DeltaRuleGateKernels::cpu().l2_normalize_fwd(x.data(), want_y.data(), rows, width, 1e-6f);
      DeltaRuleGateKernels::cpu().l2_normalize_bwd(x.data(), dy.data(), want_dx.data(), rows, width, 1e-6f);
      CHECK(relative_error(y.download(), want_y) < 1e-5);
      CHECK(relative_error(dx.download(), want_dx) < 1e-5);
      DeviceArray<float> in_place(x);
      DeltaRuleGateKernels::cuda().l2_normalize_fwd(in_place.data(), in_place.data(), rows, width, 1e-6f);
      CHECK(bitwise_equal(in_place.download(), y.download()));
    }
}

TEST_CASE("sigmoid on the GPU matches the CPU kernel, saturated inputs included", "[gpu][delta]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 601;
  for (int64_t n : {1, 1000, 4099}) {
    INFO("n=" << n << " seed=" << seed);
    Rng rng(seed++);
    std::vector<float> x = normal_values(n, rng, 6.0);
    x[0] = n > 1 ? -120.0f : 120.0f;  // e^-z overflows unless the stable form is used
    const std::vector<float> dy = normal_values(n, rng);
    const DeviceArray<float> x_d(x), dy_d(dy);
    auto y = poisoned<float>(n), dx = poisoned<float>(n);
    DeltaRuleGateKernels::cuda().sigmoid_fwd(x_d.data(), y.data(), n);
    DeltaRuleGateKernels::cuda().sigmoid_bwd(y.data(), dy_d.data(), dx.data(), n);
    std::vector<float> want_y(n), want_dx(n);
    DeltaRuleGateKernels::cpu().sigmoid_fwd(x.data(), want_y.data(), n);
    const std::vector<float> y_host = y.download();
    DeltaRuleGateKernels::cpu().sigmoid_bwd(y_host.data(), dy.data(), want_dx.data(), n);  // at the GPU's y: checks the backward alone
    CHECK(relative_error(y_host, want_y) < 1e-5);
    CHECK(relative_error(dx.download(), want_dx) < 1e-5);
  }
}

TEST_CASE("gated decay on the GPU matches the CPU kernel and sums its parameter gradients deterministically",
          "[gpu][delta]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 701;
  for (int64_t rows : {1, 37, 777, 2049})  // 777 and 2049 span several 256-row blocks, unevenly
    for (int64_t heads : {1, 3, 33}) {
      INFO("rows=" << rows << " heads=" << heads << " seed=" << seed);
      Rng rng(seed++);
      const std::vector<float> a_log = normal_values(heads, rng, 0.5), dt_bias = normal_values(heads, rng, 0.5);
      const std::vector<float> x = normal_values(rows * heads, rng, 2.0), dg = normal_values(rows * heads, rng);
      const std::vector<float> da0 = normal_values(heads, rng), ddt0 = normal_values(heads, rng);
      const DeviceArray<float> a_d(a_log), dt_d(dt_bias), x_d(x), dg_d(dg);
      auto g = poisoned<float>(x.size()), dx = poisoned<float>(x.size());
      DeviceArray<float> da(da0), ddt(ddt0);
      DeltaRuleGateKernels::cuda().gated_decay_fwd(x_d.data(), a_d.data(), dt_d.data(), g.data(), rows, heads);
      DeltaRuleGateKernels::cuda().gated_decay_bwd(x_d.data(), a_d.data(), dt_d.data(), dg_d.data(), dx.data(), da.data(), ddt.data(), rows,
                           heads);
      std::vector<float> want_g(x.size()), want_dx(x.size()), want_da = da0, want_ddt = ddt0;
      DeltaRuleGateKernels::cpu().gated_decay_fwd(x.data(), a_log.data(), dt_bias.data(), want_g.data(), rows, heads);
      DeltaRuleGateKernels::cpu().gated_decay_bwd(x.data(), a_log.data(), dt_bias.data(), dg.data(), want_dx.data(), want_da.data(),
                          want_ddt.data(), rows, heads);
      CHECK(relative_error(g.download(), want_g) < 1e-5);
      CHECK(relative_error(dx.download(), want_dx) < 1e-5);
      CHECK(relative_error(da.download(), want_da) < 1e-4);
      CHECK(relative_error(ddt.download(), want_ddt) < 1e-4);

      DeviceArray<float> da2(da0), ddt2(ddt0);
      DeltaRuleGateKernels::cuda().gated_decay_bwd(x_d.data(), a_d.data(), dt_d.data(), dg_d.data(), dx.data(), da2.data(), ddt2.data(), rows,
                           heads);
      CHECK(bitwise_equal(da2.download(), da.download()));
      CHECK(bitwise_equal(ddt2.download(), ddt.download()));
    }
}
