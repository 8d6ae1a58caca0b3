// The shared ops (ops/): every CUDA kernel against its CPU kernel on fresh seeded inputs at odd sizes,
// forward and backward, fp32 (relative error 1e-4) and bf16 where it has a bf16 form (2e-2); the CUDA
// allocator's accounting. Built only with CUDA; each case skips itself (with a warning) on a machine
// without a GPU.
#include <catch2/catch.hpp>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "ops/activations.h"
#include "ops/adamw.h"
#include "ops/causal_conv1d.h"
#include "ops/cross_entropy.h"
#include "ops/cuda/cuda_device.h"
#include "ops/cuda/matmul_bf16.cuh"
#include "ops/device_memory.h"
#include "ops/embedding.h"
#include "ops/layer_norm.h"
#include "ops/matmul.h"
#include "ops/row_ops.h"
#include "ops/swish_gate.h"
#include "ops/tensor.h"
#include "tests/gpu_kernel_checks.h"

using namespace seqbench;
using namespace seqbench::gpu_checks;
using bf16 = __nv_bfloat16;

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

std::vector<float> host_values(const Tensor& t) {
  const Tensor host = t.to(Device::cpu);
  return std::vector<float>(host.data(), host.data() + host.numel());
}

}  // namespace

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
        MatmulKernels::cpu().matmul(a.data(), b.data(), c.data(), shape);
        CHECK(relative_error(download_floats(c_d), c) < (std::is_same_v<TestType, float> ? 1e-5 : 1e-2));
      }
}

TEST_CASE("bf16 rounding and the bf16-operand matmul of mixed precision on the GPU match the CPU's", "[gpu][ops]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 151;
  for (const MatmulShape shape : {MatmulShape{1, 1, 1}, MatmulShape{37, 65, 129, false, true, false},
                                  MatmulShape{64, 17, 33, true, false, true}, MatmulShape{5, 7, 3, true, true, true}}) {
    INFO("m=" << shape.m << " n=" << shape.n << " k=" << shape.k << " seed=" << seed);
    Rng rng(seed++);
    std::vector<float> a = normal_values(shape.m * shape.k, rng, 3.0), b = normal_values(shape.k * shape.n, rng);
    const std::vector<float> c = normal_values(shape.m * shape.n, rng);
    std::vector<uint16_t> a16(a.size()), b16(b.size());
    MatmulKernels::cpu().round_to_bf16(a.data(), a16.data(), shape.m * shape.k);
    MatmulKernels::cpu().round_to_bf16(b.data(), b16.data(), shape.k * shape.n);
    DeviceArray<float> a_d(a), b_d(b), c_d(c);
    DeviceArray<uint16_t> a16_d(a16.size()), b16_d(b16.size());
    MatmulKernels::cuda().round_to_bf16(a_d.data(), a16_d.data(), shape.m * shape.k);
    MatmulKernels::cuda().round_to_bf16(b_d.data(), b16_d.data(), shape.k * shape.n);
    CHECK(a16_d.download() == a16);
    CHECK(b16_d.download() == b16);
    std::vector<float> expected = c;
    MatmulKernels::cpu().matmul_bf16_operands(a16.data(), b16.data(), expected.data(), shape);
    MatmulKernels::cuda().matmul_bf16_operands(a16_d.data(), b16_d.data(), c_d.data(), shape);
    CHECK(relative_error(c_d.download(), expected) < 1e-5);
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
      LayerNormKernels::cuda().fwd(x_d.data(), gamma_d.data(), beta_d.data(), y_d.data(), mean_d.data(), rstd_d.data(), rows,
                          dim, 1e-5f);
      LayerNormKernels::cuda().bwd(dy_d.data(), x_d.data(), gamma_d.data(), mean_d.data(), rstd_d.data(), dx_d.data(),
                          dgamma_d.data(), dbeta_d.data(), rows, dim);
      std::vector<float> y(rows * dim), mean(rows), rstd(rows), dx(rows * dim);
      LayerNormKernels::cpu().fwd(x.data(), gamma.data(), beta.data(), y.data(), mean.data(), rstd.data(), rows, dim, 1e-5f);
      LayerNormKernels::cpu().bwd(dy.data(), x.data(), gamma.data(), mean.data(), rstd.data(), dx.data(), dgamma.data(),
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
  GeluKernels::cuda().fwd(x_d.data(), y_d.data(), n);
  GeluKernels::cuda().bwd(x_d.data(), dy_d.data(), dx_d.data(), n);
  std::vector<float> y(n), dx(n);
  GeluKernels::cpu().fwd(x.data(), y.data(), n);
  GeluKernels::cpu().bwd(x.data(), dy.data(), dx.data(), n);
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
  auto loss_d = poisoned<double>(1);
  CrossEntropyKernels::cuda().loss(logits_d.data(), targets_d.data(), dlogits_d.data(), rows, vocab, loss_d.data());
  CrossEntropyKernels::cuda().argmax_rows(logits_d.data(), argmax_d.data(), rows, vocab);
  std::vector<float> dlogits(rows * vocab);
  std::vector<int32_t> argmax(rows);
  double want_loss = 0;
  CrossEntropyKernels::cpu().loss(logits.data(), targets.data(), dlogits.data(), rows, vocab, &want_loss);
  CrossEntropyKernels::cpu().argmax_rows(logits.data(), argmax.data(), rows, vocab);
  CHECK(loss_d.download()[0] == Approx(want_loss).epsilon(1e-5));
  CHECK(relative_error(dlogits_d.download(), dlogits) < 1e-5);
  CHECK(argmax_d.download() == argmax);

  AdamWHyper hyper;
  hyper.lr = 3e-3f, hyper.weight_decay = 0.1f, hyper.step = 3;
  std::vector<float> param = normal_values(n, rng), grad = normal_values(n, rng), m = normal_values(n, rng, 0.1),
                     v = uniform_values(n, rng, 0.0, 0.1);
  DeviceArray<float> param_d(param), grad_d(grad), m_d(m), v_d(v);
  AdamWKernels::cuda().update(param_d.data(), grad_d.data(), m_d.data(), v_d.data(), n, hyper);
  AdamWKernels::cpu().update(param.data(), grad.data(), m.data(), v.data(), n, hyper);
  CHECK(relative_error(param_d.download(), param) < 1e-6);
  CHECK(relative_error(m_d.download(), m) < 1e-6);
  CHECK(relative_error(v_d.download(), v) < 1e-6);
}

TEST_CASE("the fused AdamW step on the GPU follows the CPU's, clipping or not", "[gpu][ops]") {
  SKIP_WITHOUT_GPU();
  Rng rng(57);
  // Odd sizes: a single element, less than a chunk, a chunk and a bit, three whole chunks.
  const std::vector<int64_t> sizes{1, 1001, kAdamWChunkElements + 7, 3 * kAdamWChunkElements};
  for (double max_norm : {0.0, 0.5, 1e9}) {
    INFO("max_norm " << max_norm);
    std::vector<std::vector<float>> host[4];  // param, grad, m, v per size
    std::vector<DeviceArray<float>> dev[4];
    std::vector<AdamWSlot> host_slots, dev_slots;
    for (size_t i = 0; i < sizes.size(); ++i) {
      const int64_t n = sizes[i];
      host[0].push_back(normal_values(n, rng));
      host[1].push_back(normal_values(n, rng));
      host[2].push_back(normal_values(n, rng, 0.1));
      host[3].push_back(uniform_values(n, rng, 0.0, 0.1));
      for (int k = 0; k < 4; ++k) dev[k].emplace_back(host[k].back());
    }
    for (size_t i = 0; i < sizes.size(); ++i) {
      const float decay = i % 2 ? 0.1f : 0.0f;
      host_slots.push_back({host[0][i].data(), host[1][i].data(), host[2][i].data(), host[3][i].data(), sizes[i], decay});
      dev_slots.push_back({dev[0][i].data(), dev[1][i].data(), dev[2][i].data(), dev[3][i].data(), sizes[i], decay});
    }
    const std::vector<AdamWChunk> chunks = adamw_chunks(host_slots);
    std::vector<double> host_sums(chunks.size());
    double host_norm_sq = 0;
    DeviceArray<AdamWSlot> slots_d(dev_slots);
    DeviceArray<AdamWChunk> chunks_d(chunks);
    auto sums_d = poisoned<double>(static_cast<int64_t>(chunks.size())), norm_sq_d = poisoned<double>(1);
    const auto count = static_cast<int64_t>(sizes.size()), chunk_count = static_cast<int64_t>(chunks.size());
    AdamWHyper hyper;
    hyper.lr = 3e-3f, hyper.step = 4;
    AdamWKernels::cuda().clipped_step({slots_d.data(), count, chunks_d.data(), chunk_count, sums_d.data(), norm_sq_d.data()},
                                      max_norm, hyper);
    AdamWKernels::cpu().clipped_step(
        {host_slots.data(), count, chunks.data(), chunk_count, host_sums.data(), &host_norm_sq}, max_norm, hyper);
    CHECK(norm_sq_d.download()[0] == Approx(host_norm_sq).epsilon(1e-12));
    for (size_t i = 0; i < sizes.size(); ++i) {
      INFO("size " << sizes[i]);
      CHECK(relative_error(dev[0][i].download(), host[0][i]) < 1e-6);
      CHECK(dev[1][i].download() == std::vector<float>(static_cast<size_t>(sizes[i]), 0.0f));
      CHECK(relative_error(dev[2][i].download(), host[2][i]) < 1e-6);
      CHECK(relative_error(dev[3][i].download(), host[3][i]) < 1e-6);
    }
  }
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
        SwishGateKernels::cuda().fwd(a_d.data(), g_d.data() + gate.offset, out_d.data(), rows, width, gate.stride);
        SwishGateKernels::cuda().bwd(a_d.data(), g_d.data() + gate.offset, dout_d.data(), da_d.data(),
                            dg_d.data() + dgate.offset, rows, width, gate.stride, dgate.stride);
        std::vector<float> out(n), da(n), dg(dgate.buffer_size());
        SwishGateKernels::cpu().fwd(a.data(), g.data() + gate.offset, out.data(), rows, width, gate.stride);
        SwishGateKernels::cpu().bwd(a.data(), g.data() + gate.offset, dout.data(), da.data(), dg.data() + dgate.offset, rows,
                           width, gate.stride, dgate.stride);
        CHECK(relative_error(out_d.download(), out) < kTolerance);
        CHECK(relative_error(da_d.download(), da) < kTolerance);
        const auto dg_got = dg_d.download();
        CHECK(relative_error(gather(dg_got, dgate), gather(dg, dgate)) < kTolerance);
        CHECK(untouched_outside(dg_got, dgate));
      }
}

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
      CausalConv1dKernels::cuda().fwd(x_d.data() + in.offset, in.stride, w_d.data(), bias_d.data(), out_d.data(), s);
      CausalConv1dKernels::cuda().bwd(x_d.data() + in.offset, in.stride, w_d.data(), dout_d.data(), din_d.data() + din.offset,
                             din.stride, dw_d.data(), dbias_d.data(), s);
      CausalConv1dKernels::cuda().bwd(x_d.data() + in.offset, in.stride, w_d.data(), dout_d.data(), din_d.data() + din.offset,
                             din.stride, dw_again.data(), dbias_again.data(), s);

      std::vector<float> out(rows * C), din_want(din.buffer_size()), dw(dw0), dbias(dbias0);
      CausalConv1dKernels::cpu().fwd(x.data() + in.offset, in.stride, w.data(), bias.data(), out.data(), s);
      CausalConv1dKernels::cpu().bwd(x.data() + in.offset, in.stride, w.data(), dout.data(), din_want.data() + din.offset,
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
            CausalConv1dKernels::cuda().final_state(x_d.data() + offset, stride, state_d.data(), s);
            CausalConv1dKernels::cpu().final_state(x.data() + offset, stride, state.data(), s);
            CHECK(download_first(state_d, state_n) == state);  // a copy: bit for bit

            for (int step = 0; step < 3; ++step) {
              INFO("decode step " << step);
              const auto x_t = normal_values(token.buffer_size(), rng);
              DeviceArray<float> x_t_d(x_t);
              auto out_d = poisoned<float>(batch * C);
              std::vector<float> out(batch * C);
              CausalConv1dKernels::cuda().decode(x_t_d.data() + offset, stride, w_d.data(), bias_d.data(), state_d.data(),
                                        out_d.data(), s);
              CausalConv1dKernels::cpu().decode(x_t.data() + offset, stride, w.data(), bias.data(), state.data(), out.data(), s);
              CHECK(relative_error(out_d.download(), out) < kTolerance);
              CHECK(download_first(state_d, state_n) == state);
            }
          }
}

TEST_CASE("row ops on the GPU match the CPU versions at odd sizes", "[gpu][model]") {
  SKIP_WITHOUT_GPU();
  Rng rng(71);
  for (int64_t rows : {1, 7, 300, 1031})
    for (int64_t width : {1, 5, 33, 130}) {
      INFO("rows " << rows << " width " << width);
      const std::vector<float> x = normal_values(rows * width, rng), y = normal_values(rows * width, rng);
      const std::vector<float> bias = normal_values(width, rng);
      DeviceArray<float> dx(x), dy(y), dbias(bias);

      std::vector<float> want = y;
      for (size_t i = 0; i < want.size(); ++i) want[i] += 0.5f * x[i];
      RowOpKernels::cuda().axpy(0.5f, dx.data(), dy.data(), rows * width);
      CHECK(relative_error(dy.download(), want) < 1e-6);

      RowOpKernels::cpu().add_bias_rows(bias.data(), want.data(), rows, width);
      RowOpKernels::cuda().add_bias_rows(dbias.data(), dy.data(), rows, width);
      CHECK(relative_error(dy.download(), want) < 1e-6);

      std::vector<float> want_grad = bias;
      RowOpKernels::cpu().bias_grad_rows(x.data(), want_grad.data(), rows, width);
      RowOpKernels::cuda().bias_grad_rows(dx.data(), dbias.data(), rows, width);
      CHECK(relative_error(dbias.download(), want_grad) < 1e-5);

      CHECK(RowOpKernels::cuda().sum_of_squares(dx.data(), rows * width) == Approx(RowOpKernels::cpu().sum_of_squares(x.data(), rows * width)));

      // Rows into a wider strided buffer (the KV cache layout).
      const int64_t stride = width + 3;
      std::vector<float> want_rows(rows * stride, 0.0f);
      RowOpKernels::cpu().copy_rows(x.data(), width, want_rows.data(), stride, rows, width);
      DeviceArray<float> rows_out(rows * stride);
      rows_out.fill_bytes(0);
      RowOpKernels::cuda().copy_rows(dx.data(), width, rows_out.data(), stride, rows, width);
      CHECK(relative_error(rows_out.download(), want_rows) == 0.0);
    }
}

TEST_CASE("embedding lookup and its gradients on the GPU match the CPU versions", "[gpu][model]") {
  SKIP_WITHOUT_GPU();
  Rng rng(72);
  for (int64_t vocab : {1, 13, 257})
    for (int64_t rows : {1, 9, 513}) {
      const int64_t width = 37, batch = rows % 2 ? 1 : 3;
      INFO("vocab " << vocab << " rows " << rows);
      std::vector<int32_t> ids(rows);
      for (auto& id : ids) id = static_cast<int32_t>(rng.uniform_int(0, vocab));
      const std::vector<float> table = normal_values(vocab * width, rng), dout = normal_values(rows * width, rng);
      DeviceArray<float> d_table(table), d_dout(dout), d_out(rows * width);
      DeviceArray<int32_t> d_ids(ids);

      std::vector<float> want(rows * width);
      EmbeddingKernels::cpu().gather(table.data(), ids.data(), want.data(), rows, width);
      EmbeddingKernels::cuda().gather(d_table.data(), d_ids.data(), d_out.data(), rows, width);
      CHECK(relative_error(d_out.download(), want) == 0.0);

      const HostRowGroups groups = group_rows_by_id(ids.data(), rows, vocab);
      DeviceArray<int32_t> order(groups.order), begin(groups.begin), target(groups.target);
      std::vector<float> want_grad = table;
      EmbeddingKernels::cpu().grad(dout.data(), groups.view(), want_grad.data(), width);
      EmbeddingKernels::cuda().grad(d_dout.data(), {order.data(), begin.data(), target.data(), groups.view().groups},
                          d_table.data(), width);
      CHECK(relative_error(d_table.download(), want_grad) < 1e-6);

      if (rows % batch) continue;
      const int64_t seq_len = rows / batch;
      std::vector<float> pos = normal_values(seq_len * width, rng), want_pos = pos, with_pos = want;
      DeviceArray<float> d_pos(pos);
      EmbeddingKernels::cpu().add_position_rows(pos.data(), with_pos.data(), batch, seq_len, width);
      EmbeddingKernels::cuda().add_position_rows(d_pos.data(), d_out.data(), batch, seq_len, width);
      CHECK(relative_error(d_out.download(), with_pos) < 1e-6);
      EmbeddingKernels::cpu().position_grad(dout.data(), want_pos.data(), batch, seq_len, width);
      EmbeddingKernels::cuda().position_grad(d_dout.data(), d_pos.data(), batch, seq_len, width);
      CHECK(relative_error(d_pos.download(), want_pos) < 1e-6);
    }
}
