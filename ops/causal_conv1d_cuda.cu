// out[t, c] = bias[c] + sum_{j<K} w[j, c] in[t - (K-1) + j, c] (zeros before t = 0), its gradients, final state and
// decode step, one thread per output element; checked against the CPU kernels in tests/test_gpu_ops.cpp.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "ops/causal_conv1d.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/current_stream.cuh"
#include "ops/cuda/launch_grid.cuh"
#include "ops/cuda/scratch_buffer.cuh"

namespace seqbench {
namespace {

// The weight-gradient sums run over chunks of at least kMinChunkRows rows, at most kMaxChunks chunks: the chunking
// depends on the sizes alone, so the summation order (and the result) is the same on every run.
constexpr int64_t kMinChunkRows = 64;
constexpr int64_t kMaxChunks = 1024;
constexpr int kChannelThreads = 128;

// Element e = (r, c), r = b * L + t: input row r - (K-1) + j feeds tap j while t - (K-1) + j >= 0.
__global__ void conv_fwd_kernel(const float* in, int64_t in_stride, const float* w, const float* bias, float* out,
                                int64_t L, int64_t C, int64_t K, int64_t n) {
  for (int64_t e = first_element(); e < n; e += element_stride()) {
    const int64_t r = e / C, c = e - r * C, t = r % L;
    float acc = bias[c];
    for (int64_t j = K - 1 - t > 0 ? K - 1 - t : 0; j < K; ++j)
      acc += w[j * C + c] * in[(r - (K - 1) + j) * in_stride + c];
    out[e] = acc;
  }
}

// din[t] = sum_j w[j] dout[t + (K-1) - j] over the outputs that exist (t + (K-1) - j < L).
__global__ void conv_din_kernel(const float* w, const float* dout, float* din, int64_t din_stride, int64_t L, int64_t C,
                                int64_t K, int64_t n) {
  for (int64_t e = first_element(); e < n; e += element_stride()) {
    const int64_t r = e / C, c = e - r * C, t = r % L;
    float acc = 0.0f;
    for (int64_t j = t + K - L > 0 ? t + K - L : 0; j < K; ++j) acc += w[j * C + c] * dout[(r + (K - 1) - j) * C + c];
    din[r * din_stride + c] = acc;
  }
}

// Block (channel slab, chunk): each thread sums its channel over the chunk's rows in row order, for every tap
// (tap K is the bias), into partial[chunk, tap, c].
__global__ void conv_param_grad_partial_kernel(const float* in, int64_t in_stride, const float* dout, float* partial,
                                               int64_t rows, int64_t L, int64_t C, int64_t K, int64_t chunk_rows) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x, chunk = blockIdx.y;
  if (c >= C) return;
  const int64_t r0 = chunk * chunk_rows, r1 = r0 + chunk_rows < rows ? r0 + chunk_rows : rows;
  for (int64_t tap = 0; tap <= K; ++tap) {
    float acc = 0.0f;
    for (int64_t r = r0, t = r0 % L; r < r1; ++r, t = t + 1 == L ? 0 : t + 1) {
      const float g = dout[r * C + c];
      if (tap == K)
        acc += g;
      else if (t - (K - 1) + tap >= 0)
        acc += g * in[(r - (K - 1) + tap) * in_stride + c];
    }
    partial[(chunk * (K + 1) + tap) * C + c] = acc;
  }
}

// Element (tap, c): the chunks' partials summed in chunk order, added to dw[tap, c] (or dbias[c] for tap K).
__global__ void conv_param_grad_combine_kernel(const float* partial, float* dw, float* dbias, int64_t chunks, int64_t C,
                                               int64_t K) {
  const int64_t n = (K + 1) * C;
  for (int64_t e = first_element(); e < n; e += element_stride()) {
    float sum = 0.0f;
    for (int64_t chunk = 0; chunk < chunks; ++chunk) sum += partial[chunk * n + e];
    if (e < K * C)
      dw[e] += sum;
    else
      dbias[e - K * C] += sum;
  }
}

// Element (b, j, c) of state [B, K-1, C]: slot j holds input t = L - (K-1) + j.
__global__ void conv_final_state_kernel(const float* in, int64_t in_stride, float* state, int64_t L, int64_t C,
                                        int64_t K, int64_t n) {
  for (int64_t e = first_element(); e < n; e += element_stride()) {
    const int64_t c = e % C, slot = e / C, j = slot % (K - 1), b = slot / (K - 1);
    const int64_t t = L - (K - 1) + j;
    state[e] = t < 0 ? 0.0f : in[(b * L + t) * in_stride + c];
  }
}

// Element (b, c): the thread owns column c of sequence b's state, so the shift needs no synchronisation.
__global__ void conv_decode_kernel(const float* in_t, int64_t in_stride, const float* w, const float* bias,
                                   float* state, float* out_t, int64_t C, int64_t K, int64_t n) {
  for (int64_t e = first_element(); e < n; e += element_stride()) {
    const int64_t b = e / C, c = e - b * C;
    const float x = in_t[b * in_stride + c];
    float* st = state + b * (K - 1) * C + c;
    float acc = bias[c] + w[(K - 1) * C + c] * x;
    for (int64_t j = 0; j < K - 1; ++j) acc += w[j * C + c] * st[j * C];
    for (int64_t j = 0; j + 1 < K - 1; ++j) st[j * C] = st[(j + 1) * C];
    if (K > 1) st[(K - 2) * C] = x;
    out_t[e] = acc;
  }
}

void check_shape(const Conv1dShape& s, const char* who) {
  if (s.batch < 0 || s.seq_len < 0 || s.channels < 0 || s.kernel < 1)
    throw std::invalid_argument(std::string(who) + ": expected batch, seq_len, channels >= 0 and kernel >= 1, got B " +
                                std::to_string(s.batch) + ", L " + std::to_string(s.seq_len) + ", C " +
                                std::to_string(s.channels) + ", K " + std::to_string(s.kernel));
}

// A stride below the channel count would overlap rows; it only matters when there is a second row.
void check_stride(int64_t stride, int64_t rows, int64_t channels, const char* name, const char* who) {
  if (rows > 1 && stride < channels)
    throw std::invalid_argument(std::string(who) + ": " + name + " must be >= channels " + std::to_string(channels) +
                                ", got " + std::to_string(stride));
}

}  // namespace

void causal_conv1d_fwd_cuda(const float* in, int64_t in_stride, const float* w, const float* bias, float* out,
                            const Conv1dShape& s) {
  const cudaStream_t stream = current_stream();
  check_shape(s, "causal_conv1d_fwd_cuda");
  const int64_t rows = s.batch * s.seq_len, n = rows * s.channels;
  check_stride(in_stride, rows, s.channels, "in_stride", "causal_conv1d_fwd_cuda");
  if (n == 0) return;
  conv_fwd_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(in, in_stride, w, bias, out, s.seq_len, s.channels,
                                                                     s.kernel, n);
  cudaCheckLaunch();
}

void causal_conv1d_bwd_cuda(const float* in, int64_t in_stride, const float* w, const float* dout, float* din,
                            int64_t din_stride, float* dw, float* dbias, const Conv1dShape& s) {
  const cudaStream_t stream = current_stream();
  check_shape(s, "causal_conv1d_bwd_cuda");
  const int64_t rows = s.batch * s.seq_len, C = s.channels, K = s.kernel, n = rows * C;
  check_stride(in_stride, rows, C, "in_stride", "causal_conv1d_bwd_cuda");
  check_stride(din_stride, rows, C, "din_stride", "causal_conv1d_bwd_cuda");
  if (n == 0) return;
  conv_din_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(w, dout, din, din_stride, s.seq_len, C, K, n);
  cudaCheckLaunch();

  const int64_t chunk_rows = std::max(kMinChunkRows, (rows + kMaxChunks - 1) / kMaxChunks);
  const int64_t chunks = (rows + chunk_rows - 1) / chunk_rows;
  ScratchFloats partial(nullptr, chunks * (K + 1) * C, stream);
  const dim3 grid(static_cast<unsigned>((C + kChannelThreads - 1) / kChannelThreads), static_cast<unsigned>(chunks));
  conv_param_grad_partial_kernel<<<grid, kChannelThreads, 0, stream>>>(in, in_stride, dout, partial.data(), rows,
                                                                       s.seq_len, C, K, chunk_rows);
  cudaCheckLaunch();
  conv_param_grad_combine_kernel<<<element_blocks((K + 1) * C), kElementThreads, 0, stream>>>(partial.data(), dw, dbias,
                                                                                              chunks, C, K);
  cudaCheckLaunch();
}

void causal_conv1d_final_state_cuda(const float* in, int64_t in_stride, float* state, const Conv1dShape& s) {
  const cudaStream_t stream = current_stream();
  check_shape(s, "causal_conv1d_final_state_cuda");
  check_stride(in_stride, s.batch * s.seq_len, s.channels, "in_stride", "causal_conv1d_final_state_cuda");
  const int64_t n = s.batch * (s.kernel - 1) * s.channels;
  if (n == 0) return;
  conv_final_state_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(in, in_stride, state, s.seq_len,
                                                                             s.channels, s.kernel, n);
  cudaCheckLaunch();
}

void causal_conv1d_decode_cuda(const float* in_t, int64_t in_stride, const float* w, const float* bias, float* state,
                               float* out_t, const Conv1dShape& s) {
  const cudaStream_t stream = current_stream();
  check_shape(s, "causal_conv1d_decode_cuda");
  check_stride(in_stride, s.batch, s.channels, "in_stride", "causal_conv1d_decode_cuda");
  const int64_t n = s.batch * s.channels;
  if (n == 0) return;
  conv_decode_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(in_t, in_stride, w, bias, state, out_t,
                                                                        s.channels, s.kernel, n);
  cudaCheckLaunch();
}

template <>
CausalConv1dKernels cuda_kernel_table<CausalConv1dKernels>{
    {}, causal_conv1d_fwd_cuda, causal_conv1d_bwd_cuda, causal_conv1d_final_state_cuda, causal_conv1d_decode_cuda};

}  // namespace seqbench
