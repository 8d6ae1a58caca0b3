// What a model is: sizes, position encoding, and the layer pattern of mixer backends. A pattern
// such as "linear,linear,softmax" is repeated to fill n_layers (hybrids are just patterns).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/mixer.h"
#include "models/precision.h"

namespace seqbench {

struct ModelConfig {
  int vocab_size = 8192;
  int d_model = 64;
  int n_layers = 2, n_heads = 1;
  int max_seq_len = 64;
  int mlp_expand = 4;  // MLP hidden = mlp_expand * d_model; 0 = no MLP
  std::string position = "learned";
  std::string backend = "softmax";  // one registry name or a comma-separated pattern
  // Mixer parameters: flat keys apply to every layer; an object under a backend's name applies
  // to the layers of that backend only (e.g. {"linear": {"feature_map": "elu"}}).
  nlohmann::json mixer_params = nlohmann::json::object();
  Device device = Device::cpu;
  Precision precision = Precision::fp32;  // of the projections (models/precision.h)
  uint64_t seed = 0;
};

std::vector<std::string> parse_backend_pattern(const std::string& backend);
// One spec per layer; throws std::invalid_argument for unknown backends or impossible shapes.
std::vector<MixerSpec> layer_specs(const ModelConfig& config);
void validate_model_config(const ModelConfig& config);

}  // namespace seqbench
