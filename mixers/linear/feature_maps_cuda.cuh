// Linear-attention feature maps on the GPU (device pointers, fp32): the same maps, layouts and
// Taylor scaling as feature_maps.h, checked against feature_map_{fwd,bwd}_cpu in tests/test_gpu_elementwise.cpp.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mixers/linear/feature_maps.h"

namespace seqbench {

// x: [rows, input_dim] -> phi: [rows, feature_map_width(map, input_dim)].
void feature_map_fwd_cuda(FeatureMap map, const float* x, float* phi, int64_t rows, int64_t input_dim,
                          cudaStream_t stream = nullptr);
// dx = J_phi(x)^T dphi, overwritten.
void feature_map_bwd_cuda(FeatureMap map, const float* x, const float* dphi, float* dx, int64_t rows, int64_t input_dim,
                          cudaStream_t stream = nullptr);

}  // namespace seqbench
