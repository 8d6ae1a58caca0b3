// C = op(A) op(B) through cuBLAS (cublasGemmEx, fp32 accumulation; fp32 operands use full fp32
// arithmetic, no TF32). Checked against matmul_cpu in every transpose combination (tests/test_gpu_ops.cpp).
#include <cublas_v2.h>
#include <cuda_bf16.h>

#include "ops/cuda/cuda_check.h"
#include "ops/cuda/current_stream.cuh"
#include "ops/cuda/matmul_bf16.cuh"
#include "ops/matmul.h"

namespace seqbench {
namespace {

constexpr size_t kCublasWorkspaceBytes = size_t{32} << 20;  // what cuBLAS asks for on Hopper

void* cublas_workspace() {
  static void* workspace = [] {
    void* w = nullptr;
    cudaCheck(cudaMalloc(&w, kCublasWorkspaceBytes));
    return w;
  }();
  return workspace;
}

// C = op(A) op(B) with A and B of operand_type and C of output_type, fp32 accumulation.
void gemm(const void* a, const void* b, void* c, const MatmulShape& s, cudaDataType_t operand_type,
          cudaDataType_t output_type, cudaStream_t stream) {
  if (s.m == 0 || s.n == 0) return;
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
  const float alpha = 1.0f, beta = s.accumulate ? 1.0f : 0.0f;
  const cublasOperation_t op_b = s.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, op_a = s.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int64_t ldb = s.trans_b ? s.k : s.n, lda = s.trans_a ? s.m : s.k;
  cublasHandle_t handle = cublas_handle();
  cublasCheck(cublasSetStream(handle, stream));
  // cublasSetStream drops any workspace set before; ours is set again after it. With its own
  // workspace cuBLAS never allocates inside a call, which a CUDA graph recording the call could not hold.
  cublasCheck(cublasSetWorkspace(handle, cublas_workspace(), kCublasWorkspaceBytes));
  cublasCheck(cublasGemmEx(handle, op_b, op_a, static_cast<int>(s.n), static_cast<int>(s.m), static_cast<int>(s.k),
                           &alpha, b, operand_type, static_cast<int>(ldb), a, operand_type, static_cast<int>(lda), &beta, c, output_type,
                           static_cast<int>(s.n), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

}  // namespace

cublasHandle_t cublas_handle() {
  static cublasHandle_t handle = [] {
    cublasHandle_t h = nullptr;
    cublasCheck(cublasCreate(&h));
    return h;
  }();
  return handle;
}

void matmul_cuda(const float* a, const float* b, float* c, const MatmulShape& s) {
  gemm(a, b, c, s, CUDA_R_32F, CUDA_R_32F, current_stream());
}

void matmul_cuda(const __nv_bfloat16* a, const __nv_bfloat16* b, __nv_bfloat16* c, const MatmulShape& s) {
  gemm(a, b, c, s, CUDA_R_16BF, CUDA_R_16BF, current_stream());
}

namespace {

void round_to_bf16_cuda(const float* src, uint16_t* dst, int64_t n) {
  convert_cuda(src, reinterpret_cast<__nv_bfloat16*>(dst), n);
}

void matmul_bf16_operands_cuda(const uint16_t* a, const uint16_t* b, float* c, const MatmulShape& s) {
  gemm(a, b, c, s, CUDA_R_16BF, CUDA_R_32F, current_stream());
}

}  // namespace

template <>
MatmulKernels cuda_kernel_table<MatmulKernels>{{}, matmul_cuda, round_to_bf16_cuda, matmul_bf16_operands_cuda};

}  // namespace seqbench
