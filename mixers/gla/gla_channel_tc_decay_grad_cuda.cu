// Per-channel GLA decay gradient (GLA Sec. 4.3): dL/dg_t = sum_{s >= t} (q_s dq_s - k_s dk_s) per key channel,
// 0 at t = 0 (g_0 only decays the zero initial state), from r = q dq - k dk and its per-chunk sums, which the
// backward's chunk kernel writes. Checked against GlaKernels::cpu() in test_gpu_gla_channel_bf16.cpp.
#include <cstdint>

#include "mixers/gla/gla_channel_tc_internal.cuh"
#include "ops/cuda/cuda_check.h"

namespace seqbench {
namespace gla_ch {
namespace {

constexpr int kThreads = 128;

// Each chunk's sum of r becomes the sum over the chunks after it: one thread per (head, channel) walks the
// chunks last to first (NC steps over a [BH, NC, dk] array, small next to r).
__global__ void __launch_bounds__(kThreads) later_chunk_sums_kernel(float* __restrict__ totals, int dk, ChunkGrid d) {
  const int64_t id = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  if (id >= static_cast<int64_t>(d.BH) * dk) return;
  const int bh = static_cast<int>(id / dk), ch = static_cast<int>(id % dk);
  float* t_h = totals + static_cast<int64_t>(bh) * d.NC * dk + ch;
  float running = 0.0f;
  int c = d.NC - 1;
  for (; c >= 7; c -= 8) {  // eight loads in flight before the stores that could alias them
    float own[8];
#pragma unroll
    for (int u = 0; u < 8; ++u) own[u] = t_h[static_cast<int64_t>(c - u) * dk];
#pragma unroll
    for (int u = 0; u < 8; ++u) {
      t_h[static_cast<int64_t>(c - u) * dk] = running;
      running += own[u];
    }
  }
  for (; c >= 0; --c) {
    const float own = t_h[static_cast<int64_t>(c) * dk];
    t_h[static_cast<int64_t>(c) * dk] = running;
    running += own;
  }
}

// One thread per (head, chunk, channel): the chunk's 64 tokens last to first, starting from the later chunks'
// sum, so every chunk runs in parallel (a walk over the whole sequence per channel would leave the GPU idle at
// long lengths, where there are few heads).
__global__ void __launch_bounds__(kThreads)
    chunk_suffix_sums_kernel(const float* __restrict__ r, const float* __restrict__ later, float* __restrict__ dg,
                             int dk, ChunkGrid d) {
  const int64_t id = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  if (id >= static_cast<int64_t>(d.BH) * d.NC * dk) return;
  const int64_t chunk = id / dk;  // bh * NC + c
  const int bh = static_cast<int>(chunk / d.NC), c = static_cast<int>(chunk % d.NC), ch = static_cast<int>(id % dk);
  const float* r_c = r + chunk * kChunk * dk + ch;
  float* dg_h = dg + gla_tc::head_offset(bh, d, dk) + ch;
  const int64_t stride = static_cast<int64_t>(d.H) * dk;
  float running = later[id];
#pragma unroll 8
  for (int i = kChunk - 1; i >= 0; --i) {
    const int t = c * kChunk + i;
    running += r_c[i * dk];  // rows past L hold zeros
    if (t < d.L) dg_h[t * stride] = t == 0 ? 0.0f : running;
  }
}

unsigned blocks_for(int64_t threads) { return static_cast<unsigned>((threads + kThreads - 1) / kThreads); }

}  // namespace

void launch_channel_decay_grad(const float* r, float* r_totals, float* dlog_decay, int dk, const ChunkGrid& d,
                               cudaStream_t stream) {
  later_chunk_sums_kernel<<<blocks_for(static_cast<int64_t>(d.BH) * dk), kThreads, 0, stream>>>(r_totals, dk, d);
  cudaCheckLaunch();
  chunk_suffix_sums_kernel<<<blocks_for(static_cast<int64_t>(d.BH) * d.NC * dk), kThreads, 0, stream>>>(
      r, r_totals, dlog_decay, dk, d);
  cudaCheckLaunch();
}

}  // namespace gla_ch
}  // namespace seqbench
