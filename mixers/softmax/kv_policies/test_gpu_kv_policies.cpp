// The KV policies on the GPU against the CPU: the attention mass kernel, and a policy cache on
// Device::cuda (prefill, compression, turn and decoding steps) against the same cache on the CPU
// for every policy: outputs within fp32 rounding, the same tokens kept. Built only with CUDA; each
// case skips itself (with a warning) on a machine without a GPU.
#include <catch2/catch.hpp>
#include <cmath>

#include "mixers/softmax/kv_policies/attention_mass.h"
#include "mixers/softmax/kv_policies/kv_policy.h"
#include "mixers/softmax/kv_policies/policy_kv_cache.h"
#include "tests/gpu_kernel_checks.h"

using namespace seqbench;
using namespace seqbench::gpu_checks;

namespace {

constexpr double kTolerance = 1e-4;  // fp32 kernels differ from the CPU only in summation order

double worst_error(const Tensor& gpu, const Tensor& cpu) {
  const Tensor host = gpu.to(Device::cpu);
  double worst = 0;
  for (int64_t i = 0; i < cpu.numel(); ++i)
    worst = std::max(worst, std::fabs(double(host[i]) - cpu[i]) / (1.0 + std::fabs(double(cpu[i]))));
  return worst;
}

Tensor random_tensor(const Shape& shape, Rng& rng) {
  Tensor t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(rng.normal());
  return t;
}

Tensor slice(const Tensor& x, int64_t t) {  // x[:, t, :] of [B, L, D]
  const int64_t B = x.dim(0), L = x.dim(1), D = x.dim(2);
  Tensor out({B, D});
  for (int64_t b = 0; b < B; ++b)
    std::copy(x.data() + (b * L + t) * D, x.data() + (b * L + t + 1) * D, out.data() + b * D);
  return out;
}

Tensor prefix(const Tensor& x, int64_t n) {
  const int64_t B = x.dim(0), L = x.dim(1), D = x.dim(2);
  Tensor out({B, n, D});
  for (int64_t b = 0; b < B; ++b) std::copy(x.data() + b * L * D, x.data() + (b * L + n) * D, out.data() + b * n * D);
  return out;
}

}  // namespace

TEST_CASE("the attention mass on the GPU equals the CPU's", "[gpu][kv_policies]") {
  SKIP_WITHOUT_GPU();
  for (const AttentionShape& s :
       {AttentionShape{{1, 5, 1}, 1}, AttentionShape{{3, 41, 2}, 7}, AttentionShape{{2, 70, 3}, 33}}) {
    Rng rng(static_cast<uint64_t>(s.seq_len));
    const int64_t rows = std::min<int64_t>(9, s.seq_len), used = s.seq_len - 1;
    const std::vector<float> q = normal_values(s.batch * rows * s.heads * s.head_dim, rng);
    const std::vector<float> keys = normal_values(s.batch * s.seq_len * s.heads * s.head_dim, rng);
    std::vector<int32_t> limits;
    for (int64_t r = 0; r < rows; ++r) limits.push_back(static_cast<int32_t>(used - rows + r));
    std::vector<float> cpu(s.batch * s.heads * used);
    AttentionMassKernels::cpu().mass(q.data(), rows, limits.data(), keys.data(), used, cpu.data(), s);
    DeviceArray<float> dq(q), dk(keys), dm(static_cast<int64_t>(cpu.size()));
    DeviceArray<int32_t> dl(limits);
    AttentionMassKernels::cuda().mass(dq.data(), rows, dl.data(), dk.data(), used, dm.data(), s);
    const std::vector<float> gpu = dm.download();
    for (size_t i = 0; i < cpu.size(); ++i) CHECK(gpu[i] == Approx(cpu[i]).margin(kTolerance));
  }
}

TEST_CASE("every policy's cache on the GPU attends and keeps as on the CPU", "[gpu][kv_policies]") {
  SKIP_WITHOUT_GPU();
  const int64_t B = 3, H = 2, Dh = 8, D = H * Dh, L = 40, max_len = 52;
  Rng rng(77);
  const Tensor q = random_tensor({B, max_len, D}, rng), k = random_tensor({B, max_len, D}, rng),
               v = random_tensor({B, max_len, D}, rng);
  for (const auto& [name, defaults] : kv_policy_catalog()) {
    nlohmann::json spec = defaults;
    spec["name"] = name;
    if (spec.contains("budget")) spec["budget"] = 0.4;
    if (name == "kivi") spec["residual"] = 8;
    INFO(spec.dump());
    const auto policy = make_kv_policy(spec, L);
    PolicyKVCache cpu(policy, {B, max_len, H, Dh, Device::cpu}, 0, 1, true);
    PolicyKVCache gpu(policy, {B, max_len, H, Dh, Device::cuda}, 0, 1, true);
    Tensor out_cpu, out_gpu;
    cpu.attend_prefill(prefix(q, L), prefix(k, L), prefix(v, L), out_cpu);
    gpu.attend_prefill(prefix(q, L).to(Device::cuda), prefix(k, L).to(Device::cuda), prefix(v, L).to(Device::cuda),
                       out_gpu);
    CHECK(worst_error(out_gpu, out_cpu) < kTolerance);
    cpu.compress();
    gpu.compress();
    CHECK(gpu.kept_tokens() == cpu.kept_tokens());
    for (int64_t t = L; t < max_len; ++t) {
      if (t == L) {  // a turn of 5 tokens, then decoding
        cpu.begin_turn_prefill(5);
        gpu.begin_turn_prefill(5);
      }
      if (t == L + 5) {
        cpu.compress();
        gpu.compress();
      }
      cpu.attend_step(slice(q, t), slice(k, t), slice(v, t), out_cpu);
      gpu.attend_step(slice(q, t).to(Device::cuda), slice(k, t).to(Device::cuda), slice(v, t).to(Device::cuda),
                      out_gpu);
      INFO("token " << t);
      CHECK(worst_error(out_gpu, out_cpu) < kTolerance);
    }
    CHECK(gpu.kept_tokens() == cpu.kept_tokens());
    CHECK(gpu.bytes_per_sequence() == cpu.bytes_per_sequence());
    std::vector<int32_t> all(L);
    for (int64_t j = 0; j < L; ++j) all[j] = static_cast<int32_t>(j);
    for (int64_t b = 0; b < B; ++b) CHECK(gpu.retained_fraction(b, all) == cpu.retained_fraction(b, all));
  }
}
