// A short causal depthwise convolution over the channels of [B, L, C] (H3 / Based / Mamba's
// short conv): y[t, c] = b[c] + sum_{j<K} w[c, j] x[t - j, c], zero before the first token. The
// numerics are ops/causal_conv1d.h (one conv kernel for every mixer that needs one).
#pragma once
#include <string>
#include <vector>

#include "ops/rng.h"
#include "models/param.h"

namespace seqbench {

class ShortConvLayer {
 public:
  ShortConvLayer() = default;
  // Weights and bias uniform in +-1/sqrt(K), PyTorch's Conv1d default for a depthwise conv
  // (fan_in = K). Throws std::invalid_argument for channels < 1 or kernel < 1.
  ShortConvLayer(std::string name, int channels, int kernel, Rng& rng, Device device = Device::cpu);

  // x, y: [B, L, C]. forward() keeps x for backward() and final_state().
  void forward(const Tensor& x, Tensor& y);
  // dx overwritten; dw, db accumulated.
  void backward(const Tensor& dy, Tensor& dx);

  // Decode state: the last K-1 inputs of each sequence, oldest first, [B, K-1, C] (zeros at first).
  Tensor make_state(int batch) const;
  // The state after the sequence last given to forward(), zeros where it is shorter than K-1.
  void final_state(Tensor& state) const;
  // One token per sequence, x_t, y_t: [B, C]; the state rolls forward by one token.
  void step(const Tensor& x_t, Tensor& y_t, Tensor& state) const;

  // Weight stored tap-major, [K, C], tap K-1 on the current token: w_stored[K-1-j, c] = w[c, j]
  // (PyTorch's Conv1d weight [C, 1, K] transposed), so the channel loop is contiguous.
  std::vector<Param*> params() { return {&weight_, &bias_}; }
  int kernel() const { return kernel_; }
  int channels() const { return channels_; }

 private:
  void check_state(const Tensor& state, int64_t batch) const;

  int channels_ = 0, kernel_ = 0;
  Param weight_, bias_;
  Tensor saved_input_;
};

}  // namespace seqbench
