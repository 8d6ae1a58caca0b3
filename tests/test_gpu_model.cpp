// The whole model on the GPU against the same model on the CPU, for every backend: loss, every
// parameter gradient, optimizer steps, predictions and the decode path; and the shared row and
// embedding ops' CUDA twins against their CPU versions. Skips itself without a GPU.
#include <catch2/catch.hpp>

#ifndef SEQBENCH_WITH_CUDA
TEST_CASE("GPU model checks are skipped in a build without CUDA", "[gpu]") {
  WARN("no CUDA device: skipped (this build has no CUDA backend)");
}
#else
#include <string>
#include <vector>

#include "datasets/token_dataset.h"
#include "harness/device_setup.h"
#include "harness/timer.h"
#include "ops/cuda/cuda_device.h"
#include "ops/cuda/device_array.h"
#include "ops/cuda/embedding_cuda.cuh"
#include "ops/cuda/row_ops_cuda.cuh"
#include "ops/embedding.h"
#include "ops/row_ops.h"
#include "models/adamw_optimizer.h"
#include "models/sequence_model.h"
#include "tests/gpu_kernel_checks.h"

using namespace seqbench;
using namespace seqbench::gpu_checks;

namespace {

std::vector<float> host_values(const Tensor& t) {
  const Tensor host = t.to(Device::cpu);
  return std::vector<float>(host.data(), host.data() + host.numel());
}

struct BackendCase {
  const char* backend;
  const char* params;  // mixer_params JSON
};

// Every registry backend, the variants that take other kernels, a short conv and a hybrid.
const std::vector<BackendCase> kBackends = {
    {"softmax", "{}"},
    {"linear", R"({"feature_map": "elu"})"},
    {"linear", R"({"feature_map": "taylor", "feature_dim": 4, "short_conv": 3})"},
    {"gla", R"({"decay": "channel"})"},
    {"gla", R"({"decay": "scalar"})"},
    {"delta", "{}"},
    {"delta", R"({"gated": true})"},
    {"sliding_window", R"({"window": 5})"},
    {"sparse", R"({"pattern": "sink_window", "sinks": 2, "window": 4})"},
    {"sparse", R"({"pattern": "block_topk", "block_size": 4, "top_k": 1})"},
    {"ssm", R"({"d_state": 8, "head_dim": 8})"},
    {"gla,softmax", "{}"},
};

ModelConfig config_for(const BackendCase& c, Device device) {
  ModelConfig config;
  config.vocab_size = 29;
  config.d_model = 16;
  config.n_layers = 2;
  config.n_heads = 2;
  config.max_seq_len = 23;
  config.mlp_expand = 2;
  config.backend = c.backend;
  config.mixer_params = nlohmann::json::parse(c.params);
  config.device = device;
  config.seed = 5;
  return config;
}

}  // namespace

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
      axpy_cuda(0.5f, dx.data(), dy.data(), rows * width);
      CHECK(relative_error(dy.download(), want) < 1e-6);

      add_bias_rows_cpu(bias.data(), want.data(), rows, width);
      add_bias_rows_cuda(dbias.data(), dy.data(), rows, width);
      CHECK(relative_error(dy.download(), want) < 1e-6);

      std::vector<float> want_grad = bias;
      bias_grad_rows_cpu(x.data(), want_grad.data(), rows, width);
      bias_grad_rows_cuda(dx.data(), dbias.data(), rows, width);
      CHECK(relative_error(dbias.download(), want_grad) < 1e-5);

      CHECK(sum_of_squares_cuda(dx.data(), rows * width) == Approx(sum_of_squares_cpu(x.data(), rows * width)));

      // Rows into a wider strided buffer (the KV cache layout).
      const int64_t stride = width + 3;
      std::vector<float> want_rows(rows * stride, 0.0f);
      copy_rows_cpu(x.data(), width, want_rows.data(), stride, rows, width);
      DeviceArray<float> rows_out(rows * stride);
      rows_out.fill_bytes(0);
      copy_rows_cuda(dx.data(), width, rows_out.data(), stride, rows, width);
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
      embedding_gather_cpu(table.data(), ids.data(), want.data(), rows, width);
      embedding_gather_cuda(d_table.data(), d_ids.data(), d_out.data(), rows, width);
      CHECK(relative_error(d_out.download(), want) == 0.0);

      const HostRowGroups groups = group_rows_by_id(ids.data(), rows, vocab);
      DeviceArray<int32_t> order(groups.order), begin(groups.begin), target(groups.target);
      std::vector<float> want_grad = table;
      embedding_grad_cpu(dout.data(), groups.view(), want_grad.data(), width);
      embedding_grad_cuda(d_dout.data(), {order.data(), begin.data(), target.data(), groups.view().groups},
                          d_table.data(), width);
      CHECK(relative_error(d_table.download(), want_grad) < 1e-6);

      if (rows % batch) continue;
      const int64_t seq_len = rows / batch;
      std::vector<float> pos = normal_values(seq_len * width, rng), want_pos = pos, with_pos = want;
      DeviceArray<float> d_pos(pos);
      add_position_rows_cpu(pos.data(), with_pos.data(), batch, seq_len, width);
      add_position_rows_cuda(d_pos.data(), d_out.data(), batch, seq_len, width);
      CHECK(relative_error(d_out.download(), with_pos) < 1e-6);
      position_grad_cpu(dout.data(), want_pos.data(), batch, seq_len, width);
      position_grad_cuda(d_dout.data(), d_pos.data(), batch, seq_len, width);
      CHECK(relative_error(d_pos.download(), want_pos) < 1e-6);
    }
}

TEST_CASE("a GPU run is timed with CUDA events and records the GPU it ran on", "[gpu][model]") {
  SKIP_WITHOUT_GPU();
  prepare_device(Device::cuda);
  std::unique_ptr<Timer> timer = make_timer(Device::cuda, "wall");
  CHECK(timer->clock_name() == "cuda_event");
  DeviceArray<float> x(1 << 20);
  timer->start();
  scale_cuda(0.5f, x.data(), x.size());
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
  const int64_t batch = 3, len = 23;
  Rng data_rng(73);
  std::vector<int32_t> tokens(batch * len), labels(batch * len, kIgnoreLabel);
  for (auto& t : tokens) t = static_cast<int32_t>(data_rng.uniform_int(0, 29));
  for (int64_t i = 1; i < batch * len; i += 3) labels[i] = static_cast<int32_t>(data_rng.uniform_int(0, 29));

  for (const BackendCase& c : kBackends) {
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
      cpu.zero_grad();
      gpu.zero_grad();
      const double cpu_loss = cpu.loss_and_backward(tokens.data(), labels.data(), batch, len);
      const double gpu_loss = gpu.loss_and_backward(tokens.data(), labels.data(), batch, len);
      CHECK(gpu_loss == Approx(cpu_loss).epsilon(1e-4));
      for (size_t i = 0; i < cpu_params.size(); ++i) {
        INFO(cpu_params[i]->name);
        CHECK(relative_error(host_values(gpu_params[i]->grad), host_values(cpu_params[i]->grad)) < 2e-3);
      }
      CHECK(gpu_opt.step() == Approx(cpu_opt.step()).epsilon(1e-3));
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

#endif  // SEQBENCH_WITH_CUDA
