// The two tile loops of the Hopper attention backward's consumer (softmax_attention_hopper_bwd_consumer.cuh)
// that await every product by the end of a tile, so that no wgmma accumulator stays live across the loop's
// back edge: FlashAttention-3's tile (run_fa3) and the first, serial schedule (run_serial). Defined out
// of the class to keep each file short; included at the end of the consumer's header.
#pragma once

#include "mixers/softmax/softmax_attention_hopper_bwd_consumer.cuh"

namespace seqbench {
namespace hopper_attention_bwd {

#if SEQBENCH_HOPPER_WGMMA

// FlashAttention-3's tile (hopper/mainloop_bwd_sm90_tma_gmma_ws.hpp, bwd_step): S^T and dP^T, P^T
// formed while dP^T runs, dV issued (at head_dim 128 as soon as P^T is formed), dS^T formed and
// stored, both warpgroups meet, dQ, then dK once dV is done, dQ added to global memory while dK runs,
// every product awaited at the tile's end. Unlike run_overlapped nothing is issued for the next tile,
// so that dK, dV, dQ and the A fragments fit kConsumerRegisters and ptxas keeps the wgmma
// asynchronous (no C7512 / C7514 serialization, ptxas -v); unlike run_serial dQ goes before dK and
// its atomics overlap dK. With kBulkDq (FlashAttention-3's own dQ path) the block is only stored to
// shared memory while dK runs, and the writer warp (write_dq) adds it by bulk reduce-adds.
template <int D, bool kCausal, bool kDq, bool kBulkDq, bool kOverlap, bool kOrderedDq, bool kFloat4Dq, bool kDrain,
          bool kFoldDelta, bool kDkFirst, bool kFa3Tile, bool kTwoSlots>
__device__ void BwdConsumer<D, kCausal, kDq, kBulkDq, kOverlap, kOrderedDq, kFloat4Dq, kDrain, kFoldDelta, kDkFirst,
                            kFa3Tile, kTwoSlots>::run_fa3(float* __restrict__ dq_accum) {
  static_assert(kDq, "the FlashAttention-3 tile computes dQ");
  for (int j = 0; j < tile.n_tiles; ++j) {
    const int s = j % kStages, qt0 = (tile.first_tile + j) * BQ;
    const uint32_t q_addr = query_tile(Layout::q, s), do_addr = query_tile(Layout::dout, s);
    if (j > 0) pass_dq_turn(qt0 - BQ);  // tile j - 1's atomics had dK's run to land
    float st[BQ / 2], dpt[BQ / 2];
    issue_scores(st, dpt, j);
    uint32_t p[BQ / 16][4], ds[BQ / 16][4];  // the A fragments of dV += P^T dO and dK += dS^T Q
    if constexpr (D == 128) {
      score_fragments_issuing_dv(st, dpt, p, ds, s, qt0, do_addr);
      store_ds(ds, j & 1);
    } else {  // at 64, S^T, dP^T and P^T of 128-query tiles live together spill (as run_overlapped)
      score_fragments(st, dpt, p, ds, s, qt0);
      store_ds(ds, j & 1);
      issue_dv(p, do_addr);
    }
    hp::fence_shared_for_async_proxy();  // the dQ product reads dS^T through the async proxy
    dq_then_dk<true>(p, ds, j, qt0, q_addr, dq_accum);
    hp::wait_group<0>();
    hp::fence_registers(dk);
    hp::fence_registers(ds);
    hp::barrier_arrive(bar.empty + s);  // this thread's products no longer read slot s
  }
  pass_dq_turn((tile.first_tile + tile.n_tiles - 1) * BQ);
}

// The first schedule (SEQBENCH_ATTENTION_BWD_KERNEL=hopper_serial*): per tile, the five products
// issued in data order, all awaited, then dQ added while this warpgroup's tensor-core queue is empty.
template <int D, bool kCausal, bool kDq, bool kBulkDq, bool kOverlap, bool kOrderedDq, bool kFloat4Dq, bool kDrain,
          bool kFoldDelta, bool kDkFirst, bool kFa3Tile, bool kTwoSlots>
__device__ void BwdConsumer<D, kCausal, kDq, kBulkDq, kOverlap, kOrderedDq, kFloat4Dq, kDrain, kFoldDelta, kDkFirst,
                            kFa3Tile, kTwoSlots>::run_serial(float* __restrict__ dq_accum) {
  for (int j = 0; j < tile.n_tiles; ++j) {
    const int s = j % kStages, qt0 = (tile.first_tile + j) * BQ;
    const uint32_t q_addr = query_tile(Layout::q, s), do_addr = query_tile(Layout::dout, s);
    float st[BQ / 2], dpt[BQ / 2];
    issue_scores(st, dpt, j);
    uint32_t p[BQ / 16][4], ds[BQ / 16][4];  // the A fragments of dV += P^T dO and dK += dS^T Q
    score_fragments(st, dpt, p, ds, s, qt0);
    if constexpr (kDq) {
      store_ds(ds, j & 1);
      hp::fence_shared_for_async_proxy();  // the dQ product reads dS^T through the async proxy
    }
    hp::fence_registers(dv);
    hp::fence_registers(dk);
    hp::fence();
    issue_key_gradient<D, BQ>(dv, p, do_addr, Layout::kQuerySubTileBytes);
    issue_key_gradient<D, BQ>(dk, ds, q_addr, Layout::kQuerySubTileBytes);
    hp::commit_group();
    if constexpr (kDq) {
      // Both halves of dS^T written. Buffer j & 1 is rewritten at tile j + 2, after every thread
      // has passed this barrier at tile j + 1, hence after both warpgroups' dQ products of tile j.
      hp::named_barrier_sync(kDsReadyBarrier, 128 * kConsumers);
      float dq[32];
      hp::fence_registers(dq);
      hp::fence();
      issue_dq(dq, j & 1);
      hp::wait_group<0>();
      hp::fence_registers(dq);
      hp::fence_registers(dv);
      hp::fence_registers(dk);
      hp::fence_registers(p);
      hp::fence_registers(ds);
      hp::barrier_arrive(bar.empty + s);  // this thread's products no longer read slot s
      add_dq(dq, dq_accum, qt0);
    } else {
      hp::wait_group<0>();
      hp::fence_registers(dv);
      hp::fence_registers(dk);
      hp::fence_registers(p);
      hp::fence_registers(ds);
      hp::barrier_arrive(bar.empty + s);
    }
  }
  if (kBulkDq) hp::bulk_wait_complete();  // the last reduces land before the kernel ends
}

#endif  // SEQBENCH_HOPPER_WGMMA

}  // namespace hopper_attention_bwd
}  // namespace seqbench
