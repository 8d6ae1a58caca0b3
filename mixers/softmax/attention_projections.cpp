#include "mixers/softmax/attention_projections.h"

#include "ops/row_ops.h"

namespace seqbench {
namespace {

// Sub-seed labels of the four projections, so each draws from its own stream of spec.seed.
enum ProjectionSeed : uint64_t { kSeedQ = 1, kSeedK = 2, kSeedV = 3, kSeedO = 4 };

LinearLayer projection(const MixerSpec& spec, const char* name, uint64_t label) {
  Rng rng(Rng::derive(spec.seed, label));
  return LinearLayer(spec.kind + "." + name, spec.d_model, spec.d_model, false, rng, 0.0f, spec.device);
}

}  // namespace

AttentionProjections::AttentionProjections(const MixerSpec& spec)
    : q_(projection(spec, "q_proj", kSeedQ)),
      k_(projection(spec, "k_proj", kSeedK)),
      v_(projection(spec, "v_proj", kSeedV)),
      o_(projection(spec, "o_proj", kSeedO)) {}

void AttentionProjections::forward(const Tensor& x, Tensor& q, Tensor& k, Tensor& v) {
  q_.forward(x, q);
  k_.forward(x, k);
  v_.forward(x, v);
}

void AttentionProjections::apply(const Tensor& x, Tensor& q, Tensor& k, Tensor& v) const {
  q_.apply(x, q);
  k_.apply(x, k);
  v_.apply(x, v);
}

void AttentionProjections::backward(const Tensor& dq, const Tensor& dk, const Tensor& dv, Tensor& dx) {
  q_.backward(dq, dx);
  k_.backward(dk, dx_part_);
  kernels_for<RowOpKernels>(dx.device()).axpy(1.0f, dx_part_.data(), dx.data(), dx.numel());
  v_.backward(dv, dx_part_);
  kernels_for<RowOpKernels>(dx.device()).axpy(1.0f, dx_part_.data(), dx.data(), dx.numel());
}

std::vector<Param*> AttentionProjections::params() {
  std::vector<Param*> out;
  for (LinearLayer* layer : {&q_, &k_, &v_, &o_})
    for (Param* p : layer->params()) out.push_back(p);
  return out;
}

}  // namespace seqbench
