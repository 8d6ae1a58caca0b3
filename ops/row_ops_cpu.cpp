#include <algorithm>

#include "ops/row_ops.h"
#include "ops/vector_ops.h"

namespace seqbench {

void add_bias_rows_cpu(const float* bias, float* y, int64_t rows, int64_t width) {
  for (int64_t r = 0; r < rows; ++r) axpy_cpu(1.0f, bias, y + r * width, width);
}

void bias_grad_rows_cpu(const float* dy, float* dbias, int64_t rows, int64_t width) {
  for (int64_t r = 0; r < rows; ++r) axpy_cpu(1.0f, dy + r * width, dbias, width);
}

double sum_of_squares_cpu(const float* x, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  return sum;
}

void copy_rows_cpu(const float* src, int64_t src_stride, float* dst, int64_t dst_stride, int64_t rows, int64_t width) {
  for (int64_t r = 0; r < rows; ++r)
    std::copy(src + r * src_stride, src + r * src_stride + width, dst + r * dst_stride);
}

template <>
RowOpKernels cpu_kernel_table<RowOpKernels>{
    {}, axpy_cpu, scale_cpu, sum_of_squares_cpu, add_bias_rows_cpu, bias_grad_rows_cpu, copy_rows_cpu};

}  // namespace seqbench
