// Shared ops on the GPU: matmul through cuBLAS, LayerNorm, GELU (tanh form), softmax
// cross-entropy, AdamW, dtype conversion; same formulas as the CPU files named in ops_cuda.cuh,
// checked against them in tests/test_gpu_kernels.cpp.
#include <cmath>
#include <mutex>
#include <vector>

#include "ops/cuda/cuda_check.h"
#include "ops/cuda/device_array.h"
#include "ops/cuda/ops_cuda.cuh"
#include "ops/cuda/warp_reduce.cuh"

namespace seqbench {
namespace {

constexpr int kThreads = 256;

unsigned elementwise_blocks(int64_t n) {
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>((n + kThreads - 1) / kThreads, 1 << 16)));
}

#define SEQBENCH_GRID_STRIDE(i, n)                                                          \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

template <class T>
void gemm(const T* a, const T* b, T* c, const MatmulShape& s, cudaDataType_t type, cudaStream_t stream) {
  if (s.m == 0 || s.n == 0) return;
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
  const float alpha = 1.0f, beta = s.accumulate ? 1.0f : 0.0f;
  const cublasOperation_t op_b = s.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, op_a = s.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int64_t ldb = s.trans_b ? s.k : s.n, lda = s.trans_a ? s.m : s.k;
  cublasHandle_t handle = cublas_handle();
  cublasCheck(cublasSetStream(handle, stream));
  cublasCheck(cublasGemmEx(handle, op_b, op_a, static_cast<int>(s.n), static_cast<int>(s.m), static_cast<int>(s.k),
                           &alpha, b, type, static_cast<int>(ldb), a, type, static_cast<int>(lda), &beta, c, type,
                           static_cast<int>(s.n), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

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

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kCubic = 0.044715f;

__global__ void gelu_fwd_kernel(const float* x, float* y, int64_t n) {
  SEQBENCH_GRID_STRIDE(i, n) {
    const float v = x[i];
    y[i] = 0.5f * v * (1.0f + tanhf(kSqrt2OverPi * (v + kCubic * v * v * v)));
  }
}

__global__ void gelu_bwd_kernel(const float* x, const float* dy, float* dx, int64_t n) {
  SEQBENCH_GRID_STRIDE(i, n) {
    const float v = x[i];
    const float t = tanhf(kSqrt2OverPi * (v + kCubic * v * v * v));
    const float grad = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * kSqrt2OverPi * (1.0f + 3.0f * kCubic * v * v);
    dx[i] = grad * dy[i];
  }
}

// One block per row: loss_r = logsumexp(z_r) - z_r[target]; dlogits = (softmax - onehot) / rows.
__global__ void cross_entropy_kernel(const float* logits, const int32_t* targets, float* dlogits, float* row_loss,
                                     int64_t rows, int64_t vocab) {
  const int64_t r = blockIdx.x;
  const float* z = logits + r * vocab;
  float zmax = -INFINITY;
  for (int64_t j = threadIdx.x; j < vocab; j += blockDim.x) zmax = fmaxf(zmax, z[j]);
  zmax = block_max(zmax);
  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j < vocab; j += blockDim.x) sum += expf(z[j] - zmax);
  const float lse = zmax + logf(block_sum(sum));
  const int32_t target = targets[r];
  if (threadIdx.x == 0) row_loss[r] = lse - z[target];
  if (!dlogits) return;
  const float inv_rows = 1.0f / static_cast<float>(rows);
  for (int64_t j = threadIdx.x; j < vocab; j += blockDim.x)
    dlogits[r * vocab + j] = expf(z[j] - lse) * inv_rows - (j == target ? inv_rows : 0.0f);
}

// One block per row; ties go to the lowest index, as on the CPU.
__global__ void argmax_rows_kernel(const float* logits, int32_t* out, int64_t vocab) {
  __shared__ float best_value[32];
  __shared__ int64_t best_index[32];
  const float* z = logits + blockIdx.x * vocab;
  float value = -INFINITY;
  int64_t index = vocab;
  for (int64_t j = threadIdx.x; j < vocab; j += blockDim.x)
    if (z[j] > value || index == vocab) value = z[j], index = j;
  auto better = [](float v, int64_t i, float w, int64_t k) { return w > v || (w == v && k < i); };
  for (int offset = 16; offset > 0; offset >>= 1) {
    const float w = __shfl_xor_sync(0xffffffffu, value, offset);
    const int64_t k = __shfl_xor_sync(0xffffffffu, index, offset);
    if (better(value, index, w, k)) value = w, index = k;
  }
  if (threadIdx.x % 32 == 0) best_value[threadIdx.x / 32] = value, best_index[threadIdx.x / 32] = index;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < static_cast<int>(blockDim.x / 32); ++w)
      if (better(value, index, best_value[w], best_index[w])) value = best_value[w], index = best_index[w];
    out[blockIdx.x] = static_cast<int32_t>(index);
  }
}

__global__ void adamw_kernel(float* param, const float* grad, float* m, float* v, int64_t n, AdamWHyper h, float bc1,
                             float bc2) {
  SEQBENCH_GRID_STRIDE(i, n) {
    const float g = grad[i];
    m[i] = h.beta1 * m[i] + (1.0f - h.beta1) * g;
    v[i] = h.beta2 * v[i] + (1.0f - h.beta2) * g * g;
    const float m_hat = m[i] / bc1, v_hat = v[i] / bc2;
    param[i] -= h.lr * (m_hat / (sqrtf(v_hat) + h.eps) + h.weight_decay * param[i]);
  }
}

template <class From, class To>
__global__ void convert_kernel(const From* src, To* dst, int64_t n) {
  SEQBENCH_GRID_STRIDE(i, n) {
    if constexpr (std::is_same_v<To, float>)
      dst[i] = __bfloat162float(src[i]);
    else
      dst[i] = __float2bfloat16(src[i]);
  }
}

unsigned row_blocks(int64_t rows, int rows_per_block) {
  return static_cast<unsigned>((rows + rows_per_block - 1) / rows_per_block);
}

}  // namespace

cublasHandle_t cublas_handle() {
  static cublasHandle_t handle = [] {
    cublasHandle_t h = nullptr;
    cublasCheck(cublasCreate(&h));
    return h;
  }();
  return handle;
}

void matmul_cuda(const float* a, const float* b, float* c, const MatmulShape& s, cudaStream_t stream) {
  gemm(a, b, c, s, CUDA_R_32F, stream);
}
void matmul_cuda(const __nv_bfloat16* a, const __nv_bfloat16* b, __nv_bfloat16* c, const MatmulShape& s,
                 cudaStream_t stream) {
  gemm(a, b, c, s, CUDA_R_16BF, stream);
}

void layer_norm_fwd_cuda(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                         int64_t rows, int64_t dim, float eps, cudaStream_t stream) {
  if (rows == 0) return;
  layer_norm_fwd_kernel<<<row_blocks(rows, kThreads / 32), kThreads, 0, stream>>>(x, gamma, beta, y, mean, rstd, rows,
                                                                                  static_cast<int>(dim), eps);
  cudaCheckLaunch();
}

void layer_norm_bwd_cuda(const float* dy, const float* x, const float* gamma, const float* mean, const float* rstd,
                         float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t dim, cudaStream_t stream) {
  if (rows == 0) return;
  layer_norm_dx_kernel<<<row_blocks(rows, kThreads / 32), kThreads, 0, stream>>>(dy, x, gamma, mean, rstd, dx, rows,
                                                                                 static_cast<int>(dim));
  cudaCheckLaunch();
  layer_norm_param_grad_kernel<<<row_blocks(dim, 32), kThreads, 0, stream>>>(dy, x, mean, rstd, dgamma, dbeta, rows,
                                                                             static_cast<int>(dim));
  cudaCheckLaunch();
}

void gelu_fwd_cuda(const float* x, float* y, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  gelu_fwd_kernel<<<elementwise_blocks(n), kThreads, 0, stream>>>(x, y, n);
  cudaCheckLaunch();
}

void gelu_bwd_cuda(const float* x, const float* dy, float* dx, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  gelu_bwd_kernel<<<elementwise_blocks(n), kThreads, 0, stream>>>(x, dy, dx, n);
  cudaCheckLaunch();
}

double cross_entropy_cuda(const float* logits, const int32_t* targets, float* dlogits, int64_t rows, int64_t vocab,
                          cudaStream_t stream) {
  if (rows == 0) return 0.0;
  DeviceArray<float> row_loss(rows);
  cross_entropy_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(logits, targets, dlogits, row_loss.data(),
                                                                              rows, vocab);
  cudaCheckLaunch();
  cudaCheck(cudaStreamSynchronize(stream));
  double total = 0.0;
  for (float l : row_loss.download()) total += l;  // fixed order: deterministic
  return total / static_cast<double>(rows);
}

void argmax_rows_cuda(const float* logits, int32_t* out, int64_t rows, int64_t vocab, cudaStream_t stream) {
  if (rows == 0) return;
  argmax_rows_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(logits, out, vocab);
  cudaCheckLaunch();
}

void adamw_update_cuda(float* param, const float* grad, float* m, float* v, int64_t n, const AdamWHyper& h,
                       cudaStream_t stream) {
  if (n == 0) return;
  const float bc1 = 1.0f - std::pow(h.beta1, static_cast<float>(h.step));
  const float bc2 = 1.0f - std::pow(h.beta2, static_cast<float>(h.step));
  adamw_kernel<<<elementwise_blocks(n), kThreads, 0, stream>>>(param, grad, m, v, n, h, bc1, bc2);
  cudaCheckLaunch();
}

void convert_cuda(const float* src, __nv_bfloat16* dst, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  convert_kernel<<<elementwise_blocks(n), kThreads, 0, stream>>>(src, dst, n);
  cudaCheckLaunch();
}

void convert_cuda(const __nv_bfloat16* src, float* dst, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  convert_kernel<<<elementwise_blocks(n), kThreads, 0, stream>>>(src, dst, n);
  cudaCheckLaunch();
}

}  // namespace seqbench
