// The bf16 tensor-core delta rule (delta_rule_bf16.cuh, DeltaNet and Gated DeltaNet in WY form) against the
// fp32 CPU kernels (DeltaRuleKernels::cpu()) on fresh seeded inputs at lengths around the 64-token chunk:
// output, chunk states, final state, and the gradients of q, k, v, beta and log_decay (backward from the GPU's
// own bf16 chunk states), norm-wise relative error within the bf16 tolerance (2e-2), in every design variant
// (DeltaRuleTcVariant) whatever the environment selects for the process. Built only with CUDA; each case skips
// itself (with a warning) on a machine without a GPU.
#include <cuda_bf16.h>

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "mixers/delta/delta_rule.h"
#include "mixers/delta/delta_rule_bf16.cuh"
#include "mixers/delta/delta_test_inputs.h"
#include "tests/gpu_kernel_checks.h"
#include "tests/seeded_cases.h"

using namespace seqbench;
using namespace seqbench::gpu_checks;

namespace {

using bf16 = __nv_bfloat16;
using testing::describe_delta_case;
using testing::for_each_seeded_case;
using testing::random_delta_inputs;

int64_t qk_count(const DeltaRuleShape& s) { return s.batch * s.seq_len * s.heads * s.key_dim; }
int64_t v_count(const DeltaRuleShape& s) { return s.batch * s.seq_len * s.heads * s.value_dim; }
int64_t gate_count(const DeltaRuleShape& s) { return s.batch * s.seq_len * s.heads; }
int64_t state_count(const DeltaRuleShape& s) { return s.batch * s.heads * s.key_dim * s.value_dim; }

// Lengths 1, 63, 65 and 130 around the 64-token chunk; batch 1 and 2; head dims 64 and 128 (and a mixed pair).
const std::vector<DeltaRuleShape> kShapes = {
    {1, 1, 2, 64, 64},    {2, 1, 3, 128, 128}, {1, 63, 2, 128, 128},  {2, 63, 3, 64, 64},   {1, 65, 3, 64, 64},
    {2, 65, 2, 128, 128}, {1, 130, 2, 64, 64}, {2, 130, 2, 128, 128}, {1, 130, 2, 64, 128}, {2, 65, 2, 128, 64},
};

DeltaRuleOptions chunk64() {
  DeltaRuleOptions o;
  o.chunk_size = 64;  // the CPU's checkpoints then are the GPU's chunk states
  return o;
}

// Both forwards at both walk widths, each with the blocked and the serial solve of T. Every reverse pass at both
// widths, reusing the split forward's T, W and V_new or recomputing them (blocked and serial); and reusing the
// fused forward's.
std::vector<DeltaRuleTcVariant> forward_variants() {
  std::vector<DeltaRuleTcVariant> out;
  for (bool blocked : {true, false})
    for (bool fused : {false, true})
      for (int columns : {64, 32}) out.push_back({fused, 1, columns, blocked, true});
  return out;
}
std::vector<DeltaRuleTcVariant> backward_variants() {
  std::vector<DeltaRuleTcVariant> out;
  for (bool reuse : {true, false})
    for (int stages : {1, 2})
      for (int columns : {64, 32}) out.push_back({false, stages, columns, true, reuse});
  out.push_back({false, 1, 64, false, false});
  out.push_back({true, 1, 64, true, true});
  out.push_back({true, 1, 32, true, true});
  return out;
}

void check_close(const char* what, const std::vector<float>& got, const std::vector<float>& want) {
  const double error = relative_error(got, want);
  INFO(what << ": norm-wise relative error " << error);
  CHECK(error < tolerance<bf16>());
}

// Inputs rounded to bf16 (q, k, v, dout) on both sides; beta and log_decay stay fp32 on both.
struct Case {
  testing::DeltaInputs<float> in;
  std::vector<float> dout;
  DeviceArray<bf16> q, k, v, dout_d;
  DeviceArray<float> beta, log_decay;
  const float* decay() const { return in.log_decay.empty() ? nullptr : log_decay.data(); }
};

Case make_case(const DeltaRuleShape& s, bool gated, Rng& rng) {
  Case c;
  c.in = random_delta_inputs(s, s.seq_len, rng, gated);
  c.dout = normal_values(v_count(s), rng);
  c.q = upload_rounded<bf16>(c.in.q);
  c.k = upload_rounded<bf16>(c.in.k);
  c.v = upload_rounded<bf16>(c.in.v);
  c.dout_d = upload_rounded<bf16>(c.dout);
  c.beta = DeviceArray<float>(c.in.beta);
  if (gated) c.log_decay = DeviceArray<float>(c.in.log_decay);
  return c;
}

}  // namespace

TEST_CASE("bf16 delta rule forward on tensor cores matches the CPU kernel, chunk states and final state included",
          "[gpu][delta][bf16]") {
  SKIP_WITHOUT_GPU();
  const std::tuple cases{kShapes, std::vector<bool>{false, true}};
  auto name = [](const DeltaRuleShape& s, bool gated) { return describe_delta_case(s, chunk64(), gated); };
  for_each_seeded_case(cases, 2100, name, [](const DeltaRuleShape& s, bool gated, Rng& rng) {
    Case c = make_case(s, gated, rng);
    const DeltaRuleOptions o = chunk64();
    std::vector<float> want_out(v_count(s)), want_states(state_count(s) * delta_rule_checkpoint_count(s, o));
    std::vector<float> want_final(state_count(s));
    DeltaRuleKernels::cpu().fwd(c.in.q.data(), c.in.k.data(), c.in.v.data(), c.in.beta.data(), c.in.decay(),
                                want_out.data(), want_states.data(), want_final.data(), s, o);
    DeviceArray<float> workspace(delta_rule_tc_workspace_floats(s));
    for (const DeltaRuleTcVariant& variant : forward_variants()) {
      INFO(delta_rule_tc_variant_name(variant));
      auto out = poisoned<bf16>(v_count(s)), states = poisoned<bf16>(delta_rule_tc_chunk_state_elements(s));
      auto final_state = poisoned<float>(state_count(s));
      delta_rule_tc_fwd_cuda(c.q.data(), c.k.data(), c.v.data(), c.beta.data(), c.decay(), out.data(), states.data(),
                             final_state.data(), workspace.data(), s, variant);
      check_close("out", download_floats(out), want_out);
      check_close("chunk states", download_floats(states), want_states);
      check_close("final state", final_state.download(), want_final);
      // Without states to keep, the output is the same, bit for bit.
      auto out_only = poisoned<bf16>(v_count(s));
      delta_rule_tc_fwd_cuda(c.q.data(), c.k.data(), c.v.data(), c.beta.data(), c.decay(), out_only.data(), nullptr,
                             nullptr, workspace.data(), s, variant);
      CHECK(download_floats(out_only) == download_floats(out));
    }
  });
}

TEST_CASE("bf16 delta rule backward on tensor cores matches the CPU kernel in every gradient", "[gpu][delta][bf16]") {
  SKIP_WITHOUT_GPU();
  const std::tuple cases{kShapes, std::vector<bool>{false, true}};
  auto name = [](const DeltaRuleShape& s, bool gated) { return describe_delta_case(s, chunk64(), gated); };
  for_each_seeded_case(cases, 2300, name, [](const DeltaRuleShape& s, bool gated, Rng& rng) {
    Case c = make_case(s, gated, rng);
    const DeltaRuleOptions o = chunk64();
    std::vector<float> out(v_count(s)), checkpoints(state_count(s) * delta_rule_checkpoint_count(s, o));
    DeltaRuleKernels::cpu().fwd(c.in.q.data(), c.in.k.data(), c.in.v.data(), c.in.beta.data(), c.in.decay(), out.data(),
                                checkpoints.data(), nullptr, s, o);
    std::vector<float> want_dq(qk_count(s)), want_dk(qk_count(s)), want_dv(v_count(s)), want_dbeta(gate_count(s));
    std::vector<float> want_dg(gate_count(s));
    DeltaRuleKernels::cpu().bwd(c.in.q.data(), c.in.k.data(), c.in.v.data(), c.in.beta.data(), c.in.decay(),
                                checkpoints.data(), c.dout.data(), want_dq.data(), want_dk.data(), want_dv.data(),
                                want_dbeta.data(), gated ? want_dg.data() : nullptr, s, o);

    DeviceArray<float> workspace(delta_rule_tc_workspace_floats(s));
    auto out_d = poisoned<bf16>(v_count(s)), states = poisoned<bf16>(delta_rule_tc_chunk_state_elements(s));
    for (const DeltaRuleTcVariant& variant : backward_variants()) {
      INFO(delta_rule_tc_variant_name(variant));
      // A fresh forward each time: a recomputing backward overwrites what a reusing one reads.
      delta_rule_tc_fwd_cuda(c.q.data(), c.k.data(), c.v.data(), c.beta.data(), c.decay(), out_d.data(), states.data(),
                             nullptr, workspace.data(), s, variant);
      auto dq = poisoned<bf16>(qk_count(s)), dk = poisoned<bf16>(qk_count(s)), dv = poisoned<bf16>(v_count(s));
      auto dbeta = poisoned<float>(gate_count(s)), dg = poisoned<float>(gate_count(s));
      delta_rule_tc_bwd_cuda(c.q.data(), c.k.data(), c.v.data(), c.beta.data(), c.decay(), states.data(),
                             c.dout_d.data(), dq.data(), dk.data(), dv.data(), dbeta.data(),
                             gated ? dg.data() : nullptr, workspace.data(), s, variant);
      check_close("dq", download_floats(dq), want_dq);
      check_close("dk", download_floats(dk), want_dk);
      check_close("dv", download_floats(dv), want_dv);
      check_close("dbeta", dbeta.download(), want_dbeta);
      if (gated) check_close("dlog_decay", dg.download(), want_dg);

      // Without a decay gradient the others are the same, bit for bit (a reusing backward leaves what it reads).
      if (gated) {
        auto dq_only = poisoned<bf16>(qk_count(s)), dk_only = poisoned<bf16>(qk_count(s));
        delta_rule_tc_bwd_cuda(c.q.data(), c.k.data(), c.v.data(), c.beta.data(), c.decay(), states.data(),
                               c.dout_d.data(), dq_only.data(), dk_only.data(), dv.data(), dbeta.data(), nullptr,
                               workspace.data(), s, variant);
        CHECK(download_floats(dq_only) == download_floats(dq));
        CHECK(download_floats(dk_only) == download_floats(dk));
      }
    }
  });
}

TEST_CASE("bf16 delta rule names the shapes it cannot run before touching the GPU", "[gpu][delta][bf16]") {
  CHECK(delta_rule_tc_unsupported({{1, 8, 1}, 64, 64}).empty());
  CHECK(delta_rule_tc_unsupported({{1, 8, 1}, 128, 64}).empty());
  CHECK_THAT(delta_rule_tc_unsupported({{1, 8, 1}, 32, 64}), Catch::Contains("key_dim=32"));
  CHECK_THAT(delta_rule_tc_unsupported({{1, 8, 1}, 64, 256}), Catch::Contains("value_dim=256"));
  CHECK_THROWS_WITH(delta_rule_tc_fwd_cuda(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                           nullptr, {{1, 8, 1}, 96, 64}),
                    Catch::Contains("key_dim=96"));
  CHECK_THROWS_WITH(delta_rule_tc_fwd_cuda(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                           nullptr, {{1, 8, 1}, 64, 64}),
                    Catch::Contains("null"));
  CHECK_THROWS_WITH(delta_rule_tc_fwd_cuda(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                           nullptr, {{1, 8, 1}, 64, 64}, {false, 1, 48}),
                    Catch::Contains("walk_columns=48"));
}
