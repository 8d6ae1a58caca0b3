// kernels/embedding.h on the GPU (device pointers, fp32; the RowGroups arrays on the device too).
// Checked against the CPU versions in tests/test_gpu_model.cpp.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "ops/embedding.h"

namespace seqbench {

void embedding_gather_cuda(const float* table, const int32_t* ids, float* out, int64_t rows, int64_t width,
                           cudaStream_t stream = nullptr);
void embedding_grad_cuda(const float* dout, const RowGroups& groups, float* dtable, int64_t width,
                         cudaStream_t stream = nullptr);
void add_position_rows_cuda(const float* pos, float* out, int64_t batch, int64_t seq_len, int64_t width,
                            cudaStream_t stream = nullptr);
void position_grad_cuda(const float* dout, float* dpos, int64_t batch, int64_t seq_len, int64_t width,
                        cudaStream_t stream = nullptr);

}  // namespace seqbench
