// Gated linear attention as a per-column recurrence: S_t[:, j] = e^{g_t} * S_{t-1}[:, j] + k_t v_t[j],
// o_t[j] = scale q_t . S_t[:, j]; backward dS_t = diag(e^{g_{t+1}}) dS_{t+1} + scale q_t do_t^T (reverse),
// dq_t = scale S_t do_t, dk_t = dS_t v_t, dv_t = dS_t^T k_t, and the decay gradient of gla_cpu.cpp:
// dg_s = sum_{t >= max(s, 1)} (q_t * dq_t - k_t * dk_t). Checked against the CPU kernels in test_gpu_gla.cpp.
#include <algorithm>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "mixers/gla/gla.h"
#include "mixers/gla/gla_cuda_internal.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/current_stream.cuh"
#include "ops/cuda/launch_grid.cuh"
#include "ops/cuda/scratch_buffer.cuh"
#include "ops/cuda/warp_reduce.cuh"

namespace seqbench {
namespace {

// A block is 8 warps; lane j owns value column col0 + j of the tile, warp w owns key rows w, w + 8, ...
constexpr int kTileCols = 32, kRowGroups = 8, kThreads = kTileCols * kRowGroups;
// Time steps staged in shared memory per round: one output per thread when the round's columns are summed.
constexpr int kSlab = kThreads / kTileCols;
constexpr int kMaxGridYZ = 65535;

// Steps of a round when `remaining` are left in scan order.
__device__ __forceinline__ int round_steps(int64_t remaining) {
  return remaining < kSlab ? static_cast<int>(remaining) : kSlab;
}

struct GlaDims {
  int64_t seq_len, heads, chunk_size, num_chunks;
  int key_dim, value_dim;
  bool channel;
  float scale;
};

// One (batch, head): element (t, i) of q/k at t * qk_stride + i from these bases, and so on.
struct HeadRows {
  int64_t qk_base, v_base, g_base, qk_stride, v_stride, g_stride;
};

__device__ __forceinline__ HeadRows head_rows(const GlaDims& d, int64_t bh) {
  const int64_t b = bh / d.heads, h = bh % d.heads, first_row = b * d.seq_len * d.heads + h;
  const int dg = d.channel ? d.key_dim : 1;
  return {first_row * d.key_dim, first_row * d.value_dim, first_row * dg,
          d.heads * d.key_dim,   d.heads * d.value_dim,   d.heads * dg};
}

// Inputs of kSlab consecutive steps (in scan order) for the block's head and column tile.
template <int kMaxKey>
struct Slab {
  float q[kSlab][kMaxKey], k[kSlab][kMaxKey], decay[kSlab][kMaxKey];
  float key_out[kSlab][kMaxKey];                      // per-key results of the round (dq or dk partials)
  float v[kSlab][kTileCols], dout[kSlab][kTileCols];  // zero outside value_dim
  float col_partial[kSlab][kRowGroups][kTileCols];    // per-warp partial sums over keys
};

struct ScanInputs {
  const float *q, *k, *v, *g, *dout;  // q, dout may be null when a kernel does not read them
};

// Step ts of the round is time t_first + direction * ts. Call between __syncthreads().
template <int kMaxKey>
__device__ __forceinline__ void load_slab(Slab<kMaxKey>& s, const ScanInputs& in, const GlaDims& d, const HeadRows& x,
                                          int col0, int64_t t_first, int direction, int steps) {
  const int K = d.key_dim;
  for (int idx = threadIdx.x; idx < steps * K; idx += kThreads) {
    const int ts = idx / K, i = idx % K;
    const int64_t t = t_first + direction * ts;
    if (in.q) s.q[ts][i] = in.q[x.qk_base + t * x.qk_stride + i];
    s.k[ts][i] = in.k[x.qk_base + t * x.qk_stride + i];
    s.decay[ts][i] = expf(in.g[x.g_base + t * x.g_stride + (d.channel ? i : 0)]);
  }
  const int ts = threadIdx.x / kTileCols, j = threadIdx.x % kTileCols, col = col0 + j;
  const bool inside = ts < steps && col < d.value_dim;
  const int64_t at = x.v_base + (t_first + direction * ts) * x.v_stride + col;
  s.v[ts][j] = inside ? in.v[at] : 0.0f;
  s.dout[ts][j] = inside && in.dout ? in.dout[at] : 0.0f;
}

// The block's [key_dim x tile] slice of a [key_dim, value_dim] state to or from memory.
template <int kRows>
__device__ __forceinline__ void store_state(const float (&S)[kRows], float* dst, const GlaDims& d, int col) {
  const int warp = threadIdx.x / kTileCols;
  if (col >= d.value_dim) return;
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    const int i = warp + r * kRowGroups;
    if (i < d.key_dim) dst[static_cast<int64_t>(i) * d.value_dim + col] = S[r];
  }
}

template <int kRows>
__device__ __forceinline__ void load_state(float (&S)[kRows], const float* src, const GlaDims& d, int col) {
  const int warp = threadIdx.x / kTileCols;
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    const int i = warp + r * kRowGroups;
    S[r] = i < d.key_dim && col < d.value_dim ? src[static_cast<int64_t>(i) * d.value_dim + col] : 0.0f;
  }
}

// out[t, col] = scale * sum over warps of col_partial, one (step, column) per thread, warps in order.
template <int kMaxKey>
__device__ __forceinline__ void write_column_sums(const Slab<kMaxKey>& s, float* out, const GlaDims& d,
                                                  const HeadRows& x, int col0, int64_t t_first, int direction,
                                                  int steps, float factor) {
  const int ts = threadIdx.x / kTileCols, j = threadIdx.x % kTileCols, col = col0 + j;
  if (ts >= steps || col >= d.value_dim) return;
  float sum = 0.0f;
  for (int w = 0; w < kRowGroups; ++w) sum += s.col_partial[ts][w][j];
  out[x.v_base + (t_first + direction * ts) * x.v_stride + col] = factor * sum;
}

template <int kMaxKey>
__device__ __forceinline__ void write_key_rows(const Slab<kMaxKey>& s, float* out, const GlaDims& d, const HeadRows& x,
                                               int64_t t_first, int direction, int steps) {
  const int K = d.key_dim;
  for (int idx = threadIdx.x; idx < steps * K; idx += kThreads) {
    const int ts = idx / K, i = idx % K;
    out[x.qk_base + (t_first + direction * ts) * x.qk_stride + i] = s.key_out[ts][i];
  }
}

// Grid (batch * heads, column tiles). Saves S at every chunk start, writes out and the final state.
template <int kRows>
__global__ void __launch_bounds__(kThreads)
    gla_forward_scan_kernel(ScanInputs in, GlaDims d, float* out, float* chunk_states, float* final_state) {
  __shared__ Slab<kRows * kRowGroups> s;
  const int lane = threadIdx.x % kTileCols, warp = threadIdx.x / kTileCols;
  const int64_t bh = blockIdx.x, state_size = static_cast<int64_t>(d.key_dim) * d.value_dim;
  const int col0 = blockIdx.y * kTileCols, col = col0 + lane;
  const HeadRows x = head_rows(d, bh);
  float S[kRows] = {};
  int64_t next_chunk_start = 0, chunk = 0;
  for (int64_t t0 = 0; t0 < d.seq_len; t0 += kSlab) {
    const int steps = round_steps(d.seq_len - t0);
    __syncthreads();  // the previous round's readers are done
    load_slab(s, in, d, x, col0, t0, 1, steps);
    __syncthreads();
    for (int ts = 0; ts < steps; ++ts) {
      if (t0 + ts == next_chunk_start) {
        store_state(S, chunk_states + (bh * d.num_chunks + chunk) * state_size, d, col);
        next_chunk_start += d.chunk_size, ++chunk;
      }
      float acc = 0.0f;
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        const int i = warp + r * kRowGroups;
        if (i < d.key_dim) {
          S[r] = s.decay[ts][i] * S[r] + s.k[ts][i] * s.v[ts][lane];
          acc += s.q[ts][i] * S[r];
        }
      }
      s.col_partial[ts][warp][lane] = acc;
    }
    __syncthreads();
    write_column_sums(s, out, d, x, col0, t0, 1, steps, d.scale);
  }
  if (final_state) store_state(S, final_state + bh * state_size, d, col);
}

// Grid (batch * heads, column tiles, chunks): from each saved chunk-start state, replays the chunk
// and writes this tile's part of dq_t = scale S_t do_t at dq_parts + tile * tile_stride.
template <int kRows>
__global__ void __launch_bounds__(kThreads)
    gla_query_grad_kernel(ScanInputs in, GlaDims d, const float* chunk_states, float* dq_parts, int64_t tile_stride) {
  __shared__ Slab<kRows * kRowGroups> s;
  const int lane = threadIdx.x % kTileCols, warp = threadIdx.x / kTileCols;
  const int64_t bh = blockIdx.x, state_size = static_cast<int64_t>(d.key_dim) * d.value_dim;
  const int col0 = blockIdx.y * kTileCols, col = col0 + lane;
  const HeadRows x = head_rows(d, bh);
  float* dq_part = dq_parts + blockIdx.y * tile_stride;
  for (int64_t c = blockIdx.z; c < d.num_chunks; c += gridDim.z) {
    float S[kRows];
    load_state(S, chunk_states + (bh * d.num_chunks + c) * state_size, d, col);
    const int64_t chunk_end = (c + 1) * d.chunk_size < d.seq_len ? (c + 1) * d.chunk_size : d.seq_len;
    for (int64_t t0 = c * d.chunk_size; t0 < chunk_end; t0 += kSlab) {
      const int steps = round_steps(chunk_end - t0);
      __syncthreads();
      load_slab(s, in, d, x, col0, t0, 1, steps);
      __syncthreads();
      for (int ts = 0; ts < steps; ++ts) {
#pragma unroll
        for (int r = 0; r < kRows; ++r) {
          const int i = warp + r * kRowGroups;
          if (i < d.key_dim) {  // the same for the whole warp: warp_sum is safe
            S[r] = s.decay[ts][i] * S[r] + s.k[ts][i] * s.v[ts][lane];
            const float part = warp_sum(S[r] * s.dout[ts][lane]);
            if (lane == 0) s.key_out[ts][i] = d.scale * part;
          }
        }
      }
      __syncthreads();
      write_key_rows(s, dq_part, d, x, t0, 1, steps);
    }
  }
}

// Grid (batch * heads, column tiles): the reverse scan carrying dS; writes dv_t and this tile's part of
// dk_t at dk_parts + tile * tile_stride.
template <int kRows>
__global__ void __launch_bounds__(kThreads)
    gla_reverse_scan_kernel(ScanInputs in, GlaDims d, float* dk_parts, int64_t tile_stride, float* dv) {
  __shared__ Slab<kRows * kRowGroups> s;
  const int lane = threadIdx.x % kTileCols, warp = threadIdx.x / kTileCols;
  const int col0 = blockIdx.y * kTileCols;
  const HeadRows x = head_rows(d, blockIdx.x);
  float* dk_part = dk_parts + blockIdx.y * tile_stride;
  float dS[kRows] = {};
  for (int64_t t_top = d.seq_len - 1; t_top >= 0; t_top -= kSlab) {
    const int steps = round_steps(t_top + 1);
    __syncthreads();
    load_slab(s, in, d, x, col0, t_top, -1, steps);
    __syncthreads();
    for (int ts = 0; ts < steps; ++ts) {
      float acc = 0.0f;
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        const int i = warp + r * kRowGroups;
        if (i < d.key_dim) {
          dS[r] += d.scale * s.q[ts][i] * s.dout[ts][lane];  // dS_t, the future already decayed in
          const float part = warp_sum(dS[r] * s.v[ts][lane]);
          if (lane == 0) s.key_out[ts][i] = part;
          acc += dS[r] * s.k[ts][i];
          dS[r] *= s.decay[ts][i];  // e^{g_t} dS_t: what step t - 1 inherits
        }
      }
      s.col_partial[ts][warp][lane] = acc;
    }
    __syncthreads();
    write_column_sums(s, dv, d, x, col0, t_top, -1, steps, 1.0f);
    write_key_rows(s, dk_part, d, x, t_top, -1, steps);
  }
}

// out[n] = sum over tiles of part[tile * n_total + n], tiles in order.
__global__ void sum_tile_partials_kernel(const float* part, float* out, int64_t n_total, int tiles) {
  for (int64_t n = first_element(); n < n_total; n += element_stride()) {
    float sum = 0.0f;
    for (int t = 0; t < tiles; ++t) sum += part[t * n_total + n];
    out[n] = sum;
  }
}

// Per-channel decay: one thread per (batch, head, key channel) sums backwards in time.
__global__ void channel_decay_grad_kernel(const float* q, const float* k, const float* dq, const float* dk, float* dg,
                                          GlaDims d, int64_t n_channels) {
  for (int64_t n = first_element(); n < n_channels; n += element_stride()) {
    const HeadRows x = head_rows(d, n / d.key_dim);
    const int64_t base = x.qk_base + n % d.key_dim;
    float acc = 0.0f;
    for (int64_t t = d.seq_len - 1; t >= 1; --t) {
      const int64_t at = base + t * x.qk_stride;
      acc += q[at] * dq[at] - k[at] * dk[at];
      dg[at] = acc;
    }
    if (d.seq_len > 0) dg[base] = 0.0f;  // g_0 decays the zero initial state
  }
}

// Scalar decay: one warp per (batch, head); each step's dot over keys is a warp sum.
__global__ void scalar_decay_grad_kernel(const float* q, const float* k, const float* dq, const float* dk, float* dg,
                                         GlaDims d, int64_t pairs) {
  const int lane = threadIdx.x % 32;
  const int64_t bh = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  if (bh >= pairs) return;
  const HeadRows x = head_rows(d, bh);
  float total = 0.0f;
  for (int64_t t = d.seq_len - 1; t >= 1; --t) {
    const int64_t at = x.qk_base + t * x.qk_stride;
    float part = 0.0f;
    for (int i = lane; i < d.key_dim; i += 32) part += q[at + i] * dq[at + i] - k[at + i] * dk[at + i];
    total += warp_sum(part);
    if (lane == 0) dg[x.g_base + t * x.g_stride] = total;
  }
  if (lane == 0 && d.seq_len > 0) dg[x.g_base] = 0.0f;
}

// The GPU's limits for the scans (forward, backward); "" where a shape fits.
std::string scan_limits(const GlaShape& s) {
  if (s.key_dim > kGlaCudaMaxKeyDim)
    return "key_dim must be <= " + std::to_string(kGlaCudaMaxKeyDim) + " on the GPU, got " + std::to_string(s.key_dim);
  if (s.batch * s.heads > int64_t{0x7fffffff} || (s.value_dim + kTileCols - 1) / kTileCols > kMaxGridYZ)
    return "batch * heads must be < 2^31 and value_dim <= " + std::to_string(int64_t{kMaxGridYZ} * kTileCols) +
           ", got batch * heads " + std::to_string(s.batch * s.heads) + ", value_dim " + std::to_string(s.value_dim);
  return {};
}

// As gla_cpu.cpp checks its calls, plus the GPU's scan limits.
void check_gla_call(const GlaShape& s, const GlaOptions& o, const char* who) {
  if (o.chunk_size < 1)
    throw std::invalid_argument(std::string(who) + ": chunk_size must be >= 1, got " + std::to_string(o.chunk_size));
  check_gla_shape(s, who, true);
  const std::string limit = scan_limits(s);
  if (!limit.empty()) throw std::invalid_argument(std::string(who) + ": " + limit);
}

GlaDims dims_of(const GlaShape& s, const GlaOptions& o) {
  return {s.seq_len,
          s.heads,
          o.chunk_size,
          gla_num_chunks(s.seq_len, o.chunk_size),
          static_cast<int>(s.key_dim),
          static_cast<int>(s.value_dim),
          s.channel_decay,
          o.scale};
}

// Calls launch(std::integral_constant<int, R>) with the fewest key rows per thread R that cover key_dim.
template <class Launch>
void with_rows_per_thread(int64_t key_dim, Launch&& launch) {
  if (key_dim <= 4 * kRowGroups)
    launch(std::integral_constant<int, 4>{});
  else if (key_dim <= 8 * kRowGroups)
    launch(std::integral_constant<int, 8>{});
  else if (key_dim <= 16 * kRowGroups)
    launch(std::integral_constant<int, 16>{});
  else
    launch(std::integral_constant<int, 32>{});
  static_assert(32 * kRowGroups == kGlaCudaMaxKeyDim, "the widest instantiation must cover the documented limit");
}

unsigned column_tiles(const GlaShape& s) { return static_cast<unsigned>((s.value_dim + kTileCols - 1) / kTileCols); }

}  // namespace

void gla_fwd_cuda(const float* q, const float* k, const float* v, const float* log_decay, float* out,
                  float* chunk_states, float* final_state, const GlaShape& s, const GlaOptions& o) {
  const cudaStream_t stream = current_stream();
  check_gla_call(s, o, "gla_fwd_cuda");
  if (!chunk_states) throw std::invalid_argument("gla_fwd_cuda: chunk_states buffer is required");
  if (s.batch == 0) return;
  const GlaDims d = dims_of(s, o);
  const dim3 grid(static_cast<unsigned>(s.batch * s.heads), column_tiles(s));
  with_rows_per_thread(s.key_dim, [&](auto rows) {
    gla_forward_scan_kernel<decltype(rows)::value>
        <<<grid, kThreads, 0, stream>>>({q, k, v, log_decay, nullptr}, d, out, chunk_states, final_state);
  });
  cudaCheckLaunch();
}

void gla_bwd_cuda(const float* q, const float* k, const float* v, const float* log_decay, const float* chunk_states,
                  const float* dout, float* dq, float* dk, float* dv, float* dlog_decay, const GlaShape& s,
                  const GlaOptions& o) {
  const cudaStream_t stream = current_stream();
  check_gla_call(s, o, "gla_bwd_cuda");
  if (s.batch == 0 || s.seq_len == 0) return;
  const GlaDims d = dims_of(s, o);
  const unsigned tiles = column_tiles(s);
  const int64_t n_qk = s.batch * s.seq_len * s.heads * s.key_dim;
  // With one tile the partial sums are the gradients themselves.
  const ScratchFloats partials(nullptr, tiles > 1 ? 2 * n_qk * tiles : 0, stream);
  float* dq_part = tiles > 1 ? partials.data() : dq;
  float* dk_part = tiles > 1 ? partials.data() + n_qk * tiles : dk;
  const unsigned pairs = static_cast<unsigned>(s.batch * s.heads);
  const dim3 chunk_grid(pairs, tiles, static_cast<unsigned>(std::min<int64_t>(d.num_chunks, kMaxGridYZ)));
  with_rows_per_thread(s.key_dim, [&](auto rows) {
    constexpr int R = decltype(rows)::value;
    gla_query_grad_kernel<R>
        <<<chunk_grid, kThreads, 0, stream>>>({nullptr, k, v, log_decay, dout}, d, chunk_states, dq_part, n_qk);
    cudaCheckLaunch();
    gla_reverse_scan_kernel<R>
        <<<dim3(pairs, tiles), kThreads, 0, stream>>>({q, k, v, log_decay, dout}, d, dk_part, n_qk, dv);
    cudaCheckLaunch();
  });
  if (tiles > 1) {
    sum_tile_partials_kernel<<<element_blocks(n_qk), kElementThreads, 0, stream>>>(dq_part, dq, n_qk, tiles);
    cudaCheckLaunch();
    sum_tile_partials_kernel<<<element_blocks(n_qk), kElementThreads, 0, stream>>>(dk_part, dk, n_qk, tiles);
    cudaCheckLaunch();
  }
  if (!dlog_decay) return;
  if (s.channel_decay) {
    const int64_t channels = s.batch * s.heads * s.key_dim;
    channel_decay_grad_kernel<<<element_blocks(channels), kElementThreads, 0, stream>>>(q, k, dq, dk, dlog_decay, d,
                                                                                        channels);
  } else {
    const int64_t warps_per_block = kElementThreads / 32;
    const unsigned blocks = static_cast<unsigned>((s.batch * s.heads + warps_per_block - 1) / warps_per_block);
    scalar_decay_grad_kernel<<<blocks, kElementThreads, 0, stream>>>(q, k, dq, dk, dlog_decay, d, s.batch * s.heads);
  }
  cudaCheckLaunch();
}

std::string gla_cuda_limits(const GlaShape& shape, const GlaOptions& options) {
  const std::string scan = scan_limits(shape);
  return scan.empty() ? gla_decode_limits(shape) : scan;
}

template <>
GlaKernels cuda_kernel_table<GlaKernels>{{}, gla_fwd_cuda, gla_bwd_cuda, gla_decode_cuda, gla_cuda_limits};

}  // namespace seqbench
