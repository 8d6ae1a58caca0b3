// The shared model ops on the GPU, with the CPU signatures (kernels/matmul.h, layer_norm.h,
// activations.h, cross_entropy.h, adamw.h) on device pointers, plus fp32 <-> bf16 conversion.
// Each is checked against its CPU counterpart in tests/test_gpu_kernels.cpp.
#pragma once
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

#include "ops/adamw.h"
#include "ops/matmul.h"

namespace seqbench {

// One cuBLAS handle for the process (created on first use on the current device).
cublasHandle_t cublas_handle();

// C[M,N] (+)= op(A) op(B), row-major. fp32: full fp32 arithmetic (no TF32). bf16: bf16 operands
// and output, fp32 accumulation (cublasGemmEx with CUBLAS_COMPUTE_32F).
void matmul_cuda(const float* a, const float* b, float* c, const MatmulShape& shape, cudaStream_t stream = nullptr);
void matmul_cuda(const __nv_bfloat16* a, const __nv_bfloat16* b, __nv_bfloat16* c, const MatmulShape& shape,
                 cudaStream_t stream = nullptr);

void layer_norm_fwd_cuda(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                         int64_t rows, int64_t dim, float eps, cudaStream_t stream = nullptr);
// dx overwritten; dgamma and dbeta accumulated (column sums in a fixed order: deterministic).
void layer_norm_bwd_cuda(const float* dy, const float* x, const float* gamma, const float* mean, const float* rstd,
                         float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t dim,
                         cudaStream_t stream = nullptr);

void gelu_fwd_cuda(const float* x, float* y, int64_t n, cudaStream_t stream = nullptr);
void gelu_bwd_cuda(const float* x, const float* dy, float* dx, int64_t n, cudaStream_t stream = nullptr);

// targets: device int32 [rows]. Returns the mean loss (waits for the stream); writes dlogits when non-null.
double cross_entropy_cuda(const float* logits, const int32_t* targets, float* dlogits, int64_t rows, int64_t vocab,
                          cudaStream_t stream = nullptr);
void argmax_rows_cuda(const float* logits, int32_t* out, int64_t rows, int64_t vocab, cudaStream_t stream = nullptr);

void adamw_update_cuda(float* param, const float* grad, float* m, float* v, int64_t n, const AdamWHyper& hyper,
                       cudaStream_t stream = nullptr);

void convert_cuda(const float* src, __nv_bfloat16* dst, int64_t n, cudaStream_t stream = nullptr);
void convert_cuda(const __nv_bfloat16* src, float* dst, int64_t n, cudaStream_t stream = nullptr);

}  // namespace seqbench
