#include <algorithm>
#include <vector>

#include "ops/simd_math.h"
#include "ops/swish_gate.h"

namespace seqbench {
namespace {

constexpr int64_t kParallelElements = 1 << 15;
constexpr int64_t kBlock = 256;  // elements per block of sigmoids computed together

// sig[i] = sigmoid(x[i]) = 1 / (1 + e^{-x}) for i < n.
void sigmoid_row(const float* x, float* sig, int64_t n) {
  simd_map(x, sig, n, [](SimdFloat8 v) { return 1.0f / (1.0f + simd_exp8(-v)); });
}

// f(begin, end, sig) over [0, n) in blocks, with sig the sigmoids of x[begin, end); parallel over
// blocks, each element computed by one thread.
template <class BlockFn>
void for_sigmoid_blocks(const float* x, int64_t n, BlockFn f) {
#pragma omp parallel if (n > kParallelElements)
  {
    float sig[kBlock];
#pragma omp for schedule(static)
    for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
      const int64_t b1 = std::min(n, b0 + kBlock);
      sigmoid_row(x + b0, sig, b1 - b0);
      f(b0, b1, sig);
    }
  }
}

// f(r, g, sig) for every row r of the gate (g = gate + r * gate_stride, sig its `width` sigmoids);
// parallel over rows, each row computed by one thread.
template <class RowFn>
void for_gate_rows(const float* gate, int64_t rows, int64_t width, int64_t gate_stride, RowFn f) {
  const bool parallel = rows * width > kParallelElements;
#pragma omp parallel if (parallel)
  {
    std::vector<float> sig(static_cast<size_t>(width));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const float* g = gate + r * gate_stride;
      sigmoid_row(g, sig.data(), width);
      f(r, g, sig.data());
    }
  }
}

// silu'(x) = sigmoid(x) (1 + x (1 - sigmoid(x))).
inline float silu_derivative(float x, float sig) { return sig * (1.0f + x * (1.0f - sig)); }

}  // namespace

void silu_fwd_cpu(const float* x, float* y, int64_t n) {
  for_sigmoid_blocks(x, n, [&](int64_t b0, int64_t b1, const float* sig) {
    for (int64_t i = b0; i < b1; ++i) y[i] = x[i] * sig[i - b0];
  });
}

void silu_bwd_cpu(const float* x, const float* dy, float* dx, int64_t n) {
  for_sigmoid_blocks(x, n, [&](int64_t b0, int64_t b1, const float* sig) {
    for (int64_t i = b0; i < b1; ++i) dx[i] = dy[i] * silu_derivative(x[i], sig[i - b0]);
  });
}

void swish_gate_fwd_cpu(const float* a, const float* gate, float* out, int64_t rows, int64_t width,
                        int64_t gate_stride) {
  for_gate_rows(gate, rows, width, gate_stride, [&](int64_t r, const float* g, const float* sig) {
    for (int64_t i = 0; i < width; ++i) out[r * width + i] = a[r * width + i] * g[i] * sig[i];
  });
}

void swish_gate_bwd_cpu(const float* a, const float* gate, const float* dout, float* da, float* dgate, int64_t rows,
                        int64_t width, int64_t gate_stride, int64_t dgate_stride) {
  for_gate_rows(gate, rows, width, gate_stride, [&](int64_t r, const float* g, const float* sig) {
    float* dg = dgate + r * dgate_stride;
    for (int64_t i = 0; i < width; ++i) {
      const int64_t j = r * width + i;
      da[j] = dout[j] * g[i] * sig[i];
      dg[i] = dout[j] * a[j] * silu_derivative(g[i], sig[i]);
    }
  });
}

template <>
SwishGateKernels cpu_kernel_table<SwishGateKernels>{
    {}, swish_gate_fwd_cpu, swish_gate_bwd_cpu, silu_fwd_cpu, silu_bwd_cpu};

}  // namespace seqbench
