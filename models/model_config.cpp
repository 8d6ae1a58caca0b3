#include "models/model_config.h"

#include <stdexcept>

#include "ops/rng.h"
#include "models/mixer_registry.h"

namespace seqbench {

std::vector<std::string> parse_backend_pattern(const std::string& backend) {
  std::vector<std::string> kinds;
  size_t start = 0;
  while (start <= backend.size()) {
    size_t end = backend.find(',', start);
    if (end == std::string::npos) end = backend.size();
    std::string kind = backend.substr(start, end - start);
    // Tolerate spaces after commas ("gla, softmax").
    while (!kind.empty() && kind.front() == ' ') kind.erase(kind.begin());
    while (!kind.empty() && kind.back() == ' ') kind.pop_back();
    if (kind.empty()) throw std::invalid_argument("empty backend name in pattern '" + backend + "'");
    if (!is_mixer_backend(kind)) make_mixer(MixerSpec{kind});  // throws the registry's message
    kinds.push_back(kind);
    start = end + 1;
  }
  return kinds;
}

static void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

void validate_model_config(const ModelConfig& c) {
  require(c.vocab_size > 1, "vocab_size must be > 1, got " + std::to_string(c.vocab_size));
  require(c.d_model > 0, "d_model must be positive, got " + std::to_string(c.d_model));
  require(c.n_layers > 0, "n_layers must be positive, got " + std::to_string(c.n_layers));
  require(c.n_heads > 0 && c.d_model % c.n_heads == 0,
          "d_model=" + std::to_string(c.d_model) + " is not divisible by n_heads=" + std::to_string(c.n_heads));
  require(c.max_seq_len > 0, "max_seq_len must be positive, got " + std::to_string(c.max_seq_len));
  require(c.mlp_expand >= 0, "mlp_expand must be >= 0 (0: no MLP), got " + std::to_string(c.mlp_expand));
  const auto kinds = parse_backend_pattern(c.backend);
  require(static_cast<int>(kinds.size()) <= c.n_layers && c.n_layers % kinds.size() == 0,
          "backend pattern '" + c.backend + "' has " + std::to_string(kinds.size()) +
              " layers, which does not tile n_layers=" + std::to_string(c.n_layers));
  require(c.mixer_params.is_object(), "mixer params must be a JSON object");
}

std::vector<MixerSpec> layer_specs(const ModelConfig& c) {
  validate_model_config(c);
  const auto kinds = parse_backend_pattern(c.backend);
  std::vector<MixerSpec> specs;
  for (int layer = 0; layer < c.n_layers; ++layer) {
    MixerSpec spec;
    spec.kind = kinds[layer % kinds.size()];
    spec.d_model = c.d_model;
    spec.n_heads = c.n_heads;
    spec.device = c.device;
    spec.seed = Rng::derive(c.seed, 1000 + layer);
    for (auto it = c.mixer_params.begin(); it != c.mixer_params.end(); ++it) {
      if (is_mixer_backend(it.key())) {
        if (!it.value().is_object())
          throw std::invalid_argument("mixer params for '" + it.key() + "' must be a JSON object");
        if (it.key() == spec.kind) spec.params.update(it.value());
      } else {
        spec.params[it.key()] = it.value();
      }
    }
    specs.push_back(spec);
  }
  return specs;
}

}  // namespace seqbench
