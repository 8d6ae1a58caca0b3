// The channel mixer of each layer: Linear(d, e*d) -> GELU -> Linear(e*d, d).
#pragma once
#include <string>
#include <vector>

#include "ops/rng.h"
#include "models/linear_layer.h"

namespace seqbench {

class MlpBlock {
 public:
  MlpBlock() = default;
  MlpBlock(const std::string& name, int d_model, int expand, Rng& rng, Device device = Device::cpu);

  void forward(const Tensor& x, Tensor& y);
  void backward(const Tensor& dy, Tensor& dx);
  void apply(const Tensor& x, Tensor& y) const;
  std::vector<Param*> params();

 private:
  LinearLayer up_, down_;
  Tensor hidden_, activated_, d_activated_, d_hidden_;
};

}  // namespace seqbench
