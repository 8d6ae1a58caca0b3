// kernels/row_ops.h on the GPU (device pointers, fp32): axpy, scale, sum of squares, bias rows and
// their gradient; checked against the CPU versions in tests/test_gpu_model.cpp.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace seqbench {

void axpy_cuda(float alpha, const float* x, float* y, int64_t n, cudaStream_t stream = nullptr);
void scale_cuda(float alpha, float* x, int64_t n, cudaStream_t stream = nullptr);
// One block sums in a fixed order (deterministic); waits for the stream.
double sum_of_squares_cuda(const float* x, int64_t n, cudaStream_t stream = nullptr);
void add_bias_rows_cuda(const float* bias, float* y, int64_t rows, int64_t width, cudaStream_t stream = nullptr);
// dbias accumulated: one thread per column sums the rows in order (deterministic).
void bias_grad_rows_cuda(const float* dy, float* dbias, int64_t rows, int64_t width, cudaStream_t stream = nullptr);
// Rows of `width` floats between strided buffers on the device (cudaMemcpy2DAsync).
void copy_rows_cuda(const float* src, int64_t src_stride, float* dst, int64_t dst_stride, int64_t rows, int64_t width,
                    cudaStream_t stream = nullptr);

}  // namespace seqbench
