// The consumer warpgroups of the Hopper attention backward (softmax_attention_hopper_bwd_cuda.cu).
// Each owns 64 of the CTA's 128 keys and, per streamed query tile, computes the transposed products
// so that P^T and dS^T come out of the tensor cores already in the register layout of a wgmma A
// operand (rows = keys), FlashAttention-3's alternative to staging P and dS through shared memory:
//   S^T  = K Q^T     (A = K, B = Q: both K-major in shared memory; reduction over head_dim)
//   dP^T = V dO^T    (A = V, B = dO: both K-major)
//   P^T  = exp2(S^T * scale * log2e - lse_log2[q]) (causal / length masks), dS^T = P^T (dP^T - D[q])
//   dV  += P^T dO    (A = P^T from registers, B = dO MN-major: [queries x D], D contiguous)
//   dK  += dS^T Q    (A = dS^T from registers, B = Q MN-major)
//   dQ   = dS K      (A = dS^T stored [keys x queries] in shared memory, read MN-major (transposed A);
//                     B = K MN-major), one 64 x 64 block per warpgroup, added to an fp32 dq accumulator
//                     in global memory with float4 (kFloat4Dq) or float2 atomics, or (kBulkDq) staged in shared memory
//                     and added row by row by the bulk copy engine (FlashAttention-3 adds it by TMA reduce).
// The scale of dS (1 / sqrt(D)) is applied once at the end, to dK here and to dQ in the postprocess
// (device code for sm_90a only). Two schedules of the tile loop: run_serial and run_overlapped.
#pragma once
#include <cuda_bf16.h>

#include <cmath>
#include <cstdint>

#include "mixers/softmax/online_softmax_wgmma.cuh"
#include "mixers/softmax/softmax_attention_hopper_bwd_dq.cuh"
#include "mixers/softmax/softmax_attention_hopper_bwd_layout.cuh"
#include "mixers/softmax/softmax_attention_hopper_bwd_tile_math.cuh"
#include "ops/cuda/hopper/async_copy.cuh"
#include "ops/cuda/hopper/named_barrier.cuh"
#include "ops/cuda/hopper/wgmma.cuh"

namespace seqbench {
namespace hopper_attention_bwd {

#if SEQBENCH_HOPPER_WGMMA
namespace hp = hopper;
using bf16 = __nv_bfloat16;
constexpr int kDsReadyBarrier = 1;  // named barrier 1: both consumers' halves of dS^T are in shared memory

// kFloat4Dq, kDrain: HopperAttentionBwdOptions::float4_dq and drain_each_tile. kFoldDelta: dP^T's
// accumulator starts at -D (the tensor cores subtract it), so that dS^T = P^T dP^T is one multiply.
// kDkFirst: HopperAttentionBwdOptions::dk_before_dq (dk_first_tile; drained atomic dQ at head_dim 128).
// kFa3Tile: HopperAttentionBwdOptions::fa3_tile (run_fa3, overlapped family; with kBulkDq dQ goes to
// the writer warp, write_dq). kTwoSlots: HopperAttentionBwdOptions::two_slot_ring.
template <int D, bool kCausal, bool kDq, bool kBulkDq, bool kOverlap, bool kOrderedDq = false, bool kFloat4Dq = true,
          bool kDrain = true, bool kFoldDelta = true, bool kDkFirst = false, bool kFa3Tile = false,
          bool kTwoSlots = false>
struct BwdConsumer : BwdTileMath<D, kCausal, kFoldDelta, BwdLayoutOf<D, kBulkDq, kOverlap, kFa3Tile, kTwoSlots>> {
  using Layout = BwdLayoutOf<D, kBulkDq, kOverlap, kFa3Tile, kTwoSlots>;
  static constexpr int BQ = Layout::kBlockQ, kStages = Layout::kStages;
  static constexpr bool kDkFirstTiles = kDkFirst && kDrain && kDq && !kBulkDq && D == 128;
  using Math = BwdTileMath<D, kCausal, kFoldDelta, Layout>;
  using Math::key_lo;
  using Math::negated_deltas;
  using Math::probabilities;
  using Math::score_gradients;
  using Math::smem;
  using Math::store_ds;
  using Math::tile;
  const BwdBarriers& bar;
  uint32_t k_rows;  // this warpgroup's 64 rows of K (and, + kKeyTileBytes, of V)
  int* dq_order;    // kOrderedDq: the per-query-tile counts of DqTurn
  float dk[D / 2], dv[D / 2];

  __device__ BwdConsumer(const BwdTile& t, unsigned char* s, const BwdBarriers& b, int* order)
      : Math{t, s,
             t.k0 + t.consumer * 64 + static_cast<int>(threadIdx.x % 128) / 32 * 16 +
                 static_cast<int>(threadIdx.x % 32) / 4},
        bar(b),
        k_rows(hp::smem_u32(s + Layout::k) + t.consumer * 64 * 128),
        dq_order(order) {
#pragma unroll
    for (int i = 0; i < D / 2; ++i) dk[i] = dv[i] = 0.0f;
  }

  // dQ[64 x 64] of this warpgroup: queries 64 q_sub.., head_dim columns 64 d_sub.. (D = 64: the two
  // warpgroups split the 128 queries; D = 128: they split the head dim); committed, not awaited.
  __device__ void issue_dq(float (&dq)[32], int buf) const {
    const int q_sub = BQ == 128 ? tile.consumer : 0, d_sub = BQ == 128 ? 0 : tile.consumer;
    const uint32_t ds_addr =
        opaque(hp::smem_u32(smem + Layout::ds + buf * Layout::kDsTileBytes) + q_sub * Layout::kKeySubTileBytes);
    const uint32_t k_addr = opaque(hp::smem_u32(smem + Layout::k) + d_sub * Layout::kKeySubTileBytes);
#pragma unroll
    for (int kk = 0; kk < kBlockKeys / 16; ++kk)  // 16 keys = 16 rows of 128 bytes per step
      hp::mma_k16_ss<1, 1>(dq, hp::mn_major_descriptor(ds_addr + kk * 2048, Layout::kKeySubTileBytes),
                           hp::mn_major_descriptor(k_addr + kk * 2048, Layout::kKeySubTileBytes), kk > 0 ? 1 : 0);
    hp::commit_group();
  }

  // This warpgroup's dQ block of the tile at qt0 into the fp32 accumulator (softmax_attention_hopper_bwd_dq.cuh).
  __device__ void add_dq(const float (&dq)[32], float* __restrict__ dq_accum, int qt0) const {
    const DqBlock block{tile, qt0 + (BQ == 128 ? tile.consumer * 64 : 0), BQ == 128 ? 0 : tile.consumer * 64};
    if constexpr (kBulkDq) {
      add_dq_bulk<D>(dq, dq_accum, block, smem + Layout::dq_stage + tile.consumer * Layout::kDqStageBytes,
                     Layout::kDqStageRowBytes);
    } else {
      // kOrderedDq: the turn is passed on at the next tile (pass_dq_turn), its atomics drained by then.
      if constexpr (kOrderedDq) DqTurn(dq_order, tile, qt0, BQ).wait();
      if constexpr (kFloat4Dq)
        add_dq_atomic_float4<D>(dq, dq_accum, block);
      else
        add_dq_atomic<D>(dq, dq_accum, block);
    }
  }

  // kFa3Tile with kBulkDq: this warpgroup's dQ block of tile j into its stage block for the writer warp
  // (write_dq), once the writer has read what tile j - kDqBuffers left there.
  __device__ void stage_dq(const float (&dq)[32], int j) const {
    constexpr int kBuffers = Layout::kDqBuffers;
    const int block = tile.consumer * kBuffers + j % kBuffers;
    hp::barrier_wait(bar.dq_empty + block, static_cast<uint32_t>(((j / kBuffers) & 1) ^ 1));
    unsigned char* stage = smem + Layout::dq_stage + block * Layout::kDqStageBytes;
    if (tile.tiled_dq)
      stage_dq_fragments(dq, stage);
    else
      stage_dq_rows(dq, stage, Layout::kDqStageRowBytes);
    hp::fence_shared_for_async_proxy();  // the copy engine reads the stage through the async proxy
    hp::barrier_arrive(bar.dq_full + block);
  }

  __device__ void pass_dq_turn(int qt0) const {
    if constexpr (kOrderedDq) DqTurn(dq_order, tile, qt0, BQ).pass();
  }

  // The K / V addresses are loop invariants: hidden from the compiler per tile, so it rebuilds their
  // descriptors (a few integer operations) instead of keeping dozens of 64-bit descriptors live.
  __device__ static uint32_t opaque(uint32_t x) {
    asm volatile("" : "+r"(x));
    return x;
  }

  // Tile j's S^T (once its slot has landed) and dP^T, one commit group each; kS / kDp pick the halves
  // (dP^T alone: after S^T, the slot already seen full).
  template <bool kS = true, bool kDp = true>
  __device__ void issue_scores(float (&st)[BQ / 2], float (&dpt)[BQ / 2], int j) const {
    const int s = j % kStages;
    if (kS) hp::barrier_wait(bar.full + s, static_cast<uint32_t>((j / kStages) & 1));
    if (kS) hp::fence_registers(st);
    if (kDp && kFoldDelta) negated_deltas(dpt, s);  // slot s seen full (here or at S^T)
    if (kDp) hp::fence_registers(dpt);
    hp::fence();
    if (kS)
      issue_row_products<D>(st, opaque(k_rows), Layout::kKeySubTileBytes, query_tile(Layout::q, s),
                            Layout::kQuerySubTileBytes);
    if (kDp)
      issue_row_products<D, kFoldDelta>(dpt, opaque(k_rows + Layout::kKeyTileBytes), Layout::kKeySubTileBytes,
                                        query_tile(Layout::dout, s), Layout::kQuerySubTileBytes);
  }

  // Slot s's Q (region Layout::q) or dO (Layout::dout) tile.
  __device__ uint32_t query_tile(int region, int s) const {
    return hp::smem_u32(smem + region + s * Layout::kQueryTileBytes);
  }

  // P^T and dS^T of tile j (slot s) as A fragments, once S^T and dP^T (the two newest groups) are done.
  __device__ void score_fragments(float (&st)[BQ / 2], float (&dpt)[BQ / 2], uint32_t (&p)[BQ / 16][4],
                                  uint32_t (&ds)[BQ / 16][4], int s, int qt0) const {
    hp::wait_group<1>();  // S^T; dP^T may still run while its probabilities are formed
    hp::fence_registers(st);
    probabilities(st, s, qt0);
    hp::wait_group<0>();
    hp::fence_registers(dpt);
    score_gradients(st, dpt, s);
    wgmma_softmax::probabilities_as_a<BQ>(st, p);
    wgmma_softmax::probabilities_as_a<BQ>(dpt, ds);
  }

  // score_fragments with dV += P^T dO (slot at do_addr) issued as soon as P^T is formed, so that it runs
  // while dS^T is formed; dV is committed, not awaited.
  __device__ __forceinline__ void score_fragments_issuing_dv(float (&st)[BQ / 2], float (&dpt)[BQ / 2],
                                                             uint32_t (&p)[BQ / 16][4], uint32_t (&ds)[BQ / 16][4],
                                                             int s, int qt0, uint32_t do_addr) {
    hp::wait_group<1>();  // S^T; dP^T may still run
    hp::fence_registers(st);
    probabilities(st, s, qt0);
    wgmma_softmax::probabilities_as_a<BQ>(st, p);
    issue_dv(p, do_addr);
    hp::wait_group<1>();  // dP^T; dV runs on
    hp::fence_registers(dpt);
    score_gradients(st, dpt, s);
    wgmma_softmax::probabilities_as_a<BQ>(dpt, ds);
  }

  __device__ void run(float* __restrict__ dq_accum) {
    hp::barrier_wait(bar.kv_full, 0);
    if constexpr (kFa3Tile)
      run_fa3(dq_accum);
    else
      kOverlap ? run_overlapped(dq_accum) : run_serial(dq_accum);
  }

  // The schedules that await every product by the end of a tile (softmax_attention_hopper_bwd_awaited_tiles.cuh).
  __device__ void run_fa3(float* __restrict__ dq_accum);
  __device__ void run_serial(float* __restrict__ dq_accum);

  // The overlapped schedule (FlashAttention-3's order): dV (drained at head_dim 128: before dS^T is
  // formed), dQ (once both halves of dS^T are stored), dK; dQ is added to global memory while dK runs,
  // and the next tile's S^T is queued before dK is awaited (its dP^T too spills at head_dim 128,
  // ptxas -v). In flight at the top of tile j: [S^T of j] at j = 0 and, without kDrain, [dK of j - 1],
  // [S^T of j] after (overlapped_tile).
  __device__ void run_overlapped(float* __restrict__ dq_accum) {
    float st[BQ / 2], dpt[BQ / 2];
    // dK's A operand (and, without dQ, dV's: p) read by the tensor cores until the next tile's first wait.
    uint32_t p[BQ / 16][4], ds[BQ / 16][4];
    issue_scores<true, false>(st, dpt, 0);
    // The last tile apart, so that no tile issues its successor's products conditionally (the
    // accumulators would then merge two definitions and ptxas would serialize the wgmma).
    if constexpr (kDkFirstTiles) {
      for (int j = 0; j + 1 < tile.n_tiles; ++j) dk_first_tile<true>(st, dpt, p, ds, j, dq_accum);
      dk_first_tile<false>(st, dpt, p, ds, tile.n_tiles - 1, dq_accum);
    } else {
      for (int j = 0; j + 1 < tile.n_tiles; ++j) overlapped_tile<true>(st, dpt, p, ds, j, dq_accum);
      overlapped_tile<false>(st, dpt, p, ds, tile.n_tiles - 1, dq_accum);
    }
    pass_dq_turn((tile.first_tile + tile.n_tiles - 1) * BQ);
    if (kBulkDq) hp::bulk_wait_complete();  // the last reduces land before the kernel ends
  }

  // One tile of run_overlapped; kIssueNext: issue tile j + 1's score products at the end.
  template <bool kIssueNext>
  __device__ __forceinline__ void overlapped_tile(float (&st)[BQ / 2], float (&dpt)[BQ / 2], uint32_t (&p)[BQ / 16][4],
                                                  uint32_t (&ds)[BQ / 16][4], int j, float* __restrict__ dq_accum) {
    const int s = j % kStages, qt0 = (tile.first_tile + j) * BQ;
    const uint32_t q_addr = query_tile(Layout::q, s), do_addr = query_tile(Layout::dout, s);
    hp::wait_group<1>();  // dK of tile j - 1 (kDrain: already done); S^T of tile j may run on
    hp::fence_registers(dk);
    hp::fence_registers(ds);
    if constexpr (!kDq) {
      hp::fence_registers(dv);
      hp::fence_registers(p);
    }
    if (j > 0) {
      hp::barrier_arrive(bar.empty + (j - 1) % kStages);  // its last reader of slot (j - 1)
      pass_dq_turn(qt0 - BQ);
    }
    issue_scores<false, true>(st, dpt, j);
    // kEarlyDv: dV issued as soon as P^T is formed, so that it runs while dS^T is formed and stored (and
    // while this warpgroup waits for the other's half) rather than after. Head_dim 128 only: at 64, with
    // 128-query tiles, P^T, S^T and dP^T live together spill (ptxas -v).
    constexpr bool kEarlyDv = kDrain && D == 128;
    if constexpr (kEarlyDv) {
      score_fragments_issuing_dv(st, dpt, p, ds, s, qt0, do_addr);
    } else {
      score_fragments(st, dpt, p, ds, s, qt0);
    }
    if constexpr (kDq) {
      store_ds(ds, j & 1);
      hp::fence_shared_for_async_proxy();  // the dQ product reads dS^T through the async proxy
    }
    if constexpr (!kEarlyDv) issue_dv(p, do_addr);
    if constexpr (kDq) {
      dq_then_dk<false>(p, ds, j, qt0, q_addr, dq_accum);
    } else {
      issue_key_gradient<D, BQ>(dk, ds, q_addr, Layout::kQuerySubTileBytes);
      hp::commit_group();
    }
    if constexpr (kIssueNext) {
      issue_scores<true, false>(st, dpt, j + 1);
      // kDrain: nothing crosses the loop's back edge in flight. With S^T there (!kDrain, the first
      // version) ptxas serializes every wgmma of the kernel (C7514, "non wgmma instructions reading
      // accumulator registers"), so none of the overlaps above happen. dK runs beside S^T; the next
      // tile's dP^T still overlaps its P^T.
      if constexpr (kDrain) {
        hp::wait_group<0>();
        hp::fence_registers(st);
        hp::fence_registers(dk);
        hp::fence_registers(ds);
      }
    } else {
      hp::wait_group<0>();
      hp::fence_registers(dv);
      hp::fence_registers(dk);
      hp::fence_registers(p);
      hp::fence_registers(ds);
      hp::barrier_arrive(bar.empty + s);  // this thread's products no longer read slot s
    }
  }

  // Once both warpgroups' halves of dS^T are stored (dV issued before): dQ issued, dK once dV is done,
  // and dQ added to global memory while dK runs. As in run_serial, dS^T buffer j & 1 is rewritten at
  // tile j + 2, after both warpgroups passed this barrier at tile j + 1, which each reaches only after
  // its dQ product of tile j is done. kFenceKeyOperands: dK's accumulator and A fragments fenced too.
  // kFa3Tile with kBulkDq: the block is staged for the writer warp (stage_dq) instead of added here.
  template <bool kFenceKeyOperands>
  __device__ __forceinline__ void dq_then_dk(uint32_t (&p)[BQ / 16][4], uint32_t (&ds)[BQ / 16][4], int j, int qt0,
                                             uint32_t q_addr, float* __restrict__ dq_accum) {
    hp::named_barrier_sync(kDsReadyBarrier, 128 * kConsumers);
    float dq[32];
    hp::fence_registers(dq);
    hp::fence();
    issue_dq(dq, j & 1);
    hp::wait_group<1>();  // dV; dQ runs on
    hp::fence_registers(dv);
    hp::fence_registers(p);
    if constexpr (kFenceKeyOperands) {
      hp::fence_registers(dk);
      hp::fence_registers(ds);
    }
    hp::fence();
    issue_key_gradient<D, BQ>(dk, ds, q_addr, Layout::kQuerySubTileBytes);
    hp::commit_group();
    hp::wait_group<1>();  // dQ; dK runs on
    hp::fence_registers(dq);
    if constexpr (kFa3Tile && kBulkDq)
      stage_dq(dq, j);  // FlashAttention-3's dQ path: the writer warp adds it
    else
      add_dq(dq, dq_accum, qt0);
  }

  // One tile of run_overlapped with kDkFirstTiles: dV (as soon as P^T is formed), dK, then dQ once the
  // other warpgroup's half of dS^T has landed, and the next tile's S^T behind it. Each warpgroup
  // signals its half on buffer j & 1's ds_ready mbarrier and waits for the other's only after issuing
  // dK, so that dK's run covers the skew between the warpgroups where overlapped_tile has both meet
  // at a named barrier; dQ is added to global memory while the next S^T runs.
  template <bool kIssueNext>
  __device__ __forceinline__ void dk_first_tile(float (&st)[BQ / 2], float (&dpt)[BQ / 2], uint32_t (&p)[BQ / 16][4],
                                                uint32_t (&ds)[BQ / 16][4], int j, float* __restrict__ dq_accum) {
    const int s = j % kStages, qt0 = (tile.first_tile + j) * BQ, buf = j & 1;
    const uint32_t q_addr = query_tile(Layout::q, s), do_addr = query_tile(Layout::dout, s);
    if (j > 0) {
      // Tile j - 1 was drained at its end: this thread no longer reads its slot.
      hp::barrier_arrive(bar.empty + (j - 1) % kStages);
      pass_dq_turn(qt0 - BQ);
    }
    issue_scores<false, true>(st, dpt, j);
    score_fragments_issuing_dv(st, dpt, p, ds, s, qt0, do_addr);
    store_ds(ds, buf);
    // This thread's part of dS^T stored, for both warpgroups' dQ products (through the async proxy).
    hp::fence_shared_for_async_proxy();
    hp::barrier_arrive(bar.ds_ready + buf);
    hp::fence_registers(dk);
    hp::fence_registers(ds);
    hp::fence();
    issue_key_gradient<D, BQ>(dk, ds, q_addr, Layout::kQuerySubTileBytes);
    hp::commit_group();
    // Both halves of buffer buf: its phase (j / 2) & 1. Each warpgroup stores into buf again at tile
    // j + 2 only after it saw the other's half of tile j + 1 here, stored after the other's dQ product
    // of tile j was done; and arrives for tile j + 2 only after this phase completed.
    hp::barrier_wait(bar.ds_ready + buf, static_cast<uint32_t>((j >> 1) & 1));
    float dq[32];
    hp::fence_registers(dq);
    hp::fence();
    issue_dq(dq, buf);
    if constexpr (kIssueNext) {
      issue_scores<true, false>(st, dpt, j + 1);
      hp::wait_group<1>();  // dV, dK, dQ; the next S^T runs on
    } else {
      hp::wait_group<0>();
    }
    hp::fence_registers(dq);
    hp::fence_registers(dv);
    hp::fence_registers(dk);
    hp::fence_registers(p);
    hp::fence_registers(ds);
    add_dq(dq, dq_accum, qt0);
    if constexpr (kIssueNext) {
      hp::wait_group<0>();  // as overlapped_tile: nothing in flight across the loop's back edge
      hp::fence_registers(st);
    } else {
      hp::barrier_arrive(bar.empty + s);  // this thread's products no longer read slot s
    }
  }

  // dV += P^T dO (slot at do_addr), one commit group.
  __device__ __forceinline__ void issue_dv(const uint32_t (&p)[BQ / 16][4], uint32_t do_addr) {
    hp::fence_registers(dv);
    hp::fence_registers(dk);
    hp::fence();
    issue_key_gradient<D, BQ>(dv, p, do_addr, Layout::kQuerySubTileBytes);
    hp::commit_group();
  }
};

#endif  // SEQBENCH_HOPPER_WGMMA

}  // namespace hopper_attention_bwd
}  // namespace seqbench

#include "mixers/softmax/softmax_attention_hopper_bwd_awaited_tiles.cuh"
