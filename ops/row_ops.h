// Small vector and row ops the layers share, on either device: y += alpha x, x *= alpha, sum of
// squares (gradient clipping), a bias added to every row and its gradient (column sums). The CUDA
// twins (cuda/row_ops_cuda.cuh) are checked against the CPU versions in tests/test_gpu_model.cpp.
#pragma once
#include <cstdint>

#include "ops/tensor.h"

namespace seqbench {

// y[r, :] += bias for r < rows.
void add_bias_rows_cpu(const float* bias, float* y, int64_t rows, int64_t width);
// dbias += sum_r dy[r, :], rows summed in order (deterministic).
void bias_grad_rows_cpu(const float* dy, float* dbias, int64_t rows, int64_t width);
// sum_i x_i^2 in double.
double sum_of_squares_cpu(const float* x, int64_t n);
// dst[r * dst_stride + i] = src[r * src_stride + i] for r < rows, i < width (e.g. into a KV cache).
void copy_rows_cpu(const float* src, int64_t src_stride, float* dst, int64_t dst_stride, int64_t rows, int64_t width);

void axpy(Device device, float alpha, const float* x, float* y, int64_t n);
void scale(Device device, float alpha, float* x, int64_t n);
double sum_of_squares(Device device, const float* x, int64_t n);
void add_bias_rows(Device device, const float* bias, float* y, int64_t rows, int64_t width);
void bias_grad_rows(Device device, const float* dy, float* dbias, int64_t rows, int64_t width);
void copy_rows(Device device, const float* src, int64_t src_stride, float* dst, int64_t dst_stride, int64_t rows,
               int64_t width);

}  // namespace seqbench
