// Tile sizes, shared-memory layout and barriers of the Hopper attention forward
// (softmax_attention_hopper_cuda.cu), shared by its producer, its consumers and its launcher.
#pragma once
#include <cstdint>

namespace seqbench {
namespace hopper_attention {

// Which keys a query row sees: all L (none), j <= i (causal), or the sink + window set of
// sink_window_key_tiles.h, whose key tiles are visited selectively.
enum class KeyMask { none, causal, sink_window };

constexpr int kBlockM = 128;  // queries per CTA: two consumer warpgroups of 64 rows
constexpr int kBlockN = 128;  // keys per tile; equal to kBlockM so only the diagonal tile needs the causal mask
constexpr int kStages = 2;
constexpr int kConsumers = 2;
constexpr int kThreads = 128 * (1 + kConsumers);
// 24 + 2 x 240 registers x 128 threads fit the 64K register file; the consumers hold S and O
// (64 + 64 fp32 at D = 128) plus P.
constexpr int kProducerRegisters = 24, kConsumerRegisters = 240;
static_assert(128 * (kProducerRegisters + kConsumers * kConsumerRegisters) <= 65536, "register file overcommitted");

// Byte offsets from a 1024-byte aligned base: kQBuffers Q tiles, the K ring, the V ring, then the
// mbarriers. The persistent kernel double-buffers Q (kQBuffers = 2) so the next tile's Q loads
// while the current tile's last products and output still use the other buffer.
template <int D, int kQBuffers = 1>
struct SmemLayout {
  static_assert(kBlockM == kBlockN, "Q and K/V tiles share one size");
  static_assert(kQBuffers == 1 || kQBuffers == 2, "one Q tile, or two alternating");
  static constexpr int kSubTileBytes = kBlockN * 128;  // 128 rows of one 64-column (128-byte) swizzled tile
  static constexpr int kTileBytes = kBlockN * D * 2;   // D / 64 sub-tiles
  static_assert(kTileBytes == (D / 64) * kSubTileBytes, "tiles are whole 64-column sub-tiles");
  static constexpr int q = 0;  // Q buffer i at q + i * kTileBytes
  static constexpr int k = q + kQBuffers * kTileBytes;
  static constexpr int v = k + kStages * kTileBytes;
  static constexpr int barriers = v + kStages * kTileBytes;
  // q_full[], q_empty[], k_full[], v_full[], empty[]
  static constexpr int kBarriers = 2 * kQBuffers + 3 * kStages;
  static constexpr int dynamic_bytes = barriers + 8 * kBarriers + 1024;  // + room to align the base
  static_assert(dynamic_bytes <= 227 * 1024, "more shared memory than an sm_90 block may have");
};

struct Barriers {
  uint64_t* q_full;   // [kQBuffers]: Q has landed
  uint64_t* q_empty;  // [kQBuffers]: its 256 consumer threads are done with Q and the output staged in it
  uint64_t* k_full;   // [kStages]
  uint64_t* v_full;   // [kStages]
  uint64_t* empty;    // [kStages]

  // The barriers of SmemLayout<D, kQBuffers>, in its order, from the first one.
  template <int kQBuffers>
  __device__ __forceinline__ static Barriers carve(uint64_t* b0) {
    return {b0, b0 + kQBuffers, b0 + 2 * kQBuffers, b0 + 2 * kQBuffers + kStages, b0 + 2 * kQBuffers + 2 * kStages};
  }
};

}  // namespace hopper_attention
}  // namespace seqbench
