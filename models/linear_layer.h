// y = x W^T (+ b): the projection every mixer and MLP is made of. W is [out, in] as in PyTorch.
// forward() keeps a copy of x for backward(). Under Precision::bf16 (models/precision.h) the products
// take bf16 copies of x, W and dy and sum in fp32: forward keeps x's bf16 copy (half the bytes), and
// backward runs in the precision its forward ran in.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "ops/device_buffer.h"
#include "ops/rng.h"
#include "models/param.h"
#include "models/precision.h"

namespace seqbench {

class LinearLayer {
 public:
  LinearLayer() = default;
  // Weights drawn by initial_linear_weight; biases start at zero.
  LinearLayer(std::string name, int in_features, int out_features, bool bias, Rng& rng,
              float init_std = 0.0f, Device device = Device::cpu);
  // The given weight [out, in] (a host tensor), placed on `device`; biases start at zero.
  LinearLayer(std::string name, const Tensor& weight, bool bias, Device device);

  // x: [..., in] -> y: [..., out]
  void forward(const Tensor& x, Tensor& y);
  // dy: [..., out] -> dx: [..., in] (overwritten); accumulates dW, db.
  void backward(const Tensor& dy, Tensor& dx);
  // Same as forward but keeps nothing (decode steps).
  void apply(const Tensor& x, Tensor& y) const;

  std::vector<Param*> params();
  int in_features() const { return in_; }
  int out_features() const { return out_; }
  Param& weight() { return weight_; }

 private:
  // y = x W^T + b in `precision`; a bf16 forward leaves x's and W's bf16 copies in the buffers below.
  void project(const Tensor& x, Tensor& y, Precision precision) const;

  int in_ = 0, out_ = 0;
  bool has_bias_ = false;
  Param weight_, bias_;
  Tensor saved_input_;             // fp32 forward: x
  Precision saved_precision_ = Precision::fp32;
  int64_t saved_rows_ = -1;        // rows of the last forward(), -1 before the first
  // bf16 copies: x (kept for backward), W (as of the last call) and dy. Scratch of const apply() too
  // (decode steps), hence mutable; the buffers only grow, so a recorded step's addresses stay valid.
  mutable DeviceBuffer<uint16_t> input_bf16_, weight_bf16_;
  DeviceBuffer<uint16_t> grad_bf16_;
};

// A layer's initial weight [out, in] on the host, drawn row by row from N(0, init_std^2) (init_std <= 0
// means 1/sqrt(in)). Throws std::invalid_argument naming the layer for sizes below 1.
Tensor initial_linear_weight(const std::string& name, int in_features, int out_features, Rng& rng,
                             float init_std = 0.0f);

// The parameters of several layers, layer by layer.
std::vector<Param*> params_of(std::initializer_list<LinearLayer*> layers);

// Output shape of a [..., in] tensor after a projection to `out` features.
Shape with_last_dim(const Shape& shape, int64_t last);

}  // namespace seqbench
