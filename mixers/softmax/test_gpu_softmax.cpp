// Causal softmax attention: the CUDA kernels against the CPU kernels on fresh seeded inputs at odd sizes
// (lengths that cut every tile unevenly, length 1, head dims on and off the tensor-core path), forward,
// backward and decode, fp32 (relative error 1e-4) and bf16 (2e-2). Built only with CUDA; each case skips
// itself (with a warning) on a machine without a GPU.
#include <catch2/catch.hpp>
#include <cstring>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "mixers/softmax/softmax_attention_bf16.cuh"
#include "tests/gpu_kernel_checks.h"
#include "tests/seeded_cases.h"

using namespace seqbench;
using namespace seqbench::gpu_checks;
using seqbench::testing::for_each_seeded_case;
using bf16 = __nv_bfloat16;

namespace {

std::string describe(const AttentionShape& s) {
  std::ostringstream out;
  out << "B=" << s.batch << " L=" << s.seq_len << " H=" << s.heads << " D=" << s.head_dim;
  return out.str();
}

template <class T>
std::string describe_typed(const AttentionShape& s) {
  return std::string(type_name<T>()) + " " + describe(s);
}

// head_dim 64/128 take the tensor-core path in bf16; 40 and 72 the CUDA-core one; lengths cut
// tiles (64 queries, 64 keys, 32 keys) unevenly.
const std::tuple<std::vector<AttentionShape>> kAttentionCases{{
    {1, 1, 1, 64}, {2, 37, 3, 64}, {1, 257, 3, 128}, {2, 130, 2, 128}, {1, 37, 3, 40}, {1, 65, 2, 72}, {1, 33, 1, 256},
}};

}  // namespace

TEMPLATE_TEST_CASE("softmax attention forward on the GPU matches the CPU kernel", "[gpu][softmax]", float, bf16) {
  SKIP_WITHOUT_GPU();
  for_each_seeded_case(kAttentionCases, 11, describe_typed<TestType>, [](const AttentionShape& s, Rng& rng) {
    const int64_t n = s.batch * s.seq_len * s.heads * s.head_dim, rows = s.batch * s.heads * s.seq_len;
    std::vector<float> q = normal_values(n, rng), k = normal_values(n, rng), v = normal_values(n, rng);
    auto dq = upload_rounded<TestType>(q), dk = upload_rounded<TestType>(k), dv = upload_rounded<TestType>(v);
    auto out = poisoned<TestType>(n);
    auto lse = poisoned<float>(rows);
    softmax_attention_fwd_cuda(dq.data(), dk.data(), dv.data(), out.data(), lse.data(), s);

    std::vector<float> want_out(n), want_lse(rows);
    SoftmaxAttentionKernels::cpu().fwd(q.data(), k.data(), v.data(), want_out.data(), want_lse.data(), s);
    CHECK(relative_error(download_floats(out), want_out) < tolerance<TestType>());
    CHECK(relative_error(lse.download(), want_lse) < 1e-5);
  });
}

namespace {

// The GPU backward in `mode` against the CPU kernel, both differentiating at the same (stored) forward output.
template <class T>
void check_backward(const AttentionShape& s, Rng& rng, AttentionBwdMode mode) {
  const int64_t n = s.batch * s.seq_len * s.heads * s.head_dim, rows = s.batch * s.heads * s.seq_len;
  std::vector<float> q = normal_values(n, rng), k = normal_values(n, rng), v = normal_values(n, rng);
  std::vector<float> dout = normal_values(n, rng);
  auto q_d = upload_rounded<T>(q), k_d = upload_rounded<T>(k), v_d = upload_rounded<T>(v);
  auto dout_d = upload_rounded<T>(dout);
  std::vector<float> out(n), lse(rows);
  SoftmaxAttentionKernels::cpu().fwd(q.data(), k.data(), v.data(), out.data(), lse.data(), s);
  auto out_d = upload_rounded<T>(out);
  DeviceArray<float> lse_d(lse);
  auto gq = poisoned<T>(n), gk = poisoned<T>(n), gv = poisoned<T>(n);
  softmax_attention_bwd_cuda(q_d.data(), k_d.data(), v_d.data(), out_d.data(), lse_d.data(), dout_d.data(), gq.data(),
                             gk.data(), gv.data(), s, nullptr, mode);

  std::vector<float> want_q(n), want_k(n), want_v(n);
  SoftmaxAttentionKernels::cpu().bwd(q.data(), k.data(), v.data(), out.data(), lse.data(), dout.data(), want_q.data(),
                                     want_k.data(), want_v.data(), s);
  CHECK(relative_error(download_floats(gq), want_q) < tolerance<T>());
  CHECK(relative_error(download_floats(gk), want_k) < tolerance<T>());
  CHECK(relative_error(download_floats(gv), want_v) < tolerance<T>());
}

// Two deterministic backwards of the same inputs, each into fresh (poisoned) buffers: the gradients
// must match byte for byte.
template <class T>
void check_runs_identical(const AttentionShape& s, Rng& rng) {
  const int64_t n = s.batch * s.seq_len * s.heads * s.head_dim, rows = s.batch * s.heads * s.seq_len;
  std::vector<float> q = normal_values(n, rng), k = normal_values(n, rng), v = normal_values(n, rng);
  std::vector<float> dout = normal_values(n, rng);
  auto q_d = upload_rounded<T>(q), k_d = upload_rounded<T>(k), v_d = upload_rounded<T>(v);
  auto dout_d = upload_rounded<T>(dout);
  auto out_d = poisoned<T>(n);
  DeviceArray<float> lse_d(rows), workspace(softmax_attention_bwd_workspace_floats(s));
  softmax_attention_fwd_cuda(q_d.data(), k_d.data(), v_d.data(), out_d.data(), lse_d.data(), s);
  auto run = [&] {
    std::vector<DeviceArray<T>> grads;
    for (int i = 0; i < 3; ++i) grads.push_back(poisoned<T>(n));
    softmax_attention_bwd_cuda(q_d.data(), k_d.data(), v_d.data(), out_d.data(), lse_d.data(), dout_d.data(),
                               grads[0].data(), grads[1].data(), grads[2].data(), s, workspace.data(),
                               AttentionBwdMode::deterministic);
    std::vector<std::vector<T>> host;
    for (const auto& g : grads) host.push_back(g.download());
    return host;
  };
  const auto first = run(), second = run();
  for (int i = 0; i < 3; ++i) {
    INFO("gradient d" << "qkv"[i]);
    REQUIRE(first[i].size() == static_cast<size_t>(n));
    CHECK(std::memcmp(first[i].data(), second[i].data(), n * sizeof(T)) == 0);
  }
}

// Lengths around the deterministic dQ pass's 64-query blocks and 32/64-key tiles and the dK/dV
// pass's 128-key blocks, both tensor-core head dims, batch 1 and 2.
const std::tuple<std::vector<int64_t>, std::vector<int64_t>, std::vector<int64_t>> kDeterministicCases{
    {1, 63, 65, 130}, {1, 2}, {64, 128}};

}  // namespace

TEMPLATE_TEST_CASE("softmax attention backward on the GPU matches the CPU kernel", "[gpu][softmax]", float, bf16) {
  SKIP_WITHOUT_GPU();
  for_each_seeded_case(kAttentionCases, 31, describe_typed<TestType>, [](const AttentionShape& s, Rng& rng) {
    check_backward<TestType>(s, rng, AttentionBwdMode::atomic);
  });
}

TEMPLATE_TEST_CASE("deterministic softmax attention backward on the GPU matches the CPU kernel", "[gpu][softmax]",
                   float, bf16) {
  SKIP_WITHOUT_GPU();
  for_each_seeded_case(
      kDeterministicCases, 71,
      [](int64_t L, int64_t B, int64_t D) { return describe_typed<TestType>(AttentionShape{B, L, 2, D}); },
      [](int64_t L, int64_t B, int64_t D, Rng& rng) {
        check_backward<TestType>(AttentionShape{B, L, 2, D}, rng, AttentionBwdMode::deterministic);
      });
}

TEMPLATE_TEST_CASE("deterministic softmax attention backward gives bit-identical gradients on every run",
                   "[gpu][softmax]", float, bf16) {
  SKIP_WITHOUT_GPU();
  const std::tuple<std::vector<int64_t>> head_dims{{64, 128}};
  for_each_seeded_case(
      head_dims, 91, [](int64_t D) { return describe_typed<TestType>(AttentionShape{2, 1000, 4, D}); },
      [](int64_t D, Rng& rng) { check_runs_identical<TestType>(AttentionShape{2, 1000, 4, D}, rng); });
}

TEMPLATE_TEST_CASE("softmax attention decode on the GPU matches the CPU kernel over one or many cache splits",
                   "[gpu][softmax]", float, bf16) {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 51;
  for (int64_t head_dim : {64, 128, 40})
    for (int64_t len : {1, 37, 300, 701}) {
      const AttentionShape cache{2, 709, 3, head_dim};  // capacity above len: only the prefix is read
      INFO(type_name<TestType>() << " " << describe(cache) << " len=" << len << " seed=" << seed);
      Rng rng(seed++);
      const int64_t n = cache.batch * cache.seq_len * cache.heads * head_dim, nq = cache.batch * cache.heads * head_dim;
      std::vector<float> q = normal_values(nq, rng), k = normal_values(n, rng), v = normal_values(n, rng);
      auto q_d = upload_rounded<TestType>(q), k_d = upload_rounded<TestType>(k), v_d = upload_rounded<TestType>(v);
      auto out = poisoned<TestType>(nq);
      softmax_attention_decode_cuda(q_d.data(), k_d.data(), v_d.data(), len, out.data(), cache);
      std::vector<float> want(nq);
      SoftmaxAttentionKernels::cpu().decode(q.data(), k.data(), v.data(), len, want.data(), cache);
      CHECK(relative_error(download_floats(out), want) < tolerance<TestType>());
    }
}
