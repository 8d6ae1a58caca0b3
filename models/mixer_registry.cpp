#include "models/mixer_registry.h"

#include <stdexcept>

#include "models/mixers/linear_attention_mixer.h"
#include "models/mixers/softmax_attention_mixer.h"

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
      {"softmax", "causal multi-head softmax attention with a KV cache", factory<SoftmaxAttentionMixer>()},
      {"linear", "causal linear attention, feature maps identity | elu (+1), chunked training form",
       factory<LinearAttentionMixer>()},
  };
  return backends;
}

std::unique_ptr<Mixer> make_mixer(const MixerSpec& spec) {
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
