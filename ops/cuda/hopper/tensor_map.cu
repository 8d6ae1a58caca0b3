// Builds TMA descriptors through the driver entry point (no libcuda link); see tensor_map.h.
#include <cudaTypedefs.h>
#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

#include "ops/cuda/cuda_check.h"
#include "ops/cuda/hopper/tensor_map.h"

namespace seqbench {
namespace hopper {
namespace {

PFN_cuTensorMapEncodeTiled_v12000 encode_tiled() {
  static const PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void* ptr = nullptr;
    cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
    cudaCheck(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &ptr, 12000, cudaEnableDefault, &found));
    if (found != cudaDriverEntryPointSuccess || ptr == nullptr)
      throw std::runtime_error("cuTensorMapEncodeTiled is not available from the CUDA driver (needs a 12.0+ driver)");
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(ptr);
  }();
  return fn;
}

}  // namespace

CUtensorMap bshd_tensor_map_bf16(const void* base, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim,
                                 int box_rows) {
  if (reinterpret_cast<uintptr_t>(base) % 16 != 0 || head_dim % 64 != 0 || box_rows < 1 || box_rows > 256)
    throw std::invalid_argument(
        "bshd_tensor_map_bf16: needs a 16-byte aligned base, head_dim a multiple of 64 and "
        "box_rows in [1, 256]; got head_dim " +
        std::to_string(head_dim) + ", box_rows " + std::to_string(box_rows));
  const cuuint64_t dims[4] = {static_cast<cuuint64_t>(head_dim), static_cast<cuuint64_t>(seq),
                              static_cast<cuuint64_t>(heads), static_cast<cuuint64_t>(batch)};
  constexpr cuuint64_t kBytes = 2;
  // Byte strides of dimensions 1..3 (dimension 0 is contiguous): token, head, batch.
  const cuuint64_t strides[3] = {static_cast<cuuint64_t>(heads * head_dim) * kBytes,
                                 static_cast<cuuint64_t>(head_dim) * kBytes,
                                 static_cast<cuuint64_t>(seq * heads * head_dim) * kBytes};
  // 64 bf16 = 128 bytes: the widest inner box the 128-byte swizzle allows.
  const cuuint32_t box[4] = {64, static_cast<cuuint32_t>(box_rows), 1, 1};
  const cuuint32_t element_strides[4] = {1, 1, 1, 1};
  CUtensorMap map;
  const CUresult status =
      encode_tiled()(&map, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 4, const_cast<void*>(base), dims, strides, box,
                     element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                     CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (status != CUDA_SUCCESS)
    throw std::runtime_error("cuTensorMapEncodeTiled failed with CUresult " + std::to_string(status) + " for [" +
                             std::to_string(batch) + ", " + std::to_string(seq) + ", " + std::to_string(heads) + ", " +
                             std::to_string(head_dim) + "] bf16");
  return map;
}

bool current_device_is_sm90() {
  int device = 0, major = 0, minor = 0;
  cudaCheck(cudaGetDevice(&device));
  cudaCheck(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  cudaCheck(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device));
  return major == 9 && minor == 0;
}

}  // namespace hopper
}  // namespace seqbench
