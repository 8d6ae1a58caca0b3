// Every CUDA kernel against its CPU reference on fresh seeded inputs at odd sizes, forward and
// backward, fp32 (relative error 1e-4) and bf16 (2e-2). Skips itself (with a warning) on machines
// without a GPU and in builds without CUDA.
#include <catch2/catch.hpp>

#ifndef SEQBENCH_WITH_CUDA
TEST_CASE("GPU kernels are skipped in a build without CUDA", "[gpu]") {
  WARN("no CUDA device: skipped (this build has no CUDA backend)");
}
#else
#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "ops/activations.h"
#include "ops/adamw.h"
#include "ops/cross_entropy.h"
#include "ops/cuda/cuda_device.h"
#include "ops/cuda/ops_cuda.cuh"
#include "ops/device_memory.h"
#include "ops/layer_norm.h"
#include "ops/matmul.h"
#include "mixers/linear/linear_attention_cuda.cuh"
#include "mixers/softmax/softmax_attention_cuda.cuh"
#include "ops/tensor.h"
#include "tests/gpu_kernel_checks.h"

using namespace seqbench;
using namespace seqbench::gpu_checks;
using bf16 = __nv_bfloat16;

namespace {

std::string describe(const AttentionShape& s) {
  std::ostringstream out;
  out << "B=" << s.batch << " L=" << s.seq_len << " H=" << s.heads << " D=" << s.head_dim;
  return out.str();
}

// head_dim 64/128 take the tensor-core path in bf16; 40 and 72 the CUDA-core one; lengths cut
// tiles (64 queries, 64 keys, 32 keys) unevenly.
const std::vector<AttentionShape> kAttentionShapes = {
    {1, 1, 1, 64}, {2, 37, 3, 64}, {1, 257, 3, 128}, {2, 130, 2, 128}, {1, 37, 3, 40}, {1, 65, 2, 72}, {1, 33, 1, 256},
};

}  // namespace

TEMPLATE_TEST_CASE("softmax attention forward on the GPU matches the CPU kernel", "[gpu][softmax]", float, bf16) {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 11;
  for (const AttentionShape& s : kAttentionShapes) {
    INFO(type_name<TestType>() << " " << describe(s) << " seed=" << seed);
    Rng rng(seed++);
    const int64_t n = s.batch * s.seq_len * s.heads * s.head_dim, rows = s.batch * s.heads * s.seq_len;
    std::vector<float> q = normal_values(n, rng), k = normal_values(n, rng), v = normal_values(n, rng);
    auto dq = upload_rounded<TestType>(q), dk = upload_rounded<TestType>(k), dv = upload_rounded<TestType>(v);
    auto out = poisoned<TestType>(n);
    auto lse = poisoned<float>(rows);
    softmax_attention_fwd_cuda(dq.data(), dk.data(), dv.data(), out.data(), lse.data(), s);

    std::vector<float> want_out(n), want_lse(rows);
    softmax_attention_fwd_cpu(q.data(), k.data(), v.data(), want_out.data(), want_lse.data(), s);
    CHECK(relative_error(download_floats(out), want_out) < tolerance<TestType>());
    CHECK(relative_error(lse.download(), want_lse) < 1e-5);
  }
}

TEMPLATE_TEST_CASE("softmax attention backward on the GPU matches the CPU kernel", "[gpu][softmax]", float, bf16) {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 31;
  for (const AttentionShape& s : kAttentionShapes) {
    INFO(type_name<TestType>() << " " << describe(s) << " seed=" << seed);
    Rng rng(seed++);
    const int64_t n = s.batch * s.seq_len * s.heads * s.head_dim, rows = s.batch * s.heads * s.seq_len;
    std::vector<float> q = normal_values(n, rng), k = normal_values(n, rng), v = normal_values(n, rng);
    std::vector<float> dout = normal_values(n, rng);
    auto q_d = upload_rounded<TestType>(q), k_d = upload_rounded<TestType>(k), v_d = upload_rounded<TestType>(v);
    auto dout_d = upload_rounded<TestType>(dout);
    // Both sides differentiate at the same (stored) forward output.
    std::vector<float> out(n), lse(rows);
    softmax_attention_fwd_cpu(q.data(), k.data(), v.data(), out.data(), lse.data(), s);
    auto out_d = upload_rounded<TestType>(out);
    DeviceArray<float> lse_d(lse);
    auto gq = poisoned<TestType>(n), gk = poisoned<TestType>(n), gv = poisoned<TestType>(n);
    softmax_attention_bwd_cuda(q_d.data(), k_d.data(), v_d.data(), out_d.data(), lse_d.data(), dout_d.data(), gq.data(),
                               gk.data(), gv.data(), s);

    std::vector<float> want_q(n), want_k(n), want_v(n);
    softmax_attention_bwd_cpu(q.data(), k.data(), v.data(), out.data(), lse.data(), dout.data(), want_q.data(),
                              want_k.data(), want_v.data(), s);
    CHECK(relative_error(download_floats(gq), want_q) < tolerance<TestType>());
    CHECK(relative_error(download_floats(gk), want_k) < tolerance<TestType>());
    CHECK(relative_error(download_floats(gv), want_v) < tolerance<TestType>());
  }
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
      softmax_attention_decode_cpu(q.data(), k.data(), v.data(), len, want.data(), cache);
      CHECK(relative_error(download_floats(out), want) < tolerance<TestType>());
    }
}

std::string describe(const LinearAttentionShape& s, const LinearAttentionOptions& o) {
  std::ostringstream out;
  out << "B=" << s.batch << " L=" << s.seq_len << " H=" << s.heads << " F=" << s.feature_dim << " Dh=" << s.head_dim
      << " normalize=" << o.normalize;
  return out.str();
}

// Feature widths and value widths around the 32-column tiles and 64-column slices, one with 129 features.
const std::vector<LinearAttentionShape> kLinearShapes = {
    {1, 1, 1, 16, 16}, {2, 37, 3, 16, 64}, {1, 257, 2, 64, 128}, {1, 130, 3, 33, 70}, {1, 65, 1, 129, 8},
};

// Positive features (as elu+1 gives) keep the normaliser away from zero.
std::vector<float> features(int64_t n, Rng& rng, bool normalize) {
  return normalize ? uniform_values(n, rng, 0.05, 1.0) : normal_values(n, rng);
}

TEMPLATE_TEST_CASE("linear attention forward on the GPU matches the CPU kernel, states included", "[gpu][linear]",
                   float, bf16) {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 71;
  for (const LinearAttentionShape& s : kLinearShapes)
    for (bool normalize : {true, false}) {
      LinearAttentionOptions o;
      o.normalize = normalize;
      INFO(type_name<TestType>() << " " << describe(s, o) << " seed=" << seed);
      Rng rng(seed++);
      const int64_t nf = s.batch * s.seq_len * s.heads * s.feature_dim, nv = s.batch * s.seq_len * s.heads * s.head_dim;
      const int64_t rows = s.batch * s.heads * s.seq_len, pairs = s.batch * s.heads;
      std::vector<float> a = features(nf, rng, normalize), b = features(nf, rng, normalize), v = normal_values(nv, rng);
      auto a_d = upload_rounded<TestType>(a), b_d = upload_rounded<TestType>(b), v_d = upload_rounded<TestType>(v);
      auto out = poisoned<TestType>(nv);
      auto den = poisoned<float>(rows), kv = poisoned<float>(pairs * s.feature_dim * s.head_dim);
      auto ks = poisoned<float>(pairs * s.feature_dim);
      linear_attention_fwd_cuda(a_d.data(), b_d.data(), v_d.data(), out.data(), den.data(), kv.data(), ks.data(), s, o);

      std::vector<float> want(nv), want_den(rows), want_kv(kv.size()), want_ks(ks.size());
      linear_attention_fwd_cpu(a.data(), b.data(), v.data(), want.data(), want_den.data(), want_kv.data(),
                               want_ks.data(), s, o);
      CHECK(relative_error(download_floats(out), want) < tolerance<TestType>());
      if (normalize) CHECK(relative_error(den.download(), want_den) < 1e-5);
      CHECK(relative_error(kv.download(), want_kv) < 1e-5);
      CHECK(relative_error(ks.download(), want_ks) < 1e-5);
    }
}

TEMPLATE_TEST_CASE("linear attention backward on the GPU matches the CPU kernel", "[gpu][linear]", float, bf16) {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 91;
  for (const LinearAttentionShape& s : kLinearShapes)
    for (bool normalize : {true, false}) {
      LinearAttentionOptions o;
      o.normalize = normalize;
      INFO(type_name<TestType>() << " " << describe(s, o) << " seed=" << seed);
      Rng rng(seed++);
      const int64_t nf = s.batch * s.seq_len * s.heads * s.feature_dim, nv = s.batch * s.seq_len * s.heads * s.head_dim;
      std::vector<float> a = features(nf, rng, normalize), b = features(nf, rng, normalize), v = normal_values(nv, rng);
      std::vector<float> dout = normal_values(nv, rng);
      auto a_d = upload_rounded<TestType>(a), b_d = upload_rounded<TestType>(b), v_d = upload_rounded<TestType>(v);
      auto dout_d = upload_rounded<TestType>(dout);
      std::vector<float> out(nv), den(s.batch * s.heads * s.seq_len);
      linear_attention_fwd_cpu(a.data(), b.data(), v.data(), out.data(), den.data(), nullptr, nullptr, s, o);
      auto out_d = upload_rounded<TestType>(out);
      DeviceArray<float> den_d(den);
      auto ga = poisoned<TestType>(nf), gb = poisoned<TestType>(nf), gv = poisoned<TestType>(nv);
      linear_attention_bwd_cuda(a_d.data(), b_d.data(), v_d.data(), out_d.data(), den_d.data(), dout_d.data(), ga.data(),
                                gb.data(), gv.data(), s, o);

      std::vector<float> want_a(nf), want_b(nf), want_v(nv);
      linear_attention_bwd_cpu(a.data(), b.data(), v.data(), out.data(), den.data(), dout.data(), want_a.data(),
                               want_b.data(), want_v.data(), s, o);
      CHECK(relative_error(download_floats(gv), want_v) < tolerance<TestType>());
      if (normalize && s.seq_len == 1 && !std::is_same_v<TestType, float>) {
        // out_0 = v_0 whatever phi is, so d phi is exactly zero: the CPU returns rounding residue,
        // bf16 operands leave 2^-9 of the cancelling terms b (v.dout/g - dout.out/g). Bound that.
        double min_den = den[0];
        for (float g : den) min_den = std::min<double>(min_den, g);
        const double terms = 2.0 * l2_norm(v) * l2_norm(dout) / min_den;
        CHECK(l2_norm(download_floats(ga)) < tolerance<TestType>() * l2_norm(b) * terms);
        CHECK(l2_norm(download_floats(gb)) < tolerance<TestType>() * l2_norm(a) * terms);
        continue;
      }
      CHECK(relative_error(download_floats(ga), want_a) < tolerance<TestType>());
      CHECK(relative_error(download_floats(gb), want_b) < tolerance<TestType>());
    }
}

TEMPLATE_TEST_CASE("linear attention decode on the GPU updates the state as the CPU kernel does", "[gpu][linear]",
                   float, bf16) {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 111;
  for (const LinearAttentionShape& s : kLinearShapes)
    for (bool normalize : {true, false}) {
      LinearAttentionOptions o;
      o.normalize = normalize;
      INFO(type_name<TestType>() << " " << describe(s, o) << " seed=" << seed);
      Rng rng(seed++);
      const int64_t pairs = s.batch * s.heads, nf = pairs * s.feature_dim, nv = pairs * s.head_dim;
      std::vector<float> a = features(nf, rng, normalize), b = features(nf, rng, normalize), v = normal_values(nv, rng);
      std::vector<float> kv = normal_values(nf * s.head_dim, rng), ks = uniform_values(nf, rng, 0.5, 2.0);
      auto a_d = upload_rounded<TestType>(a), b_d = upload_rounded<TestType>(b), v_d = upload_rounded<TestType>(v);
      DeviceArray<float> kv_d(kv), ks_d(ks);
      auto out = poisoned<TestType>(nv);
      linear_attention_decode_cuda(a_d.data(), b_d.data(), v_d.data(), kv_d.data(), ks_d.data(), out.data(), s, o);
      std::vector<float> want(nv);
      linear_attention_decode_cpu(a.data(), b.data(), v.data(), kv.data(), ks.data(), want.data(), s, o);
      CHECK(relative_error(download_floats(out), want) < tolerance<TestType>());
      CHECK(relative_error(kv_d.download(), kv) < 1e-6);
      CHECK(relative_error(ks_d.download(), ks) < 1e-6);
    }
}

TEMPLATE_TEST_CASE("matmul through cuBLAS matches the CPU matmul in every transpose combination", "[gpu][ops]", float,
                   bf16) {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 131;
  for (bool trans_a : {false, true})
    for (bool trans_b : {false, true})
      for (bool accumulate : {false, true}) {
        const MatmulShape shape{37, 65, 129, trans_a, trans_b, accumulate};
        INFO(type_name<TestType>() << " trans_a=" << trans_a << " trans_b=" << trans_b << " accumulate=" << accumulate
                                   << " seed=" << seed);
        Rng rng(seed++);
        std::vector<float> a = normal_values(shape.m * shape.k, rng), b = normal_values(shape.k * shape.n, rng);
        std::vector<float> c = normal_values(shape.m * shape.n, rng);
        auto a_d = upload_rounded<TestType>(a), b_d = upload_rounded<TestType>(b), c_d = upload_rounded<TestType>(c);
        matmul_cuda(a_d.data(), b_d.data(), c_d.data(), shape);
        matmul_cpu(a.data(), b.data(), c.data(), shape);
        CHECK(relative_error(download_floats(c_d), c) < (std::is_same_v<TestType, float> ? 1e-5 : 1e-2));
      }
}

TEST_CASE("layer norm forward and backward on the GPU match the CPU kernels", "[gpu][ops]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 151;
  for (int64_t rows : {1, 37})
    for (int64_t dim : {1, 65, 129}) {
      INFO("rows=" << rows << " dim=" << dim << " seed=" << seed);
      Rng rng(seed++);
      std::vector<float> x = normal_values(rows * dim, rng, 2.0), gamma = normal_values(dim, rng),
                         beta = normal_values(dim, rng), dy = normal_values(rows * dim, rng);
      std::vector<float> dgamma = normal_values(dim, rng), dbeta = normal_values(dim, rng);  // accumulated into
      DeviceArray<float> x_d(x), gamma_d(gamma), beta_d(beta), dy_d(dy), dgamma_d(dgamma), dbeta_d(dbeta);
      auto y_d = poisoned<float>(rows * dim), mean_d = poisoned<float>(rows), rstd_d = poisoned<float>(rows);
      auto dx_d = poisoned<float>(rows * dim);
      layer_norm_fwd_cuda(x_d.data(), gamma_d.data(), beta_d.data(), y_d.data(), mean_d.data(), rstd_d.data(), rows, dim,
                          1e-5f);
      layer_norm_bwd_cuda(dy_d.data(), x_d.data(), gamma_d.data(), mean_d.data(), rstd_d.data(), dx_d.data(),
                          dgamma_d.data(), dbeta_d.data(), rows, dim);
      std::vector<float> y(rows * dim), mean(rows), rstd(rows), dx(rows * dim);
      layer_norm_fwd_cpu(x.data(), gamma.data(), beta.data(), y.data(), mean.data(), rstd.data(), rows, dim, 1e-5f);
      layer_norm_bwd_cpu(dy.data(), x.data(), gamma.data(), mean.data(), rstd.data(), dx.data(), dgamma.data(),
                         dbeta.data(), rows, dim);
      CHECK(relative_error(y_d.download(), y) < 1e-5);
      CHECK(relative_error(rstd_d.download(), rstd) < 1e-5);
      CHECK(relative_error(dx_d.download(), dx) < 1e-4);
      CHECK(relative_error(dgamma_d.download(), dgamma) < 1e-5);
      CHECK(relative_error(dbeta_d.download(), dbeta) < 1e-5);
    }
}

TEST_CASE("GELU, cross-entropy, argmax and AdamW on the GPU match the CPU kernels", "[gpu][ops]") {
  SKIP_WITHOUT_GPU();
  const uint64_t seed = 171;
  INFO("seed=" << seed);
  Rng rng(seed);
  const int64_t n = 1001, rows = 37, vocab = 1001;
  std::vector<float> x = normal_values(n, rng, 3.0), dy = normal_values(n, rng);
  DeviceArray<float> x_d(x), dy_d(dy);
  auto y_d = poisoned<float>(n), dx_d = poisoned<float>(n);
  gelu_fwd_cuda(x_d.data(), y_d.data(), n);
  gelu_bwd_cuda(x_d.data(), dy_d.data(), dx_d.data(), n);
  std::vector<float> y(n), dx(n);
  gelu_fwd_cpu(x.data(), y.data(), n);
  gelu_bwd_cpu(x.data(), dy.data(), dx.data(), n);
  CHECK(relative_error(y_d.download(), y) < 1e-5);
  CHECK(relative_error(dx_d.download(), dx) < 1e-5);

  std::vector<float> logits = normal_values(rows * vocab, rng, 4.0);
  logits[5 * vocab + 3] = logits[5 * vocab + 700] = 100.0f;  // a tie: the first index wins
  std::vector<int32_t> targets(rows);
  for (auto& t : targets) t = static_cast<int32_t>(rng.uniform_int(0, vocab));
  DeviceArray<float> logits_d(logits);
  DeviceArray<int32_t> targets_d(targets);
  auto dlogits_d = poisoned<float>(rows * vocab);
  auto argmax_d = DeviceArray<int32_t>(rows);
  const double loss = cross_entropy_cuda(logits_d.data(), targets_d.data(), dlogits_d.data(), rows, vocab);
  argmax_rows_cuda(logits_d.data(), argmax_d.data(), rows, vocab);
  std::vector<float> dlogits(rows * vocab);
  std::vector<int32_t> argmax(rows);
  const double want_loss = cross_entropy_cpu(logits.data(), targets.data(), dlogits.data(), rows, vocab);
  argmax_rows_cpu(logits.data(), argmax.data(), rows, vocab);
  CHECK(loss == Approx(want_loss).epsilon(1e-5));
  CHECK(relative_error(dlogits_d.download(), dlogits) < 1e-5);
  CHECK(argmax_d.download() == argmax);

  AdamWHyper hyper;
  hyper.lr = 3e-3f, hyper.weight_decay = 0.1f, hyper.step = 3;
  std::vector<float> param = normal_values(n, rng), grad = normal_values(n, rng), m = normal_values(n, rng, 0.1),
                     v = uniform_values(n, rng, 0.0, 0.1);
  DeviceArray<float> param_d(param), grad_d(grad), m_d(m), v_d(v);
  adamw_update_cuda(param_d.data(), grad_d.data(), m_d.data(), v_d.data(), n, hyper);
  adamw_update_cpu(param.data(), grad.data(), m.data(), v.data(), n, hyper);
  CHECK(relative_error(param_d.download(), param) < 1e-6);
  CHECK(relative_error(m_d.download(), m) < 1e-6);
  CHECK(relative_error(v_d.download(), v) < 1e-6);
}

TEST_CASE("bf16 conversion on the GPU rounds as the host does", "[gpu][ops]") {
  SKIP_WITHOUT_GPU();
  Rng rng(191);
  std::vector<float> x = normal_values(999, rng, 100.0);
  DeviceArray<float> x_d(x), back_d(999);
  DeviceArray<bf16> half_d(999);
  convert_cuda(x_d.data(), half_d.data(), 999);
  convert_cuda(half_d.data(), back_d.data(), 999);
  upload_rounded<bf16>(x);  // rounds x in place
  CHECK(back_d.download() == x);
}

TEST_CASE("CUDA tensors are allocated, counted and copied through the registered allocator", "[gpu][memory]") {
  SKIP_WITHOUT_GPU();
  const int64_t before = memory_counters(Device::cuda).current_bytes;
  {
    Tensor t({3, 5}, Device::cuda);
    CHECK(memory_counters(Device::cuda).current_bytes == before + 60);
    Tensor host = t.to(Device::cpu);
    for (int64_t i = 0; i < host.numel(); ++i) CHECK(host[i] == 0.0f);
    host[7] = 2.5f;
    Tensor back = host.to(Device::cuda).to(Device::cpu);
    CHECK(back[7] == 2.5f);
  }
  CHECK(memory_counters(Device::cuda).current_bytes == before);
  try {
    DeviceArray<float> huge(int64_t{1} << 48);  // 1 PiB
    FAIL("an impossible allocation succeeded");
  } catch (const std::runtime_error& e) {
    INFO(e.what());
    CHECK(std::string(e.what()).find("CUDA out of memory: asked for 1125899906842624 bytes") != std::string::npos);
  }
  CHECK(cuda_device_info().multiprocessors > 0);
}

#endif  // SEQBENCH_WITH_CUDA
