// The delta rule's gate maps on the GPU (device pointers, fp32): q, k <- x / sqrt(|x|^2 + eps) per row, b = sigmoid(x),
// g = -exp(A_log) softplus(x + dt_bias), and their exact backward passes, as delta_rule_gates.h; checked against
// the CPU versions in tests/test_gpu_delta.cpp.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace seqbench {

// One warp per row; any width.
void l2_normalize_rows_fwd_cuda(const float* x, float* y, int64_t rows, int64_t width, float eps,
                                cudaStream_t stream = nullptr);
// dx overwritten.
void l2_normalize_rows_bwd_cuda(const float* x, const float* dy, float* dx, int64_t rows, int64_t width, float eps,
                                cudaStream_t stream = nullptr);

void sigmoid_fwd_cuda(const float* x, float* y, int64_t n, cudaStream_t stream = nullptr);
// From the forward's output; dx overwritten.
void sigmoid_bwd_cuda(const float* y, const float* dy, float* dx, int64_t n, cudaStream_t stream = nullptr);

void gated_decay_fwd_cuda(const float* x, const float* a_log, const float* dt_bias, float* log_decay, int64_t rows,
                          int64_t heads, cudaStream_t stream = nullptr);
// dx overwritten; da_log and ddt_bias [heads] accumulated. Their sums over rows run in a fixed order
// (per-block partials over fixed row ranges, then one ordered pass), so results repeat bit for bit.
// Uses a scratch buffer of 2 heads ceil(rows / 256) floats, allocated inside the call.
void gated_decay_bwd_cuda(const float* x, const float* a_log, const float* dt_bias, const float* dlog_decay, float* dx,
                          float* da_log, float* ddt_bias, int64_t rows, int64_t heads, cudaStream_t stream = nullptr);

}  // namespace seqbench
