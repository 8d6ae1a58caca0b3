// Per-channel-decay GLA forward on bf16 tensor cores (FLA's chunk_gla forward), per 64-token chunk with b the
// cumulative decay per key channel: o_i = (scale q_i e^{b_i})^T S0 + sum_{j<=i} A_ij v_j with
// A_ij = scale sum_d q_id k_jd e^{b_id - b_jd}. Checked against GlaKernels::cpu() in test_gpu_gla_channel_bf16.cpp.
#include <cuda_bf16.h>

#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "mixers/gla/gla_channel_bf16.cuh"
#include "mixers/gla/gla_channel_tc_internal.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/tensor_core_bf16.cuh"

namespace seqbench {
namespace gla_ch {
namespace {

using tc::Stored;

// One block per (head, chunk), 8 warps: warp w owns chunk rows 16 (w % 4) .. + 15 and half the output
// columns (Dv / 2). The chunk's start state comes from the scan. Early state: it loads beside v while the
// scores (q, k and the decays) are computed, 127 KB at Dk = Dv = 128, one block per SM. Late state: it loads
// into the decays' and keys' space once they are used, 93 KB, two blocks per SM (GlaChannelVariant).
constexpr int kChunkThreads = 256;

template <int DK, int DV, bool kLateState>
struct OutputTiles {
  static constexpr int kLdk = DK + 8, kLdv = DV + 8, kLdb = decay_ld<DK>();
  static constexpr int kDecayKeyBytes = kChunk * kLdb * 4 + kChunk * kLdk * 2, kStateBytes = DK * kLdv * 2;
  static_assert(kStateBytes <= kDecayKeyBytes, "the late state fits where the decays and keys were");
  static constexpr int kBytes =
      kDecayKeyBytes + (kChunk * kLdk + kChunk * kLdv + kChunk * kScoreStride) * 2 + (kLateState ? 0 : kStateBytes);
};

template <int DK, int DV, bool kLateState>
__global__ void __launch_bounds__(kChunkThreads, kLateState ? 2 : 1)
    channel_output_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                          const float* __restrict__ g, const bf16* __restrict__ states, bf16* __restrict__ out,
                          float scale, ChunkGrid d) {
  using T = OutputTiles<DK, DV, kLateState>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  float* bs = reinterpret_cast<float*>(smem_raw);             // [64][kLdb] decays, then their cumulative sum
  bf16* ks = reinterpret_cast<bf16*>(bs + kChunk * T::kLdb);  // [64][kLdk]
  bf16* qs = ks + kChunk * T::kLdk;                           // [64][kLdk]
  bf16* vs = qs + kChunk * T::kLdk;                           // [64][kLdv]
  bf16* as = vs + kChunk * T::kLdv;                           // [64][kScoreStride] scores
  // [DK][kLdv] state at the chunk's start: late over the decays and keys, early after the scores
  bf16* hs = kLateState ? reinterpret_cast<bf16*>(smem_raw) : as + kChunk * kScoreStride;

  const int bh = blockIdx.x / d.NC, c = blockIdx.x % d.NC, t0 = c * kChunk;
  const int warp = threadIdx.x / 32, row0 = 16 * (warp % 4), half = warp / 4;
  const int64_t k_stride = static_cast<int64_t>(d.H) * DK, v_stride = static_cast<int64_t>(d.H) * DV;
  tc::load_tile_async<kChunk, DK, T::kLdk, kChunkThreads>(qs, q + gla_tc::head_offset(bh, d, DK), k_stride, t0, d.L);
  tc::load_tile_async<kChunk, DK, T::kLdk, kChunkThreads>(ks, k + gla_tc::head_offset(bh, d, DK), k_stride, t0, d.L);
  load_decay_tile_async<DK, kChunkThreads>(bs, g, bh, c, d, DK);
  tc::commit_async();
  const bf16* state = states + (static_cast<int64_t>(bh) * d.NC + c) * DK * DV;
  tc::load_tile_async<kChunk, DV, T::kLdv, kChunkThreads>(vs, v + gla_tc::head_offset(bh, d, DV), v_stride, t0, d.L);
  if (!kLateState) tc::load_tile_async<DK, DV, T::kLdv, kChunkThreads>(hs, state, DV, 0, DK);
  tc::commit_async();
  tc::wait_async<1>();
  __syncthreads();

  cumulative_decay_in_place<DK, kChunkThreads>(bs);
  channel_scores<DK, kChunkThreads>(qs, ks, bs, scale, as);
  __syncthreads();  // the scores are done with q
  // q <- scale q e^{b} in place: the query seen by the state at the chunk's start (exponent <= 0).
  for (int i = threadIdx.x; i < kChunk * DK / 2; i += kChunkThreads) {
    const int t = i / (DK / 2), ch = 2 * (i % (DK / 2));
    const float2 bt = *reinterpret_cast<const float2*>(bs + t * T::kLdb + ch);
    __nv_bfloat162* x = reinterpret_cast<__nv_bfloat162*>(qs + t * T::kLdk + ch);
    *x = __floats2bfloat162_rn(scale * __expf(bt.x) * __low2float(*x), scale * __expf(bt.y) * __high2float(*x));
  }
  if (kLateState) {
    __syncthreads();  // every thread is done with the decays and keys
    tc::load_tile_async<DK, DV, T::kLdv, kChunkThreads>(hs, state, DV, 0, DK);
    tc::commit_async();
  }
  tc::wait_async<0>();
  __syncthreads();  // decayed queries, every score, v and S0 visible to every warp

  constexpr int kCols = DV / 2;
  float o[kCols / 8][4] = {};
  tc::warp_mma<DK / 16, kCols / 8, Stored::by_row, Stored::by_row>(o, qs + row0 * T::kLdk, T::kLdk, hs + half * kCols,
                                                                   T::kLdv);
  for (int kk = 0; kk <= row0 / 16; ++kk)  // A is zero right of the diagonal block
    tc::warp_mma<1, kCols / 8, Stored::by_row, Stored::by_row>(o, as + row0 * kScoreStride + 16 * kk, kScoreStride,
                                                               vs + 16 * kk * T::kLdv + half * kCols, T::kLdv);
  gla_tc::store_token_rows(o, out + gla_tc::head_offset(bh, d, DV), v_stride, t0, d.L, row0, half * kCols);
}

template <int DK, int DV, bool kLateState>
void launch_output(const bf16* q, const bf16* k, const bf16* v, const float* g, const bf16* states, bf16* out,
                   float scale, const ChunkGrid& d, cudaStream_t stream) {
  using T = OutputTiles<DK, DV, kLateState>;
  auto kernel = channel_output_kernel<DK, DV, kLateState>;
  gla_tc::set_shared_bytes(kernel, T::kBytes);
  kernel<<<d.BH * d.NC, kChunkThreads, T::kBytes, stream>>>(q, k, v, g, states, out, scale, d);
  cudaCheckLaunch();
}

}  // namespace
}  // namespace gla_ch

std::string gla_channel_tc_unsupported(const GlaShape& s, const GlaOptions& o) {
  if (!s.channel_decay) return "scalar decay: use the scalar-decay kernels (gla_scalar_bf16.cuh)";
  return gla_tc::tile_shape_reason(s, o);
}

int64_t gla_channel_chunk_state_elements(const GlaShape& s) {
  return s.batch * s.heads * ((s.seq_len + gla_ch::kChunk - 1) / gla_ch::kChunk) * s.key_dim * s.value_dim;
}

int64_t gla_channel_workspace_floats(const GlaShape& s) {
  const int64_t padded = s.batch * s.heads * ((s.seq_len + gla_ch::kChunk - 1) / gla_ch::kChunk) * gla_ch::kChunk;
  // r, its per-chunk totals, then the bf16 states
  return padded * s.key_dim + padded / gla_ch::kChunk * s.key_dim + (gla_channel_chunk_state_elements(s) + 7) / 8 * 4;
}

namespace {

// The value of environment variable `name` among {first, second} (first when unset) as first == value.
bool env_choice(const char* name, const char* first, const char* second) {
  const char* env = std::getenv(name);
  const std::string value = env ? env : "";
  if (value.empty() || value == first) return true;
  if (value == second) return false;
  throw std::invalid_argument(std::string(name) + "='" + value + "'; expected " + first + " or " + second);
}

}  // namespace

GlaChannelVariant gla_channel_variant() {
  static const GlaChannelVariant chosen{env_choice("SEQBENCH_GLA_CHANNEL_SCAN", "rows64", "rows_all"),
                                        env_choice("SEQBENCH_GLA_CHANNEL_STATE", "late", "early"),
                                        env_choice("SEQBENCH_GLA_CHANNEL_BWD", "warps16", "warps8"),
                                        env_choice("SEQBENCH_GLA_CHANNEL_DIAG", "mma", "fp32"),
                                        env_choice("SEQBENCH_GLA_CHANNEL_DG", "fused", "scan")};
  return chosen;
}

std::string gla_channel_variant_name(const GlaChannelVariant& v) {
  return std::string("scan ") + (v.scan_rows64 ? "rows64" : "rows_all") + ", state " +
         (v.late_state ? "late" : "early") + ", bwd " + (v.grad_warps16 ? "warps16" : "warps8") + " diag " +
         (v.grad_diag_mma ? "mma" : "fp32") + " dg " + (v.fused_decay_grad ? "fused" : "scan");
}

void gla_channel_fwd_cuda(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                          const float* log_decay, __nv_bfloat16* out, __nv_bfloat16* chunk_states, float* final_state,
                          float* workspace, const GlaShape& s, const GlaOptions& o, GlaChannelVariant variant,
                          cudaStream_t stream) {
  using namespace gla_ch;
  const ChunkGrid d = gla_tc::chunk_grid(s);
  gla_tc::check_call(s, o, "gla_channel_fwd_cuda", d, {q, k, v, log_decay, out, workspace}, gla_channel_tc_unsupported);
  if (d.BH == 0 || d.L == 0) return;
  for (const void* p : {static_cast<const void*>(chunk_states), static_cast<const void*>(final_state)})
    if (p && !gla_tc::aligned16(p))
      throw std::invalid_argument("gla_channel_fwd_cuda: an output state is not 16-byte aligned");
  const int dk = static_cast<int>(s.key_dim), dv = static_cast<int>(s.value_dim);
  const int64_t padded = static_cast<int64_t>(d.BH) * d.NC * kChunk;
  bf16* states = chunk_states ? chunk_states : reinterpret_cast<bf16*>(workspace + padded * dk + padded / kChunk * dk);
  launch_channel_state_scan(k, v, log_decay, states, final_state, 1.0f, false, variant.scan_rows64, dk, dv, d, stream);
  auto output = variant.late_state
                    ? (dk == 64 ? (dv == 64 ? launch_output<64, 64, true> : launch_output<64, 128, true>)
                                : (dv == 64 ? launch_output<128, 64, true> : launch_output<128, 128, true>))
                    : (dk == 64 ? (dv == 64 ? launch_output<64, 64, false> : launch_output<64, 128, false>)
                                : (dv == 64 ? launch_output<128, 64, false> : launch_output<128, 128, false>));
  output(q, k, v, log_decay, states, out, o.scale, d, stream);
}

}  // namespace seqbench
