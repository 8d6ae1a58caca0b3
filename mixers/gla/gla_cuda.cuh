// Gated linear attention on the GPU, same math, layouts and arguments as gla_cpu.h (device pointers,
// fp32): S_t = diag(e^{g_t}) S_{t-1} + k_t v_t^T, o_t = scale S_t^T q_t. Checked against the CPU
// kernels in tests/test_gpu_gla_ssd.cpp.
//
// Each value column of S evolves on its own, so one block scans time for one (batch, head) and a tile
// of 32 value columns, its [key_dim x 32] slice of S in registers. Limits: key_dim <= 256 for forward
// and backward (std::invalid_argument beyond); value_dim, seq_len and batch * heads any size (up to
// 2^31 - 1 blocks). Decode: 3 * key_dim + value_dim <= 12288 (its vectors live in shared memory).
// chunk_states has gla_cpu.h's meaning for options.chunk_size; any chunk_size >= 1. Deterministic:
// every sum runs in a fixed order (no atomics). Backward allocates ceil(value_dim / 32) partial
// copies of dq and dk when value_dim > 32 and frees them once the stream has finished.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mixers/gla/gla_cpu.h"

namespace seqbench {

// The largest key_dim gla_fwd_cuda and gla_bwd_cuda accept.
constexpr int64_t kGlaCudaMaxKeyDim = 256;

void gla_fwd_cuda(const float* q, const float* k, const float* v, const float* log_decay, float* out,
                  float* chunk_states, float* final_state, const GlaShape& shape, const GlaOptions& options,
                  cudaStream_t stream = nullptr);

void gla_bwd_cuda(const float* q, const float* k, const float* v, const float* log_decay, const float* chunk_states,
                  const float* dout, float* dq, float* dk, float* dv, float* dlog_decay, const GlaShape& shape,
                  const GlaOptions& options, cudaStream_t stream = nullptr);

void gla_decode_cuda(const float* q_t, const float* k_t, const float* v_t, const float* log_decay_t, float* state,
                     float* out_t, const GlaShape& shape, const GlaOptions& options, cudaStream_t stream = nullptr);

}  // namespace seqbench
