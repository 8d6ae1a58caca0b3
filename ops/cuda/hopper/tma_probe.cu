// One TMA load into 1024-byte aligned shared memory, completed on an mbarrier, copied back raw;
// checked in tests/test_gpu_hopper_tiles.cpp.
#include <stdexcept>
#include <string>

#include "ops/cuda/cuda_check.h"
#include "ops/cuda/hopper/async_copy.cuh"
#include "ops/cuda/hopper/tensor_map.h"
#include "ops/cuda/hopper/tma_probe.h"

namespace seqbench {
namespace hopper {
namespace {

__global__ void tma_probe_kernel(const __grid_constant__ CUtensorMap map, uint4* dst, int box_bytes, int column,
                                 int row, int head, int batch_index) {
  extern __shared__ unsigned char smem_raw[];
  __shared__ uint64_t bar;
  unsigned char* smem = smem_raw + ((1024 - (smem_u32(smem_raw) & 1023)) & 1023);
  if (threadIdx.x == 0) {
    barrier_init(&bar, 1);
    barrier_init_fence();
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    barrier_arrive_expect_bytes(&bar, box_bytes);
    tma_load_4d(smem, &map, column, row, head, batch_index, &bar);
  }
  barrier_wait(&bar, 0);
  for (int i = threadIdx.x; i < box_bytes / 16; i += blockDim.x) dst[i] = reinterpret_cast<const uint4*>(smem)[i];
}

}  // namespace

void tma_probe(const __nv_bfloat16* tensor, __nv_bfloat16* dst, const TmaProbe& p) {
  const CUtensorMap map = bshd_tensor_map_bf16(tensor, p.batch, p.seq, p.heads, p.head_dim, p.box_rows);
  const int box_bytes = p.box_rows * 128, smem_bytes = box_bytes + 1024;
  cudaCheck(cudaFuncSetAttribute(tma_probe_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_bytes));
  tma_probe_kernel<<<1, 128, smem_bytes>>>(map, reinterpret_cast<uint4*>(dst), box_bytes, p.column, p.row, p.head,
                                           p.batch_index);
  cudaCheckLaunch();
  cudaCheck(cudaDeviceSynchronize());
}

}  // namespace hopper
}  // namespace seqbench
