#include "models/layer_norm_layer.h"

#include <stdexcept>

#include "ops/layer_norm.h"

namespace seqbench {

LayerNormLayer::LayerNormLayer(std::string name, int dim, float eps, Device device)
    : dim_(dim),
      eps_(eps),
      gamma_(name + ".weight", {dim}, false, device),
      beta_(name + ".bias", {dim}, false, device) {
  Tensor ones({dim});
  for (int i = 0; i < dim; ++i) ones[i] = 1.0f;
  gamma_.value = ones.to(device);
}

static int64_t norm_rows(const Tensor& x, int dim) {
  if (x.rank() < 1 || x.dim(-1) != dim)
    throw std::invalid_argument("layer norm: input shape " + shape_string(x.shape()) + ", expected last dimension " +
                                std::to_string(dim));
  return x.numel() / dim;
}

void LayerNormLayer::apply(const Tensor& x, Tensor& y) const {
  const int64_t rows = norm_rows(x, dim_);
  y.resize(x.shape(), x.device());
  Tensor mean({rows}, x.device()), rstd({rows}, x.device());
  kernels_for<LayerNormKernels>(x.device())
      .fwd(x.data(), gamma_.value.data(), beta_.value.data(), y.data(), mean.data(), rstd.data(), rows, dim_, eps_);
}

void LayerNormLayer::forward(const Tensor& x, Tensor& y) {
  const int64_t rows = norm_rows(x, dim_);
  saved_input_ = x;
  mean_.resize({rows}, x.device());
  rstd_.resize({rows}, x.device());
  y.resize(x.shape(), x.device());
  kernels_for<LayerNormKernels>(x.device())
      .fwd(x.data(), gamma_.value.data(), beta_.value.data(), y.data(), mean_.data(), rstd_.data(), rows, dim_, eps_);
}

void LayerNormLayer::backward(const Tensor& dy, Tensor& dx) {
  const int64_t rows = norm_rows(dy, dim_);
  if (saved_input_.numel() != dy.numel())
    throw std::logic_error("layer norm backward() called without a matching forward()");
  dx.resize(dy.shape(), dy.device());
  kernels_for<LayerNormKernels>(dy.device())
      .bwd(dy.data(), saved_input_.data(), gamma_.value.data(), mean_.data(), rstd_.data(), dx.data(),
           gamma_.grad.data(), beta_.grad.data(), rows, dim_);
}

}  // namespace seqbench
