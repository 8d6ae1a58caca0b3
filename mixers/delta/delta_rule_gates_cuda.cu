// y = x / sqrt(|x|^2 + eps) per row, b = sigmoid(x), g = -exp(A_log) softplus(x + dt_bias), and exact backward
// passes (fixed-order sums for dA_log, ddt_bias); checked against delta_rule_gates.h in test_gpu_delta.cpp.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "mixers/delta/delta_rule_gates.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/current_stream.cuh"
#include "ops/cuda/launch_grid.cuh"
#include "ops/cuda/scratch_buffer.cuh"
#include "ops/cuda/warp_reduce.cuh"

namespace seqbench {
namespace {

constexpr int kRowWarps = 8;  // rows per block in the one-warp-per-row kernels

// log(1 + e^z) and sigmoid in the overflow-free forms of delta_rule_gates.cpp.
__device__ __forceinline__ float softplus(float z) { return fmaxf(z, 0.0f) + log1pf(expf(-fabsf(z))); }

__device__ __forceinline__ float sigmoid(float z) {
  if (z >= 0.0f) return 1.0f / (1.0f + expf(-z));
  const float e = expf(z);
  return e / (1.0f + e);
}

unsigned row_warp_blocks(int64_t rows) {
  return static_cast<unsigned>(std::min<int64_t>((rows + kRowWarps - 1) / kRowWarps, int64_t{1} << 16));
}

// for (int64_t r = first_row_warp(); r < rows; r += row_warp_stride()): each row taken by one warp.
__device__ __forceinline__ int64_t first_row_warp() {
  return static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
}
__device__ __forceinline__ int64_t row_warp_stride() { return static_cast<int64_t>(gridDim.x) * (blockDim.x / 32); }

// 1 / sqrt(|x_r|^2 + eps) for one row, every lane of the warp receiving it.
__device__ __forceinline__ float inverse_norm(const float* xr, int64_t width, float eps) {
  float sum = 0.0f;
  for (int64_t j = threadIdx.x % 32; j < width; j += 32) sum += xr[j] * xr[j];
  return 1.0f / sqrtf(warp_sum(sum) + eps);
}

// x == y (in place) is allowed: each lane reads its elements before it overwrites them.
__global__ void l2_normalize_rows_fwd_kernel(const float* x, float* y, int64_t rows, int64_t width, float eps) {
  for (int64_t r = first_row_warp(); r < rows; r += row_warp_stride()) {
    const float* xr = x + r * width;
    const float inv = inverse_norm(xr, width, eps);
    for (int64_t j = threadIdx.x % 32; j < width; j += 32) y[r * width + j] = xr[j] * inv;
  }
}

// y . dy = inv (x . dy), so dx = inv dy - inv^3 (x . dy) x.
__global__ void l2_normalize_rows_bwd_kernel(const float* x, const float* dy, float* dx, int64_t rows, int64_t width,
                                             float eps) {
  for (int64_t r = first_row_warp(); r < rows; r += row_warp_stride()) {
    const float *xr = x + r * width, *dyr = dy + r * width;
    const float inv = inverse_norm(xr, width, eps);
    float dot = 0.0f;
    for (int64_t j = threadIdx.x % 32; j < width; j += 32) dot += xr[j] * dyr[j];
    const float proj = inv * inv * inv * warp_sum(dot);
    for (int64_t j = threadIdx.x % 32; j < width; j += 32) dx[r * width + j] = inv * dyr[j] - proj * xr[j];
  }
}

__global__ void sigmoid_fwd_kernel(const float* x, float* y, int64_t n) {
  for (int64_t i = first_element(); i < n; i += element_stride()) y[i] = sigmoid(x[i]);
}

__global__ void sigmoid_bwd_kernel(const float* y, const float* dy, float* dx, int64_t n) {
  for (int64_t i = first_element(); i < n; i += element_stride()) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

__global__ void gated_decay_fwd_kernel(const float* x, const float* a_log, const float* dt_bias, float* log_decay,
                                       int64_t n, int64_t heads) {
  for (int64_t i = first_element(); i < n; i += element_stride()) {
    const int64_t h = i % heads;
    log_decay[i] = -expf(a_log[h]) * softplus(x[i] + dt_bias[h]);
  }
}

// Blocks of 32 heads x 8 row lanes; block (hx, rb) covers rows [rb kBlockRows, (rb + 1) kBlockRows), writes
// dx there and its two sums per head to partial[rb][head][2], each summed in a fixed order.
constexpr int64_t kBlockRows = 256;

__global__ void gated_decay_bwd_rows_kernel(const float* x, const float* a_log, const float* dt_bias,
                                            const float* dlog_decay, float* dx, float* partial, int64_t rows,
                                            int64_t heads, int64_t row_blocks) {
  __shared__ float part_a[8][33], part_dt[8][33];
  const int lane = threadIdx.x % 32, row_lane = threadIdx.x / 32;
  const int64_t h = static_cast<int64_t>(blockIdx.x) * 32 + lane;
  const float a = h < heads ? expf(a_log[h]) : 0.0f, bias = h < heads ? dt_bias[h] : 0.0f;
  for (int64_t rb = blockIdx.y; rb < row_blocks; rb += gridDim.y) {
    float sum_a = 0.0f, sum_dt = 0.0f;
    if (h < heads)
      for (int64_t r = rb * kBlockRows + row_lane; r < min(rows, (rb + 1) * kBlockRows); r += 8) {
        const int64_t i = r * heads + h;
        const float z = x[i] + bias;
        // dg/dz = -a sigmoid(z); dg/dA_log = g itself.
        const float dz = -dlog_decay[i] * a * sigmoid(z);
        dx[i] = dz;
        sum_dt += dz;
        sum_a += dlog_decay[i] * (-a * softplus(z));
      }
    __syncthreads();  // the previous row block's combine has read part_*
    part_a[row_lane][lane] = sum_a;
    part_dt[row_lane][lane] = sum_dt;
    __syncthreads();
    if (row_lane == 0 && h < heads) {
      for (int k = 1; k < 8; ++k) sum_a += part_a[k][lane], sum_dt += part_dt[k][lane];
      partial[(rb * heads + h) * 2] = sum_a;
      partial[(rb * heads + h) * 2 + 1] = sum_dt;
    }
  }
}

// One thread per head adds its row blocks' partials in block order.
__global__ void gated_decay_bwd_sum_kernel(const float* partial, float* da_log, float* ddt_bias, int64_t heads,
                                           int64_t row_blocks) {
  for (int64_t h = first_element(); h < heads; h += element_stride()) {
    float sum_a = 0.0f, sum_dt = 0.0f;
    for (int64_t rb = 0; rb < row_blocks; ++rb) {
      sum_a += partial[(rb * heads + h) * 2];
      sum_dt += partial[(rb * heads + h) * 2 + 1];
    }
    da_log[h] += sum_a;
    ddt_bias[h] += sum_dt;
  }
}

void check_sizes(const char* who, const char* first, int64_t a, const char* second, int64_t b) {
  if (a < 0 || b < 0)
    throw std::invalid_argument(std::string(who) + ": " + first + " and " + second + " must be >= 0, got " +
                                std::to_string(a) + " and " + std::to_string(b));
}

}  // namespace

void l2_normalize_rows_fwd_cuda(const float* x, float* y, int64_t rows, int64_t width, float eps) {
  const cudaStream_t stream = current_stream();
  check_sizes("l2_normalize_rows_fwd_cuda", "rows", rows, "width", width);
  if (rows == 0 || width == 0) return;
  l2_normalize_rows_fwd_kernel<<<row_warp_blocks(rows), 32 * kRowWarps, 0, stream>>>(x, y, rows, width, eps);
  cudaCheckLaunch();
}

void l2_normalize_rows_bwd_cuda(const float* x, const float* dy, float* dx, int64_t rows, int64_t width, float eps) {
  const cudaStream_t stream = current_stream();
  check_sizes("l2_normalize_rows_bwd_cuda", "rows", rows, "width", width);
  if (rows == 0 || width == 0) return;
  l2_normalize_rows_bwd_kernel<<<row_warp_blocks(rows), 32 * kRowWarps, 0, stream>>>(x, dy, dx, rows, width, eps);
  cudaCheckLaunch();
}

void sigmoid_fwd_cuda(const float* x, float* y, int64_t n) {
  const cudaStream_t stream = current_stream();
  check_sizes("sigmoid_fwd_cuda", "n", n, "n", n);
  if (n == 0) return;
  sigmoid_fwd_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(x, y, n);
  cudaCheckLaunch();
}

void sigmoid_bwd_cuda(const float* y, const float* dy, float* dx, int64_t n) {
  const cudaStream_t stream = current_stream();
  check_sizes("sigmoid_bwd_cuda", "n", n, "n", n);
  if (n == 0) return;
  sigmoid_bwd_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(y, dy, dx, n);
  cudaCheckLaunch();
}

void gated_decay_fwd_cuda(const float* x, const float* a_log, const float* dt_bias, float* log_decay, int64_t rows,
                          int64_t heads) {
  const cudaStream_t stream = current_stream();
  check_sizes("gated_decay_fwd_cuda", "rows", rows, "heads", heads);
  const int64_t n = rows * heads;
  if (n == 0) return;
  gated_decay_fwd_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(x, a_log, dt_bias, log_decay, n, heads);
  cudaCheckLaunch();
}

void gated_decay_bwd_cuda(const float* x, const float* a_log, const float* dt_bias, const float* dlog_decay, float* dx,
                          float* da_log, float* ddt_bias, int64_t rows, int64_t heads) {
  const cudaStream_t stream = current_stream();
  check_sizes("gated_decay_bwd_cuda", "rows", rows, "heads", heads);
  if (rows == 0 || heads == 0) return;
  const int64_t row_blocks = (rows + kBlockRows - 1) / kBlockRows;
  const ScratchFloats partial(nullptr, row_blocks * heads * 2, stream);
  const dim3 grid(static_cast<unsigned>((heads + 31) / 32),
                  static_cast<unsigned>(std::min<int64_t>(row_blocks, 65535)));
  gated_decay_bwd_rows_kernel<<<grid, 256, 0, stream>>>(x, a_log, dt_bias, dlog_decay, dx, partial.data(), rows, heads,
                                                        row_blocks);
  cudaCheckLaunch();
  gated_decay_bwd_sum_kernel<<<element_blocks(heads), kElementThreads, 0, stream>>>(partial.data(), da_log, ddt_bias,
                                                                                    heads, row_blocks);
  cudaCheckLaunch();
}

template <>
DeltaRuleGateKernels cuda_kernel_table<DeltaRuleGateKernels>{{},
                                                             l2_normalize_rows_fwd_cuda,
                                                             l2_normalize_rows_bwd_cuda,
                                                             sigmoid_fwd_cuda,
                                                             sigmoid_bwd_cuda,
                                                             gated_decay_fwd_cuda,
                                                             gated_decay_bwd_cuda};

}  // namespace seqbench
