#include "models/mlp_block.h"

#include <cmath>

#include "ops/activations.h"

namespace seqbench {

MlpBlock::MlpBlock(const std::string& name, int d_model, int expand, Rng& rng, Device device)
    : up_(name + ".up", d_model, d_model * expand, true, rng, 0.0f, device),
      // GPT-2 style: the residual-branch output projection starts smaller.
      down_(name + ".down", d_model * expand, d_model, true, rng,
            0.5f / std::sqrt(static_cast<float>(d_model * expand)), device) {}

void MlpBlock::forward(const Tensor& x, Tensor& y) {
  up_.forward(x, hidden_);
  activated_.resize(hidden_.shape(), x.device());
  kernels_for<GeluKernels>(x.device()).fwd(hidden_.data(), activated_.data(), hidden_.numel());
  down_.forward(activated_, y);
}

void MlpBlock::backward(const Tensor& dy, Tensor& dx) {
  down_.backward(dy, d_activated_);
  d_hidden_.resize(hidden_.shape(), dy.device());
  kernels_for<GeluKernels>(dy.device()).bwd(hidden_.data(), d_activated_.data(), d_hidden_.data(), hidden_.numel());
  up_.backward(d_hidden_, dx);
}

void MlpBlock::apply(const Tensor& x, Tensor& y) const {
  Tensor hidden, activated;
  up_.apply(x, hidden);
  activated.resize(hidden.shape(), x.device());
  kernels_for<GeluKernels>(x.device()).fwd(hidden.data(), activated.data(), hidden.numel());
  down_.apply(activated, y);
}

std::vector<Param*> MlpBlock::params() {
  std::vector<Param*> out = up_.params();
  for (Param* p : down_.params()) out.push_back(p);
  return out;
}

}  // namespace seqbench
