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
//   dQ stage  [64 x 64] fp32 per consumer (padded rows), the source of the bulk dQ reduce (kBulkDq);
//   lse, D    [kBlockQ] fp32 each     per ring slot (lse in log2 units, +inf / 0 past L);
//   barriers.
// Q / dO / lse / D ring slots: three where they fit, two beside the bulk dQ stage and with the serial
// schedule (as first measured, so that it stays the baseline).
template <bool kBulkDq, bool kOverlap>
constexpr int kRingStages = kBulkDq || !kOverlap ? 2 : 3;

template <int D, bool kBulkDq, int kRing>
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
  // One 64 x 64 fp32 dQ block per consumer for the bulk reduce (hopper_bulk_dq); rows padded by 32
  // bytes so a half-warp's float2 stores (rows g, columns 2 t) hit 16 distinct bank pairs.
  static constexpr int kDqStageRowBytes = 64 * 4 + 32;
  static constexpr int kDqStageBytes = 64 * kDqStageRowBytes;
  static constexpr int dq_stage = ds + 2 * kDsTileBytes;
  // [kStages][2][kBlockQ] floats: lse then D.
  static constexpr int vectors = dq_stage + (kBulkDq ? kConsumers * kDqStageBytes : 0);
  static constexpr int barriers = vectors + kStages * 2 * kBlockQ * 4;
  static constexpr int kBarriers = 3 + 2 * kStages;  // kv_full, full[], empty[], ds_ready[2]
  static constexpr int dynamic_bytes = barriers + 8 * kBarriers + 1024;  // + room to align the base
  static_assert(kKeyTileBytes % 1024 == 0 && kQueryTileBytes % 1024 == 0 && kDsTileBytes % 1024 == 0,
                "swizzled tiles start on 1024-byte boundaries");
  static_assert(dynamic_bytes <= 227 * 1024, "over the 227 KB of shared memory per block");
};

struct BwdBarriers {
  uint64_t* kv_full;   // K and V landed (one phase)
  uint64_t* full;      // [kStages]: Q, dO (TMA bytes) and lse, D (32 producer-lane arrivals)
  uint64_t* empty;     // [kStages]: all 256 consumer threads are done with the slot
  uint64_t* ds_ready;  // [2]: all 256 consumer threads stored their part of dS^T buffer b (kDkFirst)
};

}  // namespace hopper_attention_bwd
}  // namespace seqbench
