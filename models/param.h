// A trainable parameter: its value, its gradient (accumulated by backward passes), and whether
// AdamW applies weight decay to it (matrices yes; norms, biases and embeddings' gains no).
#pragma once
#include <string>

#include "kernels/tensor.h"

namespace seqbench {

struct Param {
  std::string name;
  Tensor value;
  Tensor grad;
  bool decay = true;

  Param() = default;
  Param(std::string param_name, Shape shape, bool weight_decay, Device device = Device::cpu)
      : name(std::move(param_name)), value(shape, device), grad(shape, device), decay(weight_decay) {}
};

}  // namespace seqbench
