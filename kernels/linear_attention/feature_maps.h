// Feature maps phi for linear attention, forward and backward side by side: identity, and
// elu(x) + 1 (Katharopoulos et al. 2020, sec. 3.2; Zoology's PosELU). Checked by finite
// differences in tests/test_linear_attention.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace seqbench {

enum class FeatureMap { identity, elu_plus_one };

// Names as written in mixer params: "identity", "elu".
const std::vector<std::string>& feature_map_names();
// Throws std::invalid_argument naming the unknown map and listing the known ones.
FeatureMap parse_feature_map(const std::string& name);
std::string feature_map_name(FeatureMap map);

// Width f of phi(x) for an input of width input_dim (maps such as Taylor expansions widen it).
int64_t feature_map_width(FeatureMap map, int64_t input_dim);

// x: [rows, input_dim] -> phi: [rows, feature_map_width(map, input_dim)].
void feature_map_fwd_cpu(FeatureMap map, const float* x, float* phi, int64_t rows, int64_t input_dim);
// dx = J_phi(x)^T dphi, overwritten.
void feature_map_bwd_cpu(FeatureMap map, const float* x, const float* dphi, float* dx, int64_t rows,
                         int64_t input_dim);

}  // namespace seqbench
