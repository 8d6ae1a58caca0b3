#include "harness/model_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "harness/interrupt.h"
#include "ops/device_buffer.h"
#include "ops/rng.h"

namespace seqbench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Copies the first `length` tokens of the examples listed in order[begin, end) into contiguous
// batch buffers (a segment shorter than the dataset's rows runs at its own length).
void gather_batch(const TokenDataset& data, const std::vector<int64_t>& order, int64_t begin, int64_t end,
                  int64_t length, std::vector<int32_t>& inputs, std::vector<int32_t>& labels) {
  inputs.resize(static_cast<size_t>((end - begin) * length));
  labels.resize(inputs.size());
  for (int64_t i = begin; i < end; ++i) {
    std::copy(data.input_row(order[i]), data.input_row(order[i]) + length, inputs.begin() + (i - begin) * length);
    std::copy(data.label_row(order[i]), data.label_row(order[i]) + length, labels.begin() + (i - begin) * length);
  }
}

// One training step's examples: order[begin, end), all of one segment, run at its length.
struct Batch {
  int64_t begin = 0, end = 0, length = 0;
};

int64_t batches_per_epoch(const TokenDataset& data, int64_t batch_size) {
  int64_t n = 0;
  for (const DatasetSegment& s : segments_of(data)) n += (s.end - s.begin + batch_size - 1) / batch_size;
  return n;
}

// Cuts the shuffled `order` into the epoch's batches. A batch holds examples of one segment only
// (one length per batch); batches come in the order the shuffle completes them, so segments are
// interleaved at random, and `order` is rearranged to list each batch's examples together. With a
// single segment this is `order` cut into consecutive batches, unchanged.
std::vector<Batch> epoch_batches(const TokenDataset& data, std::vector<int64_t>& order, int64_t batch_size) {
  const std::vector<DatasetSegment> segments = segments_of(data);
  std::vector<Batch> batches;
  if (segments.size() == 1) {
    for (int64_t begin = 0; begin < data.num_examples; begin += batch_size)
      batches.push_back({begin, std::min(data.num_examples, begin + batch_size), data.seq_len});
    return batches;
  }
  std::vector<std::vector<int64_t>> pending(segments.size());
  std::vector<int64_t> arranged;
  arranged.reserve(order.size());
  auto emit = [&](size_t s) {
    const int64_t begin = static_cast<int64_t>(arranged.size());
    arranged.insert(arranged.end(), pending[s].begin(), pending[s].end());
    batches.push_back({begin, static_cast<int64_t>(arranged.size()), segments[s].length});
    pending[s].clear();
  };
  for (int64_t example : order) {
    const auto after = std::upper_bound(segments.begin(), segments.end(), example,
                                        [](int64_t e, const DatasetSegment& seg) { return e < seg.begin; });
    const size_t s = static_cast<size_t>(after - segments.begin()) - 1;
    pending[s].push_back(example);
    if (static_cast<int64_t>(pending[s].size()) == batch_size) emit(s);
  }
  for (size_t s = 0; s < segments.size(); ++s)
    if (!pending[s].empty()) emit(s);
  order = std::move(arranged);
  return batches;
}

// The steps' mean losses, written by the steps on the model's device and read by the host only when
// the trainer needs them (a report, an evaluation, the time budget, the epoch's end): a GPU step then
// never waits for the device. On the CPU they are read after every step, at no cost.
class StepLosses {
 public:
  explicit StepLosses(Device device) : slots_(device) {}
  bool read_every_step() const { return slots_.device() == Device::cpu; }

  // Room for an epoch of `steps`, the first of which is the run's step `first_step` (0-based).
  void start_epoch(int64_t steps, int64_t first_step) {
    slots_.resize(steps);
    written_ = read_ = 0;
    first_step_ = first_step;
  }
  double* next_slot() { return slots_.data() + written_++; }

  // Adds the losses written since the last call to sum and count, in step order, up to the first
  // non-finite one; returns that step's 1-based number in the run, or 0 when all were finite.
  int64_t fold(double& sum, int64_t& count, double& non_finite_loss) {
    const std::vector<double> losses = slots_.download(read_, written_ - read_);
    for (size_t i = 0; i < losses.size(); ++i) {
      if (!std::isfinite(losses[i])) {
        non_finite_loss = losses[i];
        return first_step_ + read_ + static_cast<int64_t>(i) + 1;
      }
      sum += losses[i];
      ++count;
    }
    read_ = written_;
    return 0;
  }

 private:
  DeviceBuffer<double> slots_;
  int64_t written_ = 0, read_ = 0, first_step_ = 0;
};

}  // namespace

TaskScore evaluate_model(SequenceModel& model, const TokenDataset& data, int64_t batch_size) {
  std::vector<int32_t> predictions(data.inputs.size(), kIgnoreLabel);
  std::vector<int32_t> inputs, labels, predicted;
  for (const DatasetSegment& segment : segments_of(data)) {
    const int64_t len = segment.length;
    for (int64_t begin = segment.begin; begin < segment.end; begin += batch_size) {
      const int64_t n = std::min(batch_size, segment.end - begin);
      if (len == data.seq_len) {
        model.predict(data.input_row(begin), data.label_row(begin), n, len, predictions.data() + begin * len);
        continue;
      }
      // A shorter segment runs at its own length; its padding keeps kIgnoreLabel predictions.
      inputs.resize(static_cast<size_t>(n * len));
      labels.resize(inputs.size());
      predicted.resize(inputs.size());
      for (int64_t i = 0; i < n; ++i) {
        std::copy(data.input_row(begin + i), data.input_row(begin + i) + len, inputs.begin() + i * len);
        std::copy(data.label_row(begin + i), data.label_row(begin + i) + len, labels.begin() + i * len);
      }
      model.predict(inputs.data(), labels.data(), n, len, predicted.data());
      for (int64_t i = 0; i < n; ++i)
        std::copy(predicted.begin() + i * len, predicted.begin() + (i + 1) * len,
                  predictions.begin() + (begin + i) * data.seq_len);
    }
  }
  return score_predictions(data, predictions);
}

TrainResult train_model(SequenceModel& model, const TokenDataset& train, const TokenDataset& valid,
                        const TrainConfig& config, uint64_t shuffle_seed, const ProgressCallback& on_epoch) {
  if (train.num_examples == 0) throw std::invalid_argument("training split is empty");
  if (config.batch_size <= 0) throw std::invalid_argument("batch_size must be positive");
  int64_t total_steps = batches_per_epoch(train, config.batch_size) * config.epochs;
  if (config.max_steps > 0) total_steps = std::min(total_steps, config.max_steps);

  AdamWOptimizer optimizer(model.params(), config.optimizer, total_steps);
  StepLosses losses(model.config().device);
  Rng rng(shuffle_seed);
  std::vector<int64_t> order(static_cast<size_t>(train.num_examples));
  std::vector<int32_t> inputs, labels;
  TrainResult result;
  auto reached_target = [&](double accuracy) {
    return config.early_stop_accuracy > 0 && accuracy >= config.early_stop_accuracy;
  };
  const auto start = Clock::now();
  auto last_report = start;
  int64_t tokens = 0;
  model.zero_grad();  // from here on each optimizer step leaves the gradients zeroed

  for (int epoch = 0; epoch < config.epochs && optimizer.steps_taken() < total_steps; ++epoch) {
    std::iota(order.begin(), order.end(), 0);
    for (int64_t i = train.num_examples - 1; i > 0; --i) std::swap(order[i], order[rng.uniform_int(0, i + 1)]);
    const std::vector<Batch> batches = epoch_batches(train, order, config.batch_size);
    losses.start_epoch(static_cast<int64_t>(batches.size()), optimizer.steps_taken());
    double loss_sum = 0;
    int64_t loss_count = 0;
    // Reads the losses written so far; false (and the result marked diverged) at a non-finite one.
    auto losses_finite = [&] {
      result.diverged_step = losses.fold(loss_sum, loss_count, result.diverged_loss);
      result.diverged = result.diverged_step > 0;
      return !result.diverged;
    };
    for (size_t b = 0; b < batches.size() && optimizer.steps_taken() < total_steps; ++b) {
      throw_if_interrupted();
      const int64_t begin = batches[b].begin, end = batches[b].end, length = batches[b].length;
      gather_batch(train, order, begin, end, length, inputs, labels);
      model.loss_and_backward(inputs.data(), labels.data(), end - begin, length, losses.next_slot());
      if (losses.read_every_step() && !losses_finite()) break;
      optimizer.step();
      tokens += (end - begin) * length;
      const bool report = on_epoch && seconds_since(last_report) > kProgressHeartbeatSeconds;
      const bool out_of_time = config.time_budget_s > 0 && seconds_since(start) > config.time_budget_s;
      const bool evaluate = config.eval_every_steps > 0 && optimizer.steps_taken() % config.eval_every_steps == 0 &&
                            b + 1 < batches.size();
      if ((report || out_of_time || evaluate) && !losses_finite()) break;
      if (report) {
        on_epoch(TrainProgress{epoch + 1, config.epochs, optimizer.steps_taken(), total_steps, loss_sum / loss_count,
                               result.valid_accuracy, seconds_since(start), false});
        last_report = Clock::now();
      }
      if (out_of_time) {
        result.out_of_time = true;
        break;
      }
      if (evaluate) {
        result.valid_accuracy = evaluate_model(model, valid).accuracy;
        if (on_epoch)
          on_epoch(TrainProgress{epoch + 1, config.epochs, optimizer.steps_taken(), total_steps, loss_sum / loss_count,
                                 result.valid_accuracy, seconds_since(start), true});
        last_report = Clock::now();
        if (reached_target(result.valid_accuracy)) {
          result.early_stopped = true;
          break;
        }
      }
    }
    if (!result.diverged) losses_finite();
    result.epochs_run = epoch + 1;
    result.final_train_loss = loss_count ? loss_sum / loss_count : 0.0;
    if (result.diverged) break;  // nothing left to evaluate: the weights hold NaNs
    // An early stop inside the epoch has just evaluated and reported this very step: do not
    // evaluate again or print the same line twice.
    if (!result.early_stopped) {
      result.valid_accuracy = evaluate_model(model, valid).accuracy;
      if (on_epoch)
        on_epoch(TrainProgress{epoch + 1, config.epochs, optimizer.steps_taken(), total_steps,
                               result.final_train_loss, result.valid_accuracy, seconds_since(start), true});
    }
    last_report = Clock::now();
    if (result.early_stopped || reached_target(result.valid_accuracy)) {
      result.early_stopped = true;
      break;
    }
    if (result.out_of_time) break;
  }
  // A divergence found after the fact (on the GPU) still counts only the steps before it.
  result.steps = result.diverged ? result.diverged_step - 1 : optimizer.steps_taken();
  result.seconds = seconds_since(start);
  result.tokens_per_s = result.seconds > 0 ? tokens / result.seconds : 0;
  return result;
}

}  // namespace seqbench
