#include "ops/plain_layer_norm.h"

#include "ops/kernel_table.h"
#include "ops/layer_norm.h"

namespace seqbench {

PlainLayerNorm::PlainLayerNorm(int64_t width, float eps, Device device)
    : width_(width), eps_(eps), device_(device), bias_({width}, device), dgain_({width}, device),
      dbias_({width}, device) {
  Tensor ones({width});
  for (int64_t i = 0; i < width; ++i) ones[i] = 1.0f;
  gain_ = ones.to(device);
}

void PlainLayerNorm::forward(const Tensor& x, Tensor& y, Tensor& mean, Tensor& rstd) const {
  const int64_t rows = x.numel() / width_;
  y.resize(x.shape(), device_);
  mean.resize({rows}, device_);
  rstd.resize({rows}, device_);
  kernels_for<LayerNormKernels>(device_)
      .fwd(x.data(), gain_.data(), bias_.data(), y.data(), mean.data(), rstd.data(), rows, width_, eps_);
}

void PlainLayerNorm::backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd, Tensor& dx) {
  dx.resize(x.shape(), device_);
  dgain_.zero();
  dbias_.zero();
  kernels_for<LayerNormKernels>(device_)
      .bwd(dy.data(), x.data(), gain_.data(), mean.data(), rstd.data(), dx.data(), dgain_.data(), dbias_.data(),
           x.numel() / width_, width_);
}

}  // namespace seqbench
