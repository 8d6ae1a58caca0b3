// Multi-head causal linear attention (Katharopoulos et al. 2020) as in Based/Zoology's
// LinearAttention: q and k projected to feature_dim per head, mapped by phi, v to head_dim; the
// chunked kernels of linear_attention.h for training, a fixed-size recurrent state for decode.
//
// params: feature_map "identity" | "elu" | "relu" | "taylor" (default "elu", i.e. elu(x) + 1;
// "taylor" is Based's 2nd-order Taylor map, width f = 1 + d + d^2 for d = feature_dim, so Based
// sets feature_dim small, e.g. 16); normalize (default true, as Based divides by
// sum phi(q).phi(k) + eps); eps (default 1e-12); chunk_size (default 64); feature_dim (q/k width
// per head before phi, default head_dim).
#pragma once
#include <memory>

#include "mixers/linear/feature_maps.h"
#include "models/mixer.h"
#include "models/mixer_params.h"

namespace seqbench {

// The params this backend accepts, with their defaults and meanings.
const MixerParamTable& linear_params();

// The "linear" backend of the mixer registry (models/mixer_registry.cpp). Throws std::invalid_argument
// on unknown params or feature maps, or on bad sizes.
std::unique_ptr<Mixer> make_linear_attention_mixer(const MixerSpec& spec);
// The feature map of a mixer make_linear_attention_mixer built, and its width f after phi;
// std::invalid_argument for any other mixer.
FeatureMap linear_feature_map(const Mixer& mixer);
int64_t linear_feature_width(const Mixer& mixer);

}  // namespace seqbench
