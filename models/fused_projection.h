// Several projections of one input as one matmul: y_i = x W_i^T for i = 0..n-1 with the W_i stacked
// into one [sum out_i, in] weight, one product [rows, sum out_i] split into the outputs by strided
// row copies; backward stacks the output gradients the same way, so dW and dx are one matmul each
// (PyTorch's fused qkv linear). The input is kept once, not once per projection. Block i of the
// weight is drawn from its own seed stream, exactly as a LinearLayer of that seed would draw it.
// Checked against separate LinearLayers and finite differences in tests/test_fused_projection.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "models/linear_layer.h"

namespace seqbench {

struct ProjectionPart {
  int out_features;
  uint64_t seed;  // the stream block i is drawn from (N(0, 1/in) as LinearLayer's default)
};

class FusedProjection {
 public:
  FusedProjection() = default;
  FusedProjection(std::string name, int in_features, const std::vector<ProjectionPart>& parts, Device device);

  // x: [..., in] -> outputs[i]: [..., out_i]; forward() keeps x for backward().
  void forward(const Tensor& x, const std::vector<Tensor*>& outputs);
  void apply(const Tensor& x, const std::vector<Tensor*>& outputs) const;
  // grads[i]: [..., out_i] -> dx (overwritten); accumulates the stacked weight's gradient.
  void backward(const std::vector<const Tensor*>& grads, Tensor& dx);

  std::vector<Param*> params() { return layer_.params(); }

 private:
  // Splits stacked_ into outputs, or (gather) the outputs into stacked_.
  void split(const Tensor& stacked, const std::vector<Tensor*>& outputs) const;
  void check_count(size_t count) const;

  LinearLayer layer_;
  std::vector<int> widths_, offsets_;
  mutable Tensor stacked_;  // the product, or the stacked gradient in backward
};

}  // namespace seqbench
