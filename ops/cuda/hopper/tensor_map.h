// TMA descriptors (CUtensorMap) for the Hopper kernels, built on the host with the driver's
// cuTensorMapEncodeTiled, reached through the runtime (cudaGetDriverEntryPointByVersion) so the
// project need not link libcuda. Built only with CUDA.
#pragma once
#include <cuda.h>

#include <cstdint>

namespace seqbench {
namespace hopper {

// A bf16 tensor [batch, seq, heads, head_dim] (row-major) as a 4-D map with dimensions (head_dim,
// seq, heads, batch), innermost first, whose box is 64 head_dim columns x box_rows tokens of one
// (head, batch), written to shared memory with the 128-byte swizzle (ops/cuda/hopper/wgmma.cuh).
// Rows past seq arrive as zeros. Needs a 16-byte aligned base and head_dim a multiple of 64;
// throws std::invalid_argument otherwise, std::runtime_error when the driver refuses.
CUtensorMap bshd_tensor_map_bf16(const void* base, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim,
                                 int box_rows);

// True when the current device is compute capability 9.0 (the sm_90a kernels run only there).
bool current_device_is_sm90();

}  // namespace hopper
}  // namespace seqbench
