#include "mixers/softmax/attention_projections.h"

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
    : qkv_(spec.kind + ".qkv_proj", spec.d_model,
           {{spec.d_model, Rng::derive(spec.seed, kSeedQ)},
            {spec.d_model, Rng::derive(spec.seed, kSeedK)},
            {spec.d_model, Rng::derive(spec.seed, kSeedV)}},
           spec.device),
      o_(projection(spec, "o_proj", kSeedO)) {}

void AttentionProjections::forward(const Tensor& x, Tensor& q, Tensor& k, Tensor& v) { qkv_.forward(x, {&q, &k, &v}); }

void AttentionProjections::apply(const Tensor& x, Tensor& q, Tensor& k, Tensor& v) const {
  qkv_.apply(x, {&q, &k, &v});
}

void AttentionProjections::backward(const Tensor& dq, const Tensor& dk, const Tensor& dv, Tensor& dx) {
  qkv_.backward({&dq, &dk, &dv}, dx);
}

std::vector<Param*> AttentionProjections::params() {
  std::vector<Param*> out = qkv_.params();
  for (Param* p : o_.params()) out.push_back(p);
  return out;
}

}  // namespace seqbench
