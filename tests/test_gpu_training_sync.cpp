// A training step on the GPU never waits for the device: forward, loss, backward and the fused
// optimizer step of the Zoology-sized cell (d_model 64, 2 layers, L = 64, vocab 512, batch 32) make
// no synchronising CUDA call, for every backend; CUPTI sees every runtime and driver call. Built
// only with CUDA; each case skips itself (with a warning) without a GPU.
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "datasets/token_dataset.h"
#include "harness/device_setup.h"
#include "models/adamw_optimizer.h"
#include "models/sequence_model.h"
#include "ops/device_buffer.h"
#include "ops/rng.h"
#include "tests/gpu_backend_cases.h"
#include "tests/gpu_kernel_checks.h"
#include "tests/host_sync_counter.h"
#include "tests/random_values.h"

using namespace seqbench;
using namespace seqbench::gpu_checks;
using seqbench::testing::HostSyncCounter;
using seqbench::testing::random_tokens;

namespace {

constexpr int64_t kBatch = 32, kLength = 64, kVocab = 512;

ModelConfig zoology_cell(const BackendCase& c) {
  ModelConfig config{kVocab, /*d_model=*/64, /*n_layers=*/2, /*n_heads=*/2, kLength};
  config.backend = c.backend;
  config.mixer_params = nlohmann::json::parse(c.params);
  config.device = Device::cuda;
  config.seed = 9;
  return config;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += n + " ";
  return out;
}

}  // namespace

TEST_CASE("a GPU training step makes no host synchronisation, for every backend", "[gpu][training]") {
  SKIP_WITHOUT_GPU();
  prepare_device(Device::cuda);
  Rng rng(31);
  const std::vector<int32_t> tokens = random_tokens(kBatch * kLength, rng, kVocab);
  std::vector<int32_t> labels(tokens.size(), kIgnoreLabel);
  for (size_t i = 3; i < labels.size(); i += 4) labels[i] = tokens[i - 1];  // MQAR-like: a quarter labelled

  for (const BackendCase& c : kBackends) {
    INFO("backend " << c.backend << " " << c.params);
    SequenceModel model(zoology_cell(c));
    OptimizerConfig opt;
    opt.lr = 3e-3;
    opt.warmup_fraction = 0;
    AdamWOptimizer optimizer(model.params(), opt, 100);
    DeviceBuffer<double> losses(Device::cuda);
    losses.resize(5);
    auto step = [&](int i) {
      model.loss_and_backward(tokens.data(), labels.data(), kBatch, kLength, losses.data() + i);
      optimizer.step();
    };
    // The first steps fill the memory pool and the libraries' handles; after that, none may wait.
    step(0);
    step(1);
    {
      HostSyncCounter counter;
      for (int i = 2; i < 5; ++i) step(i);
      INFO("waiting calls: " << joined(counter.calls()));
      CHECK(counter.calls().empty());
    }
    const std::vector<double> read = losses.download();
    for (double loss : read) CHECK(std::isfinite(loss));
    CHECK(read[4] < read[0]);  // it did train

    // The counter sees a wait when there is one: reading the loss back is one.
    HostSyncCounter counter;
    (void)model.loss_and_backward(tokens.data(), labels.data(), kBatch, kLength);
    CHECK_FALSE(counter.calls().empty());
  }
}
