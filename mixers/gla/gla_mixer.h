// Gated linear attention mixer: GLA (Yang et al. 2023) with a per-key-channel data-dependent decay,
// Gated RetNet / Mamba-2 SSD style with one data-dependent scalar decay per head, or RetNet (Sun
// et al. 2023) with a fixed decay gamma_h = 1 - 2^(-5-h). Per head S is [head_dim, head_dim];
// training uses the chunked kernels of gla.h, decode the recurrence.
//
// params: decay "channel" | "scalar" | "fixed" (default "channel"): alpha_t = sigmoid(W_up W_down x_t
// + b)^(1/tau) with a rank-`gate_rank` projection (GLA), sigmoid(w_h . x_t + b_h)^(1/tau), or
// gamma_h; gate_logit_normalizer tau (default 16, GLA's value; ignored by "fixed"); gate_rank
// (default 16; "channel" only); normalize_output (default true: a per-head LayerNorm of o_t without
// affine parameters, as GLA and RetNet's GroupNorm; the output projection absorbs the per-channel
// gain); output_gate (default true: o * silu(W_r x), GLA eq. 5 / RetNet); chunk_size (default 64).
// q is scaled by head_dim^-1/2.
#pragma once
#include <memory>
#include <string>

#include "models/mixer.h"
#include "models/mixer_params.h"

namespace seqbench {

enum class GlaDecay { channel, scalar, fixed };
GlaDecay parse_gla_decay(const std::string& name);  // std::invalid_argument listing the known ones
const MixerParamTable& gla_params();

// The "gla" backend of the mixer registry (models/mixer_registry.cpp). Throws std::invalid_argument on
// unknown params or decay modes, or on bad sizes.
std::unique_ptr<Mixer> make_gla_mixer(const MixerSpec& spec);
// The decay mode of a mixer make_gla_mixer built; std::invalid_argument for any other mixer.
GlaDecay gla_decay(const Mixer& mixer);

}  // namespace seqbench
