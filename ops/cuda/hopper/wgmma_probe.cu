// A single 64 x N x 16 wgmma with operands placed in shared memory exactly as a 128B-swizzled TMA
// box would place them (wgmma.cuh's tile layout); checked against a CPU matmul in
// tests/test_gpu_hopper_tiles.cpp.
#include <stdexcept>
#include <string>

#include "ops/cuda/cuda_check.h"
#include "ops/cuda/hopper/async_copy.cuh"
#include "ops/cuda/hopper/wgmma.cuh"
#include "ops/cuda/hopper/wgmma_probe.h"
#include "ops/cuda/tensor_core_bf16.cuh"

namespace seqbench {
namespace hopper {
namespace {

using bf16 = __nv_bfloat16;
constexpr int kTileRows = 64;                      // rows of each 64-column swizzled tile here
constexpr int kTileBytes = kTileRows * 128;        // 8 KB
constexpr int kSmemBytes = 3 * kTileBytes + 1024;  // A, then up to two tiles of B, + alignment room

#if SEQBENCH_HOPPER_WGMMA
// Byte offset of element (row, col) in a 64-column bf16 tile with the 128-byte swizzle.
__device__ int swizzled_offset(int row, int col) {
  return row * 128 + ((((col * 2) / 16) ^ (row % 8)) * 16) + (col * 2) % 16;
}
#endif

template <int N, bool kRegisterA, bool kMnMajorB, bool kMnMajorA>
__global__ void __launch_bounds__(128) wgmma_probe_kernel(const bf16* a, const bf16* b, float* d, int k_step) {
#if SEQBENCH_HOPPER_WGMMA
  extern __shared__ unsigned char smem_raw[];
  unsigned char* smem = smem_raw + ((1024 - (smem_u32(smem_raw) & 1023)) & 1023);
  unsigned char* a_tile = smem;
  unsigned char* b_tile = smem + kTileBytes;
  for (int i = threadIdx.x; i < 3 * kTileBytes / 4; i += 128) reinterpret_cast<uint32_t*>(smem)[i] = 0;
  __syncthreads();
  const int k0 = 16 * k_step;
  for (int i = threadIdx.x; i < 64 * 16; i += 128) {  // A(m, kk) at row m, column k0 + kk
    const int m = i / 16, kk = i % 16;  // MN-major: row k0 + kk, column m
    *reinterpret_cast<bf16*>(a_tile + (kMnMajorA ? swizzled_offset(k0 + kk, m) : swizzled_offset(m, k0 + kk))) = a[i];
  }
  for (int i = threadIdx.x; i < 16 * N; i += 128) {
    const int kk = i / N, nn = i % N;
    const int offset = kMnMajorB ? (nn / 64) * kTileBytes + swizzled_offset(k0 + kk, nn % 64)  // row k, column n
                                 : swizzled_offset(nn, k0 + kk);                               // row n, column k
    *reinterpret_cast<bf16*>(b_tile + offset) = b[i];
  }
  fence_shared_for_async_proxy();
  __syncthreads();

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const uint64_t desc_b = kMnMajorB ? mn_major_descriptor(smem_u32(b_tile) + 2048 * k_step, kTileBytes)
                                    : k_major_descriptor(smem_u32(b_tile) + 32 * k_step);
  float acc[N / 2];
#pragma unroll
  for (int i = 0; i < N / 2; ++i) acc[i] = 0.0f;
  fence_registers(acc);
  if constexpr (kRegisterA) {
    const int r0 = 16 * warp + g;
    auto at = [&](int row, int col) { return __bfloat162float(a[row * 16 + col]); };
    const uint32_t frag[4] = {tc::pack_bf16x2(at(r0, 2 * t), at(r0, 2 * t + 1)),
                              tc::pack_bf16x2(at(r0 + 8, 2 * t), at(r0 + 8, 2 * t + 1)),
                              tc::pack_bf16x2(at(r0, 2 * t + 8), at(r0, 2 * t + 9)),
                              tc::pack_bf16x2(at(r0 + 8, 2 * t + 8), at(r0 + 8, 2 * t + 9))};
    fence();
    mma_k16_rs<kMnMajorB ? 1 : 0>(acc, frag, desc_b, 0);
  } else {
    fence();
    const uint64_t desc_a = kMnMajorA ? mn_major_descriptor(smem_u32(a_tile) + 2048 * k_step, kTileBytes)
                                      : k_major_descriptor(smem_u32(a_tile) + 32 * k_step);
    mma_k16_ss<kMnMajorB ? 1 : 0, kMnMajorA ? 1 : 0>(acc, desc_a, desc_b, 0);
  }
  commit_group();
  wait_group<0>();
  fence_registers(acc);
#pragma unroll
  for (int i = 0; i < N / 8; ++i)
#pragma unroll
    for (int e = 0; e < 4; ++e) d[(16 * warp + g + 8 * (e / 2)) * N + 8 * i + 2 * t + e % 2] = acc[4 * i + e];
#else
  __trap();
#endif
}

template <int N, bool kRegisterA, bool kMnMajorB, bool kMnMajorA = false>
void launch(const bf16* a, const bf16* b, float* d, int k_step) {
  auto* kernel = wgmma_probe_kernel<N, kRegisterA, kMnMajorB, kMnMajorA>;
  cudaCheck(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmemBytes));
  kernel<<<1, 128, kSmemBytes>>>(a, b, d, k_step);
  cudaCheckLaunch();
  cudaCheck(cudaDeviceSynchronize());
}

template <int N>
void launch_n(const bf16* a, const bf16* b, float* d, const WgmmaProbe& p) {
  if (p.a_mn_major)
    return p.b_mn_major ? launch<N, false, true, true>(a, b, d, p.k_step) : launch<N, false, false, true>(a, b, d, p.k_step);
  if (p.a_in_registers)
    return p.b_mn_major ? launch<N, true, true>(a, b, d, p.k_step) : launch<N, true, false>(a, b, d, p.k_step);
  return p.b_mn_major ? launch<N, false, true>(a, b, d, p.k_step) : launch<N, false, false>(a, b, d, p.k_step);
}

}  // namespace

void wgmma_probe(const bf16* a, const bf16* b, float* d, const WgmmaProbe& p) {
  if ((p.n != 64 && p.n != 128) || p.k_step < 0 || p.k_step > 3)
    throw std::invalid_argument("wgmma_probe: n must be 64 or 128 and k_step in [0, 3]; got n " + std::to_string(p.n) +
                                ", k_step " + std::to_string(p.k_step));
  if (p.a_mn_major && p.a_in_registers)
    throw std::invalid_argument("wgmma_probe: an MN-major A is a shared-memory operand; got a_in_registers too");
  if (p.n == 64) return launch_n<64>(a, b, d, p);
  launch_n<128>(a, b, d, p);
}

}  // namespace hopper
}  // namespace seqbench
