// Softmax cross-entropy (one block per row, then one block that sums the rows' losses in a fixed
// order into the device-resident mean)
// and the row argmax (ties to the lowest index, as on the CPU); checked against the CPU kernels in
// tests/test_gpu_ops.cpp.
#include "ops/cross_entropy.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/current_stream.cuh"
#include "ops/cuda/device_array.h"
#include "ops/cuda/warp_reduce.cuh"

namespace seqbench {
namespace {

constexpr int kThreads = 256;

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

// One block: each thread sums a fixed stride of rows in double, thread 0 adds the threads' sums in
// order; the same order every call, so the loss is deterministic.
__global__ void mean_row_loss_kernel(const float* row_loss, int64_t rows, double* mean_loss) {
  __shared__ double partial[kThreads];
  double sum = 0.0;
  for (int64_t r = threadIdx.x; r < rows; r += kThreads) sum += row_loss[r];
  partial[threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.x != 0) return;
  double total = 0.0;
  for (int t = 0; t < kThreads; ++t) total += partial[t];
  *mean_loss = rows > 0 ? total / static_cast<double>(rows) : 0.0;
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

}  // namespace

void cross_entropy_cuda(const float* logits, const int32_t* targets, float* dlogits, int64_t rows, int64_t vocab,
                        double* mean_loss) {
  const cudaStream_t stream = current_stream();
  // Freed in stream order after the sum below has read it: no wait on the host.
  DeviceArray<float> row_loss(rows);
  if (rows > 0) {
    cross_entropy_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(logits, targets, dlogits,
                                                                               row_loss.data(), rows, vocab);
    cudaCheckLaunch();
  }
  mean_row_loss_kernel<<<1, kThreads, 0, stream>>>(row_loss.data(), rows, mean_loss);
  cudaCheckLaunch();
}

void argmax_rows_cuda(const float* logits, int32_t* out, int64_t rows, int64_t vocab) {
  if (rows == 0) return;
  argmax_rows_kernel<<<static_cast<unsigned>(rows), kThreads, 0, current_stream()>>>(logits, out, vocab);
  cudaCheckLaunch();
}

template <>
CrossEntropyKernels cuda_kernel_table<CrossEntropyKernels>{{}, cross_entropy_cuda, argmax_rows_cuda};

}  // namespace seqbench
