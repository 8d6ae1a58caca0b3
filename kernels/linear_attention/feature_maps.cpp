#include "kernels/linear_attention/feature_maps.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace seqbench {
namespace {
constexpr int64_t kParallelElements = 1 << 16;
}  // namespace

const std::vector<std::string>& feature_map_names() {
  static const std::vector<std::string> names{"identity", "elu"};
  return names;
}

FeatureMap parse_feature_map(const std::string& name) {
  if (name == "identity") return FeatureMap::identity;
  if (name == "elu") return FeatureMap::elu_plus_one;
  std::string known;
  for (const auto& n : feature_map_names()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown feature map '" + name + "'; known feature maps: " + known);
}

std::string feature_map_name(FeatureMap map) {
  return map == FeatureMap::identity ? "identity" : "elu";
}

int64_t feature_map_width(FeatureMap map, int64_t input_dim) { return input_dim; }

void feature_map_fwd_cpu(FeatureMap map, const float* x, float* phi, int64_t rows, int64_t input_dim) {
  const int64_t n = rows * input_dim;
  if (map == FeatureMap::identity) {
    std::copy(x, x + n, phi);
    return;
  }
  // elu(x) + 1 is positive everywhere, so the normaliser sum_s phi(q).phi(k_s) never vanishes.
#pragma omp parallel for schedule(static) if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) phi[i] = x[i] > 0.0f ? x[i] + 1.0f : std::exp(x[i]);
}

void feature_map_bwd_cpu(FeatureMap map, const float* x, const float* dphi, float* dx, int64_t rows,
                         int64_t input_dim) {
  const int64_t n = rows * input_dim;
  if (map == FeatureMap::identity) {
    std::copy(dphi, dphi + n, dx);
    return;
  }
#pragma omp parallel for schedule(static) if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0.0f ? dphi[i] : dphi[i] * std::exp(x[i]);
}

}  // namespace seqbench
