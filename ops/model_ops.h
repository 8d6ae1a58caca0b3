// The shared model ops on either device: each runs its CPU kernel (matmul.h, layer_norm.h,
// activations.h, cross_entropy.h, adamw.h) for Device::cpu and its CUDA twin (cuda/ops_cuda.cuh)
// for Device::cuda. Pointers live on `device`; the CUDA twins are checked in tests/test_gpu_kernels.cpp.
#pragma once
#include <cstdint>

#include "ops/adamw.h"
#include "ops/matmul.h"
#include "ops/tensor.h"

namespace seqbench {

void matmul(Device device, const float* a, const float* b, float* c, const MatmulShape& shape);
void layer_norm_fwd(Device device, const float* x, const float* gamma, const float* beta, float* y, float* mean,
                    float* rstd, int64_t rows, int64_t dim, float eps);
void layer_norm_bwd(Device device, const float* dy, const float* x, const float* gamma, const float* mean,
                    const float* rstd, float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t dim);
void gelu_fwd(Device device, const float* x, float* y, int64_t n);
void gelu_bwd(Device device, const float* x, const float* dy, float* dx, int64_t n);
// targets on `device`; returns the mean loss (on the GPU: after waiting for it).
double cross_entropy(Device device, const float* logits, const int32_t* targets, float* dlogits, int64_t rows,
                     int64_t vocab);
void argmax_rows(Device device, const float* logits, int32_t* out, int64_t rows, int64_t vocab);
void adamw_update(Device device, float* param, const float* grad, float* m, float* v, int64_t n,
                  const AdamWHyper& hyper);

}  // namespace seqbench
