#include "models/mixer_registry.h"

#include <stdexcept>

#include "mixers/delta/delta_mixer.h"
#include "mixers/gla/gla_mixer.h"
#include "mixers/linear/linear_attention_mixer.h"
#include "models/short_conv_wrapper.h"
#include "mixers/softmax/softmax_attention_mixer.h"
#include "mixers/sliding_window/sliding_window_mixer.h"
#include "mixers/sparse/sparse_attention_mixer.h"
#include "mixers/ssm/ssm_mixer.h"

namespace seqbench {
namespace {

template <class MixerType>
MixerFactory factory() {
  return [](const MixerSpec& spec) -> std::unique_ptr<Mixer> { return std::make_unique<MixerType>(spec); };
}

}  // namespace

// One line per backend; the order is the order listings print.
const std::vector<MixerInfo>& mixer_backends() {
  static const std::vector<MixerInfo> backends{
      {"softmax", "causal multi-head softmax attention with a KV cache", factory<SoftmaxAttentionMixer>(),
       softmax_params()},
      {"linear", "causal linear attention, feature maps identity | elu (+1) | relu | taylor, chunked training form",
       make_linear_attention_mixer, linear_params()},
      {"delta", "DeltaNet, or Gated DeltaNet with gated: true; delta-rule recurrence", make_delta_mixer,
       delta_params()},
      {"gla", "gated linear attention, decay channel (GLA) | scalar (SSD) | fixed (RetNet)", make_gla_mixer,
       gla_params()},
      {"sliding_window", "softmax attention over a sliding window, ring-buffer cache", make_sliding_window_mixer,
       sliding_window_params()},
      {"sparse", "sparse attention: sink_window | block_topk (MoBA-style)", make_sparse_mixer,
       sparse_params()},
      {"ssm", "Mamba-2 style selective SSM (SSD scan, short conv, gated output)", make_ssm_mixer, ssm_params()},
  };
  return backends;
}

std::unique_ptr<Mixer> make_mixer(const MixerSpec& spec) {
  // "short_conv": K puts any backend behind a short causal conv of its input (short_conv_wrapper.h).
  if (has_short_conv(spec)) return std::make_unique<ShortConvWrapper>(spec, make_mixer(without_short_conv(spec)));
  for (const MixerInfo& info : mixer_backends())
    if (info.name == spec.kind) return info.factory(spec);
  std::string known;
  for (const MixerInfo& info : mixer_backends()) known += (known.empty() ? "" : ", ") + info.name;
  throw std::invalid_argument("unknown mixer backend '" + spec.kind + "'; known backends: " + known);
}

bool is_mixer_backend(const std::string& name) {
  for (const MixerInfo& info : mixer_backends())
    if (info.name == name) return true;
  return false;
}

}  // namespace seqbench
