// Tile sizes, shared-memory layout and barriers of the Hopper attention backward
// (softmax_attention_hopper_bwd_cuda.cu), shared by its producer, its consumers and its launcher.
#pragma once
#include <cstdint>

namespace seqbench {
namespace hopper_attention_bwd {

constexpr int kBlockKeys = 128;  // keys per CTA: two consumer warpgroups of 64 keys
constexpr int kConsumers = 2;
constexpr int kThreads = 128 * (1 + kConsumers);
// Per consumer thread: S^T and dP^T (2 x kBlockQ / 2 fp32), dK and dV (2 x D / 2), then P^T and dS^T
// as bf16 A fragments and a 64 x 64 dQ block: at most 192 live accumulators for both head dims.
constexpr int kProducerRegisters = 24, kConsumerRegisters = 240;
static_assert(128 * (kProducerRegisters + kConsumers * kConsumerRegisters) <= 65536, "register file overcommitted");

// Queries per streamed tile: 128 at head_dim 64, 64 at 128 (FlashAttention-3's choice: S^T and dP^T
// of 64 keys x kBlockQ queries plus dK, dV of 64 keys x D stay in the consumers' registers).
template <int D>
constexpr int block_queries() {
  return D == 64 ? 128 : 64;
}

// Byte offsets from a 1024-byte aligned base. Every matrix is stored as 64-column (128-byte) swizzled
// sub-tiles (ops/cuda/hopper/wgmma.cuh), sub-tile c holding columns 64 c .. 64 c + 63 of all rows:
//   K, V      [128 keys x D]          resident for the whole CTA;
//   Q, dO     [kBlockQ x D]           kStages ring slots, written by TMA (kRingStages);
//   dS^T      [128 keys x kBlockQ]    two buffers (tile parity), written by the consumers, read by dQ;
//   dQ stage  [64 x 64] fp32 per consumer, the source of the bulk dQ reduce (DqStage);
//   lse, D    [kBlockQ] fp32 each     per ring slot (lse in log2 units, +inf / 0 past L);
//   barriers.
// Q / dO / lse / D ring slots: three where they fit, two beside the bulk dQ stage, with the serial
// schedule (as first measured, so that it stays the baseline) and with kTwoSlots (FlashAttention-3's
// two slots at head_dim 128, hopper_fa3_two_stage).
template <bool kBulkDq, bool kOverlap, bool kTwoSlots = false>
constexpr int kRingStages = kBulkDq || !kOverlap || kTwoSlots ? 2 : 3;

// The dQ stage: none (atomic dQ); one padded block per consumer, reduced by the consumer itself
// (bulk_dq); or blocks a dedicated writer warp reduces (bulk_dq with the FlashAttention-3 tile: two per
// consumer at head_dim 128, so that a consumer stores tile j + 1's block while tile j's is read, one
// padded block at 64, where the 32 KB dS^T buffers of 128-query tiles leave no room for a second).
enum class DqStage { none, consumer, writer };

template <int D, DqStage kStage, int kRing>
struct BwdSmemLayout {
  static constexpr int kStages = kRing;
  static constexpr int kBlockQ = block_queries<D>();
  static constexpr int kKeySubTileBytes = kBlockKeys * 128;
  static constexpr int kKeyTileBytes = kBlockKeys * D * 2;
  static constexpr int kQuerySubTileBytes = kBlockQ * 128;
  static constexpr int kQueryTileBytes = kBlockQ * D * 2;
  static constexpr int kDsTileBytes = kBlockKeys * kBlockQ * 2;
  static constexpr int k = 0;
  static constexpr int v = k + kKeyTileBytes;
  static constexpr int q = v + kKeyTileBytes;
  static constexpr int dout = q + kStages * kQueryTileBytes;
  static constexpr int ds = dout + kStages * kQueryTileBytes;
  // 64 x 64 fp32 dQ blocks, kDqBuffers per consumer (block c * kDqBuffers + u); rows padded by 32 bytes
  // so that a half-warp's float2 stores (rows g, columns 2 t) hit 16 distinct bank pairs, except with
  // the writer's two buffers at head_dim 128, which fit only unpadded (4-way conflicts on those stores;
  // none with tiled_dq, whose fragment-order blocks take contiguous 16-byte stores).
  static constexpr int kDqBuffers = kStage == DqStage::none ? 0 : kStage == DqStage::writer && D == 128 ? 2 : 1;
  static constexpr int kDqStageRowBytes = kDqBuffers == 2 ? 64 * 4 : 64 * 4 + 32;
  static constexpr int kDqStageBytes = 64 * kDqStageRowBytes;
  static constexpr int dq_stage = ds + 2 * kDsTileBytes;
  // [kStages][2][kBlockQ] floats: lse then D.
  static constexpr int vectors = dq_stage + kConsumers * kDqBuffers * kDqStageBytes;
  static constexpr int barriers = vectors + kStages * 2 * kBlockQ * 4;
  // kv_full, full[], empty[], ds_ready[2], dq_full[4], dq_empty[4]
  static constexpr int kBarriers = 3 + 2 * kStages + 2 * 2 * kConsumers;
  static constexpr int dynamic_bytes = barriers + 8 * kBarriers + 1024;  // + room to align the base
  static_assert(kKeyTileBytes % 1024 == 0 && kQueryTileBytes % 1024 == 0 && kDsTileBytes % 1024 == 0,
                "swizzled tiles start on 1024-byte boundaries");
  static_assert(dynamic_bytes <= 227 * 1024, "over the 227 KB of shared memory per block");
};

// The layout of a kernel configuration (kFa3Tile with kBulkDq: the writer warp's stage).
template <int D, bool kBulkDq, bool kOverlap, bool kFa3Tile, bool kTwoSlots>
using BwdLayoutOf = BwdSmemLayout<D,
                                  !kBulkDq   ? DqStage::none
                                  : kFa3Tile ? DqStage::writer
                                             : DqStage::consumer,
                                  kRingStages<kBulkDq, kOverlap, kTwoSlots>>;

struct BwdBarriers {
  uint64_t* kv_full;   // K and V landed (one phase)
  uint64_t* full;      // [kStages]: Q, dO (TMA bytes) and lse, D (32 producer-lane arrivals)
  uint64_t* empty;     // [kStages]: all 256 consumer threads are done with the slot
  uint64_t* ds_ready;  // [2]: all 256 consumer threads stored their part of dS^T buffer b (kDkFirst)
  uint64_t* dq_full;   // [4]: consumer c's 128 threads stored dQ block c * kDqBuffers + u (DqStage::writer)
  uint64_t* dq_empty;  // [4]: the writer warp's reduces have read that block
};

}  // namespace hopper_attention_bwd
}  // namespace seqbench
