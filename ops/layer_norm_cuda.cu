// LayerNorm forward and backward on the GPU, one warp per row, same two-pass statistics as the CPU;
// the parameter gradients are column sums in a fixed order (deterministic). Checked against the CPU
// kernels in tests/test_gpu_ops.cpp.
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/current_stream.cuh"
#include "ops/cuda/warp_reduce.cuh"
#include "ops/layer_norm.h"

namespace seqbench {
namespace {

constexpr int kThreads = 256;

// One warp per row: mean, then variance about it (two passes, as the CPU does).
__global__ void layer_norm_fwd_kernel(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                                      float* rstd, int64_t rows, int dim, float eps) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (r >= rows) return;
  const int lane = threadIdx.x % 32;
  const float* xr = x + r * dim;
  float sum = 0.0f;
  for (int i = lane; i < dim; i += 32) sum += xr[i];
  const float mu = warp_sum(sum) / dim;
  float var = 0.0f;
  for (int i = lane; i < dim; i += 32) var += (xr[i] - mu) * (xr[i] - mu);
  const float rs = rsqrtf(warp_sum(var) / dim + eps);
  for (int i = lane; i < dim; i += 32) y[r * dim + i] = (xr[i] - mu) * rs * gamma[i] + beta[i];
  if (lane == 0) mean[r] = mu, rstd[r] = rs;
}

// dx = rstd (g - mean(g) - xhat mean(g xhat)), g = dy gamma; one warp per row.
__global__ void layer_norm_dx_kernel(const float* dy, const float* x, const float* gamma, const float* mean,
                                     const float* rstd, float* dx, int64_t rows, int dim) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (r >= rows) return;
  const int lane = threadIdx.x % 32;
  const float mu = mean[r], rs = rstd[r];
  float mean_g = 0.0f, mean_gx = 0.0f;
  for (int i = lane; i < dim; i += 32) {
    const float g = dy[r * dim + i] * gamma[i];
    mean_g += g;
    mean_gx += g * (x[r * dim + i] - mu) * rs;
  }
  mean_g = warp_sum(mean_g) / dim;
  mean_gx = warp_sum(mean_gx) / dim;
  for (int i = lane; i < dim; i += 32) {
    const float xhat = (x[r * dim + i] - mu) * rs;
    dx[r * dim + i] = rs * (dy[r * dim + i] * gamma[i] - mean_g - xhat * mean_gx);
  }
}

// Column sums over rows for 32 columns per block: 8 row strides, then a fixed-order combine.
__global__ void layer_norm_param_grad_kernel(const float* dy, const float* x, const float* mean, const float* rstd,
                                             float* dgamma, float* dbeta, int64_t rows, int dim) {
  __shared__ float part_g[8][33], part_b[8][33];
  const int col = blockIdx.x * 32 + threadIdx.x % 32, lane_row = threadIdx.x / 32;
  float sg = 0.0f, sb = 0.0f;
  if (col < dim)
    for (int64_t r = lane_row; r < rows; r += 8) {
      const float g = dy[r * dim + col];
      sg += g * (x[r * dim + col] - mean[r]) * rstd[r];
      sb += g;
    }
  part_g[lane_row][threadIdx.x % 32] = sg;
  part_b[lane_row][threadIdx.x % 32] = sb;
  __syncthreads();
  if (lane_row == 0 && col < dim) {
    for (int i = 1; i < 8; ++i) sg += part_g[i][threadIdx.x], sb += part_b[i][threadIdx.x];
    dgamma[col] += sg;
    dbeta[col] += sb;
  }
}

unsigned row_blocks(int64_t rows, int rows_per_block) {
  return static_cast<unsigned>((rows + rows_per_block - 1) / rows_per_block);
}

}  // namespace

void layer_norm_fwd_cuda(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                         int64_t rows, int64_t dim, float eps) {
  if (rows == 0) return;
  layer_norm_fwd_kernel<<<row_blocks(rows, kThreads / 32), kThreads, 0, current_stream()>>>(
      x, gamma, beta, y, mean, rstd, rows, static_cast<int>(dim), eps);
  cudaCheckLaunch();
}

void layer_norm_bwd_cuda(const float* dy, const float* x, const float* gamma, const float* mean, const float* rstd,
                         float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t dim) {
  if (rows == 0) return;
  const cudaStream_t stream = current_stream();
  layer_norm_dx_kernel<<<row_blocks(rows, kThreads / 32), kThreads, 0, stream>>>(dy, x, gamma, mean, rstd, dx, rows,
                                                                                 static_cast<int>(dim));
  cudaCheckLaunch();
  layer_norm_param_grad_kernel<<<row_blocks(dim, 32), kThreads, 0, stream>>>(dy, x, mean, rstd, dgamma, dbeta, rows,
                                                                             static_cast<int>(dim));
  cudaCheckLaunch();
}

template <>
LayerNormKernels cuda_kernel_table<LayerNormKernels>{{}, layer_norm_fwd_cuda, layer_norm_bwd_cuda};

}  // namespace seqbench
