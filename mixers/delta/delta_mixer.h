// DeltaNet (Schlag et al. 2021; Yang et al. 2024) and Gated DeltaNet (Yang, Kautz & Hatamizadeh
// 2024) as one mixer backend: q, k, v, o projections to d_model, q and k L2-normalised per head,
// b_t = sigmoid(x W_b^T) per head; gated adds a_t = exp(-exp(A_log) softplus(x W_a^T + dt_bias)).
// The kernels of delta_rule.h train with the chunk-checkpointed recurrence and decode with
// a fixed state of n_heads x head_dim x head_dim floats per sequence.
//
// As in fla's layers, minus what sits outside the delta rule itself: no short convolution or SiLU
// on q/k/v and no output RMSNorm/gate. fla scales q by head_dim^-1/2 and then RMS-normalises the
// output, which cancels that scale; with no output norm here, q stays unit-length so o = S q has
// the size of the stored values, as softmax attention's output has the size of v.
//
// params: gated (default false); chunk_size (tokens between saved states, default 64);
// use_short_conv (only false: fla's per-q/k/v convolutions are not built in; the generic
// "short_conv": K of make_mixer convolves the mixer's input instead).
#pragma once
#include <memory>

#include "models/mixer.h"
#include "models/mixer_params.h"

namespace seqbench {

// The params this backend accepts, with their defaults and meanings.
const MixerParamTable& delta_params();

// The "delta" backend of the mixer registry (models/mixer_registry.cpp). Throws std::invalid_argument
// on unknown or malformed params, or on bad sizes.
std::unique_ptr<Mixer> make_delta_mixer(const MixerSpec& spec);
// Whether a mixer make_delta_mixer built is Gated DeltaNet; std::invalid_argument for any other mixer.
bool delta_gated(const Mixer& mixer);

}  // namespace seqbench
