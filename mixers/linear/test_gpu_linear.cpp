// Linear attention and its feature maps: the CUDA kernels against the CPU kernels on fresh seeded inputs
// at odd sizes, forward (states included), backward and decode, fp32 (relative error 1e-4) and bf16
// (2e-2). Built only with CUDA; each case skips itself (with a warning) on a machine without a GPU.
#include <catch2/catch.hpp>
#include <algorithm>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "mixers/linear/feature_maps.h"
#include "mixers/linear/linear_attention_bf16.cuh"
#include "mixers/linear/linear_attention_normaliser_cuda.cuh"
#include "mixers/linear/linear_attention_scalar_gla_cuda.cuh"
#include "tests/gpu_kernel_checks.h"
#include "tests/seeded_cases.h"

using namespace seqbench;
using namespace seqbench::gpu_checks;
using seqbench::testing::for_each_seeded_case;
using bf16 = __nv_bfloat16;

namespace {

constexpr double kTolerance = tolerance<float>();

const std::vector<FeatureMap> kAllMaps{FeatureMap::identity, FeatureMap::elu_plus_one, FeatureMap::relu,
                                       FeatureMap::taylor};

LinearAttentionOptions normalized(bool normalize) {
  LinearAttentionOptions o;
  o.normalize = normalize;
  return o;
}

// Feature widths and value widths around the 32-column tiles and 64-column slices, one with 129 features;
// then widths of 64 and 128 (bf16 runs those as scalar GLA, linear_attention_scalar_gla_cuda.cuh) at lengths
// 1, 63, 65, 130 and 257 around its 64-token chunks, batch 1 and 2, and 1000 (16 chunks carrying the key sum
// and state, the last one partial; with no key sum asked for, the unnormalised forward walks it in 8 segments,
// gla_scalar_fwd_segments); each with and without the normaliser.
const std::tuple<std::vector<LinearAttentionShape>, std::vector<LinearAttentionOptions>> kLinearCases{
    {{1, 1, 1, 16, 16},
     {2, 37, 3, 16, 64},
     {1, 130, 3, 33, 70},
     {1, 65, 1, 129, 8},
     {1, 1, 2, 128, 128},
     {2, 1, 1, 64, 64},
     {2, 63, 2, 128, 128},
     {1, 65, 3, 64, 128},
     {2, 130, 2, 128, 64},
     {1, 257, 2, 64, 128},
     {1, 1000, 2, 128, 128}},
    {normalized(true), normalized(false)}};

template <class T>
std::string describe(const LinearAttentionShape& s, const LinearAttentionOptions& o) {
  std::ostringstream out;
  out << type_name<T>() << " B=" << s.batch << " L=" << s.seq_len << " H=" << s.heads << " F=" << s.feature_dim
      << " Dh=" << s.head_dim << " normalize=" << o.normalize;
  return out.str();
}

// Positive features (as elu+1 gives) keep the normaliser away from zero.
std::vector<float> features(int64_t n, Rng& rng, bool normalize) {
  return normalize ? uniform_values(n, rng, 0.05, 1.0) : normal_values(n, rng);
}

}  // namespace

TEMPLATE_TEST_CASE("linear attention forward on the GPU matches the CPU kernel, states included", "[gpu][linear]",
                   float, bf16) {
  SKIP_WITHOUT_GPU();
  for_each_seeded_case(
      kLinearCases, 71, describe<TestType>,
      [](const LinearAttentionShape& s, const LinearAttentionOptions& o, Rng& rng) {
        const int64_t nf = s.batch * s.seq_len * s.heads * s.feature_dim,
                      nv = s.batch * s.seq_len * s.heads * s.head_dim;
        const int64_t rows = s.batch * s.heads * s.seq_len, pairs = s.batch * s.heads;
        std::vector<float> a = features(nf, rng, o.normalize), b = features(nf, rng, o.normalize),
                           v = normal_values(nv, rng);
        auto a_d = upload_rounded<TestType>(a), b_d = upload_rounded<TestType>(b), v_d = upload_rounded<TestType>(v);
        auto out = poisoned<TestType>(nv);
        auto den = poisoned<float>(rows), kv = poisoned<float>(pairs * s.feature_dim * s.head_dim);
        auto ks = poisoned<float>(pairs * s.feature_dim);
        DeviceArray<float> workspace(std::max<int64_t>(1, linear_attention_fwd_workspace_floats(s, o)));
        linear_attention_fwd_cuda(a_d.data(), b_d.data(), v_d.data(), out.data(), den.data(), kv.data(), ks.data(), s,
                                  o, workspace.data());

        std::vector<float> want(nv), want_den(rows), want_kv(kv.size()), want_ks(ks.size());
        LinearAttentionKernels::cpu().fwd(a.data(), b.data(), v.data(), want.data(), want_den.data(), want_kv.data(),
                                          want_ks.data(), s, o);
        CHECK(relative_error(download_floats(out), want) < tolerance<TestType>());
        if (o.normalize) CHECK(relative_error(den.download(), want_den) < 1e-5);
        CHECK(relative_error(kv.download(), want_kv) < 1e-5);
        CHECK(relative_error(ks.download(), want_ks) < 1e-5);
      });
}

// The default bf16 forward folds the normaliser into the fused GLA walk; the separate kernels (what
// SEQBENCH_LINEAR_NORMALISER=separate and the split GLA forward run) are checked here directly, after an
// unnormalised forward, in the same process.
TEST_CASE("the separate bf16 normaliser kernels turn the unnormalised output into the CPU's normalised one",
          "[gpu][linear]") {
  SKIP_WITHOUT_GPU();
  for_each_seeded_case(
      kLinearCases, 81, describe<bf16>, [](const LinearAttentionShape& s, const LinearAttentionOptions& o, Rng& rng) {
        if (!o.normalize || !linear_attention_runs_as_scalar_gla(s)) return;
        const int64_t nf = s.batch * s.seq_len * s.heads * s.feature_dim,
                      nv = s.batch * s.seq_len * s.heads * s.head_dim;
        const int64_t rows = s.batch * s.heads * s.seq_len, pairs = s.batch * s.heads;
        std::vector<float> a = features(nf, rng, true), b = features(nf, rng, true), v = normal_values(nv, rng);
        auto a_d = upload_rounded<bf16>(a), b_d = upload_rounded<bf16>(b), v_d = upload_rounded<bf16>(v);
        auto out = poisoned<bf16>(nv);
        auto den = poisoned<float>(rows), total = poisoned<float>(pairs * s.feature_dim);
        const LinearAttentionOptions numerator = normalized(false);
        DeviceArray<float> workspace(std::max<int64_t>(1, linear_attention_fwd_workspace_floats(s, numerator)));
        DeviceArray<float> prefix(normaliser_chunk_sum_floats(s)), scratch(normaliser_chunk_sum_floats(s));
        linear_attention_fwd_cuda(a_d.data(), b_d.data(), v_d.data(), out.data(), nullptr, nullptr, nullptr, s,
                                  numerator, workspace.data());
        key_sum_prefix_cuda(b_d.data(), prefix.data(), total.data(), scratch.data(), s, current_stream());
        normalise_output_cuda(a_d.data(), b_d.data(), prefix.data(), out.data(), den.data(), o.eps, s,
                              current_stream());

        std::vector<float> want(nv), want_den(rows), want_ks(total.size());
        LinearAttentionKernels::cpu().fwd(a.data(), b.data(), v.data(), want.data(), want_den.data(), nullptr,
                                          want_ks.data(), s, o);
        CHECK(relative_error(download_floats(out), want) < tolerance<bf16>());
        CHECK(relative_error(den.download(), want_den) < 1e-5);
        CHECK(relative_error(total.download(), want_ks) < 1e-5);
      });
}

TEMPLATE_TEST_CASE("linear attention backward on the GPU matches the CPU kernel", "[gpu][linear]", float, bf16) {
  SKIP_WITHOUT_GPU();
  for_each_seeded_case(
      kLinearCases, 91, describe<TestType>,
      [](const LinearAttentionShape& s, const LinearAttentionOptions& o, Rng& rng) {
        const int64_t nf = s.batch * s.seq_len * s.heads * s.feature_dim,
                      nv = s.batch * s.seq_len * s.heads * s.head_dim;
        std::vector<float> a = features(nf, rng, o.normalize), b = features(nf, rng, o.normalize),
                           v = normal_values(nv, rng);
        std::vector<float> dout = normal_values(nv, rng);
        auto a_d = upload_rounded<TestType>(a), b_d = upload_rounded<TestType>(b), v_d = upload_rounded<TestType>(v);
        auto dout_d = upload_rounded<TestType>(dout);
        std::vector<float> out(nv), den(s.batch * s.heads * s.seq_len);
        LinearAttentionKernels::cpu().fwd(a.data(), b.data(), v.data(), out.data(), den.data(), nullptr, nullptr, s, o);
        auto out_d = upload_rounded<TestType>(out);
        DeviceArray<float> den_d(den);
        auto ga = poisoned<TestType>(nf), gb = poisoned<TestType>(nf), gv = poisoned<TestType>(nv);
        DeviceArray<float> workspace(std::max<int64_t>(1, linear_attention_bwd_workspace_floats(s, o)));
        linear_attention_bwd_cuda(a_d.data(), b_d.data(), v_d.data(), out_d.data(), den_d.data(), dout_d.data(),
                                  ga.data(), gb.data(), gv.data(), s, o, workspace.data());

        std::vector<float> want_a(nf), want_b(nf), want_v(nv);
        LinearAttentionKernels::cpu().bwd(a.data(), b.data(), v.data(), out.data(), den.data(), dout.data(),
                                          want_a.data(), want_b.data(), want_v.data(), s, o);
        CHECK(relative_error(download_floats(gv), want_v) < tolerance<TestType>());
        if (o.normalize && s.seq_len == 1) {
          // out_0 = v_0 whatever phi is, so d phi is exactly zero: the CPU returns rounding residue,
          // the operands leave their rounding (2^-24 in fp32, 2^-9 in bf16) of the cancelling terms
          // b (v.dout/g - dout.out/g). Bound that.
          double min_den = den[0];
          for (float g : den) min_den = std::min<double>(min_den, g);
          const double terms = 2.0 * l2_norm(v) * l2_norm(dout) / min_den;
          CHECK(l2_norm(download_floats(ga)) < tolerance<TestType>() * l2_norm(b) * terms);
          CHECK(l2_norm(download_floats(gb)) < tolerance<TestType>() * l2_norm(a) * terms);
          return;
        }
        CHECK(relative_error(download_floats(ga), want_a) < tolerance<TestType>());
        CHECK(relative_error(download_floats(gb), want_b) < tolerance<TestType>());
      });
}

TEMPLATE_TEST_CASE("linear attention decode on the GPU updates the state as the CPU kernel does", "[gpu][linear]",
                   float, bf16) {
  SKIP_WITHOUT_GPU();
  for_each_seeded_case(
      kLinearCases, 111, describe<TestType>,
      [](const LinearAttentionShape& s, const LinearAttentionOptions& o, Rng& rng) {
        const int64_t pairs = s.batch * s.heads, nf = pairs * s.feature_dim, nv = pairs * s.head_dim;
        std::vector<float> a = features(nf, rng, o.normalize), b = features(nf, rng, o.normalize),
                           v = normal_values(nv, rng);
        std::vector<float> kv = normal_values(nf * s.head_dim, rng), ks = uniform_values(nf, rng, 0.5, 2.0);
        auto a_d = upload_rounded<TestType>(a), b_d = upload_rounded<TestType>(b), v_d = upload_rounded<TestType>(v);
        DeviceArray<float> kv_d(kv), ks_d(ks);
        auto out = poisoned<TestType>(nv);
        linear_attention_decode_cuda(a_d.data(), b_d.data(), v_d.data(), kv_d.data(), ks_d.data(), out.data(), s, o);
        std::vector<float> want(nv);
        LinearAttentionKernels::cpu().decode(a.data(), b.data(), v.data(), kv.data(), ks.data(), want.data(), s, o);
        CHECK(relative_error(download_floats(out), want) < tolerance<TestType>());
        CHECK(relative_error(kv_d.download(), kv) < 1e-6);
        CHECK(relative_error(ks_d.download(), ks) < 1e-6);
      });
}

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
        FeatureMapKernels::cuda().fwd(map, x_d.data(), phi_d.data(), rows, d);
        FeatureMapKernels::cuda().bwd(map, x_d.data(), dphi_d.data(), dx_d.data(), rows, d);
        std::vector<float> phi(rows * f), dx(rows * d);
        FeatureMapKernels::cpu().fwd(map, x.data(), phi.data(), rows, d);
        FeatureMapKernels::cpu().bwd(map, x.data(), dphi.data(), dx.data(), rows, d);
        CHECK(relative_error(phi_d.download(), phi) < kTolerance);
        CHECK(relative_error(dx_d.download(), dx) < kTolerance);
      }
}
