// Causal softmax attention: the CUDA kernels against the CPU kernels on fresh seeded inputs at odd sizes
// (lengths that cut every tile unevenly, length 1, head dims on and off the tensor-core path), forward,
// backward and decode, fp32 (relative error 1e-4) and bf16 (2e-2). Built only with CUDA; each case skips
// itself (with a warning) on a machine without a GPU.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <ostream>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "mixers/softmax/softmax_attention_bf16.cuh"
#include "mixers/softmax/softmax_attention_decode_tuning.h"
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
    {1, 1, 1, 64},
    {2, 37, 3, 64},
    {1, 257, 3, 128},
    {2, 130, 2, 128},
    {1, 37, 3, 40},
    {1, 65, 2, 72},
    {1, 33, 1, 256},
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
  CHECK(relative_error(download_floats(gv), want_v) < tolerance<T>());
  if (s.seq_len == 1) {
    // One key: its probability is 1 whatever q and k are, so dq and dk are exactly zero and both
    // sides return the rounding residue of dS = dO.v - dO.out. Bound it: |dS| <= eps |dO| |v| per row.
    const double bound = tolerance<T>() * l2_norm(dout) * l2_norm(v) / std::sqrt(double(s.head_dim));
    CHECK(l2_norm(download_floats(gq)) < bound * l2_norm(k));
    CHECK(l2_norm(download_floats(gk)) < bound * l2_norm(q));
    return;
  }
  CHECK(relative_error(download_floats(gq), want_q) < tolerance<T>());
  CHECK(relative_error(download_floats(gk), want_k) < tolerance<T>());
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
                   "[gpu][softmax][decode]", float, bf16) {
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

namespace {

// A decode problem: the cache, how much of it is filled, pointers moved `shift` elements off their
// 16-byte alignment (the plain-copy path), and q scaled to sharpen the softmax.
struct DecodeCase {
  AttentionShape cache;
  int64_t len, shift;
  float q_scale;
};

std::ostream& operator<<(std::ostream& out, const DecodeCase& c) {
  return out << describe(c.cache) << " len=" << c.len << " shift=" << c.shift << " q_scale=" << c.q_scale;
}

// Lengths around the 128-key split minimum and the tiles (32 or 64 keys); head dims with idle lanes
// (40, 72), an odd one (37); one pair (the most splits); more pairs than an H100/H200 has block
// slots (several items per block, with and without splits).
const std::tuple<std::vector<DecodeCase>> kDecodeCases{{
    {{1, 1, 1, 64}, 1, 0, 1},
    {{3, 9, 5, 128}, 7, 0, 1},
    {{1, 300, 3, 128}, 255, 0, 1},
    {{3, 260, 7, 40}, 257, 0, 1},
    {{1, 4099, 3, 128}, 4099, 0, 1},
    {{1, 4200, 1, 256}, 4099, 0, 4},
    {{3, 37, 150, 64}, 37, 0, 1},
    {{2, 300, 199, 64}, 300, 0, 1},
    {{3, 300, 5, 37}, 257, 0, 1},
    {{1, 513, 3, 128}, 513, 1, 1},
    {{1, 2, 3, 72}, 2, 0, 1},
    {{3, 1100, 5, 72}, 1031, 0, 8},
    // H with power-of-two factors: several heads per block (D = 64: up to 32, 128: 16, 256 and
    // unaligned: 8), with a float4 merge and, at D = 37, a scalar one.
    {{2, 300, 16, 128}, 257, 0, 1},
    {{1, 700, 8, 64}, 699, 0, 2},
    {{3, 150, 12, 256}, 149, 0, 1},
    {{2, 129, 32, 64}, 129, 0, 1},
    {{1, 513, 16, 128}, 513, 1, 1},
    {{2, 37, 6, 40}, 37, 0, 1},
    {{2, 90, 4, 37}, 89, 0, 1},
    {{1, 2100, 16, 128}, 2099, 0, 4},
}};

// Every variant of the decode kernel. First the plan's choices on each path: direct loads (the
// default: staggered loads, lanes sharing merge pieces) and the shared-memory pipeline. Then, with
// direct loads: one, two and as many heads per block as fit; one and two blocks per SM (several
// items per block); forced splits (down to one-token ranges, up to the merge's limit); few long
// ranges; 2 and 8 rows in flight; the next rows loaded ahead; no loads ahead with a lane a merge
// piece (the default before) and at 8 rows; each L2 hint; 2 and 4 lanes a merge piece. Through
// shared memory: the shallowest and the deepest pipeline; one and two blocks per SM; forced splits;
// each L2 prefetch hint; bulk copies with the plan's heads, one head a block and the shallowest
// pipeline.
constexpr size_t kDecodeTuningsEveryCase = 2;
const DecodeTuning kDecodeTunings[] = {
    {},
    {0, 0, 0, 0, 0, 0, 0, 1},
    {1},
    {2},
    {32},
    {0, 0, 1, 3},
    {1, 0, 0, 64},
    {32, 0, 0, 32},
    {0, 0, 0, 0, 1024},
    {0, 0, 0, 0, 0, 0, 0, 0, 2},
    {1, 0, 0, 0, 0, 0, 0, 0, 8},
    {0, 0, 0, 7, 0, 0, 0, 0, 8},
    {0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
    {2, 0, 0, 0, 0, 0, 0, 0, 2, 1},
    {0, 0, 2, 5, 0, 0, 0, 0, 4, 1},
    {1, 0, 0, 0, 0, 0, 0, 1},
    {0, 2, 0, 0, 0, 0, 0, 1},
    {0, 12, 1, 0, 0, 0, 0, 1},
    {0, 3, 2, 5, 0, 0, 0, 1},
    {32, 0, 0, 32, 0, 0, 0, 1},
    {0, 0, 0, 0, 1024, 64, 0, 1},
    {1, 0, 0, 0, 0, 128, 0, 1},
    {0, 0, 0, 0, 0, 256, 0, 1},
    {0, 0, 0, 0, 0, 0, 1},
    {1, 0, 0, 0, 0, 0, 1},
    {0, 2, 0, 7, 0, 0, 1},
    {0, 0, 0, 0, 0, 0, 0, 0, 0, kDecodeTuningNoAhead, 0, 1},
    {0, 0, 0, 0, 0, 0, 0, 0, 8, kDecodeTuningNoAhead},
    {0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3},
    {1, 0, 0, 0, 0, 0, 0, 0, 0, kDecodeTuningNoAhead, 1},
    {0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 2, 4},
    {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2},
};

// values, rounded to T, uploaded after `shift` zeros; the data then starts at .data() + shift.
template <class T>
DeviceArray<T> upload_shifted(std::vector<float>& values, int64_t shift) {
  std::vector<float> padded(static_cast<size_t>(shift), 0.0f);
  padded.insert(padded.end(), values.begin(), values.end());
  DeviceArray<T> device = upload_rounded<T>(padded);
  std::copy(padded.begin() + shift, padded.end(), values.begin());
  return device;
}

template <class T>
std::vector<uint16_t> output_bits(const DeviceArray<T>& out) {
  std::vector<uint16_t> bits;
  for (const T& x : out.download()) {
    uint16_t half[sizeof(T) / 2];
    std::memcpy(half, &x, sizeof(T));
    bits.insert(bits.end(), half, half + sizeof(T) / 2);
  }
  return bits;
}

}  // namespace

TEMPLATE_TEST_CASE("softmax attention decode on the GPU matches the CPU kernel at odd sizes and alignments",
                   "[gpu][softmax][decode]", float, bf16) {
  SKIP_WITHOUT_GPU();
  auto describe_case = [](const DecodeCase& c) {
    std::ostringstream out;
    out << type_name<TestType>() << " " << c;
    return out.str();
  };
  // Each case runs the plan's own choice on both paths and two other tunings taken in turn, so that
  // every tuning meets several shapes while the test stays short enough for compute-sanitizer's
  // racecheck.
  size_t case_index = 0;
  for_each_seeded_case(kDecodeCases, 71, describe_case, [&case_index](const DecodeCase& c, Rng& rng) {
    const AttentionShape& s = c.cache;
    const int64_t n = s.batch * s.seq_len * s.heads * s.head_dim, nq = s.batch * s.heads * s.head_dim;
    std::vector<float> q = normal_values(nq, rng), k = normal_values(n, rng), v = normal_values(n, rng);
    for (float& x : q) x *= c.q_scale;
    auto q_d = upload_shifted<TestType>(q, c.shift), k_d = upload_shifted<TestType>(k, c.shift);
    auto v_d = upload_shifted<TestType>(v, c.shift);
    const TestType *q_p = q_d.data() + c.shift, *k_p = k_d.data() + c.shift, *v_p = v_d.data() + c.shift;
    std::vector<float> want(nq);
    SoftmaxAttentionKernels::cpu().decode(q.data(), k.data(), v.data(), c.len, want.data(), s);

    const size_t first = kDecodeTuningsEveryCase, others = std::size(kDecodeTunings) - first;
    for (size_t pick :
         {size_t{0}, size_t{1}, first + case_index % others, first + (case_index + others / 2) % others}) {
      const DecodeTuning& tuning = kDecodeTunings[pick];
      const DecodeTuningScope scope(tuning);
      INFO("tuning: " << decode_tuning_text(tuning)
                      << "; plan: " << softmax_attention_decode_plan_text<TestType>(s, c.len));
      // A workspace of the call's own, then the caller's (zeroed once): the same plan, the same bits.
      auto own = poisoned<TestType>(nq), given = poisoned<TestType>(nq);
      softmax_attention_decode_cuda(q_p, k_p, v_p, c.len, own.data(), s);
      DeviceArray<float> workspace(softmax_attention_decode_workspace_floats(s, c.len));
      workspace.fill_bytes(0);
      softmax_attention_decode_cuda(q_p, k_p, v_p, c.len, given.data(), s, workspace.data());
      CHECK(relative_error(download_floats(own), want) < tolerance<TestType>());
      const bool same_bits = output_bits(given) == output_bits(own);
      CHECK(same_bits);
    }
    ++case_index;
  });
}

TEST_CASE("softmax attention decode tunings outside the kernel's limits are errors naming them",
          "[gpu][softmax][decode]") {
  SKIP_WITHOUT_GPU();
  const AttentionShape cache{1, 300, 16, 128};
  auto q = DeviceArray<bf16>(16 * 128), k = DeviceArray<bf16>(300 * 16 * 128), out = DeviceArray<bf16>(16 * 128);
  for (const DecodeTuning& tuning :
       {DecodeTuning{0, 1}, DecodeTuning{0, 13}, DecodeTuning{16, 0, 0, 65}, DecodeTuning{0, 0, 0, 0, 0, 32},
        DecodeTuning{0, 0, 0, 0, 0, 0, 2}, DecodeTuning{0, 0, 0, 0, 0, 0, 0, 2},
        DecodeTuning{0, 0, 0, 0, 0, 0, 0, 0, 3}, DecodeTuning{0, 0, 0, 0, 0, 0, 0, 0, 8, 1},
        DecodeTuning{0, 0, 0, 0, 0, 0, 0, 0, 2, 2}, DecodeTuning{0, 0, 0, 0, 0, 0, 0, 0, 0, 4},
        DecodeTuning{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4}, DecodeTuning{0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 1},
        DecodeTuning{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1}, DecodeTuning{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3},
        DecodeTuning{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 64}}) {
    const DecodeTuningScope scope(tuning);
    INFO(decode_tuning_text(tuning));
    CHECK_THROWS_AS(softmax_attention_decode_cuda(q.data(), k.data(), k.data(), 300, out.data(), cache),
                    std::invalid_argument);
  }
}

TEMPLATE_TEST_CASE(
    "softmax attention decode calls sharing a workspace give the same bits and leave its counters "
    "at zero",
    "[gpu][softmax][decode]", float, bf16) {
  SKIP_WITHOUT_GPU();
  // Many splits per (batch, head), or per block of 16 heads: counters in use; on both paths.
  for (size_t path = 0; path < kDecodeTuningsEveryCase; ++path) {
    const DecodeTuningScope scope(kDecodeTunings[path]);
    for (const AttentionShape& cache : {AttentionShape{1, 4099, 3, 128}, AttentionShape{2, 1500, 16, 128}}) {
      INFO(describe_typed<TestType>(cache) << "; tuning: " << decode_tuning_text(kDecodeTunings[path]));
      Rng rng(91);
      const int64_t n = cache.batch * cache.seq_len * cache.heads * cache.head_dim;
      const int64_t nq = cache.batch * cache.heads * cache.head_dim;
      std::vector<float> q = normal_values(nq, rng), k = normal_values(n, rng), v = normal_values(n, rng);
      auto q_d = upload_rounded<TestType>(q), k_d = upload_rounded<TestType>(k), v_d = upload_rounded<TestType>(v);
      DeviceArray<float> workspace(softmax_attention_decode_workspace_floats(cache, cache.seq_len));
      workspace.fill_bytes(0);
      auto decode = [&](int64_t len) {
        auto out = poisoned<TestType>(nq);
        softmax_attention_decode_cuda(q_d.data(), k_d.data(), v_d.data(), len, out.data(), cache, workspace.data());
        return output_bits(out);
      };
      const std::vector<uint16_t> first = decode(cache.seq_len);
      const bool second_same = decode(cache.seq_len) == first;
      CHECK(second_same);
      // Shorter caches in between: their plans may take more heads per block and more partials,
      // which the workspace of the longest must hold (compute-sanitizer's memcheck sees any overrun).
      for (int64_t len : {1000, 700, 300, 37, 1}) {
        CHECK(softmax_attention_decode_workspace_floats(cache, len) <=
              softmax_attention_decode_workspace_floats(cache, cache.seq_len));
        decode(len);
      }
      const bool after_other_len_same = decode(cache.seq_len) == first;
      CHECK(after_other_len_same);
      const std::vector<float> after = workspace.download();
      const std::vector<uint32_t> counters(reinterpret_cast<const uint32_t*>(after.data()),
                                           reinterpret_cast<const uint32_t*>(after.data()) + cache.batch * cache.heads);
      CHECK(counters == std::vector<uint32_t>(counters.size(), 0u));
    }
  }
}

TEMPLATE_TEST_CASE("softmax attention decode with staggered loads gives the bits of loads drained each step",
                   "[gpu][softmax][decode]", float, bf16) {
  SKIP_WITHOUT_GPU();
  // Staggering moves only when rows are loaded, not what is computed or in which order: the same
  // bits at 4 and 8 rows, with masked steps (lengths that are no multiple of a step), 16-byte and
  // plain rows, one and several heads a block, one split and many.
  for (const auto& [cache, len] :
       {std::pair{AttentionShape{1, 4099, 3, 128}, int64_t{4099}},
        std::pair{AttentionShape{2, 300, 16, 128}, int64_t{257}},
        std::pair{AttentionShape{3, 260, 7, 40}, int64_t{257}}, std::pair{AttentionShape{2, 90, 4, 37}, int64_t{89}}}) {
    Rng rng(93);
    const int64_t n = cache.batch * cache.seq_len * cache.heads * cache.head_dim;
    const int64_t nq = cache.batch * cache.heads * cache.head_dim;
    std::vector<float> q = normal_values(nq, rng), k = normal_values(n, rng), v = normal_values(n, rng);
    auto q_d = upload_rounded<TestType>(q), k_d = upload_rounded<TestType>(k), v_d = upload_rounded<TestType>(v);
    for (int rows : {4, 8}) {
      for (int splits : {0, 1}) {
        auto decode = [&](int ahead) {
          const DecodeTuning tuning{0, 0, 0, splits, 0, 0, 0, 0, rows, ahead};
          const DecodeTuningScope scope(tuning);
          auto out = poisoned<TestType>(nq);
          softmax_attention_decode_cuda(q_d.data(), k_d.data(), v_d.data(), len, out.data(), cache);
          return output_bits(out);
        };
        INFO(describe_typed<TestType>(cache) << ", len " << len << ", rows " << rows << ", splits " << splits);
        const bool same_bits = decode(2) == decode(kDecodeTuningNoAhead);
        CHECK(same_bits);
      }
    }
  }
}
