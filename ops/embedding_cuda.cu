// Embedding lookup (out[r] = table[ids[r]]), position rows, and their gradients as per-destination
// sums over ascending sources (no atomics, the CPU's order); checked against embedding_cpu.cpp
// in tests/test_gpu_ops.cpp.
#include <algorithm>

#include "ops/cuda/cuda_check.h"
#include "ops/cuda/current_stream.cuh"
#include "ops/embedding.h"

namespace seqbench {
namespace {

constexpr int kThreads = 256;

unsigned grid_for(int64_t n) {
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>((n + kThreads - 1) / kThreads, 1 << 16)));
}

__global__ void gather_kernel(const float* table, const int32_t* ids, float* out, int64_t rows, int64_t width) {
  const int64_t n = rows * width;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = table[static_cast<int64_t>(ids[i / width]) * width + i % width];
}

// One block per group; threads stride over the row's columns.
__global__ void grouped_grad_kernel(const float* dout, RowGroups groups, float* dtable, int64_t width) {
  const int64_t g = blockIdx.x;
  float* dst = dtable + static_cast<int64_t>(groups.target[g]) * width;
  const int32_t first = groups.begin[g], last = groups.begin[g + 1];
  for (int64_t c = threadIdx.x; c < width; c += blockDim.x) {
    float sum = dst[c];
    for (int32_t s = first; s < last; ++s) sum += dout[static_cast<int64_t>(groups.order[s]) * width + c];
    dst[c] = sum;
  }
}

__global__ void add_position_kernel(const float* pos, float* out, int64_t batch, int64_t seq_len, int64_t width) {
  const int64_t n = batch * seq_len * width, per_sequence = seq_len * width;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] += pos[i % per_sequence];
}

// One thread per (t, column), summing the batch in order.
__global__ void position_grad_kernel(const float* dout, float* dpos, int64_t batch, int64_t seq_len, int64_t width) {
  const int64_t per_sequence = seq_len * width;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < per_sequence;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float sum = dpos[i];
    for (int64_t b = 0; b < batch; ++b) sum += dout[b * per_sequence + i];
    dpos[i] = sum;
  }
}

}  // namespace

void embedding_gather_cuda(const float* table, const int32_t* ids, float* out, int64_t rows, int64_t width) {
  const cudaStream_t stream = current_stream();
  if (rows <= 0 || width <= 0) return;
  gather_kernel<<<grid_for(rows * width), kThreads, 0, stream>>>(table, ids, out, rows, width);
  cudaCheckLaunch();
}

void embedding_grad_cuda(const float* dout, const RowGroups& groups, float* dtable, int64_t width) {
  const cudaStream_t stream = current_stream();
  if (groups.groups <= 0 || width <= 0) return;
  const int threads = static_cast<int>(std::min<int64_t>(kThreads, (width + 31) / 32 * 32));
  grouped_grad_kernel<<<static_cast<unsigned>(groups.groups), threads, 0, stream>>>(dout, groups, dtable, width);
  cudaCheckLaunch();
}

void add_position_rows_cuda(const float* pos, float* out, int64_t batch, int64_t seq_len, int64_t width) {
  const cudaStream_t stream = current_stream();
  if (batch <= 0 || seq_len <= 0 || width <= 0) return;
  add_position_kernel<<<grid_for(batch * seq_len * width), kThreads, 0, stream>>>(pos, out, batch, seq_len, width);
  cudaCheckLaunch();
}

void position_grad_cuda(const float* dout, float* dpos, int64_t batch, int64_t seq_len, int64_t width) {
  const cudaStream_t stream = current_stream();
  if (batch <= 0 || seq_len <= 0 || width <= 0) return;
  position_grad_kernel<<<grid_for(seq_len * width), kThreads, 0, stream>>>(dout, dpos, batch, seq_len, width);
  cudaCheckLaunch();
}

template <>
EmbeddingKernels cuda_kernel_table<EmbeddingKernels>{
    {}, embedding_gather_cuda, embedding_grad_cuda, add_position_rows_cuda, position_grad_cuda};

}  // namespace seqbench
