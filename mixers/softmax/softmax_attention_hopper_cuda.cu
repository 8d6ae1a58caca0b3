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

#include "mixers/softmax/softmax_attention_cuda_internal.cuh"
#include "mixers/softmax/softmax_attention_hopper.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/hopper/async_copy.cuh"
#include "ops/cuda/hopper/tensor_map.h"
#include "ops/cuda/hopper/wgmma.cuh"
#include "ops/cuda/tensor_core_bf16.cuh"

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

#if SEQBENCH_HOPPER_WGMMA  // the device code below exists only in the sm_90a pass
// 2^x in one MUFU instruction (2 ulp; 2^-inf = 0), as the scores feed bf16 probabilities.
__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

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

// Rows of this thread: row_lo and row_lo + 8 (accumulator halves r = 0, 1; wgmma.cuh's layout).
// row_max is in raw score units.
template <int D, bool kCausal>
__device__ __forceinline__ void consume(unsigned char* smem, const Barriers& bar, bf16* __restrict__ out,
                                        float* __restrict__ lse, int consumer, int q0, int q_block, int n_tiles, int L,
                                        int H, int h, int b, int bh, float scale_log2) {
  using Layout = SmemLayout<D>;
  const int tid = threadIdx.x % 128, warp = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4;
  const int row_lo = q0 + consumer * 64 + warp * 16 + g;
  const uint32_t q_addr = hp::smem_u32(smem + Layout::q) + consumer * 64 * 128;  // this warpgroup's 64 rows

  float o[D / 2], sc[kBlockN / 2];
#pragma unroll
  for (int i = 0; i < D / 2; ++i) o[i] = 0.0f;
#pragma unroll
  for (int i = 0; i < kBlockN / 2; ++i) sc[i] = 0.0f;
  float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.0f, 0.0f};
  hp::barrier_wait(bar.q_full, 0);

  for (int j = 0; j < n_tiles; ++j) {
    const int s = j % kStages;
    const uint32_t parity = (j / kStages) & 1;
    const uint32_t k_addr = hp::smem_u32(smem + Layout::k + s * Layout::kTileBytes);
    const uint32_t v_addr = hp::smem_u32(smem + Layout::v + s * Layout::kTileBytes);

    hp::barrier_wait(bar.k_full + s, parity);
    hp::fence_registers(sc);
    hp::fence();
#pragma unroll
    for (int ks = 0; ks < D / 16; ++ks) {  // k16 step ks: sub-tile ks / 4, 32 bytes per step inside it
      const uint32_t offset = (ks / 4) * Layout::kSubTileBytes + (ks % 4) * 32;
      hp::mma_k16_ss<0>(sc, hp::k_major_descriptor(q_addr + offset), hp::k_major_descriptor(k_addr + offset),
                        ks > 0 ? 1 : 0);
    }
    hp::commit_group();
    hp::wait_group<0>();
    hp::fence_registers(sc);

    // Raw scores; keys past the query (diagonal tile) or past L (last tile) are masked. The scale
    // (positive, so maxima commute with it) enters inside the exponent, FlashAttention-3's
    // exp2(s * scale * log2e - m * scale * log2e): one FFMA per score.
    const int key0 = j * kBlockN;
    const bool masked_tile = kCausal ? j == q_block : key0 + kBlockN > L;
    if (masked_tile) {
#pragma unroll
      for (int i = 0; i < kBlockN / 8; ++i)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int col = key0 + 8 * i + 2 * t + (e & 1), row = row_lo + 8 * (e >> 1);
          if (col >= L || (kCausal && col > row)) sc[4 * i + e] = -INFINITY;
        }
    }

    // Online softmax; a row's 128 scores are spread over the 4 lanes of a quad.
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float m = row_max[r];
#pragma unroll
      for (int i = 0; i < kBlockN / 8; ++i) m = fmaxf(m, fmaxf(sc[4 * i + 2 * r], sc[4 * i + 2 * r + 1]));
      m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, 1));
      m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, 2));
      // A row that has seen only masked keys (padding rows past L) keeps zeros instead of NaN.
      const float m_scaled = m == -INFINITY ? 0.0f : m * scale_log2;
      const float correction = fast_exp2(row_max[r] * scale_log2 - m_scaled);
      row_max[r] = m;
      row_sum[r] *= correction;
#pragma unroll
      for (int i = 0; i < D / 8; ++i) {
        o[4 * i + 2 * r] *= correction;
        o[4 * i + 2 * r + 1] *= correction;
      }
#pragma unroll
      for (int i = 0; i < kBlockN / 8; ++i) {
        sc[4 * i + 2 * r] = fast_exp2(fmaf(sc[4 * i + 2 * r], scale_log2, -m_scaled));
        sc[4 * i + 2 * r + 1] = fast_exp2(fmaf(sc[4 * i + 2 * r + 1], scale_log2, -m_scaled));
        row_sum[r] += sc[4 * i + 2 * r] + sc[4 * i + 2 * r + 1];
      }
    }

    // P as bf16 A fragments: accumulator blocks 2 kk and 2 kk + 1 are columns 16 kk .. 16 kk + 15.
    uint32_t p[kBlockN / 16][4];
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk)
#pragma unroll
      for (int e = 0; e < 4; ++e) p[kk][e] = tc::pack_bf16x2(sc[8 * kk + 2 * e], sc[8 * kk + 2 * e + 1]);

    hp::barrier_wait(bar.v_full + s, parity);
    hp::fence_registers(o);
    hp::fence();
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk)  // 16 keys = 16 rows of 128 bytes per step
      hp::mma_k16_rs<1>(o, p[kk], hp::mn_major_descriptor(v_addr + kk * 16 * 128, Layout::kSubTileBytes), 1);
    hp::commit_group();
    hp::wait_group<0>();
    hp::fence_registers(o);
    hp::fence_registers(p);
    hp::barrier_arrive(bar.empty + s);  // this thread's products no longer read slot s
  }

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float sum = row_sum[r];
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
    if (t == 0) lse[static_cast<int64_t>(bh) * L + row] = (row_max[r] * scale_log2 + log2f(sum)) / kLog2e;
  }
}

#endif  // SEQBENCH_HOPPER_WGMMA

template <int D, bool kCausal>
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
    consume<D, kCausal>(smem, bar, out, lse, warpgroup - 1, q0, q_block, n_tiles, L, H, h, b, bh, scale_log2);
  }
#else
  __trap();  // compute_90 PTX on a newer GPU: the host launches this kernel only on sm_90
#endif
}

template <int D, bool kCausal>
void launch_fwd_hopper(const bf16* q, const bf16* k, const bf16* v, bf16* out, float* lse, const AttentionShape& s,
                       cudaStream_t stream) {
  constexpr int kSmem = SmemLayout<D>::dynamic_bytes;
  static const bool configured = [] {
    cudaCheck(cudaFuncSetAttribute(attention_fwd_hopper_kernel<D, kCausal>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                   kSmem));
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
  attention_fwd_hopper_kernel<D, kCausal><<<static_cast<unsigned>(heads_total * q_blocks), kThreads, kSmem, stream>>>(
      q_map, k_map, v_map, out, lse, static_cast<int>(s.seq_len), static_cast<int>(s.heads),
      static_cast<int>(heads_total), static_cast<int>(q_blocks), attention_scale(s) * kLog2e);
  cudaCheckLaunch();
}

}  // namespace

bool softmax_attention_hopper_supports(const AttentionShape& s, const void* q, const void* k, const void* v,
                                       const void* out) {
  static const bool sm90 = hp::current_device_is_sm90();
  return sm90 && (s.head_dim == 64 || s.head_dim == 128) && aligned_16(q) && aligned_16(k) && aligned_16(v) &&
         aligned_16(out);
}

void softmax_attention_fwd_hopper(const bf16* q, const bf16* k, const bf16* v, bf16* out, float* lse,
                                  const AttentionShape& s, bool causal, cudaStream_t stream) {
  check_attention_shape(s, "softmax_attention_fwd_hopper");
  if (attention_is_empty(s)) return;
  if (!softmax_attention_hopper_supports(s, q, k, v, out))
    throw std::invalid_argument(
        "softmax_attention_fwd_hopper: needs a compute capability 9.0 GPU, head_dim 64 or "
        "128 and 16-byte aligned pointers; got head_dim " +
        std::to_string(s.head_dim));
  if (s.head_dim == 64)
    return causal ? launch_fwd_hopper<64, true>(q, k, v, out, lse, s, stream)
                  : launch_fwd_hopper<64, false>(q, k, v, out, lse, s, stream);
  return causal ? launch_fwd_hopper<128, true>(q, k, v, out, lse, s, stream)
                : launch_fwd_hopper<128, false>(q, k, v, out, lse, s, stream);
}

AttentionFwdVariant attention_fwd_variant() {
  static const AttentionFwdVariant chosen = [] {
    const char* env = std::getenv("SEQBENCH_ATTENTION_FWD");
    const std::string name = env ? env : "";
    if (name.empty() || name == "portable") return AttentionFwdVariant::portable;
    if (name == "hopper") {
      if (!hp::current_device_is_sm90())
        throw std::invalid_argument("SEQBENCH_ATTENTION_FWD=hopper needs a compute capability 9.0 GPU");
      return AttentionFwdVariant::hopper;
    }
    throw std::invalid_argument("SEQBENCH_ATTENTION_FWD='" + name + "'; expected portable or hopper");
  }();
  return chosen;
}

const char* attention_fwd_variant_name(AttentionFwdVariant variant) {
  return variant == AttentionFwdVariant::hopper ? "hopper" : "portable";
}

}  // namespace seqbench
