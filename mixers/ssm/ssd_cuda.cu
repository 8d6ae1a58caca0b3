// SSD as scalar-decay GLA: dt = softplus(dt_raw + dt_bias), q = C, k = dt B, v = x, log decay = -dt e^{A_log},
// y = scan + D x; backward dx = dv + D dy, dC = sum_h dq, dB = sum_h dt dk, d dt = (B . dk + A dg) sigmoid(.).
// Checked against ssd_{fwd,bwd,decode}_cpu in test_gpu_ssm.cpp.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "mixers/gla/gla.h"
#include "mixers/ssm/ssd.h"
#include "mixers/ssm/ssd_scan.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/current_stream.cuh"
#include "ops/cuda/launch_grid.cuh"
#include "ops/cuda/warp_reduce.cuh"

namespace seqbench {
namespace {

constexpr int kRowThreads = 128;  // threads of a block that handles one row (b, t) at a time
constexpr int64_t kMaxRowBlocks = 1 << 16;
constexpr int kParamThreads = 256;
constexpr int64_t kParamSlices = 64;  // row slices summed separately, then combined in slice order

struct SsdDims {
  int64_t rows;
  int heads, head_dim, state_dim;
};

// Same formulas as ssd_cpu.cpp (expf/log1pf here, std:: there: a few ulps apart).
__device__ __forceinline__ float softplus(float x) { return x > 20.0f ? x : log1pf(expf(x)); }
__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

unsigned row_blocks(int64_t rows) { return static_cast<unsigned>(std::max<int64_t>(1, std::min(rows, kMaxRowBlocks))); }

// The scan inputs, row (b, t) per block: [rows, heads, .] like the GLA layout.
__global__ void ssd_scan_inputs_kernel(SsdInputs in, SsdDims d, float* dt, float* q, float* k, float* v,
                                       float* log_decay) {
  const int H = d.heads, N = d.state_dim, P = d.head_dim;
  for (int64_t r = blockIdx.x; r < d.rows; r += gridDim.x) {
    const float* b = in.b + r * in.bc_stride;
    const float* c = in.c + r * in.bc_stride;
    const float* dt_raw = in.dt_raw + r * in.dt_stride;
    for (int idx = threadIdx.x; idx < H * N; idx += blockDim.x) {
      const int h = idx / N, n = idx % N;
      q[r * H * N + idx] = c[n];
      k[r * H * N + idx] = softplus(dt_raw[h] + in.dt_bias[h]) * b[n];
    }
    for (int idx = threadIdx.x; idx < H * P; idx += blockDim.x) v[r * H * P + idx] = in.x[r * in.x_stride + idx];
    for (int h = threadIdx.x; h < H; h += blockDim.x) {
      const float step = softplus(dt_raw[h] + in.dt_bias[h]);
      dt[r * H + h] = step;
      log_decay[r * H + h] = -step * expf(in.a_log[h]);
    }
  }
}

// y += D x per head.
__global__ void ssd_add_skip_kernel(SsdInputs in, SsdDims d, float* y) {
  const int64_t width = static_cast<int64_t>(d.heads) * d.head_dim, n = d.rows * width;
  for (int64_t i = first_element(); i < n; i += element_stride()) {
    const int64_t r = i / width, col = i % width;
    y[i] += in.d_skip[col / d.head_dim] * in.x[r * in.x_stride + col];
  }
}

struct ScanGrads {
  const float *dt, *dq, *dk, *dv, *dlog_decay;
};

// Row (b, t) per block: dx, dB, dC (sums over heads in head order) and d dt_raw (a warp per head).
__global__ void ssd_row_grads_kernel(SsdInputs in, const float* dy, SsdGrads g, ScanGrads s, SsdDims d) {
  const int H = d.heads, N = d.state_dim, P = d.head_dim;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  for (int64_t r = blockIdx.x; r < d.rows; r += gridDim.x) {
    for (int idx = threadIdx.x; idx < H * P; idx += blockDim.x)
      g.dx[r * g.dx_stride + idx] = s.dv[r * H * P + idx] + in.d_skip[idx / P] * dy[r * H * P + idx];
    for (int n = threadIdx.x; n < N; n += blockDim.x) {
      float dc = 0.0f, db = 0.0f;
      for (int h = 0; h < H; ++h) {
        const int64_t at = (r * H + h) * N + n;
        dc += s.dq[at];
        db += s.dt[r * H + h] * s.dk[at];
      }
      g.dc[r * g.dbc_stride + n] = dc;
      g.db[r * g.dbc_stride + n] = db;
    }
    const float* b = in.b + r * in.bc_stride;
    for (int h = warp; h < H; h += warps) {  // the same h for the whole warp: warp_sum is safe
      float dot = 0.0f;
      for (int n = lane; n < N; n += 32) dot += b[n] * s.dk[(r * H + h) * N + n];
      dot = warp_sum(dot);
      if (lane == 0) {
        const float a = -expf(in.a_log[h]), pre = in.dt_raw[r * in.dt_stride + h] + in.dt_bias[h];
        g.ddt_raw[r * g.ddt_stride + h] = (dot + a * s.dlog_decay[r * H + h]) * sigmoid(pre);
      }
    }
  }
}

// Block (h, slice): this slice's sums of d dt_bias, d A_log (log decay is its own derivative in A_log)
// and d D = dy . x, stored as partials[(h * slices + slice) * 3 + {0, 1, 2}].
__global__ void ssd_param_partials_kernel(SsdInputs in, const float* dy, SsdGrads g, const float* dlog_decay,
                                          const float* log_decay, SsdDims d, float* partials) {
  const int h = blockIdx.x, H = d.heads, P = d.head_dim;
  const int64_t slices = gridDim.y, r0 = d.rows * blockIdx.y / slices, r1 = d.rows * (blockIdx.y + 1) / slices;
  float bias = 0.0f, a_log = 0.0f, skip = 0.0f;
  for (int64_t r = r0 + threadIdx.x; r < r1; r += blockDim.x) {
    bias += g.ddt_raw[r * g.ddt_stride + h];
    a_log += dlog_decay[r * H + h] * log_decay[r * H + h];
  }
  for (int64_t i = r0 * P + threadIdx.x; i < r1 * P; i += blockDim.x) {
    const int64_t r = i / P, p = i % P;
    skip += dy[(r * H + h) * P + p] * in.x[r * in.x_stride + h * P + p];
  }
  bias = block_sum(bias);
  a_log = block_sum(a_log);
  skip = block_sum(skip);
  if (threadIdx.x == 0) {
    float* out = partials + (static_cast<int64_t>(h) * slices + blockIdx.y) * 3;
    out[0] = bias, out[1] = a_log, out[2] = skip;
  }
}

// Accumulates each head's slice partials, in slice order, onto the parameter gradients.
__global__ void ssd_param_grads_kernel(const float* partials, int64_t slices, SsdGrads g, int heads) {
  const int h = blockIdx.x * blockDim.x + threadIdx.x;
  if (h >= heads) return;
  float bias = 0.0f, a_log = 0.0f, skip = 0.0f;
  for (int64_t s = 0; s < slices; ++s) {
    const float* p = partials + (h * slices + s) * 3;
    bias += p[0], a_log += p[1], skip += p[2];
  }
  g.ddt_bias[h] += bias;
  g.da_log[h] += a_log;
  g.dd_skip[h] += skip;
}

SsdDims dims_of(const SsdShape& s) {
  return {s.batch * s.seq_len, static_cast<int>(s.heads), static_cast<int>(s.head_dim), static_cast<int>(s.state_dim)};
}

// Zero-filled on reallocation only: a workspace reused at the same size keeps its buffers.
void ensure_on_gpu(Tensor& t, int64_t n) { t.resize({n}, Device::cuda); }

void check_shape(const SsdShape& s, const char* who) {
  if (s.batch < 0 || s.seq_len < 0 || s.heads < 1 || s.head_dim < 1 || s.state_dim < 1)
    throw std::invalid_argument(std::string(who) + ": bad shape batch=" + std::to_string(s.batch) +
                                " seq_len=" + std::to_string(s.seq_len) + " heads=" + std::to_string(s.heads) +
                                " head_dim=" + std::to_string(s.head_dim) +
                                " state_dim=" + std::to_string(s.state_dim));
}

void build_scan_inputs(const SsdInputs& in, SsdWorkspace& ws, const SsdShape& s, cudaStream_t stream) {
  const SsdDims d = dims_of(s);
  size_ssd_scan_inputs(ws, s, Device::cuda);
  if (d.rows == 0) return;
  ssd_scan_inputs_kernel<<<row_blocks(d.rows), kRowThreads, 0, stream>>>(in, d, ws.dt.data(), ws.q.data(), ws.k.data(),
                                                                         ws.v.data(), ws.log_decay.data());
  cudaCheckLaunch();
}

void add_skip(const SsdInputs& in, float* y, const SsdShape& s, cudaStream_t stream) {
  const SsdDims d = dims_of(s);
  const int64_t n = d.rows * s.heads * s.head_dim;
  if (n == 0) return;
  ssd_add_skip_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(in, d, y);
  cudaCheckLaunch();
}

// The backward reads what the forward left: it must be a GPU forward of this shape.
void check_forward_workspace(const SsdWorkspace& ws, const SsdShape& s, int64_t chunk_size) {
  const int64_t rows = s.batch * s.seq_len,
                states = s.batch * s.heads * gla_num_chunks(s.seq_len, chunk_size) * s.state_dim * s.head_dim;
  if (ws.q.device() != Device::cuda || ws.q.numel() != rows * s.heads * s.state_dim ||
      ws.chunk_states.numel() != states)
    throw std::invalid_argument("ssd_bwd_cuda: the workspace holds " + shape_string(ws.q.shape()) + " scan inputs on " +
                                device_name(ws.q.device()) + ", expected those of ssd_fwd_cuda at this shape (" +
                                std::to_string(rows * s.heads * s.state_dim) + " on cuda)");
}

}  // namespace

void ssd_fwd_cuda(const SsdInputs& in, float* y, float* final_state, SsdWorkspace& ws, const SsdShape& s,
                  int64_t chunk_size) {
  const cudaStream_t stream = current_stream();
  check_shape(s, "ssd_fwd_cuda");
  if (chunk_size < 1)
    throw std::invalid_argument("ssd_fwd_cuda: chunk_size must be >= 1, got " + std::to_string(chunk_size));
  build_scan_inputs(in, ws, s, stream);
  ensure_on_gpu(ws.chunk_states, s.batch * s.heads * gla_num_chunks(s.seq_len, chunk_size) * s.state_dim * s.head_dim);
  if (s.batch * s.seq_len == 0) {  // no tokens: the state stays zero
    if (final_state && s.batch > 0)
      cudaCheck(cudaMemsetAsync(final_state, 0, s.batch * s.heads * s.state_dim * s.head_dim * sizeof(float), stream));
    return;
  }
  GlaKernels::cuda().fwd(ws.q.data(), ws.k.data(), ws.v.data(), ws.log_decay.data(), y, ws.chunk_states.data(),
                         final_state, ssd_scan_shape(s), {chunk_size, 1.0f});
  add_skip(in, y, s, stream);
}

void ssd_bwd_cuda(const SsdInputs& in, const float* dy, const SsdGrads& g, SsdWorkspace& ws, const SsdShape& s,
                  int64_t chunk_size) {
  const cudaStream_t stream = current_stream();
  check_shape(s, "ssd_bwd_cuda");
  if (chunk_size < 1)
    throw std::invalid_argument("ssd_bwd_cuda: chunk_size must be >= 1, got " + std::to_string(chunk_size));
  const SsdDims d = dims_of(s);
  const int64_t rows = d.rows, H = s.heads;
  if (rows == 0) return;  // nothing to differentiate; the parameter gradients keep what they held
  check_forward_workspace(ws, s, chunk_size);
  run_ssd_scan_bwd(dy, ws, s, chunk_size, Device::cuda);
  const ScanGrads scan{ws.dt.data(), ws.dq.data(), ws.dk.data(), ws.dv.data(), ws.dlog_decay.data()};
  ssd_row_grads_kernel<<<row_blocks(rows), kRowThreads, 0, stream>>>(in, dy, g, scan, d);
  cudaCheckLaunch();

  const int64_t slices = std::min(kParamSlices, rows);
  ensure_on_gpu(ws.param_partials, H * slices * 3);
  ssd_param_partials_kernel<<<dim3(static_cast<unsigned>(H), static_cast<unsigned>(slices)), kParamThreads, 0,
                              stream>>>(in, dy, g, ws.dlog_decay.data(), ws.log_decay.data(), d,
                                        ws.param_partials.data());
  cudaCheckLaunch();
  ssd_param_grads_kernel<<<static_cast<unsigned>((H + 127) / 128), 128, 0, stream>>>(ws.param_partials.data(), slices,
                                                                                     g, static_cast<int>(H));
  cudaCheckLaunch();
}

void ssd_decode_cuda(const SsdInputs& in_t, float* state, float* y_t, SsdWorkspace& ws, const SsdShape& shape) {
  const cudaStream_t stream = current_stream();
  SsdShape s = shape;
  s.seq_len = 1;
  check_shape(s, "ssd_decode_cuda");
  build_scan_inputs(in_t, ws, s, stream);
  if (s.batch == 0) return;
  GlaKernels::cuda().decode(ws.q.data(), ws.k.data(), ws.v.data(), ws.log_decay.data(), state, y_t, ssd_scan_shape(s),
                            {1, 1.0f});
  add_skip(in_t, y_t, s, stream);
}

std::string ssd_cuda_limits(const SsdShape& s) {
  return GlaKernels::cuda().unsupported(ssd_scan_shape(s), GlaOptions{});
}

template <>
SsdKernels cuda_kernel_table<SsdKernels>{{}, ssd_fwd_cuda, ssd_bwd_cuda, ssd_decode_cuda, ssd_cuda_limits};

}  // namespace seqbench
