// ops/row_ops.h on the GPU: y += alpha x, x *= alpha, sum of squares (one block, fixed order),
// bias rows and the bias gradient (per-chunk column sums, then the chunks in order: deterministic).
// Checked against the CPU versions in tests/test_gpu_ops.cpp.
#include <algorithm>

#include "ops/cuda/cuda_check.h"
#include "ops/cuda/current_stream.cuh"
#include "ops/cuda/scratch_buffer.cuh"
#include "ops/row_ops.h"

namespace seqbench {
namespace {

constexpr int kThreads = 256;
constexpr int kColumnsPerBlock = 32, kRowLanes = 8, kRowsPerChunk = 256;

unsigned grid_for(int64_t n) {
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>((n + kThreads - 1) / kThreads, 1 << 16)));
}

__global__ void axpy_kernel(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] += alpha * x[i];
}

__global__ void scale_kernel(float alpha, float* x, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    x[i] *= alpha;
}

// One block of kThreads: each thread sums a fixed stride of elements in double, thread 0 adds the
// threads' sums in order.
__global__ void sum_of_squares_kernel(const float* x, int64_t n, double* out) {
  __shared__ double partial[kThreads];
  double sum = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += kThreads) sum += static_cast<double>(x[i]) * x[i];
  partial[threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.x != 0) return;
  double total = 0.0;
  for (int t = 0; t < kThreads; ++t) total += partial[t];
  *out = total;
}

__global__ void add_bias_rows_kernel(const float* bias, float* y, int64_t rows, int64_t width) {
  const int64_t n = rows * width;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] += bias[i % width];
}

// Block (column tile, row chunk): partial[chunk, c] = sum of the chunk's rows of column c, the
// kRowLanes lanes of a column each summing every kRowLanes-th row, then added in lane order.
__global__ void column_chunk_sums_kernel(const float* dy, float* partial, int64_t rows, int64_t width) {
  __shared__ float lane_sums[kRowLanes][kColumnsPerBlock];
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kColumnsPerBlock + threadIdx.x;
  const int64_t first = static_cast<int64_t>(blockIdx.y) * kRowsPerChunk;
  const int64_t last = min(first + kRowsPerChunk, rows);
  float sum = 0.0f;
  if (c < width)
    for (int64_t r = first + threadIdx.y; r < last; r += kRowLanes) sum += dy[r * width + c];
  lane_sums[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y != 0 || c >= width) return;
  float total = 0.0f;
  for (int lane = 0; lane < kRowLanes; ++lane) total += lane_sums[lane][threadIdx.x];
  partial[blockIdx.y * width + c] = total;
}

__global__ void add_chunk_sums_kernel(const float* partial, int64_t chunks, float* dbias, int64_t width) {
  const int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (c >= width) return;
  float total = 0.0f;
  for (int64_t k = 0; k < chunks; ++k) total += partial[k * width + c];
  dbias[c] += total;
}

}  // namespace

void axpy_cuda(float alpha, const float* x, float* y, int64_t n) {
  const cudaStream_t stream = current_stream();
  if (n <= 0) return;
  axpy_kernel<<<grid_for(n), kThreads, 0, stream>>>(alpha, x, y, n);
  cudaCheckLaunch();
}

void scale_cuda(float alpha, float* x, int64_t n) {
  const cudaStream_t stream = current_stream();
  if (n <= 0) return;
  scale_kernel<<<grid_for(n), kThreads, 0, stream>>>(alpha, x, n);
  cudaCheckLaunch();
}

double sum_of_squares_cuda(const float* x, int64_t n) {
  const cudaStream_t stream = current_stream();
  if (n <= 0) return 0.0;
  DeviceArray<double> out(1);
  sum_of_squares_kernel<<<1, kThreads, 0, stream>>>(x, n, out.data());
  cudaCheckLaunch();
  double host = 0.0;
  cudaCheck(cudaMemcpyAsync(&host, out.data(), sizeof(double), cudaMemcpyDeviceToHost, stream));
  cudaCheck(cudaStreamSynchronize(stream));
  return host;
}

void add_bias_rows_cuda(const float* bias, float* y, int64_t rows, int64_t width) {
  const cudaStream_t stream = current_stream();
  if (rows <= 0 || width <= 0) return;
  add_bias_rows_kernel<<<grid_for(rows * width), kThreads, 0, stream>>>(bias, y, rows, width);
  cudaCheckLaunch();
}

void bias_grad_rows_cuda(const float* dy, float* dbias, int64_t rows, int64_t width) {
  const cudaStream_t stream = current_stream();
  if (rows <= 0 || width <= 0) return;
  const int64_t chunks = (rows + kRowsPerChunk - 1) / kRowsPerChunk;
  ScratchFloats partial(nullptr, chunks * width, stream);
  const dim3 grid(static_cast<unsigned>((width + kColumnsPerBlock - 1) / kColumnsPerBlock),
                  static_cast<unsigned>(chunks));
  column_chunk_sums_kernel<<<grid, dim3(kColumnsPerBlock, kRowLanes), 0, stream>>>(dy, partial.data(), rows, width);
  cudaCheckLaunch();
  add_chunk_sums_kernel<<<grid_for(width), kThreads, 0, stream>>>(partial.data(), chunks, dbias, width);
  cudaCheckLaunch();
}

void copy_rows_cuda(const float* src, int64_t src_stride, float* dst, int64_t dst_stride, int64_t rows, int64_t width) {
  const cudaStream_t stream = current_stream();
  if (rows <= 0 || width <= 0) return;
  cudaCheck(cudaMemcpy2DAsync(
      dst, static_cast<size_t>(dst_stride) * sizeof(float), src, static_cast<size_t>(src_stride) * sizeof(float),
      static_cast<size_t>(width) * sizeof(float), static_cast<size_t>(rows), cudaMemcpyDeviceToDevice, stream));
}

template <>
RowOpKernels cuda_kernel_table<RowOpKernels>{
    {}, axpy_cuda, scale_cuda, sum_of_squares_cuda, add_bias_rows_cuda, bias_grad_rows_cuda, copy_rows_cuda};

}  // namespace seqbench
