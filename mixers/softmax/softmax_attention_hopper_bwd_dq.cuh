// How the consumers of the Hopper attention backward (softmax_attention_hopper_bwd_consumer.cuh) add
// their dQ blocks (64 queries x 64 head-dim columns, wgmma accumulator layout) into the fp32 dq
// accumulator [B, L, H, D]: float4 (or float2) atomics from registers, bulk reduce-adds from a
// shared-memory stage, or (deterministic) the same atomics taken in turn. Device code for sm_90a only; checked by
// test_gpu_softmax_hopper_bwd.cpp through the whole backward.
#pragma once
#include <cstdint>

#include "mixers/softmax/softmax_attention_hopper_bwd_layout.cuh"
#include "ops/cuda/hopper/async_copy.cuh"
#include "ops/cuda/hopper/named_barrier.cuh"
#include "ops/cuda/hopper/wgmma.cuh"

namespace seqbench {
namespace hopper_attention_bwd {

// Where a consumer warpgroup works: its 64 keys of the CTA's 128, the query tiles it visits
// (first_tile .. first_tile + n_tiles - 1, of block_queries<D>() rows each) and its head.
struct BwdTile {
  int consumer, k0, first_tile, n_tiles, L, H, h, b;
  float scale, scale_log2;
  bool tiled_dq;  // the writer warp's accumulator in tile order (HopperAttentionBwdOptions::tiled_dq)
};

#if SEQBENCH_HOPPER_WGMMA
constexpr int kDqStageBarrier = 2;  // named barriers 2 and 3: one consumer's dQ stage (bulk adds)
constexpr int kDqTurnBarrier = 4;   // named barriers 4 and 5: one consumer's turn (ordered adds)

// One warpgroup's dQ block: queries q0 .. q0 + 63 (rows past L skipped), columns col .. col + 63.
struct DqBlock {
  const BwdTile& tile;
  int q0, col;
  template <int D>
  __device__ float* row(float* dq_accum, int query) const {
    return dq_accum + ((static_cast<int64_t>(tile.b) * tile.L + query) * tile.H + tile.h) * D + col;
  }
  // The block in the tile-ordered accumulator (tiled_dq): per (batch, head), per 64-query block, per
  // 64-column block, 64 x 64 floats in the order stage_dq_fragments stores them (dq_tiled_postprocess).
  template <int D>
  __device__ float* tiled(float* dq_accum) const {
    const int64_t query_blocks = (tile.L + 63) / 64;
    return dq_accum +
           (((static_cast<int64_t>(tile.b) * tile.H + tile.h) * query_blocks + q0 / 64) * (D / 64) + col / 64) * 4096;
  }
};

// This thread's part of a dQ block in fragment order: float4 i (registers 4 i .. 4 i + 3) of thread
// tid at float4 128 i + tid, so that a warp's 16-byte stores are contiguous (no bank conflicts) and
// the block is one contiguous 16 KB range, FlashAttention-3's dQaccum layout (its postprocess reads
// it back through the MMA's partition, as dq_tiled_postprocess here).
__device__ __forceinline__ void stage_dq_fragments(const float (&dq)[32], unsigned char* stage) {
  float4* block = reinterpret_cast<float4*>(stage);
  const int tid = threadIdx.x % 128;
#pragma unroll
  for (int i = 0; i < 8; ++i)
    block[128 * i + tid] = make_float4(dq[4 * i], dq[4 * i + 1], dq[4 * i + 2], dq[4 * i + 3]);
}

template <int D>
__device__ __forceinline__ void add_dq_atomic(const float (&dq)[32], float* __restrict__ dq_accum,
                                              const DqBlock& block) {
  const int tid = threadIdx.x % 128, t = tid % 4, g = (tid % 32) / 4;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int query = block.q0 + (tid / 32) * 16 + g + 8 * r;
    if (query >= block.tile.L) continue;
    float* row = block.row<D>(dq_accum, query);
#pragma unroll
    for (int i = 0; i < 8; ++i)
      atomicAdd(reinterpret_cast<float2*>(row + 8 * i + 2 * t), make_float2(dq[4 * i + 2 * r], dq[4 * i + 2 * r + 1]));
  }
}

// The same at full sector use: lanes t and t ^ 1 swap half of their pairs (__shfl_xor) so that the even
// lane holds columns 8 i + 2 t .. + 3 of row g and the odd one the same four columns of row g + 8, and
// each adds them with one 16-byte reduction (sm_90's red.global.add.v4.f32) instead of two 8-byte ones:
// per instruction a warp covers 16 rows x 32 contiguous bytes, half the requests of the float2 path.
// Every element still receives one addition per warpgroup and tile, so the ordered (deterministic)
// mode sums in the same order as with float2 atomics.
template <int D>
__device__ __forceinline__ void add_dq_atomic_float4(const float (&dq)[32], float* __restrict__ dq_accum,
                                                     const DqBlock& block) {
  const int tid = threadIdx.x % 128, t = tid % 4, g = (tid % 32) / 4;
  const bool odd = t & 1;
  const int query = block.q0 + (tid / 32) * 16 + g + (odd ? 8 : 0);
  float4 sums[8];
#pragma unroll
  for (int i = 0; i < 8; ++i) {  // all lanes shuffle, rows past L included
    // Even lanes keep row g (registers 4 i, 4 i + 1) and give row g + 8; odd lanes the reverse.
    const float give0 = odd ? dq[4 * i] : dq[4 * i + 2], give1 = odd ? dq[4 * i + 1] : dq[4 * i + 3];
    const float got0 = __shfl_xor_sync(0xffffffffu, give0, 1), got1 = __shfl_xor_sync(0xffffffffu, give1, 1);
    sums[i] =
        odd ? make_float4(got0, got1, dq[4 * i + 2], dq[4 * i + 3]) : make_float4(dq[4 * i], dq[4 * i + 1], got0, got1);
  }
  if (query >= block.tile.L) return;
  float* row = block.row<D>(dq_accum, query) + 2 * (t & ~1);  // columns 8 i + 4 (t / 2) ..
#pragma unroll
  for (int i = 0; i < 8; ++i)  // red, not atomicAdd's atom with an unused result
    asm volatile("red.global.add.v4.f32 [%0], {%1, %2, %3, %4};\n" ::"l"(row + 8 * i), "f"(sums[i].x), "f"(sums[i].y),
                 "f"(sums[i].z), "f"(sums[i].w)
                 : "memory");
}

// This thread's part of a dQ block (wgmma accumulator layout) into a row-major fp32 stage, rows
// `row_bytes` apart.
__device__ __forceinline__ void stage_dq_rows(const float (&dq)[32], unsigned char* stage, int row_bytes) {
  const int tid = threadIdx.x % 128, t = tid % 4, g = (tid % 32) / 4;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = (tid / 32) * 16 + g + 8 * r;
#pragma unroll
    for (int i = 0; i < 8; ++i)
      *reinterpret_cast<float2*>(stage + row * row_bytes + (8 * i + 2 * t) * 4) =
          make_float2(dq[4 * i + 2 * r], dq[4 * i + 2 * r + 1]);
  }
}

// The same through shared memory: the block's rows staged in fp32 (rows `row_bytes` apart), then one
// 256-byte bulk reduce-add per query row, issued by threads 0..63 of the warpgroup. The stage is
// rewritten only after the issuing threads have seen the previous tile's reduces read it
// (bulk_wait_read before the first barrier).
template <int D>
__device__ __forceinline__ void add_dq_bulk(const float (&dq)[32], float* __restrict__ dq_accum, const DqBlock& block,
                                            unsigned char* stage, int row_bytes) {
  const int tid = threadIdx.x % 128;
  if (tid < 64) hopper::bulk_wait_read();
  hopper::named_barrier_sync(kDqStageBarrier + block.tile.consumer, 128);
  stage_dq_rows(dq, stage, row_bytes);
  hopper::fence_shared_for_async_proxy();  // the copy engine reads the stage through the async proxy
  hopper::named_barrier_sync(kDqStageBarrier + block.tile.consumer, 128);
  const int query = block.q0 + tid;
  if (tid < 64 && query < block.tile.L) {
    hopper::bulk_reduce_add_f32(block.row<D>(dq_accum, query), stage + tid * row_bytes, 64 * 4);
    hopper::bulk_commit_group();
  }
}

// FlashAttention-3's dQ path (hopper/mainloop_bwd_sm90_tma_gmma_ws.hpp, the dQ writer warp): each
// consumer stores its block of tile j into stage block c * kDqBuffers + j % kDqBuffers (stage_dq) and
// arrives on its dq_full barrier; this warp waits for it, adds the block's rows past L excluded with
// one 256-byte bulk reduce-add per query row (the accumulator is [B, L, H, D], so a block is 64 rows
// H D floats apart), or with tile.tiled_dq, FlashAttention-3's layout, one 16 KB reduce per block
// (DqBlock::tiled), and once the copy engine has read the block frees it on dq_empty. The consumers
// spend neither registers nor issue slots on the reduces.
template <int D, class Layout>
__device__ void write_dq(float* __restrict__ dq_accum, unsigned char* smem, const BwdBarriers& bar,
                         const BwdTile& tile) {
  constexpr int BQ = Layout::kBlockQ, kBuffers = Layout::kDqBuffers;
  const int lane = threadIdx.x % 32;
  for (int j = 0; j < tile.n_tiles; ++j) {
    const int u = j % kBuffers, qt0 = (tile.first_tile + j) * BQ;
    for (int c = 0; c < kConsumers; ++c) {
      hopper::barrier_wait(bar.dq_full + c * kBuffers + u, static_cast<uint32_t>((j / kBuffers) & 1));
      const unsigned char* stage = smem + Layout::dq_stage + (c * kBuffers + u) * Layout::kDqStageBytes;
      const DqBlock block{tile, qt0 + (BQ == 128 ? c * 64 : 0), BQ == 128 ? 0 : c * 64};
      if (tile.tiled_dq) {
        // At head_dim 64 a tile holds 128 queries and the accumulator only L rounded up to 64: the second
        // consumer's block of the last tile may lie wholly past it (its rows are zeros; nothing to add).
        if (lane == 0 && block.q0 < tile.L) hopper::bulk_reduce_add_f32(block.tiled<D>(dq_accum), stage, 64 * 64 * 4);
      } else {
        for (int r = lane; r < 64; r += 32)
          if (block.q0 + r < tile.L)
            hopper::bulk_reduce_add_f32(block.row<D>(dq_accum, block.q0 + r), stage + r * Layout::kDqStageRowBytes,
                                        64 * 4);
      }
      hopper::bulk_commit_group();
      hopper::bulk_wait_read();  // this lane's reduces have read the block
      __syncwarp();
      if (lane == 0) hopper::barrier_arrive(bar.dq_empty + c * kBuffers + u);
    }
  }
  hopper::bulk_wait_complete();  // the last reduces land before the kernel ends
}

// Deterministic dQ without a second pass (FlashAttention-3's deterministic mode): the CTAs of one
// (batch, head) add to a query tile in descending key-block order, so every dq element is summed in
// the same order on every run. counts[(b H + h) ceil(L / BQ) + tile], zero at launch, counts the
// warpgroups done with the tile; a warpgroup of key block kb waits until both warpgroups of every
// key block above it (up to the last one that sees the tile, kb_max) are done. Causal only: there
// the key block kb + 1 reaches each tile two (BQ = 64) or one (BQ = 128) tile steps before kb, so the
// turns rarely wait (the consumer passes a turn one tile late, when its atomics have drained and the
// fence is cheap). The kernel launches higher key blocks first, so a waiting CTA never waits for one
// not yet resident.
struct DqTurn {
  int* count;
  int expected;
  int consumer;
  __device__ DqTurn(int* counts, const BwdTile& tile, int qt0, int BQ)
      : count(counts + (static_cast<int64_t>(tile.b) * tile.H + tile.h) * ((tile.L + BQ - 1) / BQ) + qt0 / BQ),
        expected(kConsumers * (min((tile.L - 1) / kBlockKeys, qt0 / kBlockKeys) - tile.k0 / kBlockKeys)),
        consumer(tile.consumer) {}
  // At least, not exactly: the other warpgroup of this CTA may already have passed.
  __device__ void wait() const {
    if (threadIdx.x % 128 == 0) {
      int seen;
      do {
        asm volatile("ld.acquire.gpu.global.b32 %0, [%1];\n" : "=r"(seen) : "l"(count) : "memory");
      } while (seen < expected);
    }
    hopper::named_barrier_sync(kDqTurnBarrier + consumer, 128);
  }
  // Every thread's atomics performed at device scope before the count moves.
  __device__ void pass() const {
    __threadfence();
    hopper::named_barrier_sync(kDqTurnBarrier + consumer, 128);
    if (threadIdx.x % 128 == 0) atomicAdd(count, 1);
  }
};
#endif  // SEQBENCH_HOPPER_WGMMA

}  // namespace hopper_attention_bwd
}  // namespace seqbench
