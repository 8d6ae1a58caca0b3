// The consumer warpgroups of the Hopper attention forward (softmax_attention_hopper_cuda.cu): per
// key tile S = Q K^T (wgmma, A = Q and B = K from shared memory), the online softmax in registers
// (online_softmax_wgmma.cuh), O += P V (wgmma, A = P from registers, B = V MN-major), then the
// normalised output and log-sum-exp. Two schedules of the same products:
//   in order: P_j V_j and Q K_{j+1}^T issued back to back, then the softmax of tile j + 1;
//   overlapped (FlashAttention-3's intra-warpgroup pipelining): Q K_{j+1}^T and P_j V_j issued
//   together, the softmax of tile j + 1 running while P_j V_j is still on the tensor cores.
// Either may add the ping-pong turns between the two consumers (Turns). The key tiles come in the
// order the producer loads them (KeyTiles: 0, 1, ... or a sink + window subset), masked elementwise
// only where partially visible. The persistent kernel runs one Consumer per tile it visits, with the
// ring steps, the Q buffer and its phase, and the turns carried over from the tile before (the
// fields of ConsumerTile). Device code for sm_90a only.
#pragma once
#include <cuda_bf16.h>

#include <cmath>
#include <cstdint>

#include "mixers/softmax/online_softmax_wgmma.cuh"
#include "mixers/softmax/sink_window_key_tiles.h"
#include "mixers/softmax/softmax_attention_cuda_internal.cuh"
#include "mixers/softmax/softmax_attention_hopper_layout.cuh"
#include "ops/cuda/hopper/async_copy.cuh"
#include "ops/cuda/hopper/named_barrier.cuh"
#include "ops/cuda/hopper/wgmma.cuh"

namespace seqbench {
namespace hopper_attention {

#if SEQBENCH_HOPPER_WGMMA
namespace hp = hopper;
using bf16 = __nv_bfloat16;
constexpr int kTurnBarrier = 1;      // named barriers 1 and 2: the consumers' turns (ping-pong schedule)
constexpr int kEpilogueBarrier = 3;  // named barriers 3 and 4: one consumer's output staging

// sc = Q K^T for this warpgroup's 64 query rows and one K slot; issued and committed, not awaited.
template <int D>
__device__ __forceinline__ void issue_scores(float (&sc)[kBlockN / 2], uint32_t q_addr, uint32_t k_addr) {
  using Layout = SmemLayout<D>;
  hp::fence_registers(sc);
  hp::fence();
#pragma unroll
  for (int ks = 0; ks < D / 16; ++ks) {  // k16 step ks: sub-tile ks / 4, 32 bytes per step inside it
    const uint32_t offset = (ks / 4) * Layout::kSubTileBytes + (ks % 4) * 32;
    hp::mma_k16_ss<0>(sc, hp::k_major_descriptor(q_addr + offset), hp::k_major_descriptor(k_addr + offset),
                      ks > 0 ? 1 : 0);
  }
  hp::commit_group();
}

// o += P V for one V slot (B MN-major); issued and committed, not awaited.
template <int D>
__device__ __forceinline__ void issue_pv(float (&o)[D / 2], const uint32_t (&p)[kBlockN / 16][4], uint32_t v_addr) {
  using Layout = SmemLayout<D>;
  hp::fence_registers(o);
  hp::fence();
#pragma unroll
  for (int kk = 0; kk < kBlockN / 16; ++kk)  // 16 keys = 16 rows of 128 bytes per step
    hp::mma_k16_rs<1>(o, p[kk], hp::mn_major_descriptor(v_addr + kk * 16 * 128, Layout::kSubTileBytes), 1);
  hp::commit_group();
}

// The consumers' turns (ping-pong): a warpgroup issues one P V and one Q K^T in its turn, then hands
// the turn over, so its softmax runs while the other's products occupy the tensor cores. Each
// consumer takes n_tiles + 1 turns (the prologue's Q K_0^T, then one per P V). Consumer 0 takes the
// first; the turns alternate strictly, so every sync has exactly one matching hand-over (consumer 1
// gives one at the start and skips its last). A persistent CTA's consumers run its query tiles back
// to back as one sequence of turns: consumer 1 gives the first hand-over before the CTA's first tile
// only and skips only the last of its last tile, so consumer 0 may start the next tile's Q K_0^T
// while consumer 1 still normalises and stores the previous tile's output.
template <bool kPingPong>
struct Turns {
  int consumer, n_tiles;
  bool first_tile, last_tile;  // of this CTA (both true without persistence)
  __device__ void start() const {
    if (kPingPong && consumer == 1 && first_tile) hp::named_barrier_arrive(kTurnBarrier, 2 * 128);
  }
  __device__ void take() const {
    if (kPingPong) hp::named_barrier_sync(kTurnBarrier + consumer, 2 * 128);
  }
  __device__ void hand_over(int j) const {  // j: the last tile whose P V is issued (-1 in the prologue)
    if (kPingPong && !(consumer == 1 && last_tile && j == n_tiles - 1))
      hp::named_barrier_arrive(kTurnBarrier + 1 - consumer, 2 * 128);
  }
};

// Where a consumer warpgroup works: its 64 query rows of the CTA's 128 (consumer 0 or 1), the
// key tiles it visits (step n reads tile tiles.tile(n); n_tiles = tiles.count), and where its
// output goes. sinks and window matter only to KeyMask::sink_window. Step n of the tile is ring
// step step0 + n of the CTA; Q is in buffer q_buffer, whose q_full phase to await has parity
// q_parity.
struct ConsumerTile {
  int consumer, q0, q_block, n_tiles, L, H, h, b, bh;
  float scale_log2;
  KeyTiles tiles;
  int sinks, window;
  int step0 = 0, q_buffer = 0;
  uint32_t q_parity = 0;
  bool first_tile = true, last_tile = true;
};

// The state of one consumer thread (rows row_lo and row_lo + 8; wgmma.cuh's accumulator layout) and
// the shared-memory addresses it reads.
template <int D, KeyMask kMask, bool kPingPong, int kQBuffers>
struct Consumer {
  using Layout = SmemLayout<D, kQBuffers>;
  const ConsumerTile& tile;
  unsigned char* smem;
  const Barriers& bar;
  int row_lo;
  unsigned char* q_rows;  // this warpgroup's 64 rows of Q, then its output staging
  uint32_t q_addr;        // q_rows as a shared-memory address
  Turns<kPingPong> turns;
  float o[D / 2], sc[kBlockN / 2];
  uint32_t p[kBlockN / 16][4];
  wgmma_softmax::RowState rows;

  __device__ Consumer(const ConsumerTile& t, unsigned char* s, const Barriers& b)
      : tile(t),
        smem(s),
        bar(b),
        row_lo(t.q0 + t.consumer * 64 + (threadIdx.x % 128) / 32 * 16 + (threadIdx.x % 32) / 4),
        q_rows(s + Layout::q + t.q_buffer * Layout::kTileBytes + t.consumer * 64 * 128),
        q_addr(hp::smem_u32(q_rows)),
        turns{t.consumer, t.n_tiles, t.first_tile, t.last_tile} {
#pragma unroll
    for (int i = 0; i < D / 2; ++i) o[i] = 0.0f;
#pragma unroll
    for (int i = 0; i < kBlockN / 2; ++i) sc[i] = 0.0f;
  }
  // Step j's ring slot and the parity of its phase.
  __device__ int slot(int j) const { return (tile.step0 + j) % kStages; }
  __device__ uint32_t parity(int j) const { return static_cast<uint32_t>(((tile.step0 + j) / kStages) & 1); }
  __device__ uint32_t k_addr(int j) const { return hp::smem_u32(smem + Layout::k + slot(j) * Layout::kTileBytes); }
  __device__ uint32_t v_addr(int j) const { return hp::smem_u32(smem + Layout::v + slot(j) * Layout::kTileBytes); }
  __device__ void wait_k(int j) const { hp::barrier_wait(bar.k_full + slot(j), parity(j)); }
  __device__ void wait_v(int j) const { hp::barrier_wait(bar.v_full + slot(j), parity(j)); }

  // Scores of step j's key tile into probabilities, the running output left alone; returns its
  // correction. Only partially visible tiles are masked elementwise.
  __device__ void exponentiate(int j, float (&correction)[2]) {
    const int L = tile.L;
    if constexpr (kMask == KeyMask::sink_window) {
      const int t = tile.tiles.tile(j), sinks = tile.sinks, window = tile.window;
      const bool masked = !sink_window_tile_unmasked(t, tile.q_block, kBlockN, sinks, window);
      wgmma_softmax::exponentiate_scores<kBlockN>(
          sc, rows, correction, masked,
          [=](int row, int col) { return col >= L || !sink_window_sees(row, col, sinks, window); }, t * kBlockN, row_lo,
          tile.scale_log2);
    } else {
      const int key0 = j * kBlockN;
      constexpr bool kCausal = kMask == KeyMask::causal;
      const bool masked = kCausal ? j == tile.q_block : key0 + kBlockN > L;
      wgmma_softmax::exponentiate_scores<kBlockN>(
          sc, rows, correction, masked, [=](int row, int col) { return col >= L || (kCausal && col > row); }, key0,
          row_lo, tile.scale_log2);
    }
  }

  // Q K_0^T, awaited: both schedules start from the scores of tile 0.
  __device__ void prologue() {
    hp::barrier_wait(bar.q_full + tile.q_buffer, tile.q_parity);
    turns.start();
    wait_k(0);
    turns.take();
    issue_scores<D>(sc, q_addr, k_addr(0));
    turns.hand_over(-1);
    hp::wait_group<0>();
    hp::fence_registers(sc);
  }

  __device__ void release(int j) { hp::barrier_arrive(bar.empty + slot(j)); }

  // The normalised output through this warpgroup's own rows of the Q tile (free once its last
  // product has finished): registers -> shared memory in the 128-byte swizzle (conflict-free: lane
  // 4 g + t hits chunk i ^ g, word t), then whole 16-byte chunks per thread, so each warp stores full
  // rows. lse straight from registers.
  __device__ void write_output(bf16* __restrict__ out, float* __restrict__ lse) {
    const int tid = threadIdx.x % 128, warp = tid / 32, t = tid % 4, g = (tid % 32) / 4;
    unsigned char* stage = q_rows;  // rows of sub-tile c at + c * kSubTileBytes
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float sum = rows.sum[r];
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      sum += __shfl_xor_sync(0xffffffffu, sum, 2);
      const float inv = 1.0f / sum;
      const int row = warp * 16 + g + 8 * r;  // within this warpgroup's 64
#pragma unroll
      for (int i = 0; i < D / 8; ++i) {
        const int chunk = i % 8, sub_tile = i / 8;
        *reinterpret_cast<__nv_bfloat162*>(stage + sub_tile * Layout::kSubTileBytes + row * 128 +
                                           ((chunk ^ (row % 8)) * 16) + 4 * t) =
            __floats2bfloat162_rn(o[4 * i + 2 * r] * inv, o[4 * i + 2 * r + 1] * inv);
      }
      if (t == 0 && row_lo + 8 * r < tile.L)
        lse[static_cast<int64_t>(tile.bh) * tile.L + row_lo + 8 * r] =
            (rows.max[r] * tile.scale_log2 + log2f(sum)) / kLog2e;
    }
    hp::named_barrier_sync(kEpilogueBarrier + tile.consumer, 128);  // this warpgroup's staging is complete
    constexpr int kChunksPerRow = D / 8;
#pragma unroll
    for (int n = tid; n < 64 * kChunksPerRow; n += 128) {
      const int row = n / kChunksPerRow, chunk = n % kChunksPerRow, sub_tile = chunk / 8;
      const int token = tile.q0 + tile.consumer * 64 + row;
      if (token >= tile.L) continue;
      const uint4 value = *reinterpret_cast<const uint4*>(stage + sub_tile * Layout::kSubTileBytes + row * 128 +
                                                          (((chunk % 8) ^ (row % 8)) * 16));
      *reinterpret_cast<uint4*>(out + ((static_cast<int64_t>(tile.b) * tile.L + token) * tile.H + tile.h) * D +
                                chunk * 8) = value;
    }
  }
};

// In order: softmax of tile j, then P_j V_j and Q K_{j+1}^T issued back to back and awaited.
template <int D, KeyMask kMask, bool kPingPong, int kQBuffers = 1>
__device__ __forceinline__ void consume_in_order(unsigned char* smem, const Barriers& bar, bf16* __restrict__ out,
                                                 float* __restrict__ lse, const ConsumerTile& tile) {
  Consumer<D, kMask, kPingPong, kQBuffers> c(tile, smem, bar);
  c.prologue();
  for (int j = 0; j < tile.n_tiles; ++j) {
    float correction[2];
    c.exponentiate(j, correction);
    wgmma_softmax::rescale_output<D>(c.o, correction);
    wgmma_softmax::probabilities_as_a<kBlockN>(c.sc, c.p);
    c.wait_v(j);
    c.turns.take();
    issue_pv<D>(c.o, c.p, c.v_addr(j));
    if (j + 1 < tile.n_tiles) {  // the next scores queue behind this P V on the tensor cores
      c.wait_k(j + 1);
      issue_scores<D>(c.sc, c.q_addr, c.k_addr(j + 1));
    }
    c.turns.hand_over(j);
    hp::wait_group<0>();
    hp::fence_registers(c.o);
    hp::fence_registers(c.sc);
    hp::fence_registers(c.p);
    c.release(j);  // this thread's products no longer read slot j
  }
  c.write_output(out, lse);
}

// Overlapped (FlashAttention-3, Alg. 2): with P_{j-1} in registers, issue Q K_j^T then P_{j-1} V_{j-1};
// once the scores are in, exponentiate them while P V still runs; after P V, rescale O and form P_j.
// wgmma groups complete in order, so waiting for all but one leaves exactly P V in flight.
template <int D, KeyMask kMask, bool kPingPong, int kQBuffers = 1>
__device__ __forceinline__ void consume_overlapped(unsigned char* smem, const Barriers& bar, bf16* __restrict__ out,
                                                   float* __restrict__ lse, const ConsumerTile& tile) {
  Consumer<D, kMask, kPingPong, kQBuffers> c(tile, smem, bar);
  c.prologue();
  float correction[2];
  c.exponentiate(0, correction);  // O is still zero: no rescale
  wgmma_softmax::probabilities_as_a<kBlockN>(c.sc, c.p);
  for (int j = 1; j < tile.n_tiles; ++j) {
    c.wait_k(j);
    c.turns.take();
    issue_scores<D>(c.sc, c.q_addr, c.k_addr(j));
    c.wait_v(j - 1);
    issue_pv<D>(c.o, c.p, c.v_addr(j - 1));
    c.turns.hand_over(j - 1);
    hp::wait_group<1>();  // the scores of tile j; P_{j-1} V_{j-1} may still run
    hp::fence_registers(c.sc);
    c.exponentiate(j, correction);
    hp::wait_group<0>();
    hp::fence_registers(c.o);
    hp::fence_registers(c.p);
    c.release(j - 1);
    wgmma_softmax::rescale_output<D>(c.o, correction);
    wgmma_softmax::probabilities_as_a<kBlockN>(c.sc, c.p);
  }
  const int last = tile.n_tiles - 1;
  c.wait_v(last);
  c.turns.take();
  issue_pv<D>(c.o, c.p, c.v_addr(last));
  c.turns.hand_over(last);
  hp::wait_group<0>();
  hp::fence_registers(c.o);
  hp::fence_registers(c.p);
  c.release(last);
  c.write_output(out, lse);
}

#endif  // SEQBENCH_HOPPER_WGMMA

}  // namespace hopper_attention
}  // namespace seqbench
