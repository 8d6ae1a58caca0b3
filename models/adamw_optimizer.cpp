#include "models/adamw_optimizer.h"

#include <algorithm>
#include <cmath>

#include "ops/adamw.h"
#include "ops/row_ops.h"

namespace seqbench {

double scheduled_lr(const OptimizerConfig& c, int64_t step, int64_t total_steps) {
  const int64_t warmup = static_cast<int64_t>(c.warmup_fraction * total_steps);
  if (step < warmup) return c.lr * (step + 1) / warmup;
  const double progress =
      total_steps > warmup ? std::min(1.0, static_cast<double>(step - warmup) / (total_steps - warmup)) : 1.0;
  const double cosine = 0.5 * (1.0 + std::cos(3.141592653589793 * progress));
  return c.lr * (c.min_lr_fraction + (1.0 - c.min_lr_fraction) * cosine);
}

AdamWOptimizer::AdamWOptimizer(std::vector<Param*> params, const OptimizerConfig& config, int64_t total_steps)
    : params_(std::move(params)), config_(config), total_steps_(std::max<int64_t>(1, total_steps)) {
  for (Param* p : params_) {
    m_.emplace_back(p->value.shape(), p->value.device());
    v_.emplace_back(p->value.shape(), p->value.device());
  }
}

double AdamWOptimizer::step() {
  double sq = 0;
  for (Param* p : params_)
    sq += kernels_for<RowOpKernels>(p->grad.device()).sum_of_squares(p->grad.data(), p->grad.numel());
  const double norm = std::sqrt(sq);
  if (config_.grad_clip > 0 && norm > config_.grad_clip) {
    const float scale = static_cast<float>(config_.grad_clip / norm);
    for (Param* p : params_) kernels_for<RowOpKernels>(p->grad.device()).scale(scale, p->grad.data(), p->grad.numel());
  }
  AdamWHyper h;
  h.lr = static_cast<float>(scheduled_lr(config_, step_, total_steps_));
  h.beta1 = static_cast<float>(config_.beta1);
  h.beta2 = static_cast<float>(config_.beta2);
  h.eps = static_cast<float>(config_.eps);
  h.step = step_ + 1;
  for (size_t i = 0; i < params_.size(); ++i) {
    h.weight_decay = params_[i]->decay ? static_cast<float>(config_.weight_decay) : 0.0f;
    kernels_for<AdamWKernels>(params_[i]->value.device())
        .update(params_[i]->value.data(), params_[i]->grad.data(), m_[i].data(), v_[i].data(),
                params_[i]->value.numel(), h);
  }
  ++step_;
  return norm;
}

}  // namespace seqbench
