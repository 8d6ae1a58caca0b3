// phi(x) per element (identity, elu + 1, relu) or per row (Taylor: [1, x / d^(1/4), vec(x x^T) / (sqrt(2) sqrt(d))]),
// and dx = J_phi^T dphi; checked against feature_map_{fwd,bwd}_cpu in test_gpu_linear.cpp.
#include <cmath>
#include <stdexcept>
#include <string>

#include "mixers/linear/feature_maps.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/current_stream.cuh"
#include "ops/cuda/launch_grid.cuh"

namespace seqbench {
namespace {

// The scales of feature_maps.cpp (Based's TaylorExp), rounded to float the same way so that both
// devices multiply by identical constants.
struct TaylorScales {
  float linear, quadratic;
};
TaylorScales taylor_scales(int64_t d) {
  return {static_cast<float>(1.0 / std::pow(static_cast<double>(d), 0.25)),
          static_cast<float>(1.0 / (std::sqrt(2.0) * std::sqrt(static_cast<double>(d))))};
}

__global__ void elu_plus_one_fwd_kernel(const float* x, float* phi, int64_t n) {
  for (int64_t i = first_element(); i < n; i += element_stride()) phi[i] = x[i] > 0.0f ? x[i] + 1.0f : expf(x[i]);
}

__global__ void elu_plus_one_bwd_kernel(const float* x, const float* dphi, float* dx, int64_t n) {
  for (int64_t i = first_element(); i < n; i += element_stride()) dx[i] = x[i] > 0.0f ? dphi[i] : dphi[i] * expf(x[i]);
}

// std::max(x, 0.0f) as the CPU writes it (keeps -0 and NaN as they are).
__global__ void relu_fwd_kernel(const float* x, float* phi, int64_t n) {
  for (int64_t i = first_element(); i < n; i += element_stride()) phi[i] = x[i] < 0.0f ? 0.0f : x[i];
}

// Subgradient 0 at x = 0, as on the CPU.
__global__ void relu_bwd_kernel(const float* x, const float* dphi, float* dx, int64_t n) {
  for (int64_t i = first_element(); i < n; i += element_stride()) dx[i] = x[i] > 0.0f ? dphi[i] : 0.0f;
}

// One thread per feature: row r, feature k of f = 1 + d + d^2; the quadratic block is row-major
// over (i, j), each entry (x_i * quadratic) * x_j as on the CPU.
__global__ void taylor_fwd_kernel(const float* x, float* phi, int64_t rows, int64_t d, TaylorScales s) {
  const int64_t f = 1 + d + d * d, n = rows * f;
  for (int64_t e = first_element(); e < n; e += element_stride()) {
    const int64_t r = e / f, k = e - r * f;
    const float* xr = x + r * d;
    if (k == 0) {
      phi[e] = 1.0f;
    } else if (k <= d) {
      phi[e] = xr[k - 1] * s.linear;
    } else {
      const int64_t m = k - 1 - d, i = m / d, j = m - i * d;
      phi[e] = xr[i] * s.quadratic * xr[j];
    }
  }
}

// One thread per input element (r, i): dx_i = dphi_lin[i] / d^(1/4) + c (G x)_i + c (G^T x)_i, with G the
// quadratic block of dphi and c its scale; the constant feature has no gradient.
__global__ void taylor_bwd_kernel(const float* x, const float* dphi, float* dx, int64_t rows, int64_t d,
                                  TaylorScales s) {
  const int64_t f = 1 + d + d * d, n = rows * d;
  for (int64_t e = first_element(); e < n; e += element_stride()) {
    const int64_t r = e / d, i = e - r * d;
    const float* xr = x + r * d;
    const float* g = dphi + r * f + 1 + d;
    float row_dot = 0.0f;
    for (int64_t j = 0; j < d; ++j) row_dot += g[i * d + j] * xr[j];
    float acc = dphi[r * f + 1 + i] * s.linear + s.quadratic * row_dot;
    for (int64_t j = 0; j < d; ++j) acc += s.quadratic * xr[j] * g[j * d + i];
    dx[e] = acc;
  }
}

void check_sizes(int64_t rows, int64_t input_dim, const char* who) {
  if (rows < 0 || input_dim < 0)
    throw std::invalid_argument(std::string(who) + ": rows and input_dim must be >= 0, got rows " +
                                std::to_string(rows) + ", input_dim " + std::to_string(input_dim));
}

}  // namespace

void feature_map_fwd_cuda(FeatureMap map, const float* x, float* phi, int64_t rows, int64_t input_dim) {
  const cudaStream_t stream = current_stream();
  check_sizes(rows, input_dim, "feature_map_fwd_cuda");
  const int64_t n = rows * input_dim, out_n = rows * feature_map_width(map, input_dim);
  if (out_n == 0) return;
  switch (map) {
    case FeatureMap::identity:
      cudaCheck(cudaMemcpyAsync(phi, x, static_cast<size_t>(n) * sizeof(float), cudaMemcpyDeviceToDevice, stream));
      return;
    case FeatureMap::elu_plus_one:
      elu_plus_one_fwd_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(x, phi, n);
      cudaCheckLaunch();
      return;
    case FeatureMap::relu:
      relu_fwd_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(x, phi, n);
      cudaCheckLaunch();
      return;
    case FeatureMap::taylor:
      taylor_fwd_kernel<<<element_blocks(out_n), kElementThreads, 0, stream>>>(x, phi, rows, input_dim,
                                                                               taylor_scales(input_dim));
      cudaCheckLaunch();
      return;
  }
  throw std::invalid_argument("feature_map_fwd_cuda: feature map enum value " + std::to_string(static_cast<int>(map)) +
                              " is not a known map");
}

void feature_map_bwd_cuda(FeatureMap map, const float* x, const float* dphi, float* dx, int64_t rows,
                          int64_t input_dim) {
  const cudaStream_t stream = current_stream();
  check_sizes(rows, input_dim, "feature_map_bwd_cuda");
  const int64_t n = rows * input_dim;
  if (n == 0) return;
  switch (map) {
    case FeatureMap::identity:
      cudaCheck(cudaMemcpyAsync(dx, dphi, static_cast<size_t>(n) * sizeof(float), cudaMemcpyDeviceToDevice, stream));
      return;
    case FeatureMap::elu_plus_one:
      elu_plus_one_bwd_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(x, dphi, dx, n);
      cudaCheckLaunch();
      return;
    case FeatureMap::relu:
      relu_bwd_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(x, dphi, dx, n);
      cudaCheckLaunch();
      return;
    case FeatureMap::taylor:
      taylor_bwd_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(x, dphi, dx, rows, input_dim,
                                                                           taylor_scales(input_dim));
      cudaCheckLaunch();
      return;
  }
  throw std::invalid_argument("feature_map_bwd_cuda: feature map enum value " + std::to_string(static_cast<int>(map)) +
                              " is not a known map");
}

template <>
FeatureMapKernels cuda_kernel_table<FeatureMapKernels>{{}, feature_map_fwd_cuda, feature_map_bwd_cuda};

}  // namespace seqbench
