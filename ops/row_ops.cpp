#include "ops/row_ops.h"

#include <algorithm>

#include "ops/device_dispatch.h"
#include "ops/vector_ops.h"
#ifdef SEQBENCH_WITH_CUDA
#include "ops/cuda/row_ops_cuda.cuh"
#endif

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

void axpy(Device device, float alpha, const float* x, float* y, int64_t n) {
  if (device == Device::cpu) return axpy_cpu(alpha, x, y, n);
  SEQBENCH_ON_CUDA("axpy", axpy_cuda(alpha, x, y, n));
}

void scale(Device device, float alpha, float* x, int64_t n) {
  if (device == Device::cpu) return scale_cpu(alpha, x, n);
  SEQBENCH_ON_CUDA("scale", scale_cuda(alpha, x, n));
}

double sum_of_squares(Device device, const float* x, int64_t n) {
  if (device == Device::cpu) return sum_of_squares_cpu(x, n);
  return SEQBENCH_ON_CUDA("sum_of_squares", sum_of_squares_cuda(x, n));
}

void add_bias_rows(Device device, const float* bias, float* y, int64_t rows, int64_t width) {
  if (device == Device::cpu) return add_bias_rows_cpu(bias, y, rows, width);
  SEQBENCH_ON_CUDA("add_bias_rows", add_bias_rows_cuda(bias, y, rows, width));
}

void bias_grad_rows(Device device, const float* dy, float* dbias, int64_t rows, int64_t width) {
  if (device == Device::cpu) return bias_grad_rows_cpu(dy, dbias, rows, width);
  SEQBENCH_ON_CUDA("bias_grad_rows", bias_grad_rows_cuda(dy, dbias, rows, width));
}

void copy_rows(Device device, const float* src, int64_t src_stride, float* dst, int64_t dst_stride, int64_t rows,
               int64_t width) {
  if (device == Device::cpu) return copy_rows_cpu(src, src_stride, dst, dst_stride, rows, width);
  SEQBENCH_ON_CUDA("copy_rows", copy_rows_cuda(src, src_stride, dst, dst_stride, rows, width));
}

}  // namespace seqbench
