#include "harness/profiler.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#include "harness/interrupt.h"
#include "harness/machine_limits.h"
#include "harness/timer.h"
#include "harness/trace_range.h"
#include "ops/device_buffer.h"
#include "ops/device_memory.h"
#include "ops/rng.h"
#include "models/adamw_optimizer.h"
#include "models/sequence_model.h"

namespace seqbench {
namespace {

// Collects a phase's metrics and logs each timing with its precision and why it stopped.
class ProfileRecorder {
 public:
  ProfileRecorder(std::vector<Metric>& out, std::ostream* log, MachineLimits limits)
      : out_(out), log_(log), limits_(limits) {}

  void add_measurement(const std::string& name, const Measurement& m) {
    out_.push_back(make_metric(name, m));
    if (!log_) return;
    const std::string& unit = out_.back().unit;
    char line[200];
    std::snprintf(line, sizeof(line), "    profile %-30s %12.4g %-8s n=%-5lld +-%.1f%% (%s)\n", name.c_str(),
                  m.stats.median, unit.c_str(), static_cast<long long>(m.stats.n), 100 * m.stats.relative_ci95,
                  stop_reason_name(m.stop));
    *log_ << line << std::flush;
  }

  // A throughput with one sample per timed repetition: work / time.
  void add_rate(const std::string& name, double work, const Measurement& timed_ms) {
    std::vector<double> rates;
    for (double ms : timed_ms.samples) rates.push_back(ms > 0 ? work / (ms / 1000.0) : 0.0);
    out_.push_back(make_metric(name, rates));
  }

  // <phase>_tflops<suffix> and <phase>_gb_per_s<suffix>: the model's work (SequenceModel::work)
  // over each repetition's time; <phase>_compute_fraction<suffix> and _bandwidth_fraction<suffix>:
  // the same rates over the machine's measured limits.
  void add_work_rates(const std::string& phase, const std::string& suffix, const WorkCount& work,
                      const Measurement& timed_ms) {
    add_rate(phase + "_tflops" + suffix, work.flops / 1e12, timed_ms);
    add_rate(phase + "_gb_per_s" + suffix, work.bytes / 1e9, timed_ms);
    add_rate(phase + "_compute_fraction" + suffix, fraction_of_limit(work.flops / 1e12, limits_.tflops), timed_ms);
    add_rate(phase + "_bandwidth_fraction" + suffix, fraction_of_limit(work.bytes / 1e9, limits_.gb_per_s), timed_ms);
  }

  void add_value(const std::string& name, double value) {
    for (const Metric& m : out_)
      if (m.name == name) return;  // state_bytes at a length both prefilled and decoded from
    out_.push_back(make_metric(name, value));
  }

 private:
  std::vector<Metric>& out_;
  std::ostream* log_;
  MachineLimits limits_;
};

std::vector<int32_t> random_tokens(Rng& rng, int64_t count, int vocab) {
  std::vector<int32_t> tokens(static_cast<size_t>(count));
  for (auto& t : tokens) t = static_cast<int32_t>(rng.uniform_int(0, vocab));
  return tokens;
}

// Bytes held on `device` above `baseline`, at the peak since the last reset.
double peak_above(Device device, int64_t baseline) {
  return static_cast<double>(std::max<int64_t>(0, memory_counters(device).peak_bytes - baseline));
}

// A model built for one timed section: what the device held before it (its baseline) is read
// first and the peak counter reset once it exists, so peak_bytes() counts the model's weights and
// everything its timed runs allocate, and nothing an earlier section left behind.
struct MeasuredModel {
  const Device device;
  const int64_t baseline;
  SequenceModel model;
  MeasuredModel(const ModelConfig& config, Device d)
      : device(d), baseline(memory_counters(d).current_bytes), model(config) {
    reset_peak_memory(device);
  }
  double peak_bytes() const { return peak_above(device, baseline); }
};

struct TrainBatch {
  std::vector<int32_t> inputs, labels;
  int64_t batch = 0, seq_len = 0;
};

TrainBatch make_train_batch(const ProfileSpec& spec, const TokenDataset* data, int longest, int vocab, Rng& rng) {
  TrainBatch b;
  b.batch = spec.train_batch;
  if (data && data->num_examples > 0) {
    b.seq_len = data->seq_len;
    for (int64_t i = 0; i < b.batch; ++i) {
      const int64_t row = i % data->num_examples;
      b.inputs.insert(b.inputs.end(), data->input_row(row), data->input_row(row) + b.seq_len);
      b.labels.insert(b.labels.end(), data->label_row(row), data->label_row(row) + b.seq_len);
    }
    return b;
  }
  b.seq_len = longest;
  b.inputs = random_tokens(rng, b.batch * b.seq_len, vocab);
  b.labels = random_tokens(rng, b.batch * b.seq_len, vocab);
  return b;
}

void check_spec(const ProfileSpec& spec) {
  validate_policy(spec.repetitions);
  if (spec.batch < 1) throw std::invalid_argument("profile batch must be >= 1, got " + std::to_string(spec.batch));
  if (spec.train_step && spec.train_batch < 1)
    throw std::invalid_argument("profile train_batch must be resolved to >= 1, got " + std::to_string(spec.train_batch));
  for (int len : spec.prefill_lengths)
    if (len < 1) throw std::invalid_argument("profile prefill length must be >= 1, got " + std::to_string(len));
  if (spec.decode_context < 0 || spec.decode_tokens < 1)
    throw std::invalid_argument("profile decode_context must be >= 0 and decode_tokens >= 1");
}

}  // namespace

std::vector<Metric> profile_model(const ModelConfig& base_config, const ProfileSpec& spec, const TokenDataset* train_data,
                                  uint64_t seed, std::ostream* log) {
  check_spec(spec);
  std::vector<Metric> metrics;
  const Device device = base_config.device;
  ProfileRecorder record(metrics, log, machine_limits(device));
  const RepetitionPolicy& policy = spec.repetitions;
  const auto between = [] { throw_if_interrupted(); };
  std::unique_ptr<Timer> timer = make_timer(device, spec.clock);
  Rng rng(Rng::derive(seed, 31));

  int longest = spec.decode_context > 0 ? spec.decode_context + spec.decode_tokens : 1;
  for (int len : spec.prefill_lengths) longest = std::max(longest, len);
  if (train_data) longest = std::max<int>(longest, static_cast<int>(train_data->seq_len));
  ModelConfig config = base_config;
  config.max_seq_len = std::max(config.max_seq_len, longest);
  const int64_t batch = spec.batch;

  std::vector<int> lengths;  // each length once, in the order given
  for (int len : spec.prefill_lengths)
    if (std::find(lengths.begin(), lengths.end(), len) == lengths.end()) lengths.push_back(len);
  for (int len : lengths) {
    const std::string at = std::to_string(len);
    const std::vector<int32_t> tokens = random_tokens(rng, batch * len, config.vocab_size);
    std::vector<float> logits;
    MeasuredModel measured(config, device);
    SequenceModel& model = measured.model;
    const Measurement m = measure_repeated(
        [&] {
          ScopedRange range("prefill");
          timer->start();
          DecodeState state = model.prefill(tokens.data(), batch, len, len, logits);
          return timer->stop_ms();
        },
        policy, between);
    record.add_measurement("prefill_ms@len" + at, m);
    record.add_rate("prefill_tokens_per_s@len" + at, static_cast<double>(batch * len), m);
    record.add_work_rates("prefill", "@len" + at, model.work(batch, len, WorkPass::forward, batch), m);
    record.add_value("peak_mem_bytes@prefill" + at, measured.peak_bytes());
    // What the decode state really holds, measured at the allocator once the model's workspaces
    // exist: a cross-check of the state_bytes formula (the KV cache is allocated at capacity).
    const int64_t before = memory_counters(device).current_bytes;
    DecodeState state = model.prefill(tokens.data(), batch, len, len, logits);
    const double held = static_cast<double>(memory_counters(device).current_bytes - before) / batch;
    record.add_value("state_bytes@len" + at, static_cast<double>(model.state_bytes(len)));
    record.add_value("kv_bytes@len" + at, held);
  }

  if (spec.decode_context > 0) {
    const int ctx = spec.decode_context;
    const std::string at = std::to_string(ctx);
    const std::vector<int32_t> prompt = random_tokens(rng, batch * ctx, config.vocab_size);
    const std::vector<int32_t> next = random_tokens(rng, batch * spec.decode_tokens, config.vocab_size);
    std::vector<float> logits;
    MeasuredModel measured(config, device);
    SequenceModel& model = measured.model;
    const Measurement m = measure_repeated(
        [&] {
          DecodeState state = model.prefill(prompt.data(), batch, ctx, ctx + spec.decode_tokens, logits);
          ScopedRange range("decode");
          timer->start();
          for (int t = 0; t < spec.decode_tokens; ++t) model.decode_step(state, next.data() + t * batch, logits);
          return timer->stop_ms() / spec.decode_tokens;
        },
        policy, between);
    record.add_measurement("decode_ms_per_token@ctx" + at, m);
    record.add_rate("decode_tokens_per_s@ctx" + at, static_cast<double>(batch), m);
    record.add_work_rates("decode", "@ctx" + at, model.work(batch, ctx, WorkPass::decode_step, batch), m);
    record.add_value("peak_mem_bytes@decode" + at, measured.peak_bytes());
    record.add_value("state_bytes@len" + at, static_cast<double>(model.state_bytes(ctx)));
  }

  if (spec.train_step) {
    const TrainBatch b = make_train_batch(spec, train_data, longest, config.vocab_size, rng);
    const int64_t baseline = memory_counters(device).current_bytes;
    SequenceModel model(config);
    // A schedule long enough that the learning rate stays in its flat part while profiling.
    AdamWOptimizer optimizer(model.params(), OptimizerConfig{}, int64_t{1} << 40);
    DeviceBuffer<double> loss(device);
    loss.resize(1);
    reset_peak_memory(device);
    // The step as the trainer runs it: the loss stays on the device, the optimizer step zeroes the
    // gradients, and nothing inside waits for the GPU (the timer's stop does).
    const Measurement m = measure_repeated(
        [&] {
          ScopedRange range("train_step");
          timer->start();
          model.loss_and_backward(b.inputs.data(), b.labels.data(), b.batch, b.seq_len, loss.data());
          optimizer.step();
          return timer->stop_ms();
        },
        policy, between);
    record.add_measurement("train_step_ms", m);
    record.add_rate("train_tokens_per_s", static_cast<double>(b.batch * b.seq_len), m);
    const int64_t rows = b.batch * b.seq_len;  // the head counted at every position (labelled or not)
    record.add_work_rates("train", "", model.work(b.batch, b.seq_len, WorkPass::forward, rows) +
                                           model.work(b.batch, b.seq_len, WorkPass::backward, rows), m);
    record.add_value("peak_mem_bytes@train", peak_above(device, baseline));
  }
  return metrics;
}

}  // namespace seqbench
