// Mamba-2 style selective SSM mixer (Dao & Gu 2024): one in-projection of x to (z, x, B, C, dt),
// a causal depthwise conv + SiLU over (x, B, C), the SSD scan of ssd.h (scalar A per head,
// B and C shared by all heads), y * silu(z), and the out-projection. Chunked scan for training, the
// recurrence (plus the conv's last inputs) for decode.
//
// params: d_state N (default 16); expand (default 2: d_inner = expand * d_model); head_dim P
// (default 16; the SSM has d_inner / P heads, so MixerSpec::n_heads is not used beyond the generic
// shape check); conv_kernel (default 4, 0 for no conv and no SiLU on x, B, C); chunk_size
// (default 64); norm (default true): Mamba-2's normalisation of y * silu(z) over d_inner before the
// out-projection (a LayerNorm without affine parameters, the out-projection absorbing the gain, as
// the gla mixer's output norm; Mamba-2 uses an RMSNorm). Without it the scan's output enters at the
// scale dt (1e-3..1e-1 at initialisation) beside D x, and MQAR recall is learnt far more slowly.
#pragma once
#include <memory>

#include "models/mixer.h"
#include "models/mixer_params.h"

namespace seqbench {

// The params this backend accepts, with their defaults and meanings.
const MixerParamTable& ssm_params();

// The "ssm" backend of the mixer registry (models/mixer_registry.cpp). Throws std::invalid_argument on
// unknown params or bad sizes (d_inner not a multiple of head_dim).
std::unique_ptr<Mixer> make_ssm_mixer(const MixerSpec& spec);
// The inner width and the head count (d_inner / head_dim, whatever n_heads says) of a mixer
// make_ssm_mixer built; std::invalid_argument for any other mixer.
int64_t ssm_d_inner(const Mixer& mixer);
int64_t ssm_heads(const Mixer& mixer);

}  // namespace seqbench
