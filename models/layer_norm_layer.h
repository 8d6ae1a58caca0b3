// A LayerNorm with learnable gain and bias over the last dimension (eps 1e-5 as in Zoology).
#pragma once
#include <string>
#include <vector>

#include "models/param.h"

namespace seqbench {

class LayerNormLayer {
 public:
  LayerNormLayer() = default;
  LayerNormLayer(std::string name, int dim, float eps = 1e-5f, Device device = Device::cpu);

  void forward(const Tensor& x, Tensor& y);          // keeps x and statistics for backward
  void backward(const Tensor& dy, Tensor& dx);       // dx overwritten; dgamma, dbeta accumulated
  void apply(const Tensor& x, Tensor& y) const;      // keeps nothing (decode)
  std::vector<Param*> params() { return {&gamma_, &beta_}; }

 private:
  int dim_ = 0;
  float eps_ = 1e-5f;
  Param gamma_, beta_;
  Tensor saved_input_, mean_, rstd_;
};

}  // namespace seqbench
