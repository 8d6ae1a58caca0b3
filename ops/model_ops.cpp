#include "ops/model_ops.h"

#include "ops/activations.h"
#include "ops/cross_entropy.h"
#include "ops/device_dispatch.h"
#include "ops/layer_norm.h"
#ifdef SEQBENCH_WITH_CUDA
#include "ops/cuda/ops_cuda.cuh"
#endif

namespace seqbench {

void matmul(Device device, const float* a, const float* b, float* c, const MatmulShape& shape) {
  if (device == Device::cpu) return matmul_cpu(a, b, c, shape);
  SEQBENCH_ON_CUDA("matmul", matmul_cuda(a, b, c, shape));
}

void layer_norm_fwd(Device device, const float* x, const float* gamma, const float* beta, float* y, float* mean,
                    float* rstd, int64_t rows, int64_t dim, float eps) {
  if (device == Device::cpu) return layer_norm_fwd_cpu(x, gamma, beta, y, mean, rstd, rows, dim, eps);
  SEQBENCH_ON_CUDA("layer_norm_fwd", layer_norm_fwd_cuda(x, gamma, beta, y, mean, rstd, rows, dim, eps));
}

void layer_norm_bwd(Device device, const float* dy, const float* x, const float* gamma, const float* mean,
                    const float* rstd, float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t dim) {
  if (device == Device::cpu) return layer_norm_bwd_cpu(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, dim);
  SEQBENCH_ON_CUDA("layer_norm_bwd", layer_norm_bwd_cuda(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, dim));
}

void gelu_fwd(Device device, const float* x, float* y, int64_t n) {
  if (device == Device::cpu) return gelu_fwd_cpu(x, y, n);
  SEQBENCH_ON_CUDA("gelu_fwd", gelu_fwd_cuda(x, y, n));
}

void gelu_bwd(Device device, const float* x, const float* dy, float* dx, int64_t n) {
  if (device == Device::cpu) return gelu_bwd_cpu(x, dy, dx, n);
  SEQBENCH_ON_CUDA("gelu_bwd", gelu_bwd_cuda(x, dy, dx, n));
}

double cross_entropy(Device device, const float* logits, const int32_t* targets, float* dlogits, int64_t rows,
                     int64_t vocab) {
  if (device == Device::cpu) return cross_entropy_cpu(logits, targets, dlogits, rows, vocab);
  return SEQBENCH_ON_CUDA("cross_entropy", cross_entropy_cuda(logits, targets, dlogits, rows, vocab));
}

void argmax_rows(Device device, const float* logits, int32_t* out, int64_t rows, int64_t vocab) {
  if (device == Device::cpu) return argmax_rows_cpu(logits, out, rows, vocab);
  SEQBENCH_ON_CUDA("argmax_rows", argmax_rows_cuda(logits, out, rows, vocab));
}

void adamw_update(Device device, float* param, const float* grad, float* m, float* v, int64_t n,
                  const AdamWHyper& hyper) {
  if (device == Device::cpu) return adamw_update_cpu(param, grad, m, v, n, hyper);
  SEQBENCH_ON_CUDA("adamw_update", adamw_update_cuda(param, grad, m, v, n, hyper));
}

}  // namespace seqbench
