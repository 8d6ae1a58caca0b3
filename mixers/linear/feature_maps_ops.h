// Feature maps on either device: feature_map_{fwd,bwd}(Device, ...) run feature_map_{fwd,bwd}_cpu
// (feature_maps.h) or, in CUDA builds, the _cuda twins (feature_maps_cuda.cuh) on device pointers.
#pragma once
#include <cstdint>

#include "mixers/linear/feature_maps.h"
#include "ops/tensor.h"

namespace seqbench {

void feature_map_fwd(Device device, FeatureMap map, const float* x, float* phi, int64_t rows, int64_t input_dim);
void feature_map_bwd(Device device, FeatureMap map, const float* x, const float* dphi, float* dx, int64_t rows,
                     int64_t input_dim);

}  // namespace seqbench
