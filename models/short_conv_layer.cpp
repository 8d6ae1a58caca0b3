#include "models/short_conv_layer.h"

#include <cmath>
#include <stdexcept>

#include "ops/causal_conv1d.h"

namespace seqbench {
namespace {

void check_input(const std::string& name, const Tensor& x, int rank, int channels, const char* what) {
  bool ok = x.rank() == rank && x.dim(-1) == channels;
  for (int i = 0; ok && i < rank - 1; ++i) ok = x.dim(i) >= 1;
  if (!ok)
    throw std::invalid_argument("short conv '" + name + "': " + what + " has shape " + shape_string(x.shape()) +
                                ", expected " + (rank == 3 ? "[B, L, " : "[B, ") + std::to_string(channels) + "]");
}

}  // namespace

ShortConvLayer::ShortConvLayer(std::string name, int channels, int kernel, Rng& rng, Device device)
    : channels_(channels), kernel_(kernel) {
  if (channels < 1 || kernel < 1)
    throw std::invalid_argument("short conv '" + name + "' needs channels >= 1 and kernel >= 1, got channels=" +
                                std::to_string(channels) + " kernel=" + std::to_string(kernel));
  weight_ = Param(name + ".weight", {kernel, channels}, true);
  bias_ = Param(name + ".bias", {channels}, false);
  const double bound = 1.0 / std::sqrt(static_cast<double>(kernel));
  for (int64_t i = 0; i < weight_.value.numel(); ++i) weight_.value[i] = static_cast<float>(rng.uniform(-bound, bound));
  for (int64_t i = 0; i < channels; ++i) bias_.value[i] = static_cast<float>(rng.uniform(-bound, bound));
  // Initialised on the host from the seed, then moved: the same values on every device.
  place_param(weight_, device);
  place_param(bias_, device);
}

void ShortConvLayer::forward(const Tensor& x, Tensor& y) {
  check_input(weight_.name, x, 3, channels_, "input");
  saved_input_ = x;
  y.resize(x.shape(), x.device());
  kernels_for<CausalConv1dKernels>(x.device())
      .fwd(x.data(), channels_, weight_.value.data(), bias_.value.data(), y.data(),
           {x.dim(0), x.dim(1), channels_, kernel_});
}

void ShortConvLayer::backward(const Tensor& dy, Tensor& dx) {
  if (saved_input_.empty()) throw std::logic_error("short conv '" + weight_.name + "': backward() before forward()");
  if (dy.shape() != saved_input_.shape())
    throw std::invalid_argument("short conv '" + weight_.name + "': gradient has shape " + shape_string(dy.shape()) +
                                ", expected " + shape_string(saved_input_.shape()));
  dx.resize(dy.shape(), dy.device());
  kernels_for<CausalConv1dKernels>(dy.device())
      .bwd(saved_input_.data(), channels_, weight_.value.data(), dy.data(), dx.data(), channels_, weight_.grad.data(),
           bias_.grad.data(), {saved_input_.dim(0), saved_input_.dim(1), channels_, kernel_});
}

Tensor ShortConvLayer::make_state(int batch) const {
  if (batch < 1)
    throw std::invalid_argument("short conv '" + weight_.name + "': state needs batch >= 1, got " +
                                std::to_string(batch));
  return Tensor({batch, kernel_ - 1, channels_}, weight_.value.device());
}

void ShortConvLayer::check_state(const Tensor& state, int64_t batch) const {
  const Shape expected{batch, kernel_ - 1, channels_};
  if (state.shape() != expected)
    throw std::invalid_argument("short conv '" + weight_.name + "': state has shape " + shape_string(state.shape()) +
                                ", expected " + shape_string(expected));
}

void ShortConvLayer::final_state(Tensor& state) const {
  if (saved_input_.empty()) throw std::logic_error("short conv '" + weight_.name + "': final_state() before forward()");
  check_state(state, saved_input_.dim(0));
  kernels_for<CausalConv1dKernels>(saved_input_.device()).final_state(saved_input_.data(), channels_, state.data(),
                            {saved_input_.dim(0), saved_input_.dim(1), channels_, kernel_});
}

void ShortConvLayer::step(const Tensor& x_t, Tensor& y_t, Tensor& state) const {
  check_input(weight_.name, x_t, 2, channels_, "decode input");
  check_state(state, x_t.dim(0));
  y_t.resize(x_t.shape(), x_t.device());
  kernels_for<CausalConv1dKernels>(x_t.device())
      .decode(x_t.data(), channels_, weight_.value.data(), bias_.value.data(), state.data(), y_t.data(),
              {x_t.dim(0), 1, channels_, kernel_});
}

}  // namespace seqbench
