// A training step on the GPU never waits for the device: forward, loss, backward and the fused
// optimizer step of the Zoology-sized cell (d_model 64, 2 layers, L = 64, vocab 512, batch 32) make
// no synchronising CUDA call, for every backend in fp32 and in bf16; CUPTI sees every runtime and driver call. A step
// replayed from CUDA graphs computes what the step run as it is computes. Built only with CUDA; each
// case skips itself (with a warning) without a GPU.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "datasets/token_dataset.h"
#include "harness/device_setup.h"
#include "models/adamw_optimizer.h"
#include "models/sequence_model.h"
#include "ops/device_buffer.h"
#include "ops/rng.h"
#include "tests/case_shard.h"
#include "tests/gpu_backend_cases.h"
#include "tests/gpu_kernel_checks.h"
#include "tests/host_sync_counter.h"
#include "tests/random_values.h"

using namespace seqbench;
using namespace seqbench::gpu_checks;
using seqbench::testing::cases_of_this_shard;
using seqbench::testing::HostSyncCounter;
using seqbench::testing::random_tokens;

namespace {

constexpr int64_t kBatch = 32, kLength = 64, kVocab = 512;

ModelConfig zoology_cell(const BackendCase& c, Precision precision = Precision::fp32) {
  ModelConfig config{kVocab, /*d_model=*/64, /*n_layers=*/2, /*n_heads=*/2, kLength};
  config.backend = c.backend;
  config.mixer_params = nlohmann::json::parse(c.params);
  config.device = Device::cuda;
  config.precision = precision;
  config.seed = 9;
  return config;
}

std::vector<std::pair<BackendCase, Precision>> every_backend_in_both_precisions() {
  std::vector<std::pair<BackendCase, Precision>> out;
  for (const BackendCase& c : kBackends)
    for (Precision precision : {Precision::fp32, Precision::bf16}) out.emplace_back(c, precision);
  return out;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += n + " ";
  return out;
}

}  // namespace

TEST_CASE("a GPU training step makes no host synchronisation, for every backend", "[gpu][training]") {
  SKIP_WITHOUT_GPU();
  if (!HostSyncCounter::available()) {
    WARN("skipped: another CUPTI client (compute-sanitizer, ncu) holds the subscription the counter needs");
    return;
  }
  prepare_device(Device::cuda);
  Rng rng(31);
  const std::vector<int32_t> tokens = random_tokens(kBatch * kLength, rng, kVocab);
  std::vector<int32_t> labels(tokens.size(), kIgnoreLabel);
  for (size_t i = 3; i < labels.size(); i += 4) labels[i] = tokens[i - 1];  // MQAR-like: a quarter labelled

  for (const auto& [c, precision] : cases_of_this_shard(every_backend_in_both_precisions())) {
    INFO("backend " << c.backend << " " << c.params << " " << precision_name(precision));
    SequenceModel model(zoology_cell(c, precision));
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

namespace {

// Every parameter value of `model` on the host, in params() order.
std::vector<std::vector<float>> parameter_values(SequenceModel& model) {
  std::vector<std::vector<float>> out;
  for (Param* p : model.params()) {
    const Tensor host = p->value.to(Device::cpu);
    out.emplace_back(host.data(), host.data() + host.numel());
  }
  return out;
}

float largest_difference(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  float worst = 0.0f;
  for (size_t t = 0; t < a.size(); ++t)
    for (size_t i = 0; i < a[t].size(); ++i) worst = std::max(worst, std::abs(a[t][i] - b[t][i]));
  return worst;
}

struct TrainedCell {
  std::vector<std::vector<float>> values;
  std::vector<double> losses;
  bool replayed = false;
};

// Eight optimizer steps on batches whose labelled rows differ from step to step (the host-side part
// of a step changes while its recorded device work stays), with step recording on or off. An
// evaluation pass and a step of another batch size come between them: each makes the model drop its
// records, which the steps after them must notice.
TrainedCell train_cell(const BackendCase& c, bool recording, Precision precision) {
  SequenceModel model(zoology_cell(c, precision));
  model.set_step_recording(recording);
  OptimizerConfig opt;
  opt.lr = 3e-3;
  opt.warmup_fraction = 0;
  AdamWOptimizer optimizer(model.params(), opt, 100);
  constexpr int kSteps = 8;
  DeviceBuffer<double> losses(Device::cuda);
  losses.resize(kSteps);
  Rng rng(57);
  TrainedCell out;
  for (int i = 0; i < kSteps; ++i) {
    const int64_t batch = i == 5 ? kBatch / 2 : kBatch;
    const std::vector<int32_t> tokens = random_tokens(batch * kLength, rng, kVocab);
    std::vector<int32_t> labels(tokens.size(), kIgnoreLabel);
    for (size_t r = 1 + i % 3; r < labels.size(); r += 3 + i % 2) labels[r] = tokens[r - 1];
    if (i == 4) (void)model.loss(tokens.data(), labels.data(), batch, kLength);
    model.loss_and_backward(tokens.data(), labels.data(), batch, kLength, losses.data() + i);
    optimizer.step();
    out.replayed = out.replayed || model.step_replays();
  }
  out.values = parameter_values(model);
  out.losses = losses.download();
  return out;
}

}  // namespace

TEST_CASE("a recorded training step computes what the step run as it is computes", "[gpu][training]") {
  SKIP_WITHOUT_GPU();
  prepare_device(Device::cuda);
  std::vector<std::string> replayed, run_as_is;
  for (const auto& [c, precision] : cases_of_this_shard(every_backend_in_both_precisions())) {
    INFO("backend " << c.backend << " " << c.params << " " << precision_name(precision));
    const TrainedCell plain = train_cell(c, false, precision), again = train_cell(c, false, precision),
                      recorded = train_cell(c, true, precision);
    CHECK_FALSE(plain.replayed);
    (recorded.replayed ? replayed : run_as_is)
        .push_back(std::string(c.backend) + c.params + " " + precision_name(precision));
    // Kernels that accumulate with float atomics (softmax attention's backward) do not repeat bit for
    // bit even unrecorded: there the record may differ by as much as two plain runs differ.
    const float noise = largest_difference(plain.values, again.values);
    INFO("two plain runs differ by " << noise);
    if (noise == 0.0f) {
      CHECK(recorded.values == plain.values);
      CHECK(recorded.losses == plain.losses);
    } else {
      CHECK(largest_difference(recorded.values, plain.values) <= 4 * noise);
    }
  }
  WARN("steps replayed from CUDA graphs: " << joined(replayed) << "\nsteps run as they are: " << joined(run_as_is));
  // Every backend's step records (a step that fell back to running as it is would still pass the
  // checks above, and buy nothing).
  CHECK(run_as_is.empty());
}
