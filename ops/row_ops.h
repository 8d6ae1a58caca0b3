// Small vector and row ops the layers share: y += alpha x, x *= alpha, sum of squares (gradient
// clipping), a bias added to every row and its gradient (column sums), strided row copies (KV
// caches). The CUDA kernels (row_ops_cuda.cu) are checked against the CPU ones in tests/test_gpu_ops.cpp.
#pragma once
#include <cstdint>

#include "ops/kernel_table.h"
#include "ops/vector_ops.h"

namespace seqbench {

// axpy_cpu and scale_cpu are in vector_ops.h.
// y[r, :] += bias for r < rows.
void add_bias_rows_cpu(const float* bias, float* y, int64_t rows, int64_t width);
// dbias += sum_r dy[r, :], rows summed in order (deterministic).
void bias_grad_rows_cpu(const float* dy, float* dbias, int64_t rows, int64_t width);
// sum_i x_i^2 in double.
double sum_of_squares_cpu(const float* x, int64_t n);
// dst[r * dst_stride + i] = src[r * src_stride + i] for r < rows, i < width (e.g. into a KV cache).
void copy_rows_cpu(const float* src, int64_t src_stride, float* dst, int64_t dst_stride, int64_t rows, int64_t width);

// One block sums in a fixed order (deterministic); waits for the stream.
// dbias accumulated: one thread per column sums the rows in order (deterministic).
// Rows of `width` floats between strided buffers on the device (cudaMemcpy2DAsync).

struct RowOpKernels {
  static constexpr const char* kFamily = "row_ops";
  static const RowOpKernels& cpu();
  static const RowOpKernels& cuda();

  decltype(&axpy_cpu) axpy;
  decltype(&scale_cpu) scale;
  decltype(&sum_of_squares_cpu) sum_of_squares;
  decltype(&add_bias_rows_cpu) add_bias_rows;
  decltype(&bias_grad_rows_cpu) bias_grad_rows;
  decltype(&copy_rows_cpu) copy_rows;
};

}  // namespace seqbench
