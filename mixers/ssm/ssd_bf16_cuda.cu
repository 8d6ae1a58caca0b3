// SSD on the bf16 GLA kernels: v = dt x and g = dt A in, then the GLA forward with q = C, k = B read in place
// (qk_heads = groups); backward maps the GLA gradients back: dC, dB = group sums of dq, dk, dx = dt dv,
// d dt = x . dv + A dg, dA = sum_t dt dg. Checked against ssd_fwd_cpu / ssd_bwd_cpu in test_gpu_ssm.cpp.
#include <cuda_bf16.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "mixers/gla/gla_scalar_bf16.cuh"
#include "mixers/ssm/ssd_bf16.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/launch_grid.cuh"
#include "ops/cuda/warp_reduce.cuh"

namespace seqbench {
namespace {

using bf16 = __nv_bfloat16;

struct Dims {
  int64_t rows;  // batch * seq_len
  int H, P, N, G;
};

// v = dt x (8 values per thread, 16 bytes; skipped when v is null) and g = dt A.
__global__ void scan_inputs_kernel(const bf16* __restrict__ x, const float* __restrict__ dt,
                                   const float* __restrict__ a, bf16* __restrict__ v, float* __restrict__ g, Dims d) {
  const int64_t heads = d.rows * d.H, groups = heads * d.P / 8;
  for (int64_t i = first_element(); v && i < groups; i += element_stride()) {
    const float step = dt[i * 8 / d.P];
    const uint4 in = reinterpret_cast<const uint4*>(x)[i];
    uint4 out;
    const __nv_bfloat162* src = reinterpret_cast<const __nv_bfloat162*>(&in);
    __nv_bfloat162* dst = reinterpret_cast<__nv_bfloat162*>(&out);
#pragma unroll
    for (int e = 0; e < 4; ++e) dst[e] = __floats2bfloat162_rn(step * __low2float(src[e]), step * __high2float(src[e]));
    reinterpret_cast<uint4*>(v)[i] = out;
  }
  for (int64_t i = first_element(); i < heads; i += element_stride()) g[i] = dt[i] * a[i % d.H];
}

constexpr int kRowThreads = 128;
constexpr int64_t kMaxRowBlocks = 1 << 16;

// Row (b, t) per block: dC and dB (sums over the group's heads in head order), dx, and d dt (a warp per head).
__global__ void row_grads_kernel(const bf16* __restrict__ x, const float* __restrict__ dt, const float* __restrict__ a,
                                 const bf16* __restrict__ dq, const bf16* __restrict__ dk, const bf16* __restrict__ dv,
                                 const float* __restrict__ dg, bf16* __restrict__ dx, float* __restrict__ ddt,
                                 bf16* __restrict__ db, bf16* __restrict__ dc, Dims d) {
  const int H = d.H, P = d.P, N = d.N, per_group = d.H / d.G;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  for (int64_t r = blockIdx.x; r < d.rows; r += gridDim.x) {
    for (int idx = threadIdx.x; idx < d.G * N; idx += blockDim.x) {
      const int group = idx / N, n = idx % N;
      float sum_q = 0.0f, sum_k = 0.0f;
      for (int h = group * per_group; h < (group + 1) * per_group; ++h) {
        const int64_t at = (r * H + h) * N + n;
        sum_q += __bfloat162float(dq[at]);
        sum_k += __bfloat162float(dk[at]);
      }
      dc[r * d.G * N + idx] = __float2bfloat16(sum_q);
      db[r * d.G * N + idx] = __float2bfloat16(sum_k);
    }
    for (int idx = threadIdx.x; idx < H * P; idx += blockDim.x)
      dx[r * H * P + idx] = __float2bfloat16(dt[r * H + idx / P] * __bfloat162float(dv[r * H * P + idx]));
    for (int h = warp; h < H; h += warps) {  // one head per warp: warp_sum is safe
      float dot = 0.0f;
      for (int p = lane; p < P; p += 32) {
        const int64_t at = (r * H + h) * P + p;
        dot += __bfloat162float(x[at]) * __bfloat162float(dv[at]);
      }
      dot = warp_sum(dot);
      if (lane == 0) ddt[r * H + h] = dot + a[h] * dg[r * H + h];
    }
  }
}

// dA_h = sum over every (b, t) of dt dg in a fixed order: block (h, slice) sums its slice of the rows into
// partials[h * slices + slice] (enough blocks to keep the strided reads in flight), then one thread per
// head adds its slices in order.
constexpr int kRateSlices = 64;

__global__ void decay_rate_partials_kernel(const float* __restrict__ dt, const float* __restrict__ dg,
                                           float* __restrict__ partials, Dims d) {
  const int h = blockIdx.x;
  const int64_t r0 = d.rows * blockIdx.y / kRateSlices, r1 = d.rows * (blockIdx.y + 1) / kRateSlices;
  float sum = 0.0f;
  for (int64_t r = r0 + threadIdx.x; r < r1; r += blockDim.x) sum += dt[r * d.H + h] * dg[r * d.H + h];
  sum = block_sum(sum);
  if (threadIdx.x == 0) partials[h * kRateSlices + blockIdx.y] = sum;
}

__global__ void decay_rate_grad_kernel(const float* __restrict__ partials, float* __restrict__ da, int heads) {
  const int h = blockIdx.x * blockDim.x + threadIdx.x;
  if (h >= heads) return;
  float sum = 0.0f;
  for (int s = 0; s < kRateSlices; ++s) sum += partials[h * kRateSlices + s];
  da[h] = sum;
}

GlaShape scan_shape(const SsdBf16Shape& s) { return {s.batch, s.seq_len, s.heads, s.state_dim, s.head_dim, false}; }

Dims dims_of(const SsdBf16Shape& s) {
  return {s.batch * s.seq_len, static_cast<int>(s.heads), static_cast<int>(s.head_dim), static_cast<int>(s.state_dim),
          static_cast<int>(s.groups)};
}

int64_t round4(int64_t floats) { return (floats + 3) / 4 * 4; }  // keeps every part 16-byte aligned

// The workspace's parts, in order; the backward-only ones last.
struct Parts {
  bf16* v;
  float* g;
  float* gla;
  bf16 *dq, *dk, *dv;
  float* dg;
};

Parts parts_of(float* w, const SsdBf16Shape& s) {
  const int64_t heads = s.batch * s.seq_len * s.heads;
  Parts p;
  p.v = reinterpret_cast<bf16*>(w);
  p.g = w += round4(heads * s.head_dim / 2);
  p.gla = w += round4(heads);
  p.dq = reinterpret_cast<bf16*>(w += round4(gla_scalar_workspace_floats(scan_shape(s))));
  p.dk = reinterpret_cast<bf16*>(w += round4(heads * s.state_dim / 2));
  p.dv = reinterpret_cast<bf16*>(w += round4(heads * s.state_dim / 2));
  p.dg = w += round4(heads * s.head_dim / 2);
  return p;
}

void check(const SsdBf16Shape& s, const char* who) {
  const std::string why = ssd_bf16_unsupported(s);
  if (!why.empty()) throw std::invalid_argument(std::string(who) + ": " + why);
}

// g, and v when non-null.
void build_scan_inputs(const bf16* x, const float* dt, const float* a, bf16* v, float* g, const SsdBf16Shape& s,
                       cudaStream_t stream) {
  const Dims d = dims_of(s);
  const int64_t n = v ? d.rows * d.H * d.P / 8 : d.rows * d.H;
  scan_inputs_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(x, dt, a, v, g, d);
  cudaCheckLaunch();
}

}  // namespace

std::string ssd_bf16_unsupported(const SsdBf16Shape& s) {
  if (s.groups < 1 || s.heads % s.groups != 0)
    return "groups=" + std::to_string(s.groups) + " must divide heads=" + std::to_string(s.heads);
  const std::string why = gla_scalar_tc_unsupported(scan_shape(s), {64, 1.0f});
  return why.empty() ? why : why + " (key_dim is the state size N, value_dim the head size P)";
}

int64_t ssd_bf16_chunk_state_elements(const SsdBf16Shape& s) { return gla_scalar_chunk_state_elements(scan_shape(s)); }

int64_t ssd_bf16_workspace_floats(const SsdBf16Shape& s) {
  const int64_t heads = s.batch * s.seq_len * s.heads;
  return round4(heads * s.head_dim / 2) + round4(heads) + round4(gla_scalar_workspace_floats(scan_shape(s))) +
         2 * round4(heads * s.state_dim / 2) + round4(heads * s.head_dim / 2) + round4(heads);
}

void ssd_bf16_fwd_cuda(const bf16* x, const float* dt, const float* a, const bf16* b, const bf16* c, bf16* y,
                       bf16* chunk_states, float* final_state, float* workspace, const SsdBf16Shape& s,
                       GlaScalarFwdVariant variant, cudaStream_t stream) {
  check(s, "ssd_bf16_fwd_cuda");
  if (s.batch * s.seq_len == 0) {  // no tokens: the state stays zero
    if (final_state && s.batch > 0)
      cudaCheck(cudaMemsetAsync(final_state, 0, s.batch * s.heads * s.state_dim * s.head_dim * sizeof(float), stream));
    return;
  }
  if (!x || !dt || !a || !workspace) throw std::invalid_argument("ssd_bf16_fwd_cuda: a required buffer is null");
  if (reinterpret_cast<uintptr_t>(x) % 16 || reinterpret_cast<uintptr_t>(workspace) % 16)
    throw std::invalid_argument("ssd_bf16_fwd_cuda: x or workspace is not 16-byte aligned (read 16 bytes at a time)");
  // v = dt x enters as x with a per-token value scale: no copy of x.
  const Parts w = parts_of(workspace, s);
  build_scan_inputs(x, dt, a, nullptr, w.g, s, stream);
  gla_scalar_fwd_cuda(c, b, x, w.g, y, chunk_states, final_state, w.gla, scan_shape(s), {64, 1.0f}, variant,
                      s.groups, dt, stream);
}

void ssd_bf16_bwd_cuda(const bf16* x, const float* dt, const float* a, const bf16* b, const bf16* c,
                       const bf16* chunk_states, const bf16* dy, bf16* dx, float* ddt, float* da, bf16* db, bf16* dc,
                       float* workspace, const SsdBf16Shape& s, cudaStream_t stream) {
  check(s, "ssd_bf16_bwd_cuda");
  const Dims d = dims_of(s);
  if (d.rows == 0) {  // no tokens: nothing depends on A
    if (da && s.heads > 0) cudaCheck(cudaMemsetAsync(da, 0, s.heads * sizeof(float), stream));
    return;
  }
  for (const void* p :
       {static_cast<const void*>(x), static_cast<const void*>(dt), static_cast<const void*>(a),
        static_cast<const void*>(dx), static_cast<const void*>(ddt), static_cast<const void*>(da),
        static_cast<const void*>(db), static_cast<const void*>(dc), static_cast<const void*>(workspace)})
    if (!p) throw std::invalid_argument("ssd_bf16_bwd_cuda: a required buffer is null");
  if (reinterpret_cast<uintptr_t>(x) % 16 || reinterpret_cast<uintptr_t>(workspace) % 16)
    throw std::invalid_argument("ssd_bf16_bwd_cuda: x or workspace is not 16-byte aligned (read 16 bytes at a time)");
  const Parts w = parts_of(workspace, s);
  build_scan_inputs(x, dt, a, w.v, w.g, s, stream);  // v itself (backward reads it), so no forward workspace needed
  gla_scalar_bwd_cuda(c, b, w.v, w.g, chunk_states, dy, w.dq, w.dk, w.dv, w.dg, w.gla, scan_shape(s), {64, 1.0f},
                      s.groups, stream);
  const unsigned blocks = static_cast<unsigned>(std::min(d.rows, kMaxRowBlocks));
  row_grads_kernel<<<blocks, kRowThreads, 0, stream>>>(x, dt, a, w.dq, w.dk, w.dv, w.dg, dx, ddt, db, dc, d);
  cudaCheckLaunch();
  float* partials = w.gla;  // the GLA workspace is free again
  decay_rate_partials_kernel<<<dim3(d.H, kRateSlices), 256, 0, stream>>>(dt, w.dg, partials, d);
  cudaCheckLaunch();
  decay_rate_grad_kernel<<<(d.H + 127) / 128, 128, 0, stream>>>(partials, da, d.H);
  cudaCheckLaunch();
}

}  // namespace seqbench
