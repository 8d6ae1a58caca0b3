// Softmax attention backward on Hopper, FlashAttention-3 (Shah et al. 2024; hopper/
// mainloop_bwd_sm90_tma_gmma_ws.hpp): preprocess D = rowsum(dO * O) (attention_delta, or with the dq
// accumulator zeroed: launch_delta_zero_dq), the main kernel below, postprocess dq = scale * fp32
// accumulator. Checked in test_gpu_softmax_hopper_bwd.cpp.
//
// Two consumer schedules (BwdConsumer::run_overlapped, the default, and run_serial, the first one),
// chosen per call by HopperAttentionBwdOptions::overlap; atomic dQ by float4 (the default) or float2
// reductions, by HopperAttentionBwdOptions::float4_dq; the overlapped tiles drained at their end or
// (the first version) not, by HopperAttentionBwdOptions::drain_each_tile; D subtracted from dP^T by
// the tensor cores or not, by HopperAttentionBwdOptions::fold_delta; dK before or after dQ at head_dim
// 128, by HopperAttentionBwdOptions::dk_before_dq; the grid by heads or by L2-sized sections of heads,
// heavy key blocks first, by HopperAttentionBwdOptions::l2_sections; FlashAttention-3's tile (run_fa3)
// by HopperAttentionBwdOptions::fa3_tile, with its dQ reduced by a writer warp (write_dq) with bulk_dq
// (row by row, or with tiled_dq block by block into FlashAttention-3's tile-ordered accumulator) and
// its ring cut to two slots by two_slot_ring.
//
// One CTA per (128-key block, head, batch): warp 0 of warpgroup 0 is the producer (lane 0 issues TMA
// for K and V once and for Q / dO tiles into a ring of kRingStages slots; all 32 lanes copy the tile's lse, in
// log2 units, and D into the slot, then arrive on its `full` barrier); warpgroups 1 and 2 are
// consumers of 64 keys each; with the FlashAttention-3 tile and bulk dQ warp 1 of warpgroup 0 is the dQ
// writer (write_dq), issuing the bulk reduce-adds of the blocks the consumers stage. Causal: query tiles wholly before
// the key block are skipped (they never see these keys), the tiles overlapping it are masked.
#include <cuda_bf16.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "mixers/softmax/softmax_attention_bf16.cuh"
#include "mixers/softmax/softmax_attention_cuda_internal.cuh"
#include "mixers/softmax/softmax_attention_hopper_bwd.cuh"
#include "mixers/softmax/softmax_attention_hopper_bwd_consumer.cuh"
#include "mixers/softmax/softmax_attention_hopper_bwd_layout.cuh"
#include "mixers/softmax/softmax_attention_hopper_bwd_postprocess.cuh"
#include "mixers/softmax/softmax_attention_hopper_bwd_preprocess.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/hopper/async_copy.cuh"
#include "ops/cuda/hopper/tensor_map.h"
#include "ops/cuda/scratch_buffer.cuh"

namespace seqbench {
namespace {

using bf16 = __nv_bfloat16;
namespace hp = hopper;
using namespace hopper_attention_bwd;

struct BwdMaps {
  CUtensorMap q, k, v, dout;
};

#if SEQBENCH_HOPPER_WGMMA  // the device code below exists only in the sm_90a pass
template <int D, class Layout>
__device__ __forceinline__ void produce(const BwdMaps& maps, unsigned char* smem, const BwdBarriers& bar,
                                        const float* __restrict__ lse_bh, const float* __restrict__ delta_bh,
                                        const BwdTile& tile) {
  constexpr int BQ = Layout::kBlockQ, kStages = Layout::kStages;
  const int lane = threadIdx.x % 32;
  if (lane == 0) {
    hp::barrier_arrive_expect_bytes(bar.kv_full, 2 * Layout::kKeyTileBytes);
#pragma unroll
    for (int c = 0; c < D / 64; ++c) {
      hp::tma_load_4d(smem + Layout::k + c * Layout::kKeySubTileBytes, &maps.k, 64 * c, tile.k0, tile.h, tile.b,
                      bar.kv_full);
      hp::tma_load_4d(smem + Layout::v + c * Layout::kKeySubTileBytes, &maps.v, 64 * c, tile.k0, tile.h, tile.b,
                      bar.kv_full);
    }
  }
  for (int j = 0; j < tile.n_tiles; ++j) {
    const int s = j % kStages, qt0 = (tile.first_tile + j) * BQ;
    hp::barrier_wait(bar.empty + s, ((j / kStages) & 1) ^ 1);  // the consumers are done with round j / kStages - 1
    float* vectors = reinterpret_cast<float*>(smem + Layout::vectors) + s * 2 * BQ;
    for (int r = lane; r < BQ; r += 32) {  // rows past L: P = exp2(s - inf) = 0 and D = 0
      const int row = qt0 + r;
      vectors[r] = row < tile.L ? lse_bh[row] * kLog2e : INFINITY;
      vectors[BQ + r] = row < tile.L ? delta_bh[row] : 0.0f;
    }
    if (lane != 0) {
      hp::barrier_arrive(bar.full + s);  // releases this lane's lse / D stores
      continue;
    }
    hp::barrier_arrive_expect_bytes(bar.full + s, 2 * Layout::kQueryTileBytes);
#pragma unroll
    for (int c = 0; c < D / 64; ++c) {
      hp::tma_load_4d(smem + Layout::q + s * Layout::kQueryTileBytes + c * Layout::kQuerySubTileBytes, &maps.q, 64 * c,
                      qt0, tile.h, tile.b, bar.full + s);
      hp::tma_load_4d(smem + Layout::dout + s * Layout::kQueryTileBytes + c * Layout::kQuerySubTileBytes, &maps.dout,
                      64 * c, qt0, tile.h, tile.b, bar.full + s);
    }
  }
}
#endif  // SEQBENCH_HOPPER_WGMMA

template <int D, bool kCausal, bool kDq, bool kBulkDq, bool kOverlap, bool kOrderedDq, bool kFloat4Dq, bool kDrain,
          bool kFoldDelta, bool kDkFirst, bool kFa3Tile, bool kTwoSlots>
__global__ void __launch_bounds__(kThreads, 1)
    attention_bwd_hopper_kernel(const __grid_constant__ BwdMaps maps, const float* __restrict__ lse,
                                const float* __restrict__ delta, float* __restrict__ dq_accum, int* dq_order,
                                bf16* __restrict__ dk, bf16* __restrict__ dv, int L, int H, int key_blocks,
                                int section_heads, float scale, float scale_log2, bool tiled_dq) {
#if SEQBENCH_HOPPER_WGMMA
  using Layout = BwdLayoutOf<D, kBulkDq, kOverlap, kFa3Tile, kTwoSlots>;
  constexpr int BQ = Layout::kBlockQ, kStages = Layout::kStages;
  extern __shared__ unsigned char smem_raw[];
  unsigned char* smem = smem_raw + ((1024 - (hp::smem_u32(smem_raw) & 1023)) & 1023);
  uint64_t* b0 = reinterpret_cast<uint64_t*>(smem + Layout::barriers);
  const BwdBarriers bar{
      b0, b0 + 1, b0 + 1 + kStages, b0 + 1 + 2 * kStages, b0 + 3 + 2 * kStages, b0 + 3 + 2 * kStages + 2 * kConsumers};

  // The key blocks of a section of section_heads (batch, head) pairs are neighbours in launch order
  // (they share Q, dO and the dQ accumulator in L2), rank-major: rank r of every head of the section,
  // then rank r + 1 (bwd_section_heads; one head per section: its key blocks in turn). With causality
  // the first key blocks see the most queries and start first, except with ordered dQ, where the last
  // start first: a key block waits for those above it (DqTurn), which must be resident.
  const int section_blocks = section_heads * key_blocks, heads_total = static_cast<int>(gridDim.x) / key_blocks;
  const int section = static_cast<int>(blockIdx.x) / section_blocks;
  const int in_section = static_cast<int>(blockIdx.x) % section_blocks;
  const int section_size = min(section_heads, heads_total - section * section_heads);  // the last may be short
  const int rank = in_section / section_size;
  const int key_block = kOrderedDq ? key_blocks - 1 - rank : rank;
  const int bh = section * section_heads + in_section % section_size;
  const int k0 = key_block * kBlockKeys;
  const int first_tile = kCausal ? k0 / BQ : 0;  // kBlockKeys is a multiple of BQ
  const BwdTile tile{static_cast<int>(threadIdx.x) / 128 - 1, k0, first_tile, (L + BQ - 1) / BQ - first_tile, L, H,
                     bh % H, bh / H, scale, scale_log2, tiled_dq};

  if (threadIdx.x == 0) {
    hp::barrier_init(bar.kv_full, 1);
    for (int s = 0; s < kStages; ++s) {
      hp::barrier_init(bar.full + s, 32);
      hp::barrier_init(bar.empty + s, 128 * kConsumers);
    }
    for (int b = 0; b < 2; ++b) hp::barrier_init(bar.ds_ready + b, 128 * kConsumers);
    for (int b = 0; b < 2 * kConsumers; ++b) {
      hp::barrier_init(bar.dq_full + b, 128);  // one consumer warpgroup
      hp::barrier_init(bar.dq_empty + b, 1);   // lane 0 of the writer warp
    }
    hp::barrier_init_fence();
  }
  __syncthreads();

  if (threadIdx.x < 128) {
    hp::release_registers<kProducerRegisters>();
    if (threadIdx.x < 32)
      produce<D, Layout>(maps, smem, bar, lse + static_cast<int64_t>(bh) * L, delta + static_cast<int64_t>(bh) * L,
                         tile);
    if constexpr (kBulkDq && kFa3Tile) {
      if (threadIdx.x >= 32 && threadIdx.x < 64) write_dq<D, Layout>(dq_accum, smem, bar, tile);  // warp 1
    }
  } else {
    hp::claim_registers<kConsumerRegisters>();
    BwdConsumer<D, kCausal, kDq, kBulkDq, kOverlap, kOrderedDq, kFloat4Dq, kDrain, kFoldDelta, kDkFirst, kFa3Tile,
                kTwoSlots>
        c(tile, smem, bar, dq_order);
    c.run(dq_accum);
    c.write_gradients(c.dk, c.dv, dk, dv);
  }
#else
  __trap();  // compute_90 PTX on a newer GPU: the host launches this kernel only on sm_90
#endif
}

// (Batch, head) pairs per launch section (the kernel's block order): one, or with o.l2_sections
// FlashAttention-3's choice for causal attention (SingleTileBwdLPTScheduler): as many heads, a power of
// two, as keep their Q, dO and fp32 dQ accumulator (8 L D bytes a head) within 40 MB of the 50 MB L2,
// so that the heaviest key blocks of all those heads launch before any lighter one and the grid ends
// on the lightest, not on one head's full-length key block.
int bwd_section_heads(const AttentionShape& s, const HopperAttentionBwdOptions& o) {
  const int64_t heads_total = s.batch * s.heads;
  if (!o.l2_sections) return 1;
  const int64_t fit = (int64_t{40} << 20) / (8 * s.seq_len * s.head_dim);
  int64_t heads = 1;
  while (heads * 2 <= fit && heads * 2 <= heads_total) heads *= 2;
  return static_cast<int>(heads);
}

template <int D, bool kOverlap, bool kCausal, bool kDq, bool kBulkDq = false, bool kOrderedDq = false,
          bool kFloat4Dq = true, bool kDrain = true, bool kFoldDelta = true, bool kDkFirst = false,
          bool kFa3Tile = false, bool kTwoSlots = false>
void launch_bwd_hopper(const bf16* q, const bf16* k, const bf16* v, const bf16* dout, const float* lse,
                       const float* delta, float* dq_accum, bf16* dk, bf16* dv, const AttentionShape& s,
                       const HopperAttentionBwdOptions& o, cudaStream_t stream, int* dq_order = nullptr) {
  constexpr int kSmem = BwdLayoutOf<D, kBulkDq, kOverlap, kFa3Tile, kTwoSlots>::dynamic_bytes;
  auto* kernel = attention_bwd_hopper_kernel<D, kCausal, kDq, kBulkDq, kOverlap, kOrderedDq, kFloat4Dq, kDrain,
                                             kFoldDelta, kDkFirst, kFa3Tile, kTwoSlots>;
  static const bool configured = [&] {
    cudaCheck(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem));
    return true;
  }();
  (void)configured;
  constexpr int BQ = block_queries<D>();
  const BwdMaps maps{hp::bshd_tensor_map_bf16(q, s.batch, s.seq_len, s.heads, D, BQ),
                     hp::bshd_tensor_map_bf16(k, s.batch, s.seq_len, s.heads, D, kBlockKeys),
                     hp::bshd_tensor_map_bf16(v, s.batch, s.seq_len, s.heads, D, kBlockKeys),
                     hp::bshd_tensor_map_bf16(dout, s.batch, s.seq_len, s.heads, D, BQ)};
  const int64_t heads_total = s.batch * s.heads, key_blocks = (s.seq_len + kBlockKeys - 1) / kBlockKeys;
  if (heads_total * key_blocks > INT_MAX)
    throw std::invalid_argument("softmax_attention_bwd_hopper: " + std::to_string(heads_total * key_blocks) +
                                " key blocks exceed the grid limit " + std::to_string(INT_MAX));
  const float scale = attention_scale(s);
  kernel<<<static_cast<unsigned>(heads_total * key_blocks), kThreads, kSmem, stream>>>(
      maps, lse, delta, dq_accum, dq_order, dk, dv, static_cast<int>(s.seq_len), static_cast<int>(s.heads),
      static_cast<int>(key_blocks), bwd_section_heads(s, o), scale, scale * kLog2e, kBulkDq && kFa3Tile && o.tiled_dq);
  cudaCheckLaunch();
}

// The atomic dQ kernels: float4 or float2 reductions (o.float4_dq), taken in turn when deterministic.
template <int D, bool kOverlap, bool kDrain, bool kFoldDelta, bool kDkFirst, bool kFa3Tile = false,
          bool kTwoSlots = false>
void launch_atomic_dq(const bf16* q, const bf16* k, const bf16* v, const bf16* dout, const float* lse,
                      const float* delta, float* dq_accum, bf16* dk, bf16* dv, const AttentionShape& s,
                      const HopperAttentionBwdOptions& o, cudaStream_t stream, int* dq_order) {
  constexpr bool kOrdered = kOverlap;  // the serial schedule's deterministic dQ is the portable pass
  if (o.deterministic && o.float4_dq)
    launch_bwd_hopper<D, kOverlap, true, true, false, kOrdered, true, kDrain, kFoldDelta, kDkFirst, kFa3Tile,
                      kTwoSlots>(q, k, v, dout, lse, delta, dq_accum, dk, dv, s, o, stream, dq_order);
  else if (o.deterministic)
    launch_bwd_hopper<D, kOverlap, true, true, false, kOrdered, false, kDrain, kFoldDelta, kDkFirst, kFa3Tile,
                      kTwoSlots>(q, k, v, dout, lse, delta, dq_accum, dk, dv, s, o, stream, dq_order);
  else if (o.causal && o.float4_dq)
    launch_bwd_hopper<D, kOverlap, true, true, false, false, true, kDrain, kFoldDelta, kDkFirst, kFa3Tile, kTwoSlots>(
        q, k, v, dout, lse, delta, dq_accum, dk, dv, s, o, stream);
  else if (o.causal)
    launch_bwd_hopper<D, kOverlap, true, true, false, false, false, kDrain, kFoldDelta, kDkFirst, kFa3Tile, kTwoSlots>(
        q, k, v, dout, lse, delta, dq_accum, dk, dv, s, o, stream);
  else if (o.float4_dq)
    launch_bwd_hopper<D, kOverlap, false, true, false, false, true, kDrain, kFoldDelta, kDkFirst, kFa3Tile, kTwoSlots>(
        q, k, v, dout, lse, delta, dq_accum, dk, dv, s, o, stream);
  else
    launch_bwd_hopper<D, kOverlap, false, true, false, false, false, kDrain, kFoldDelta, kDkFirst, kFa3Tile, kTwoSlots>(
        q, k, v, dout, lse, delta, dq_accum, dk, dv, s, o, stream);
}

template <int D, bool kOverlap>
void run_bwd_hopper(const bf16* q, const bf16* k, const bf16* v, const bf16* dout, const float* lse, const float* delta,
                    float* dq_accum, bf16* dq, bf16* dk, bf16* dv, const AttentionShape& s,
                    const HopperAttentionBwdOptions& o, cudaStream_t stream, int* dq_order) {
  if constexpr (!kOverlap) {
    if (o.deterministic) {  // causal only (checked by the caller)
      launch_bwd_hopper<D, kOverlap, true, false>(q, k, v, dout, lse, delta, nullptr, dk, dv, s, o, stream);
      attention_dq_tensor_core<D>(q, k, v, dout, lse, delta, dq, s, stream);
      return;
    }
  }
  const int64_t n = s.batch * s.seq_len * s.heads * s.head_dim;
  // The tile-ordered accumulator: the writer warp's reduces in FlashAttention-3's layout, L padded to
  // 64 per head (the fused preprocess zeroes the first n floats, a memset the rest).
  const bool writer = o.bulk_dq && o.fa3_tile && !o.deterministic && kOverlap, tiled = writer && o.tiled_dq;
  const int64_t accum = tiled ? attention_bwd_dq_accum_floats(s) : n, zeroed = o.fused_preprocess ? n : 0;
  if (accum > zeroed) cudaCheck(cudaMemsetAsync(dq_accum + zeroed, 0, (accum - zeroed) * sizeof(float), stream));
  if (o.deterministic)  // overlapped schedule (kOrderedDq = kOverlap): dQ added in turns, counts zeroed first
    cudaCheck(cudaMemsetAsync(dq_order, 0, attention_bwd_dq_order_words(s) * sizeof(int), stream));
  if (writer) {  // the writer warp's dQ (write_dq)
    if (o.causal)
      launch_bwd_hopper<D, true, true, true, true, false, true, true, true, false, true>(
          q, k, v, dout, lse, delta, dq_accum, dk, dv, s, o, stream);
    else
      launch_bwd_hopper<D, true, false, true, true, false, true, true, true, false, true>(
          q, k, v, dout, lse, delta, dq_accum, dk, dv, s, o, stream);
  } else if (o.bulk_dq && !o.deterministic) {
    if (o.causal)
      launch_bwd_hopper<D, kOverlap, true, true, true>(q, k, v, dout, lse, delta, dq_accum, dk, dv, s, o, stream);
    else
      launch_bwd_hopper<D, kOverlap, false, true, true>(q, k, v, dout, lse, delta, dq_accum, dk, dv, s, o, stream);
  } else if constexpr (kOverlap) {
    // The first overlapped tile throughout without drain_each_tile, the order before dk_before_dq
    // without fold_delta (those options ignored then).
    if (o.fa3_tile && o.two_slot_ring)  // drain_each_tile, fold_delta and dk_before_dq do not apply
      launch_atomic_dq<D, kOverlap, true, true, false, true, true>(q, k, v, dout, lse, delta, dq_accum, dk, dv, s, o,
                                                                   stream, dq_order);
    else if (o.fa3_tile)
      launch_atomic_dq<D, kOverlap, true, true, false, true>(q, k, v, dout, lse, delta, dq_accum, dk, dv, s, o, stream,
                                                             dq_order);
    else if (!o.drain_each_tile)
      launch_atomic_dq<D, kOverlap, false, false, false>(q, k, v, dout, lse, delta, dq_accum, dk, dv, s, o, stream,
                                                         dq_order);
    else if (!o.fold_delta)
      launch_atomic_dq<D, kOverlap, true, false, false>(q, k, v, dout, lse, delta, dq_accum, dk, dv, s, o, stream,
                                                        dq_order);
    else if (o.dk_before_dq)  // head_dim 128 only
      launch_atomic_dq<D, kOverlap, true, true, D == 128>(q, k, v, dout, lse, delta, dq_accum, dk, dv, s, o, stream,
                                                          dq_order);
    else
      launch_atomic_dq<D, kOverlap, true, true, false>(q, k, v, dout, lse, delta, dq_accum, dk, dv, s, o, stream,
                                                       dq_order);
  } else {
    launch_atomic_dq<D, kOverlap, true, true, false>(q, k, v, dout, lse, delta, dq_accum, dk, dv, s, o, stream,
                                                     dq_order);
  }
  if (tiled) {
    const int64_t blocks = accum / 4096;  // 64 x 64 floats each
    hopper_attention_bwd::dq_tiled_postprocess_kernel<<<static_cast<unsigned>(std::min<int64_t>(blocks, 1 << 20)),
                                                        hopper_attention_bwd::kTiledPostprocessThreads, 0, stream>>>(
        reinterpret_cast<const float4*>(dq_accum), dq, attention_scale(s), static_cast<int>(s.seq_len),
        static_cast<int>(s.heads), D, blocks);
    cudaCheckLaunch();
    return;
  }
  const int64_t n4 = n / 4;
  hopper_attention_bwd::dq_postprocess_kernel<<<element_blocks(n4), kElementThreads, 0, stream>>>(
      reinterpret_cast<const float4*>(dq_accum), reinterpret_cast<__nv_bfloat162*>(dq), attention_scale(s), n4);
  cudaCheckLaunch();
}

}  // namespace

bool softmax_attention_hopper_bwd_supports(const AttentionShape& s, const void* q, const void* k, const void* v,
                                           const void* out, const void* dout, const void* dq, const void* dk,
                                           const void* dv) {
  static const bool sm90 = hp::current_device_is_sm90();
  return sm90 && (s.head_dim == 64 || s.head_dim == 128) && aligned_16(q) && aligned_16(k) && aligned_16(v) &&
         aligned_16(out) && aligned_16(dout) && aligned_16(dq) && aligned_16(dk) && aligned_16(dv);
}

void softmax_attention_bwd_hopper(const bf16* q, const bf16* k, const bf16* v, const bf16* out, const float* lse,
                                  const bf16* dout, bf16* dq, bf16* dk, bf16* dv, const AttentionShape& s,
                                  float* workspace, const HopperAttentionBwdOptions& options, cudaStream_t stream) {
  check_attention_shape(s, "softmax_attention_bwd_hopper");
  if (attention_is_empty(s)) return;
  if (!softmax_attention_hopper_bwd_supports(s, q, k, v, out, dout, dq, dk, dv))
    throw std::invalid_argument(
        "softmax_attention_bwd_hopper: needs a compute capability 9.0 GPU, head_dim 64 or 128 and 16-byte aligned "
        "pointers; got head_dim " +
        std::to_string(s.head_dim));
  if (options.deterministic && !options.causal)
    throw std::invalid_argument(
        "softmax_attention_bwd_hopper: the deterministic dQ pass is causal only; use deterministic = false for full "
        "attention");
  const ScratchFloats scratch(workspace, softmax_attention_bwd_workspace_floats(s), stream);
  float* delta = scratch.data();
  float* dq_accum = delta + attention_bwd_dq_accum_offset(s);
  if ((!options.deterministic || options.overlap) && !aligned_16(dq_accum))
    throw std::invalid_argument(
        "softmax_attention_bwd_hopper: the workspace must be 16-byte aligned (its fp32 dq accumulator is read as "
        "float4)");
  if (options.fused_preprocess) {
    // Nothing adds into the accumulator with the serial schedule's deterministic dQ (the portable pass).
    float* zeroed = options.deterministic && !options.overlap ? nullptr : dq_accum;
    (s.head_dim == 64 ? launch_delta_zero_dq<64> : launch_delta_zero_dq<128>)(out, dout, delta, zeroed, s, stream);
  } else {
    attention_delta(out, dout, delta, s, stream);
  }
  auto* run = s.head_dim == 64 ? (options.overlap ? run_bwd_hopper<64, true> : run_bwd_hopper<64, false>)
                               : (options.overlap ? run_bwd_hopper<128, true> : run_bwd_hopper<128, false>);
  run(q, k, v, dout, lse, delta, dq_accum, dq, dk, dv, s, options, stream,
      reinterpret_cast<int*>(delta + attention_bwd_dq_order_offset(s)));
}

namespace {

// The SEQBENCH_ATTENTION_BWD_KERNEL names, in AttentionBwdKernel order.
constexpr const char* kBwdKernelNames[] = {"portable",
                                           "hopper",
                                           "hopper_bulk_dq",
                                           "hopper_serial",
                                           "hopper_serial_bulk_dq",
                                           "hopper_float2_dq",
                                           "hopper_undrained",
                                           "hopper_first_overlap",
                                           "hopper_unfolded_delta",
                                           "hopper_dq_before_dk",
                                           "hopper_heavy_first",
                                           "hopper_heavy_first_fused",
                                           "hopper_fa3_tile",
                                           "hopper_fa3_bulk_dq",
                                           "hopper_fa3_two_stage",
                                           "hopper_fa3_tiled_dq"};
constexpr int kBwdKernels = sizeof(kBwdKernelNames) / sizeof(kBwdKernelNames[0]);

}  // namespace

AttentionBwdKernel attention_bwd_kernel() {
  static const AttentionBwdKernel chosen = [] {
    const char* env = std::getenv("SEQBENCH_ATTENTION_BWD_KERNEL");
    // Unset on sm_90: the fastest variant measured (causal, B 16, L 4096, H 16, D 128, one run):
    // FlashAttention-3's tile with its dQ writer into the tile-ordered accumulator, 6.097 ms (21.34 at
    // L 16384), against 7.61 for the same tile with float4 atomics and 7.95 for the first overlapped
    // schedule; deterministic, it takes the tile's ordered atomics, 9.32 ms against 10.85.
    const std::string name = env && *env ? env : hp::current_device_is_sm90() ? "hopper_fa3_tiled_dq" : "portable";
    for (int i = 0; i < kBwdKernels; ++i) {
      if (name != kBwdKernelNames[i]) continue;
      if (i > 0 && !hp::current_device_is_sm90())
        throw std::invalid_argument("SEQBENCH_ATTENTION_BWD_KERNEL=" + name + " needs a compute capability 9.0 GPU");
      return static_cast<AttentionBwdKernel>(i);
    }
    throw std::invalid_argument("SEQBENCH_ATTENTION_BWD_KERNEL='" + name +
                                "'; expected portable, hopper, hopper_bulk_dq, hopper_serial, hopper_serial_bulk_dq, "
                                "hopper_float2_dq, hopper_undrained, hopper_first_overlap, hopper_unfolded_delta, "
                                "hopper_dq_before_dk, hopper_heavy_first, hopper_heavy_first_fused, "
                                "hopper_fa3_tile, hopper_fa3_bulk_dq, hopper_fa3_two_stage or hopper_fa3_tiled_dq");
  }();
  return chosen;
}

const char* attention_bwd_kernel_name(AttentionBwdKernel kernel) { return kBwdKernelNames[static_cast<int>(kernel)]; }

}  // namespace seqbench
