#include "models/adamw_optimizer.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace seqbench {

double scheduled_lr(const OptimizerConfig& c, int64_t step, int64_t total_steps) {
  const int64_t warmup = static_cast<int64_t>(c.warmup_fraction * total_steps);
  if (step < warmup) return c.lr * (step + 1) / warmup;
  const double progress =
      total_steps > warmup ? std::min(1.0, static_cast<double>(step - warmup) / (total_steps - warmup)) : 1.0;
  const double cosine = 0.5 * (1.0 + std::cos(3.141592653589793 * progress));
  return c.lr * (c.min_lr_fraction + (1.0 - c.min_lr_fraction) * cosine);
}

namespace {

Device device_of(const std::vector<Param*>& params) {
  const Device device = params.empty() ? Device::cpu : params.front()->value.device();
  for (const Param* p : params)
    if (p->value.device() != device || p->grad.device() != device)
      throw std::invalid_argument("AdamW: parameter '" + p->name + "' is not on " + device_name(device) +
                                  " like the others");
  return device;
}

}  // namespace

AdamWOptimizer::AdamWOptimizer(std::vector<Param*> params, const OptimizerConfig& config, int64_t total_steps)
    : params_(std::move(params)),
      config_(config),
      total_steps_(std::max<int64_t>(1, total_steps)),
      slots_(device_of(params_)),
      chunks_(slots_.device()),
      chunk_sums_(slots_.device()),
      grad_sum_of_squares_(slots_.device()) {
  std::vector<AdamWSlot> slots;
  for (Param* p : params_) {
    m_.emplace_back(p->value.shape(), p->value.device());
    v_.emplace_back(p->value.shape(), p->value.device());
    slots.push_back({p->value.data(), p->grad.data(), m_.back().data(), v_.back().data(), p->value.numel(),
                     p->decay ? static_cast<float>(config_.weight_decay) : 0.0f});
  }
  // Tensors keep their storage for the optimizer's life, so the table is built and uploaded once.
  const std::vector<AdamWChunk> chunks = adamw_chunks(slots);
  slots_.upload(slots);
  chunks_.upload(chunks);
  chunk_sums_.resize(static_cast<int64_t>(chunks.size()));
  grad_sum_of_squares_.upload(std::vector<double>{0.0});
}

void AdamWOptimizer::step() {
  AdamWHyper h;
  h.lr = static_cast<float>(scheduled_lr(config_, step_, total_steps_));
  h.beta1 = static_cast<float>(config_.beta1);
  h.beta2 = static_cast<float>(config_.beta2);
  h.eps = static_cast<float>(config_.eps);
  h.step = step_ + 1;
  const AdamWSlots group{slots_.data(),      slots_.size(),      chunks_.data(),
                         chunks_.size(),     chunk_sums_.data(), grad_sum_of_squares_.data()};
  kernels_for<AdamWKernels>(slots_.device()).clipped_step(group, config_.grad_clip, h);
  ++step_;
}

double AdamWOptimizer::last_grad_norm() const { return std::sqrt(grad_sum_of_squares_.download()[0]); }

}  // namespace seqbench
