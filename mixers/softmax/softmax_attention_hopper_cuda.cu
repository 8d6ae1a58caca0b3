// Softmax attention forward on Hopper, FlashAttention-3 (Shah et al. 2024): TMA loads, wgmma, warp
// specialisation, online softmax (exp2 of log2e-prescaled scores) in registers. Checked against the
// CPU kernels and the portable bf16 forward in test_gpu_softmax_hopper.cpp.
//
// One CTA per (128-query block, head, batch): warpgroup 0 is the producer (one thread issues TMA
// for Q once and for K/V tiles of 128 keys into a two-stage ring); with a sink + window key set only
// the tiles holding visible keys (sink_window_key_tiles.h); warpgroups 1 and 2 are consumers
// of 64 query rows each (softmax_attention_hopper_consumer.cuh). Ring slots are handed back through
// `empty` barriers that all 256 consumer threads arrive at once their products have finished
// reading the slot. The persistent form (options.persistent) is in
// softmax_attention_hopper_persistent_cuda.cu.
#include <cuda_bf16.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "mixers/softmax/softmax_attention_cuda_internal.cuh"
#include "mixers/softmax/softmax_attention_hopper.cuh"
#include "mixers/softmax/softmax_attention_hopper_consumer.cuh"
#include "mixers/softmax/softmax_attention_hopper_launch.cuh"
#include "mixers/softmax/softmax_attention_hopper_layout.cuh"
#include "mixers/softmax/softmax_attention_hopper_producer.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/hopper/async_copy.cuh"
#include "ops/cuda/hopper/tensor_map.h"

namespace seqbench {
namespace {

using bf16 = __nv_bfloat16;
namespace hp = hopper;
using namespace hopper_attention;

// sinks and window (both clamped to [.., L]) are read only with KeyMask::sink_window.
template <int D, KeyMask kMask, bool kPingPong, bool kOverlap>
__global__ void __launch_bounds__(kThreads, 1)
    attention_fwd_hopper_kernel(const __grid_constant__ CUtensorMap q_map, const __grid_constant__ CUtensorMap k_map,
                                const __grid_constant__ CUtensorMap v_map, bf16* __restrict__ out,
                                float* __restrict__ lse, int L, int H, int q_blocks, float scale_log2, int sinks,
                                int window) {
#if SEQBENCH_HOPPER_WGMMA
  using Layout = SmemLayout<D>;
  extern __shared__ unsigned char smem_raw[];
  // 128-byte swizzled tiles must start on 1024-byte boundaries.
  unsigned char* smem = smem_raw + ((1024 - (hp::smem_u32(smem_raw) & 1023)) & 1023);
  uint64_t* b0 = reinterpret_cast<uint64_t*>(smem + Layout::barriers);
  const Barriers bar = Barriers::carve<1>(b0);

  // Query blocks of one (batch, head) are neighbours in launch order, so the CTAs resident together
  // share that head's K/V in L2; within a head the longest causal rows go first.
  const int q_block = q_blocks - 1 - static_cast<int>(blockIdx.x) % q_blocks;
  const int bh = static_cast<int>(blockIdx.x) / q_blocks, b = bh / H, h = bh % H;
  const int q0 = q_block * kBlockM;
  const KeyTiles tiles = key_tiles_of<kMask>(q_block, L, sinks, window);
  const int n_tiles = tiles.count;

  if (threadIdx.x == 0) {
    hp::barrier_init(bar.q_full, 1);
    init_ring_barriers(bar);
    hp::barrier_init_fence();
  }
  __syncthreads();

  const int warpgroup = threadIdx.x / 128;
  if (warpgroup == 0) {
    hp::release_registers<kProducerRegisters>();
    if (threadIdx.x == 0) {
      load_q<D, 1>(&q_map, smem, bar, 0, q0, h, b);
      load_key_tiles<D, 1>(&k_map, &v_map, smem, bar, h, b, tiles, 0);
    }
  } else {
    hp::claim_registers<kConsumerRegisters>();
    const ConsumerTile tile{warpgroup - 1, q0, q_block, n_tiles, L, H, h, b, bh, scale_log2, tiles, sinks, window};
    if constexpr (kOverlap)
      consume_overlapped<D, kMask, kPingPong>(smem, bar, out, lse, tile);
    else
      consume_in_order<D, kMask, kPingPong>(smem, bar, out, lse, tile);
  }
#else
  __trap();  // compute_90 PTX on a newer GPU: the host launches this kernel only on sm_90
#endif
}

template <int D, KeyMask kMask, bool kPingPong, bool kOverlap>
void launch_fwd_hopper(const bf16* q, const bf16* k, const bf16* v, bf16* out, float* lse, const AttentionShape& s,
                       KeySet keys, cudaStream_t stream) {
  constexpr int kSmem = SmemLayout<D>::dynamic_bytes;
  auto* kernel = attention_fwd_hopper_kernel<D, kMask, kPingPong, kOverlap>;
  static const bool configured = [&] {
    cudaCheck(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem));
    return true;
  }();
  (void)configured;
  const QkvMaps maps = qkv_tensor_maps(q, k, v, s);
  const int64_t heads_total = s.batch * s.heads, q_blocks = (s.seq_len + kBlockM - 1) / kBlockM;
  if (heads_total * q_blocks > INT_MAX)
    throw std::invalid_argument("softmax_attention_fwd_hopper: " + std::to_string(heads_total * q_blocks) +
                                " query blocks exceed the grid limit " + std::to_string(INT_MAX));
  kernel<<<static_cast<unsigned>(heads_total * q_blocks), kThreads, kSmem, stream>>>(
      maps.q, maps.k, maps.v, out, lse, static_cast<int>(s.seq_len), static_cast<int>(s.heads),
      static_cast<int>(q_blocks), attention_scale(s) * kLog2e, keys.sinks, keys.window);
  cudaCheckLaunch();
}

template <int D>
void launch_fwd_hopper(const bf16* q, const bf16* k, const bf16* v, bf16* out, float* lse, const AttentionShape& s,
                       const HopperAttentionOptions& o, cudaStream_t stream) {
  if (o.persistent) return launch_fwd_hopper_persistent<D>(q, k, v, out, lse, s, o, stream);
  with_fwd_kernel_choice(s, o, [&](auto mask, auto pingpong, auto overlap, KeySet keys) {
    launch_fwd_hopper<D, decltype(mask)::value, decltype(pingpong)::value, decltype(overlap)::value>(q, k, v, out, lse,
                                                                                                     s, keys, stream);
  });
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
  if (options.window < 0 || options.sinks < 0 || (!options.causal && (options.window > 0 || options.sinks > 0)))
    throw std::invalid_argument("softmax_attention_fwd_hopper: window " + std::to_string(options.window) +
                                " and sinks " + std::to_string(options.sinks) +
                                "; expected both >= 0, and both 0 without causal");
  if (options.persistent_ctas < 0)
    throw std::invalid_argument("softmax_attention_fwd_hopper: persistent_ctas " +
                                std::to_string(options.persistent_ctas) + "; expected >= 0 (0: as many as fit)");
  if (attention_is_empty(s)) return;
  if (!softmax_attention_hopper_supports(s, q, k, v, out))
    throw std::invalid_argument(
        "softmax_attention_fwd_hopper: needs a compute capability 9.0 GPU, head_dim 64 or 128 and 16-byte aligned "
        "pointers; got head_dim " +
        std::to_string(s.head_dim));
  if (s.head_dim == 64) return launch_fwd_hopper<64>(q, k, v, out, lse, s, options, stream);
  launch_fwd_hopper<128>(q, k, v, out, lse, s, options, stream);
}

namespace {

// The SEQBENCH_ATTENTION_FWD names, in AttentionFwdVariant order.
constexpr const char* kVariantNames[] = {"portable",
                                         "hopper",
                                         "hopper_pingpong",
                                         "hopper_overlap",
                                         "hopper_pingpong_overlap",
                                         "hopper_persistent",
                                         "hopper_persistent_overlap"};
constexpr int kVariants = sizeof(kVariantNames) / sizeof(kVariantNames[0]);

}  // namespace

AttentionFwdVariant attention_fwd_variant() {
  static const AttentionFwdVariant chosen = [] {
    // Unset: the fastest schedule measured on an H200 where it runs (the persistent ping-pong kernel:
    // 1.893 / 7.299 ms at L = 4096 / 16384 against the one-CTA-per-tile ping-pong's 1.950-2.162 / 7.393
    // and the persistent overlapped one's 2.238, one device call), else the portable kernel.
    const char* env = std::getenv("SEQBENCH_ATTENTION_FWD");
    const std::string name = env && *env ? env : hp::current_device_is_sm90() ? "hopper_persistent" : "portable";
    for (int i = 0; i < kVariants; ++i) {
      if (name != kVariantNames[i]) continue;
      if (i > 0 && !hp::current_device_is_sm90())
        throw std::invalid_argument("SEQBENCH_ATTENTION_FWD=" + name + " needs a compute capability 9.0 GPU");
      return static_cast<AttentionFwdVariant>(i);
    }
    throw std::invalid_argument("SEQBENCH_ATTENTION_FWD='" + name +
                                "'; expected portable, hopper, hopper_pingpong, hopper_overlap, "
                                "hopper_pingpong_overlap, hopper_persistent or hopper_persistent_overlap");
  }();
  return chosen;
}

const char* attention_fwd_variant_name(AttentionFwdVariant variant) { return kVariantNames[static_cast<int>(variant)]; }

HopperAttentionOptions hopper_attention_options(AttentionFwdVariant variant, bool causal) {
  HopperAttentionOptions o;
  o.causal = causal;
  using V = AttentionFwdVariant;
  o.persistent = variant == V::hopper_persistent || variant == V::hopper_persistent_overlap;
  o.pingpong = variant == V::hopper_pingpong || variant == V::hopper_pingpong_overlap || o.persistent;
  o.overlap =
      variant == V::hopper_overlap || variant == V::hopper_pingpong_overlap || variant == V::hopper_persistent_overlap;
  return o;
}

}  // namespace seqbench
