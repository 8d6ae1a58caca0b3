// Feature maps phi for linear attention, forward and backward side by side: identity; elu(x) + 1
// (Katharopoulos et al. 2020, sec. 3.2; Zoology's PosELU); relu(x) = max(x, 0); and Based's
// 2nd-order Taylor map (Arora et al. 2024, sec. 3.2, HazyResearch/based TaylorExp),
// phi(x) = [1, x / d^(1/4), vec(x x^T) / (sqrt(2) sqrt(d))] so that
// phi(q).phi(k) = 1 + q.k / sqrt(d) + (q.k)^2 / (2 d), the Taylor expansion of exp(q.k / sqrt(d)).
// The CPU kernels are checked against plain loops and finite differences in test_feature_maps.cpp,
// the CUDA kernels (feature_maps_cuda.cu) against them in test_gpu_linear.cpp.
#pragma once
#include <string>
#include <vector>

#include "ops/kernel_table.h"

namespace seqbench {

enum class FeatureMap { identity, elu_plus_one, relu, taylor };

// Names as written in mixer params: "identity", "elu", "relu", "taylor".
const std::vector<std::string>& feature_map_names();
// Throws std::invalid_argument naming the unknown map and listing the known ones.
FeatureMap parse_feature_map(const std::string& name);
std::string feature_map_name(FeatureMap map);

// Width f of phi(x) for an input of width input_dim: input_dim, or 1 + d + d^2 for taylor.
int64_t feature_map_width(FeatureMap map, int64_t input_dim);

struct FeatureMapKernels : KernelFamily<FeatureMapKernels> {
  static constexpr const char* kFamily = "feature_map";

  // x: [rows, input_dim] -> phi: [rows, feature_map_width(map, input_dim)].
  void (*fwd)(FeatureMap map, const float* x, float* phi, int64_t rows, int64_t input_dim);
  // dx = J_phi(x)^T dphi, overwritten; dphi: [rows, feature_map_width(map, input_dim)].
  void (*bwd)(FeatureMap map, const float* x, const float* dphi, float* dx, int64_t rows, int64_t input_dim);
};

}  // namespace seqbench
