#include "harness/model_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "harness/interrupt.h"
#include "ops/rng.h"

namespace seqbench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Copies the examples listed in order[begin, end) into contiguous batch buffers.
void gather_batch(const TokenDataset& data, const std::vector<int64_t>& order, int64_t begin, int64_t end,
                  std::vector<int32_t>& inputs, std::vector<int32_t>& labels) {
  const int64_t len = data.seq_len;
  inputs.resize(static_cast<size_t>((end - begin) * len));
  labels.resize(inputs.size());
  for (int64_t i = begin; i < end; ++i) {
    std::copy(data.input_row(order[i]), data.input_row(order[i]) + len, inputs.begin() + (i - begin) * len);
    std::copy(data.label_row(order[i]), data.label_row(order[i]) + len, labels.begin() + (i - begin) * len);
  }
}

}  // namespace

TaskScore evaluate_model(SequenceModel& model, const TokenDataset& data, int64_t batch_size) {
  std::vector<int32_t> predictions(data.inputs.size());
  for (int64_t begin = 0; begin < data.num_examples; begin += batch_size) {
    const int64_t n = std::min(batch_size, data.num_examples - begin);
    model.predict(data.input_row(begin), data.label_row(begin), n, data.seq_len,
                  predictions.data() + begin * data.seq_len);
  }
  return score_predictions(data, predictions);
}

TrainResult train_model(SequenceModel& model, const TokenDataset& train, const TokenDataset& valid,
                        const TrainConfig& config, uint64_t shuffle_seed, const ProgressCallback& on_epoch) {
  if (train.num_examples == 0) throw std::invalid_argument("training split is empty");
  if (config.batch_size <= 0) throw std::invalid_argument("batch_size must be positive");
  const int64_t batches_per_epoch = (train.num_examples + config.batch_size - 1) / config.batch_size;
  int64_t total_steps = batches_per_epoch * config.epochs;
  if (config.max_steps > 0) total_steps = std::min(total_steps, config.max_steps);

  AdamWOptimizer optimizer(model.params(), config.optimizer, total_steps);
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

  for (int epoch = 0; epoch < config.epochs && optimizer.steps_taken() < total_steps; ++epoch) {
    std::iota(order.begin(), order.end(), 0);
    for (int64_t i = train.num_examples - 1; i > 0; --i) std::swap(order[i], order[rng.uniform_int(0, i + 1)]);
    double loss_sum = 0;
    int64_t loss_count = 0;
    for (int64_t begin = 0; begin < train.num_examples && optimizer.steps_taken() < total_steps;
         begin += config.batch_size) {
      throw_if_interrupted();
      const int64_t end = std::min(train.num_examples, begin + config.batch_size);
      gather_batch(train, order, begin, end, inputs, labels);
      model.zero_grad();
      const double loss = model.loss_and_backward(inputs.data(), labels.data(), end - begin, train.seq_len);
      if (!std::isfinite(loss)) {
        result.diverged = true;
        result.diverged_step = optimizer.steps_taken() + 1;
        result.diverged_loss = loss;
        break;
      }
      loss_sum += loss;
      ++loss_count;
      optimizer.step();
      tokens += (end - begin) * train.seq_len;
      if (on_epoch && seconds_since(last_report) > kProgressHeartbeatSeconds) {
        on_epoch(TrainProgress{epoch + 1, config.epochs, optimizer.steps_taken(), total_steps, loss_sum / loss_count,
                               result.valid_accuracy, seconds_since(start), false});
        last_report = Clock::now();
      }
      if (config.time_budget_s > 0 && seconds_since(start) > config.time_budget_s) {
        result.out_of_time = true;
        break;
      }
      if (config.eval_every_steps > 0 && optimizer.steps_taken() % config.eval_every_steps == 0 &&
          end < train.num_examples) {
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
  result.steps = optimizer.steps_taken();
  result.seconds = seconds_since(start);
  result.tokens_per_s = result.seconds > 0 ? tokens / result.seconds : 0;
  return result;
}

}  // namespace seqbench
