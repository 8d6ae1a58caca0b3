// silu(r) = r sigmoid(r), silu'(r) = sigmoid(r) (1 + r (1 - sigmoid(r))), and the gate out = a silu(g) with its
// gradients; one thread per element. Checked against swish_gate.h's _cpu kernels in tests/test_gpu_ops.cpp.
#include <stdexcept>
#include <string>

#include "ops/cuda/cuda_check.h"
#include "ops/cuda/current_stream.cuh"
#include "ops/cuda/launch_grid.cuh"
#include "ops/swish_gate.h"

namespace seqbench {
namespace {

// expf here, the CPU's own exp polynomial there (simd_math.h): equal to a few float ulps.
__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
__device__ __forceinline__ float silu_derivative(float x, float sig) { return sig * (1.0f + x * (1.0f - sig)); }

__global__ void silu_fwd_kernel(const float* x, float* y, int64_t n) {
  for (int64_t i = first_element(); i < n; i += element_stride()) y[i] = x[i] * sigmoid(x[i]);
}

__global__ void silu_bwd_kernel(const float* x, const float* dy, float* dx, int64_t n) {
  for (int64_t i = first_element(); i < n; i += element_stride()) dx[i] = dy[i] * silu_derivative(x[i], sigmoid(x[i]));
}

// Element e = (r, i) of the contiguous [rows, width] a/out; the gate element sits at r * gate_stride + i.
__global__ void swish_gate_fwd_kernel(const float* a, const float* gate, float* out, int64_t rows, int64_t width,
                                      int64_t gate_stride) {
  const int64_t n = rows * width;
  for (int64_t e = first_element(); e < n; e += element_stride()) {
    const int64_t r = e / width, i = e - r * width;
    const float g = gate[r * gate_stride + i];
    out[e] = a[e] * g * sigmoid(g);
  }
}

// Every input is read before either output is written, so da may be a and dgate may be gate.
__global__ void swish_gate_bwd_kernel(const float* a, const float* gate, const float* dout, float* da, float* dgate,
                                      int64_t rows, int64_t width, int64_t gate_stride, int64_t dgate_stride) {
  const int64_t n = rows * width;
  for (int64_t e = first_element(); e < n; e += element_stride()) {
    const int64_t r = e / width, i = e - r * width;
    const float g = gate[r * gate_stride + i], sig = sigmoid(g), go = dout[e], av = a[e];
    da[e] = go * g * sig;
    dgate[r * dgate_stride + i] = go * av * silu_derivative(g, sig);
  }
}

void check_count(int64_t n, const char* who) {
  if (n < 0) throw std::invalid_argument(std::string(who) + ": n must be >= 0, got " + std::to_string(n));
}

void check_rows(int64_t rows, int64_t width, int64_t stride, const char* stride_name, const char* who) {
  if (rows < 0 || width < 0)
    throw std::invalid_argument(std::string(who) + ": rows and width must be >= 0, got rows " + std::to_string(rows) +
                                ", width " + std::to_string(width));
  if (rows > 1 && stride < width)
    throw std::invalid_argument(std::string(who) + ": " + stride_name + " must be >= width " + std::to_string(width) +
                                ", got " + std::to_string(stride));
}

}  // namespace

void silu_fwd_cuda(const float* x, float* y, int64_t n) {
  const cudaStream_t stream = current_stream();
  check_count(n, "silu_fwd_cuda");
  if (n == 0) return;
  silu_fwd_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(x, y, n);
  cudaCheckLaunch();
}

void silu_bwd_cuda(const float* x, const float* dy, float* dx, int64_t n) {
  const cudaStream_t stream = current_stream();
  check_count(n, "silu_bwd_cuda");
  if (n == 0) return;
  silu_bwd_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(x, dy, dx, n);
  cudaCheckLaunch();
}

void swish_gate_fwd_cuda(const float* a, const float* gate, float* out, int64_t rows, int64_t width,
                         int64_t gate_stride) {
  const cudaStream_t stream = current_stream();
  check_rows(rows, width, gate_stride, "gate_stride", "swish_gate_fwd_cuda");
  if (rows * width == 0) return;
  swish_gate_fwd_kernel<<<element_blocks(rows * width), kElementThreads, 0, stream>>>(a, gate, out, rows, width,
                                                                                      gate_stride);
  cudaCheckLaunch();
}

void swish_gate_bwd_cuda(const float* a, const float* gate, const float* dout, float* da, float* dgate, int64_t rows,
                         int64_t width, int64_t gate_stride, int64_t dgate_stride) {
  const cudaStream_t stream = current_stream();
  check_rows(rows, width, gate_stride, "gate_stride", "swish_gate_bwd_cuda");
  check_rows(rows, width, dgate_stride, "dgate_stride", "swish_gate_bwd_cuda");
  if (rows * width == 0) return;
  swish_gate_bwd_kernel<<<element_blocks(rows * width), kElementThreads, 0, stream>>>(a, gate, dout, da, dgate, rows,
                                                                                      width, gate_stride, dgate_stride);
  cudaCheckLaunch();
}

template <>
SwishGateKernels cuda_kernel_table<SwishGateKernels>{
    {}, swish_gate_fwd_cuda, swish_gate_bwd_cuda, silu_fwd_cuda, silu_bwd_cuda};

}  // namespace seqbench
