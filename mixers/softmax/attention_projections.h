// The q, k, v and o projections (d_model -> d_model, no bias) of the softmax-attention mixers, each
// drawn from its own sub-stream of spec.seed: the softmax, sliding-window and sparse mixers get the
// same weights from the same seed, so a window covering the whole sequence is exactly softmax
// attention. Checked through those mixers' conformance tests (tests/test_mixer_registry.cpp).
#pragma once
#include <vector>

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

  std::vector<Param*> params();  // q, k, v, o in that order

 private:
  LinearLayer q_, k_, v_, o_;
  Tensor dx_part_;
};

}  // namespace seqbench
