// The whole model on the GPU against the same model on the CPU, for every backend: loss, every
// parameter gradient, optimizer steps, predictions and the decode path; a GPU run's timer and
// environment. Built only with CUDA; each case skips itself (with a warning) without a GPU.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "datasets/token_dataset.h"
#include "harness/device_setup.h"
#include "harness/sweep.h"
#include "harness/sweep_runner.h"
#include "harness/timer.h"
#include "models/adamw_optimizer.h"
#include "models/sequence_model.h"
#include "ops/cuda/cuda_device.h"
#include "ops/cuda/device_array.h"
#include "ops/row_ops.h"
#include "tests/case_shard.h"
#include "tests/gpu_backend_cases.h"
#include "tests/gpu_kernel_checks.h"

using namespace seqbench;
using namespace seqbench::gpu_checks;
using seqbench::testing::cases_of_this_shard;

namespace {

std::vector<float> host_values(const Tensor& t) {
  const Tensor host = t.to(Device::cpu);
  return std::vector<float>(host.data(), host.data() + host.numel());
}

ModelConfig config_for(const BackendCase& c, Device device, Precision precision = Precision::fp32) {
  ModelConfig config{/*vocab_size=*/29, /*d_model=*/16,     /*n_layers=*/2,
                     /*n_heads=*/2,     /*max_seq_len=*/23,
                     /*mlp_expand=*/2};
  config.backend = c.backend;
  config.mixer_params = nlohmann::json::parse(c.params);
  config.device = device;
  config.precision = precision;
  config.seed = 5;
  return config;
}

constexpr int64_t kBatch = 3, kLength = 23;

// Tokens of config_for's vocabulary, every third position from `first_label` on labelled.
struct LabelledBatch {
  std::vector<int32_t> tokens, labels;
};
LabelledBatch labelled_batch(uint64_t seed, int64_t first_label) {
  Rng rng(seed);
  LabelledBatch out{std::vector<int32_t>(kBatch * kLength), std::vector<int32_t>(kBatch * kLength, kIgnoreLabel)};
  for (auto& t : out.tokens) t = static_cast<int32_t>(rng.uniform_int(0, 29));
  for (int64_t i = first_label; i < kBatch * kLength; i += 3)
    out.labels[i] = static_cast<int32_t>(rng.uniform_int(0, 29));
  return out;
}

}  // namespace

TEST_CASE("a GPU run is timed with CUDA events and records the GPU it ran on", "[gpu][model]") {
  SKIP_WITHOUT_GPU();
  prepare_device(Device::cuda);
  std::unique_ptr<Timer> timer = make_timer(Device::cuda, "wall");
  CHECK(timer->clock_name() == "cuda_event");
  DeviceArray<float> x(1 << 20);
  timer->start();
  RowOpKernels::cuda().scale(0.5f, x.data(), x.size());
  const double ms = timer->stop_ms();
  CHECK(ms >= 0.0);
  CHECK(ms < 1000.0);
  RunInfo info;
  info.device = "cuda";
  describe_device(Device::cuda, info);
  CHECK(info.device == cuda_device_info().name);
  CHECK_FALSE(info.driver.empty());
  CHECK_THAT(info.clocks, Catch::Contains("MHz"));
}

TEST_CASE("every backend trains on the GPU as it does on the CPU", "[gpu][model]") {
  SKIP_WITHOUT_GPU();
  const int64_t batch = kBatch, len = kLength;
  const auto [tokens, labels] = labelled_batch(73, 1);

  for (const BackendCase& c : cases_of_this_shard(kBackends)) {
    INFO("backend " << c.backend << " " << c.params);
    SequenceModel cpu(config_for(c, Device::cpu)), gpu(config_for(c, Device::cuda));
    std::vector<Param*> cpu_params = cpu.params(), gpu_params = gpu.params();
    REQUIRE(cpu_params.size() == gpu_params.size());
    for (size_t i = 0; i < cpu_params.size(); ++i)
      REQUIRE(host_values(gpu_params[i]->value) == host_values(cpu_params[i]->value));

    OptimizerConfig opt;
    opt.lr = 3e-3;
    AdamWOptimizer cpu_opt(cpu_params, opt, 3), gpu_opt(gpu_params, opt, 3);
    for (int step = 0; step < 3; ++step) {
      INFO("step " << step);
      const double cpu_loss = cpu.loss_and_backward(tokens.data(), labels.data(), batch, len);
      const double gpu_loss = gpu.loss_and_backward(tokens.data(), labels.data(), batch, len);
      CHECK(gpu_loss == Approx(cpu_loss).epsilon(1e-4));
      for (size_t i = 0; i < cpu_params.size(); ++i) {
        INFO(cpu_params[i]->name);
        CHECK(relative_error(host_values(gpu_params[i]->grad), host_values(cpu_params[i]->grad)) < 2e-3);
      }
      cpu_opt.step();
      gpu_opt.step();
      CHECK(gpu_opt.last_grad_norm() == Approx(cpu_opt.last_grad_norm()).epsilon(1e-3));
      // A step leaves every gradient zeroed: the next backward pass accumulates into zeros.
      for (Param* p : gpu_params) {
        INFO(p->name);
        const std::vector<float> grad = host_values(p->grad);
        CHECK(std::all_of(grad.begin(), grad.end(), [](float g) { return g == 0.0f; }));
      }
    }
    for (size_t i = 0; i < cpu_params.size(); ++i) {
      INFO(cpu_params[i]->name);
      CHECK(relative_error(host_values(gpu_params[i]->value), host_values(cpu_params[i]->value)) < 1e-3);
    }

    // Predictions agree except where two logits are within rounding of each other.
    std::vector<int32_t> cpu_pred(batch * len), gpu_pred(batch * len);
    cpu.predict(tokens.data(), labels.data(), batch, len, cpu_pred.data());
    gpu.predict(tokens.data(), labels.data(), batch, len, gpu_pred.data());
    int same = 0, labelled = 0;
    for (int64_t i = 0; i < batch * len; ++i) {
      if (labels[i] == kIgnoreLabel) continue;
      ++labelled;
      same += cpu_pred[i] == gpu_pred[i];
    }
    CHECK(same >= labelled - 1);

    // Prefill part of the sequence, decode the rest: the GPU's logits follow the CPU's.
    const int64_t prefix = 9;
    std::vector<int32_t> head(batch * prefix);
    for (int64_t b = 0; b < batch; ++b)
      std::copy(tokens.begin() + b * len, tokens.begin() + b * len + prefix, head.begin() + b * prefix);
    std::vector<float> cpu_logits, gpu_logits;
    DecodeState cpu_state = cpu.prefill(head.data(), batch, prefix, len, cpu_logits);
    DecodeState gpu_state = gpu.prefill(head.data(), batch, prefix, len, gpu_logits);
    CHECK(relative_error(gpu_logits, cpu_logits) < 1e-4);
    for (int64_t t = prefix; t < len; ++t) {
      std::vector<int32_t> column(batch);
      for (int64_t b = 0; b < batch; ++b) column[b] = tokens[b * len + t];
      cpu.decode_step(cpu_state, column.data(), cpu_logits);
      gpu.decode_step(gpu_state, column.data(), gpu_logits);
    }
    CHECK(relative_error(gpu_logits, cpu_logits) < 1e-4);
  }
}

TEST_CASE("every backend's bf16 training step on the GPU follows the CPU's bf16 step", "[gpu][model]") {
  SKIP_WITHOUT_GPU();
  const int64_t batch = kBatch, len = kLength;
  const auto [tokens, labels] = labelled_batch(79, 2);
  for (const BackendCase& c : cases_of_this_shard(kBackends)) {
    INFO("backend " << c.backend << " " << c.params);
    SequenceModel cpu(config_for(c, Device::cpu, Precision::bf16)), gpu(config_for(c, Device::cuda, Precision::bf16));
    SequenceModel fp32(config_for(c, Device::cuda));
    const std::vector<Param*> cpu_params = cpu.params(), gpu_params = gpu.params(), fp32_params = fp32.params();
    const double cpu_loss = cpu.loss_and_backward(tokens.data(), labels.data(), batch, len);
    const double gpu_loss = gpu.loss_and_backward(tokens.data(), labels.data(), batch, len);
    const double fp32_loss = fp32.loss_and_backward(tokens.data(), labels.data(), batch, len);
    // Both round the same operands to bf16; an fp32 input that differs in its last bits can round to
    // the neighbouring bf16 value, so the two follow each other far more closely than either follows fp32.
    CHECK(gpu_loss == Approx(cpu_loss).epsilon(1e-3));
    CHECK(gpu_loss != fp32_loss);
    for (size_t i = 0; i < cpu_params.size(); ++i) {
      INFO(cpu_params[i]->name);
      const std::vector<float> gpu_grad = host_values(gpu_params[i]->grad);
      CHECK(relative_error(gpu_grad, host_values(cpu_params[i]->grad)) < 1e-2);
      CHECK(relative_error(gpu_grad, host_values(fp32_params[i]->grad)) < 0.12);
    }
  }
}

TEST_CASE("a dry run reports a shape the GPU kernels cannot run before any cell runs", "[gpu][model]") {
  SKIP_WITHOUT_GPU();
  nlohmann::json spec = nlohmann::json::parse(R"({
    "name": "too-wide", "device": "cuda",
    "backends": ["softmax", {"name": "gla", "decay": "scalar"}],
    "tasks": [{"name": "mqar", "seq_len": 16, "vocab_size": 64, "num_kv_pairs": 2}],
    "model": {"d_model": 300, "n_layers": 1, "n_heads": 1},
    "train": {"epochs": 1}
  })");
  // head_dim 300: over the softmax kernels' 256 and GLA's key_dim 256 on the GPU.
  CHECK_THROWS_WITH(validate_sweep(expand_sweep(spec)),
                    Catch::Contains("cell 1") && Catch::Contains("backend 'softmax' on cuda") &&
                        Catch::Contains("head_dim must be <= 256 on the GPU, got 300"));
  spec["model"]["d_model"] = 256;
  CHECK_NOTHROW(validate_sweep(expand_sweep(spec)));
}
