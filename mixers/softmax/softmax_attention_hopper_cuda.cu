// Softmax attention forward on Hopper, FlashAttention-3 (Shah et al. 2024, Alg. 1, without the
// intra-warpgroup overlap of softmax and the next Q K^T): TMA loads, wgmma, warp specialisation,
// online softmax (exp2 of log2e-prescaled scores) in registers. Checked against the CPU kernels and
// the portable bf16 forward in test_gpu_softmax_hopper.cpp.
//
// One CTA per (128-query block, head, batch): warpgroup 0 is the producer (one thread issues TMA
// for Q once and for K/V tiles of 128 keys into a two-stage ring); warpgroups 1 and 2 each own 64
// query rows. Per key tile a consumer computes S = Q K^T (A = Q and B = K from shared memory), masks
// and exponentiates S in registers, and uses P (bf16) as the register A operand of O += P V (B = V,
// MN-major). Ring slots are handed back through `empty` barriers that all 256 consumer threads arrive
// at once their products have finished reading the slot.
#include <cuda_bf16.h>

#include <climits>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "mixers/softmax/online_softmax_wgmma.cuh"
#include "mixers/softmax/softmax_attention_cuda_internal.cuh"
#include "mixers/softmax/softmax_attention_hopper.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/hopper/async_copy.cuh"
#include "ops/cuda/hopper/named_barrier.cuh"
#include "ops/cuda/hopper/tensor_map.h"
#include "ops/cuda/hopper/wgmma.cuh"

namespace seqbench {
namespace {

using bf16 = __nv_bfloat16;
namespace hp = hopper;

constexpr int kBlockM = 128;  // queries per CTA: two consumer warpgroups of 64 rows
constexpr int kBlockN = 128;  // keys per tile; equal to kBlockM so only the diagonal tile needs the causal mask
constexpr int kStages = 2;
constexpr int kConsumers = 2;
constexpr int kThreads = 128 * (1 + kConsumers);
// 24 + 2 x 240 registers x 128 threads fit the 64K register file; the consumers hold S and O
// (64 + 64 fp32 at D = 128) plus P.
constexpr int kProducerRegisters = 24, kConsumerRegisters = 240;
static_assert(128 * (kProducerRegisters + kConsumers * kConsumerRegisters) <= 65536, "register file overcommitted");

// Byte offsets from a 1024-byte aligned base: Q, the K ring, the V ring, then the mbarriers.
template <int D>
struct SmemLayout {
  static_assert(kBlockM == kBlockN, "Q and K/V tiles share one size");
  static constexpr int kSubTileBytes = kBlockN * 128;  // 128 rows of one 64-column (128-byte) swizzled tile
  static constexpr int kTileBytes = kBlockN * D * 2;   // D / 64 sub-tiles
  static_assert(kTileBytes == (D / 64) * kSubTileBytes, "tiles are whole 64-column sub-tiles");
  static constexpr int q = 0;
  static constexpr int k = q + kTileBytes;
  static constexpr int v = k + kStages * kTileBytes;
  static constexpr int barriers = v + kStages * kTileBytes;
  static constexpr int kBarriers = 1 + 3 * kStages;                      // q_full, k_full[], v_full[], empty[]
  static constexpr int dynamic_bytes = barriers + 8 * kBarriers + 1024;  // + room to align the base
};

#if SEQBENCH_HOPPER_WGMMA        // the device code below exists only in the sm_90a pass
constexpr int kTurnBarrier = 1;  // named barriers 1 and 2: the consumers' turns (ping-pong schedule)

struct Barriers {
  uint64_t* q_full;
  uint64_t* k_full;  // [kStages]
  uint64_t* v_full;  // [kStages]
  uint64_t* empty;   // [kStages]
};

template <int D>
__device__ __forceinline__ void produce(const CUtensorMap* q_map, const CUtensorMap* k_map, const CUtensorMap* v_map,
                                        unsigned char* smem, const Barriers& bar, int q0, int h, int b, int n_tiles) {
  using Layout = SmemLayout<D>;
  hp::barrier_arrive_expect_bytes(bar.q_full, Layout::kTileBytes);
#pragma unroll
  for (int c = 0; c < D / 64; ++c)
    hp::tma_load_4d(smem + Layout::q + c * Layout::kSubTileBytes, q_map, 64 * c, q0, h, b, bar.q_full);
  for (int j = 0; j < n_tiles; ++j) {
    const int s = j % kStages;
    const uint32_t parity = (j / kStages) & 1;
    hp::barrier_wait(bar.empty + s, parity ^ 1);  // the consumers are done with round j / kStages - 1
    hp::barrier_arrive_expect_bytes(bar.k_full + s, Layout::kTileBytes);
#pragma unroll
    for (int c = 0; c < D / 64; ++c)
      hp::tma_load_4d(smem + Layout::k + s * Layout::kTileBytes + c * Layout::kSubTileBytes, k_map, 64 * c, j * kBlockN,
                      h, b, bar.k_full + s);
    hp::barrier_arrive_expect_bytes(bar.v_full + s, Layout::kTileBytes);
#pragma unroll
    for (int c = 0; c < D / 64; ++c)
      hp::tma_load_4d(smem + Layout::v + s * Layout::kTileBytes + c * Layout::kSubTileBytes, v_map, 64 * c, j * kBlockN,
                      h, b, bar.v_full + s);
  }
}

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

// The consumers' turns (ping-pong): a warpgroup issues P_j V_j and Q K_{j+1}^T back to back in its
// turn, then hands the turn over, so its softmax runs while the other's products occupy the tensor
// cores. Consumer 0 takes the first turn; the turns alternate strictly, so every sync has exactly
// one matching hand-over (consumer 1 gives one at the start and skips its last).
template <bool kPingPong>
struct Turns {
  int consumer, n_tiles;
  __device__ void start() const {
    if (kPingPong && consumer == 1) hp::named_barrier_arrive(kTurnBarrier, 2 * 128);
  }
  __device__ void take() const {
    if (kPingPong) hp::named_barrier_sync(kTurnBarrier + consumer, 2 * 128);
  }
  __device__ void hand_over(int j) const {  // j: the tile whose P V was just issued (-1 for the prologue)
    if (kPingPong && !(consumer == 1 && j == n_tiles - 1))
      hp::named_barrier_arrive(kTurnBarrier + 1 - consumer, 2 * 128);
  }
};

template <int D, bool kCausal, bool kPingPong>
__device__ __forceinline__ void consume(unsigned char* smem, const Barriers& bar, bf16* __restrict__ out,
                                        float* __restrict__ lse, int consumer, int q0, int q_block, int n_tiles, int L,
                                        int H, int h, int b, int bh, float scale_log2) {
  using Layout = SmemLayout<D>;
  const int tid = threadIdx.x % 128, warp = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4;
  const int row_lo = q0 + consumer * 64 + warp * 16 + g;
  const uint32_t q_addr = hp::smem_u32(smem + Layout::q) + consumer * 64 * 128;  // this warpgroup's 64 rows
  auto k_addr = [&](int j) { return hp::smem_u32(smem + Layout::k + (j % kStages) * Layout::kTileBytes); };
  auto v_addr = [&](int j) { return hp::smem_u32(smem + Layout::v + (j % kStages) * Layout::kTileBytes); };
  auto parity = [](int j) { return static_cast<uint32_t>((j / kStages) & 1); };

  float o[D / 2], sc[kBlockN / 2];
#pragma unroll
  for (int i = 0; i < D / 2; ++i) o[i] = 0.0f;
#pragma unroll
  for (int i = 0; i < kBlockN / 2; ++i) sc[i] = 0.0f;
  wgmma_softmax::RowState rows;
  const Turns<kPingPong> turns{consumer, n_tiles};

  hp::barrier_wait(bar.q_full, 0);
  turns.start();
  hp::barrier_wait(bar.k_full, parity(0));
  turns.take();
  issue_scores<D>(sc, q_addr, k_addr(0));
  turns.hand_over(-1);
  hp::wait_group<0>();
  hp::fence_registers(sc);

  for (int j = 0; j < n_tiles; ++j) {
    const int key0 = j * kBlockN;
    uint32_t p[kBlockN / 16][4];
    wgmma_softmax::online_softmax_tile<kBlockN, D, kCausal>(sc, o, rows, p, kCausal ? j == q_block : key0 + kBlockN > L,
                                                            key0, row_lo, L, scale_log2);
    hp::barrier_wait(bar.v_full + j % kStages, parity(j));
    turns.take();
    issue_pv<D>(o, p, v_addr(j));
    if (j + 1 < n_tiles) {  // the next scores queue behind this P V on the tensor cores
      hp::barrier_wait(bar.k_full + (j + 1) % kStages, parity(j + 1));
      issue_scores<D>(sc, q_addr, k_addr(j + 1));
    }
    turns.hand_over(j);
    hp::wait_group<0>();
    hp::fence_registers(o);
    hp::fence_registers(sc);
    hp::fence_registers(p);
    hp::barrier_arrive(bar.empty + j % kStages);  // this thread's products no longer read slot j
  }

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float sum = rows.sum[r];
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    sum += __shfl_xor_sync(0xffffffffu, sum, 2);
    const int row = row_lo + 8 * r;
    if (row >= L) continue;
    const float inv = 1.0f / sum;
    bf16* out_row = out + (static_cast<int64_t>(b) * L + row) * H * D + static_cast<int64_t>(h) * D;
#pragma unroll
    for (int i = 0; i < D / 8; ++i)
      *reinterpret_cast<__nv_bfloat162*>(out_row + 8 * i + 2 * t) =
          __floats2bfloat162_rn(o[4 * i + 2 * r] * inv, o[4 * i + 2 * r + 1] * inv);
    if (t == 0) lse[static_cast<int64_t>(bh) * L + row] = (rows.max[r] * scale_log2 + log2f(sum)) / kLog2e;
  }
}

#endif  // SEQBENCH_HOPPER_WGMMA

template <int D, bool kCausal, bool kPingPong>
__global__ void __launch_bounds__(kThreads, 1)
    attention_fwd_hopper_kernel(const __grid_constant__ CUtensorMap q_map, const __grid_constant__ CUtensorMap k_map,
                                const __grid_constant__ CUtensorMap v_map, bf16* __restrict__ out,
                                float* __restrict__ lse, int L, int H, int heads_total, int q_blocks,
                                float scale_log2) {
#if SEQBENCH_HOPPER_WGMMA
  using Layout = SmemLayout<D>;
  extern __shared__ unsigned char smem_raw[];
  // 128-byte swizzled tiles must start on 1024-byte boundaries.
  unsigned char* smem = smem_raw + ((1024 - (hp::smem_u32(smem_raw) & 1023)) & 1023);
  uint64_t* b0 = reinterpret_cast<uint64_t*>(smem + Layout::barriers);
  const Barriers bar{b0, b0 + 1, b0 + 1 + kStages, b0 + 1 + 2 * kStages};

  const int q_block = q_blocks - 1 - static_cast<int>(blockIdx.x) / heads_total;  // longest causal rows first
  const int bh = static_cast<int>(blockIdx.x) % heads_total, b = bh / H, h = bh % H;
  const int q0 = q_block * kBlockM;
  const int n_tiles = kCausal ? q_block + 1 : (L + kBlockN - 1) / kBlockN;

  if (threadIdx.x == 0) {
    hp::barrier_init(bar.q_full, 1);
    for (int s = 0; s < kStages; ++s) {
      hp::barrier_init(bar.k_full + s, 1);
      hp::barrier_init(bar.v_full + s, 1);
      hp::barrier_init(bar.empty + s, 128 * kConsumers);
    }
    hp::barrier_init_fence();
  }
  __syncthreads();

  const int warpgroup = threadIdx.x / 128;
  if (warpgroup == 0) {
    hp::release_registers<kProducerRegisters>();
    if (threadIdx.x == 0) produce<D>(&q_map, &k_map, &v_map, smem, bar, q0, h, b, n_tiles);
  } else {
    hp::claim_registers<kConsumerRegisters>();
    consume<D, kCausal, kPingPong>(smem, bar, out, lse, warpgroup - 1, q0, q_block, n_tiles, L, H, h, b, bh,
                                   scale_log2);
  }
#else
  __trap();  // compute_90 PTX on a newer GPU: the host launches this kernel only on sm_90
#endif
}

template <int D, bool kCausal, bool kPingPong>
void launch_fwd_hopper(const bf16* q, const bf16* k, const bf16* v, bf16* out, float* lse, const AttentionShape& s,
                       cudaStream_t stream) {
  constexpr int kSmem = SmemLayout<D>::dynamic_bytes;
  auto* kernel = attention_fwd_hopper_kernel<D, kCausal, kPingPong>;
  static const bool configured = [&] {
    cudaCheck(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem));
    return true;
  }();
  (void)configured;
  const CUtensorMap q_map = hp::bshd_tensor_map_bf16(q, s.batch, s.seq_len, s.heads, D, kBlockM);
  const CUtensorMap k_map = hp::bshd_tensor_map_bf16(k, s.batch, s.seq_len, s.heads, D, kBlockN);
  const CUtensorMap v_map = hp::bshd_tensor_map_bf16(v, s.batch, s.seq_len, s.heads, D, kBlockN);
  const int64_t heads_total = s.batch * s.heads, q_blocks = (s.seq_len + kBlockM - 1) / kBlockM;
  if (heads_total * q_blocks > INT_MAX)
    throw std::invalid_argument("softmax_attention_fwd_hopper: " + std::to_string(heads_total * q_blocks) +
                                " query blocks exceed the grid limit " + std::to_string(INT_MAX));
  kernel<<<static_cast<unsigned>(heads_total * q_blocks), kThreads, kSmem, stream>>>(
      q_map, k_map, v_map, out, lse, static_cast<int>(s.seq_len), static_cast<int>(s.heads),
      static_cast<int>(heads_total), static_cast<int>(q_blocks), attention_scale(s) * kLog2e);
  cudaCheckLaunch();
}

template <int D>
void launch_fwd_hopper(const bf16* q, const bf16* k, const bf16* v, bf16* out, float* lse, const AttentionShape& s,
                       const HopperAttentionOptions& options, cudaStream_t stream) {
  if (options.causal)
    return options.pingpong ? launch_fwd_hopper<D, true, true>(q, k, v, out, lse, s, stream)
                            : launch_fwd_hopper<D, true, false>(q, k, v, out, lse, s, stream);
  return options.pingpong ? launch_fwd_hopper<D, false, true>(q, k, v, out, lse, s, stream)
                          : launch_fwd_hopper<D, false, false>(q, k, v, out, lse, s, stream);
}

}  // namespace

bool softmax_attention_hopper_supports(const AttentionShape& s, const void* q, const void* k, const void* v,
                                       const void* out) {
  static const bool sm90 = hp::current_device_is_sm90();
  return sm90 && (s.head_dim == 64 || s.head_dim == 128) && aligned_16(q) && aligned_16(k) && aligned_16(v) &&
         aligned_16(out);
}

void softmax_attention_fwd_hopper(const bf16* q, const bf16* k, const bf16* v, bf16* out, float* lse,
                                  const AttentionShape& s, const HopperAttentionOptions& options, cudaStream_t stream) {
  check_attention_shape(s, "softmax_attention_fwd_hopper");
  if (attention_is_empty(s)) return;
  if (!softmax_attention_hopper_supports(s, q, k, v, out))
    throw std::invalid_argument(
        "softmax_attention_fwd_hopper: needs a compute capability 9.0 GPU, head_dim 64 or 128 and 16-byte aligned "
        "pointers; got head_dim " +
        std::to_string(s.head_dim));
  if (s.head_dim == 64) return launch_fwd_hopper<64>(q, k, v, out, lse, s, options, stream);
  launch_fwd_hopper<128>(q, k, v, out, lse, s, options, stream);
}

AttentionFwdVariant attention_fwd_variant() {
  static const AttentionFwdVariant chosen = [] {
    const char* env = std::getenv("SEQBENCH_ATTENTION_FWD");
    const std::string name = env ? env : "";
    if (name.empty() || name == "portable") return AttentionFwdVariant::portable;
    if (name != "hopper" && name != "hopper_pingpong")
      throw std::invalid_argument("SEQBENCH_ATTENTION_FWD='" + name +
                                  "'; expected portable, hopper or hopper_pingpong");
    if (!hp::current_device_is_sm90())
      throw std::invalid_argument("SEQBENCH_ATTENTION_FWD=" + name + " needs a compute capability 9.0 GPU");
    return name == "hopper" ? AttentionFwdVariant::hopper : AttentionFwdVariant::hopper_pingpong;
  }();
  return chosen;
}

const char* attention_fwd_variant_name(AttentionFwdVariant variant) {
  switch (variant) {
    case AttentionFwdVariant::hopper:
      return "hopper";
    case AttentionFwdVariant::hopper_pingpong:
      return "hopper_pingpong";
    default:
      return "portable";
  }
}

}  // namespace seqbench
