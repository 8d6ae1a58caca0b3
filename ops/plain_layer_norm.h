// LayerNorm over the last dimension without affine parameters: GLA's and RetNet's per-head group
// norm, Mamba-2's norm before the out-projection (whose weights absorb the per-channel gain). It runs
// the LayerNorm kernels (layer_norm.h) with a fixed gain of 1 and bias of 0; their parameter
// gradients go to scratch that nothing reads.
#pragma once
#include <cstdint>

#include "ops/tensor.h"

namespace seqbench {

class PlainLayerNorm {
 public:
  PlainLayerNorm() = default;
  PlainLayerNorm(int64_t width, float eps, Device device);

  // x [..., width] -> y, same shape; mean and rstd [rows] are what backward() needs. Resizes y, mean, rstd.
  void forward(const Tensor& x, Tensor& y, Tensor& mean, Tensor& rstd) const;
  // dx (resized and overwritten) from dy and the forward's x, mean and rstd.
  void backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd, Tensor& dx);

 private:
  int64_t width_ = 0;
  float eps_ = 0.0f;
  Device device_ = Device::cpu;
  Tensor gain_, bias_, dgain_, dbias_;
};

}  // namespace seqbench
