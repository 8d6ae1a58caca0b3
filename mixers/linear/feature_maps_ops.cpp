#include "mixers/linear/feature_maps_ops.h"

#include "ops/device_dispatch.h"
#ifdef SEQBENCH_WITH_CUDA
#include "mixers/linear/feature_maps_cuda.cuh"
#endif

namespace seqbench {

void feature_map_fwd(Device device, FeatureMap map, const float* x, float* phi, int64_t rows, int64_t input_dim) {
  if (device == Device::cpu) return feature_map_fwd_cpu(map, x, phi, rows, input_dim);
  SEQBENCH_ON_CUDA("feature_map_fwd", feature_map_fwd_cuda(map, x, phi, rows, input_dim));
}

void feature_map_bwd(Device device, FeatureMap map, const float* x, const float* dphi, float* dx, int64_t rows,
                     int64_t input_dim) {
  if (device == Device::cpu) return feature_map_bwd_cpu(map, x, dphi, dx, rows, input_dim);
  SEQBENCH_ON_CUDA("feature_map_bwd", feature_map_bwd_cuda(map, x, dphi, dx, rows, input_dim));
}

}  // namespace seqbench
