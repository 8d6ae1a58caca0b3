// A trainable parameter: its value, its gradient (accumulated by backward passes), and whether
// AdamW applies weight decay to it (matrices yes; norms, biases and embeddings' gains no).
#pragma once
#include <string>

#include "ops/tensor.h"

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

// Moves a parameter (value and gradient) to `device`: parameters are initialised on the host from
// their seed and then placed, so every device starts from the same values.
inline void place_param(Param& p, Device device) {
  if (p.value.device() == device) return;
  p.value = p.value.to(device);
  p.grad = p.grad.to(device);
}

}  // namespace seqbench
