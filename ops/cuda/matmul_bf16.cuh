// CUDA-only entry points for bf16 storage (benchmarks and the tensor-core kernels' tests): the
// process's cuBLAS handle, a bf16 matmul (bf16 operands and output, fp32 accumulation) and fp32 <->
// bf16 conversion. The fp32 ops every model uses are in ops/matmul.h and its siblings.
#pragma once
#include <cublas_v2.h>
#include <cuda_bf16.h>

#include <cstdint>

#include "ops/matmul.h"

namespace seqbench {

// One cuBLAS handle for the process (created on first use on the current device).
cublasHandle_t cublas_handle();

// C = op(A) op(B) in either storage type (fp32 is MatmulKernels::cuda().matmul).
void matmul_cuda(const float* a, const float* b, float* c, const MatmulShape& shape);
void matmul_cuda(const __nv_bfloat16* a, const __nv_bfloat16* b, __nv_bfloat16* c, const MatmulShape& shape);

void convert_cuda(const float* src, __nv_bfloat16* dst, int64_t n);
void convert_cuda(const __nv_bfloat16* src, float* dst, int64_t n);

}  // namespace seqbench
