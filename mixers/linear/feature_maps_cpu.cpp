#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "mixers/linear/feature_maps.h"
#include "ops/vector_ops.h"

namespace seqbench {
namespace {

constexpr int64_t kParallelElements = 1 << 16;

struct NamedMap {
  const char* name;
  FeatureMap map;
};
constexpr NamedMap kNamedMaps[] = {{"identity", FeatureMap::identity},
                                   {"elu", FeatureMap::elu_plus_one},
                                   {"relu", FeatureMap::relu},
                                   {"taylor", FeatureMap::taylor}};

// The Taylor map's two scales (Based's TaylorExp): the linear block is x / d^(1/4) and the
// quadratic block x_i x_j / (sqrt(2) sqrt(d)), so that a dot product of two features gives
// 1 + q.k / sqrt(d) + (q.k)^2 / (2 d).
struct TaylorScales {
  float linear, quadratic;
  explicit TaylorScales(int64_t d)
      : linear(static_cast<float>(1.0 / std::pow(static_cast<double>(d), 0.25))),
        quadratic(static_cast<float>(1.0 / (std::sqrt(2.0) * std::sqrt(static_cast<double>(d))))) {}
};

void taylor_fwd_row(const float* x, float* phi, int64_t d, const TaylorScales& s) {
  phi[0] = 1.0f;
  for (int64_t i = 0; i < d; ++i) phi[1 + i] = x[i] * s.linear;
  float* outer = phi + 1 + d;
  for (int64_t i = 0; i < d; ++i) {
    const float xi = x[i] * s.quadratic;
#pragma omp simd
    for (int64_t j = 0; j < d; ++j) outer[i * d + j] = xi * x[j];
  }
}

// d phi_{ij} / d x_k = c (delta_ik x_j + x_i delta_jk), so dx = c (G x + G^T x) for the
// quadratic block G of dphi, plus the linear block's dphi / d^(1/4). The constant term has no
// gradient. G^T x is accumulated row by row (axpy) to keep the loads contiguous.
void taylor_bwd_row(const float* x, const float* dphi, float* dx, int64_t d, const TaylorScales& s) {
  const float* g = dphi + 1 + d;
  for (int64_t i = 0; i < d; ++i) dx[i] = dphi[1 + i] * s.linear + s.quadratic * dot_cpu(g + i * d, x, d);
  for (int64_t j = 0; j < d; ++j) axpy_cpu(s.quadratic * x[j], g + j * d, dx, d);
}

}  // namespace

const std::vector<std::string>& feature_map_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const NamedMap& m : kNamedMaps) out.emplace_back(m.name);
    return out;
  }();
  return names;
}

FeatureMap parse_feature_map(const std::string& name) {
  for (const NamedMap& m : kNamedMaps)
    if (name == m.name) return m.map;
  std::string known;
  for (const auto& n : feature_map_names()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown feature map '" + name + "'; known feature maps: " + known);
}

std::string feature_map_name(FeatureMap map) {
  for (const NamedMap& m : kNamedMaps)
    if (map == m.map) return m.name;
  throw std::invalid_argument("feature map enum value " + std::to_string(static_cast<int>(map)) + " has no name");
}

int64_t feature_map_width(FeatureMap map, int64_t input_dim) {
  return map == FeatureMap::taylor ? 1 + input_dim + input_dim * input_dim : input_dim;
}

void feature_map_fwd_cpu(FeatureMap map, const float* x, float* phi, int64_t rows, int64_t input_dim) {
  const int64_t n = rows * input_dim;
  switch (map) {
    case FeatureMap::identity:
      std::copy(x, x + n, phi);
      return;
    case FeatureMap::elu_plus_one:
      // elu(x) + 1 is positive everywhere, so the normaliser sum_s phi(q).phi(k_s) never vanishes.
#pragma omp parallel for schedule(static) if (n > kParallelElements)
      for (int64_t i = 0; i < n; ++i) phi[i] = x[i] > 0.0f ? x[i] + 1.0f : std::exp(x[i]);
      return;
    case FeatureMap::relu:
#pragma omp parallel for schedule(static) if (n > kParallelElements)
      for (int64_t i = 0; i < n; ++i) phi[i] = std::max(x[i], 0.0f);
      return;
    case FeatureMap::taylor: {
      const int64_t f = feature_map_width(map, input_dim);
      const TaylorScales scales(input_dim);
#pragma omp parallel for schedule(static) if (rows * f > kParallelElements)
      for (int64_t r = 0; r < rows; ++r) taylor_fwd_row(x + r * input_dim, phi + r * f, input_dim, scales);
      return;
    }
  }
}

void feature_map_bwd_cpu(FeatureMap map, const float* x, const float* dphi, float* dx, int64_t rows,
                         int64_t input_dim) {
  const int64_t n = rows * input_dim;
  switch (map) {
    case FeatureMap::identity:
      std::copy(dphi, dphi + n, dx);
      return;
    case FeatureMap::elu_plus_one:
#pragma omp parallel for schedule(static) if (n > kParallelElements)
      for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0.0f ? dphi[i] : dphi[i] * std::exp(x[i]);
      return;
    case FeatureMap::relu:
      // At x = 0 the subgradient 0 is taken, as torch.relu's backward does.
#pragma omp parallel for schedule(static) if (n > kParallelElements)
      for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0.0f ? dphi[i] : 0.0f;
      return;
    case FeatureMap::taylor: {
      const int64_t f = feature_map_width(map, input_dim);
      const TaylorScales scales(input_dim);
#pragma omp parallel for schedule(static) if (rows * f > kParallelElements)
      for (int64_t r = 0; r < rows; ++r)
        taylor_bwd_row(x + r * input_dim, dphi + r * f, dx + r * input_dim, input_dim, scales);
      return;
    }
  }
}

template <>
FeatureMapKernels cpu_kernel_table<FeatureMapKernels>{{}, feature_map_fwd_cpu, feature_map_bwd_cpu};

}  // namespace seqbench
