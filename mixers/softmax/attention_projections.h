// The q, k, v and o projections (d_model -> d_model, no bias) of the softmax-attention mixers, q, k
// and v fused into one matmul (models/fused_projection.h), each drawn from its own sub-stream of spec.seed: the softmax, sliding-window and sparse mixers get the
// same weights from the same seed, so a window covering the whole sequence is exactly softmax
// attention. Checked through those mixers' conformance tests (tests/test_mixer_registry.cpp).
#pragma once
#include <vector>

#include "models/fused_projection.h"
#include "models/linear_layer.h"
#include "models/mixer.h"

namespace seqbench {

class AttentionProjections {
 public:
  AttentionProjections() = default;
  explicit AttentionProjections(const MixerSpec& spec);

  // q, k, v of x ([B, L, d_model] or, decoding, [B, d_model]); forward() keeps x for backward().
  void forward(const Tensor& x, Tensor& q, Tensor& k, Tensor& v);
  void apply(const Tensor& x, Tensor& q, Tensor& k, Tensor& v) const;
  // dx = the input gradients of the q, k and v projections summed; parameter gradients accumulated.
  void backward(const Tensor& dq, const Tensor& dk, const Tensor& dv, Tensor& dx);

  // The output projection.
  LinearLayer& out() { return o_; }
  const LinearLayer& out() const { return o_; }

  std::vector<Param*> params();  // the fused q, k, v weight, then o

 private:
  FusedProjection qkv_;
  LinearLayer o_;
};

}  // namespace seqbench
