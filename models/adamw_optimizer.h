// AdamW over a model's parameters with linear warm-up then cosine decay of the learning rate,
// and optional clipping of the global gradient norm. A step is one fused multi-tensor update on the
// parameters' device that never waits for it; it leaves the gradients zeroed.
#pragma once
#include <cstdint>
#include <vector>

#include "ops/adamw.h"
#include "ops/device_buffer.h"
#include "models/param.h"

namespace seqbench {

struct OptimizerConfig {
  double lr = 1e-3;
  double weight_decay = 0.1;
  double beta1 = 0.9;
  double beta2 = 0.98;
  double eps = 1e-8;
  double warmup_fraction = 0.1;  // of total steps
  double min_lr_fraction = 0.1;  // cosine decays to lr * this
  double grad_clip = 1.0;        // <= 0 disables
};

// Learning rate at `step` (0-based) of `total_steps`: warm-up, then cosine.
double scheduled_lr(const OptimizerConfig& config, int64_t step, int64_t total_steps);

class AdamWOptimizer {
 public:
  AdamWOptimizer(std::vector<Param*> params, const OptimizerConfig& config, int64_t total_steps);
  // Clips, updates every parameter and zeroes every gradient (the next backward pass accumulates
  // into zeros).
  void step();
  int64_t steps_taken() const { return step_; }
  // The last step's gradient norm before clipping (on the GPU this waits for the step).
  double last_grad_norm() const;

 private:
  std::vector<Param*> params_;
  std::vector<Tensor> m_, v_;
  OptimizerConfig config_;
  int64_t total_steps_;
  int64_t step_ = 0;
  // The fused step's tables and scratch (ops/adamw.h), on the parameters' device.
  DeviceBuffer<AdamWSlot> slots_;
  DeviceBuffer<AdamWChunk> chunks_;
  DeviceBuffer<double> chunk_sums_, grad_sum_of_squares_;
};

}  // namespace seqbench
