// Softmax attention forward on Hopper, persistent (FlashAttention-3's persistent kernel, Shah et al.
// 2024): the math of softmax_attention_hopper.cuh. Checked against the CPU kernels and the portable
// bf16 forward in test_gpu_softmax_hopper.cpp, the sink + window forms in test_gpu_masked_hopper.cpp.
//
// One CTA per SM loops over (128-query block, batch * head) tiles in the order of
// hopper_attention_tile_schedule.h. Its producer thread runs ahead across tiles: the next tile's Q
// goes into the other of two Q buffers as soon as the current tile's K/V loads are issued, and the
// K/V ring carries on with the next tile's keys as slots free up, so the consumers start a tile
// with its data already in shared memory. The ring's steps and the Q buffers' phases are counted
// over the CTA's tiles; the consumers' ping-pong turns run on across tiles (Turns). A Q buffer is
// handed back (q_empty) once both consumers have stored the output staged in it.
#include <cuda_bf16.h>

#include <algorithm>
#include <climits>
#include <stdexcept>
#include <string>

#include "mixers/softmax/hopper_attention_tile_schedule.h"
#include "mixers/softmax/softmax_attention_cuda_internal.cuh"
#include "mixers/softmax/softmax_attention_hopper.cuh"
#include "mixers/softmax/softmax_attention_hopper_consumer.cuh"
#include "mixers/softmax/softmax_attention_hopper_launch.cuh"
#include "mixers/softmax/softmax_attention_hopper_layout.cuh"
#include "mixers/softmax/softmax_attention_hopper_producer.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/once_per_device.cuh"
#include "ops/cuda/hopper/async_copy.cuh"

namespace seqbench {
namespace hopper_attention {
namespace {

using bf16 = __nv_bfloat16;
namespace hp = hopper;
constexpr int kQBuffers = 2;

// sinks and window (both clamped to [.., L]) are read only with KeyMask::sink_window.
template <int D, KeyMask kMask, bool kPingPong, bool kOverlap>
__global__ void __launch_bounds__(kThreads, 1)
    attention_fwd_hopper_persistent_kernel(const __grid_constant__ CUtensorMap q_map,
                                           const __grid_constant__ CUtensorMap k_map,
                                           const __grid_constant__ CUtensorMap v_map, bf16* __restrict__ out,
                                           float* __restrict__ lse, int L, int H, HopperTileSchedule schedule,
                                           float scale_log2, int sinks, int window) {
#if SEQBENCH_HOPPER_WGMMA
  using Layout = SmemLayout<D, kQBuffers>;
  extern __shared__ unsigned char smem_raw[];
  // 128-byte swizzled tiles must start on 1024-byte boundaries.
  unsigned char* smem = smem_raw + ((1024 - (hp::smem_u32(smem_raw) & 1023)) & 1023);
  const Barriers bar = Barriers::carve<kQBuffers>(reinterpret_cast<uint64_t*>(smem + Layout::barriers));
  const int cta = static_cast<int>(blockIdx.x);

  if (threadIdx.x == 0) {
    for (int i = 0; i < kQBuffers; ++i) {
      hp::barrier_init(bar.q_full + i, 1);
      hp::barrier_init(bar.q_empty + i, 128 * kConsumers);
    }
    init_ring_barriers(bar);
    hp::barrier_init_fence();
  }
  __syncthreads();

  // Round r of this CTA uses Q buffer r % 2, in that buffer's phase r / 2; step0 counts the ring
  // steps of the rounds before.
  const int warpgroup = threadIdx.x / 128;
  if (warpgroup == 0) {
    hp::release_registers<kProducerRegisters>();
    if (threadIdx.x != 0) return;
    int step0 = 0;
    for (int round = 0;; ++round) {
      const int t = schedule.tile_of(cta, round);
      if (t < 0) break;
      int bh, q_block;
      schedule.locate(t, bh, q_block);
      const int buffer = round % kQBuffers, h = bh % H, b = bh / H;
      // Both consumers have stored the output staged in this buffer two rounds ago.
      hp::barrier_wait(bar.q_empty + buffer, ((round / kQBuffers) & 1) ^ 1);
      load_q<D, kQBuffers>(&q_map, smem, bar, buffer, q_block * kBlockM, h, b);
      const KeyTiles tiles = key_tiles_of<kMask>(q_block, L, sinks, window);
      load_key_tiles<D, kQBuffers>(&k_map, &v_map, smem, bar, h, b, tiles, step0);
      step0 += tiles.count;
    }
  } else {
    hp::claim_registers<kConsumerRegisters>();
    int step0 = 0;
    int t = schedule.tile_of(cta, 0);
    for (int round = 0; t >= 0; ++round) {
      const int next = schedule.tile_of(cta, round + 1);
      int bh, q_block;
      schedule.locate(t, bh, q_block);
      const KeyTiles tiles = key_tiles_of<kMask>(q_block, L, sinks, window);
      const int buffer = round % kQBuffers;
      ConsumerTile tile{
          warpgroup - 1, q_block * kBlockM, q_block, tiles.count, L, H, bh % H, bh / H, bh, scale_log2, tiles, sinks,
          window};
      tile.step0 = step0;
      tile.q_buffer = buffer;
      tile.q_parity = (round / kQBuffers) & 1;
      tile.first_tile = round == 0;
      tile.last_tile = next < 0;
      if constexpr (kOverlap)
        consume_overlapped<D, kMask, kPingPong, kQBuffers>(smem, bar, out, lse, tile);
      else
        consume_in_order<D, kMask, kPingPong, kQBuffers>(smem, bar, out, lse, tile);
      // The staging's ordinary shared-memory writes and reads come before the next TMA write into
      // this buffer (the async proxy), which the producer issues after q_empty completes.
      hp::fence_shared_for_async_proxy();
      hp::barrier_arrive(bar.q_empty + buffer);
      step0 += tiles.count;
      t = next;
    }
  }
#else
  __trap();  // compute_90 PTX on a newer GPU: the host launches this kernel only on sm_90
#endif
}

template <int D, KeyMask kMask, bool kPingPong, bool kOverlap>
void launch_persistent(const bf16* q, const bf16* k, const bf16* v, bf16* out, float* lse, const AttentionShape& s,
                       const HopperAttentionOptions& o, KeySet keys, cudaStream_t stream) {
  constexpr int kSmem = SmemLayout<D, kQBuffers>::dynamic_bytes;
  auto* kernel = attention_fwd_hopper_persistent_kernel<D, kMask, kPingPong, kOverlap>;
  static const int ctas_per_sm = [&] {
    cudaCheck(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem));
    int blocks = 0;
    cudaCheck(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, kernel, kThreads, kSmem));
    return std::max(blocks, 1);
  }();
  const int sms = once_per_device<int>("softmax_attention_fwd_hopper", [](int device) {
    int n = 0;
    cudaCheck(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, device));
    return n;
  });
  const QkvMaps maps = qkv_tensor_maps(q, k, v, s);
  const int64_t heads_total = s.batch * s.heads, q_blocks = (s.seq_len + kBlockM - 1) / kBlockM;
  // tile_of forms round * ctas + cta in 64 bits, but the tile numbers themselves are ints.
  if (heads_total * q_blocks > INT_MAX)
    throw std::invalid_argument("softmax_attention_fwd_hopper: " + std::to_string(heads_total * q_blocks) +
                                " query blocks exceed " + std::to_string(INT_MAX));
  HopperTileSchedule schedule;
  schedule.q_blocks = static_cast<int>(q_blocks);
  schedule.heads_total = static_cast<int>(heads_total);
  schedule.group_heads = hopper_tile_group_heads(s.seq_len, D, heads_total);
  const int64_t resident = o.persistent_ctas > 0 ? o.persistent_ctas : int64_t{sms} * ctas_per_sm;
  schedule.ctas = static_cast<int>(std::min<int64_t>(resident, schedule.tiles()));
  kernel<<<static_cast<unsigned>(schedule.ctas), kThreads, kSmem, stream>>>(
      maps.q, maps.k, maps.v, out, lse, static_cast<int>(s.seq_len), static_cast<int>(s.heads), schedule,
      attention_scale(s) * kLog2e, keys.sinks, keys.window);
  cudaCheckLaunch();
}

}  // namespace

template <int D>
void launch_fwd_hopper_persistent(const bf16* q, const bf16* k, const bf16* v, bf16* out, float* lse,
                                  const AttentionShape& s, const HopperAttentionOptions& o, cudaStream_t stream) {
  with_fwd_kernel_choice(s, o, [&](auto mask, auto pingpong, auto overlap, KeySet keys) {
    launch_persistent<D, decltype(mask)::value, decltype(pingpong)::value, decltype(overlap)::value>(
        q, k, v, out, lse, s, o, keys, stream);
  });
}

template void launch_fwd_hopper_persistent<64>(const bf16*, const bf16*, const bf16*, bf16*, float*,
                                               const AttentionShape&, const HopperAttentionOptions&, cudaStream_t);
template void launch_fwd_hopper_persistent<128>(const bf16*, const bf16*, const bf16*, bf16*, float*,
                                                const AttentionShape&, const HopperAttentionOptions&, cudaStream_t);

}  // namespace hopper_attention
}  // namespace seqbench
