// Small vector and row ops the layers share: y += alpha x, x *= alpha, sum of squares (gradient
// clipping), a bias added to every row and its gradient (column sums), strided row copies (KV
// caches). The CUDA kernels (row_ops_cuda.cu) are checked against the CPU ones in tests/test_gpu_ops.cpp.
#pragma once

#include "ops/kernel_table.h"
#include "ops/vector_ops.h"

namespace seqbench {

// cuda(): every sum in a fixed order (deterministic); sum_of_squares waits for the stream; copy_rows is
// cudaMemcpy2DAsync.

struct RowOpKernels : KernelFamily<RowOpKernels> {
  static constexpr const char* kFamily = "row_ops";

  // axpy and scale: axpy_cpu and scale_cpu of vector_ops.h on the CPU.
  void (*axpy)(float alpha, const float* x, float* y, int64_t n);  // y += alpha x
  void (*scale)(float alpha, float* x, int64_t n);                 // x *= alpha
  // sum_i x_i^2 in double.
  double (*sum_of_squares)(const float* x, int64_t n);
  // y[r, :] += bias for r < rows.
  void (*add_bias_rows)(const float* bias, float* y, int64_t rows, int64_t width);
  // dbias += sum_r dy[r, :], rows summed in order (deterministic).
  void (*bias_grad_rows)(const float* dy, float* dbias, int64_t rows, int64_t width);
  // dst[r * dst_stride + i] = src[r * src_stride + i] for r < rows, i < width (e.g. into a KV cache).
  void (*copy_rows)(const float* src, int64_t src_stride, float* dst, int64_t dst_stride, int64_t rows, int64_t width);
};

}  // namespace seqbench
