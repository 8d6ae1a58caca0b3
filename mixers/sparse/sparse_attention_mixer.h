// Sparse causal softmax attention, param "pattern":
//  - "sink_window" (default): the first `sinks` tokens (default 4; StreamingLLM's attention sinks,
//    Longformer's global tokens) plus a local window of `window` tokens (default 16). Decode keeps
//    the sinks and a ring of the window: 2 * min(L, sinks + window) * d_model floats per layer.
//  - "block_topk": keys in blocks of `block_size` (default 16); each query attends to its own block
//    and the `top_k` (default 2) complete earlier blocks with the largest q . mean(block keys)
//    (MoBA / NSA / Quest-style selection). The ranking is discrete: no gradient flows through it,
//    only through the attention over the selected keys. Decode must keep every key (any block may
//    be selected later), so the state grows with length: 2 * L * d_model floats per layer. The
//    cache also keeps the block means (d_model floats per complete block, 1 / (2 * block_size) of
//    the KV cache); like a KV cache's other bookkeeping they are derived from the cached keys and
//    not counted in state_bytes.
#pragma once
#include "mixers/softmax/masked_attention_mixer.h"

namespace seqbench {

// Registered as "sparse". Params (sparse_params()): pattern, and sinks, window (sink_window) or
// block_size, top_k (block_topk).
const MixerParamTable& sparse_params();

// The "sparse" backend of the mixer registry (models/mixer_registry.cpp). Throws
// std::invalid_argument on an unknown pattern or param, a param of the other pattern, sinks < 0,
// window < 1, block_size < 1, top_k < 0, or a bad d_model / n_heads.
std::unique_ptr<Mixer> make_sparse_mixer(const MixerSpec& spec);

}  // namespace seqbench
