// Mamba-2's selective state space layer, SSD form (Dao & Gu 2024, Sec. 3 and eq. 16, scalar A per
// head, one B/C group): dt = softplus(dt_raw + dt_bias), A = -exp(A_log), per head
// h_t = exp(dt_t A) h_{t-1} + dt_t B_t x_t^T ([N, P]), y_t = C_t^T h_t + D x_t. The scan is gated linear
// attention with a scalar decay (q = C, k = dt B, v = x, log decay dt A), run by mixers/gla/gla.h. The
// CPU kernels are checked against a plain recurrence in double and its finite differences in
// test_ssm.cpp; the CUDA kernels (ssd_cuda.cu) against the CPU kernels in test_gpu_ssm.cpp.
#pragma once
#include <string>

#include "ops/kernel_table.h"
#include "ops/shape_legend.h"
#include "ops/tensor.h"

namespace seqbench {

struct SsdShape : HeadsShape {
  int64_t head_dim = 0;   // P
  int64_t state_dim = 0;  // N
};

// Row r = b * seq_len + t of each input lies at r * its stride (inputs may be column blocks of one
// wider projection). x: heads * head_dim wide; b, c: state_dim wide; dt_raw: heads wide.
struct SsdInputs {
  const float* x = nullptr;
  int64_t x_stride = 0;
  const float* b = nullptr;
  const float* c = nullptr;
  int64_t bc_stride = 0;
  const float* dt_raw = nullptr;
  int64_t dt_stride = 0;
  const float* dt_bias = nullptr;  // [heads]
  const float* a_log = nullptr;    // [heads]
  const float* d_skip = nullptr;   // [heads]
};

// Laid out as SsdInputs. dx, db, dc, ddt_raw are overwritten; ddt_bias, da_log, dd_skip accumulated.
struct SsdGrads {
  float* dx = nullptr;
  int64_t dx_stride = 0;
  float* db = nullptr;
  float* dc = nullptr;
  int64_t dbc_stride = 0;
  float* ddt_raw = nullptr;
  int64_t ddt_stride = 0;
  float* ddt_bias = nullptr;
  float* da_log = nullptr;
  float* dd_skip = nullptr;
};

// The per-head scan inputs forward builds and backward reads: keep one per forward/backward pair.
// Each member is a flat tensor that the kernels resize on their own device (ssd_*_cpu on the CPU,
// ssd_*_cuda on the GPU), so one workspace follows its layer between devices.
struct SsdWorkspace {
  Tensor dt, q, k, v, log_decay, chunk_states, dq, dk, dv, dlog_decay;
  Tensor param_partials;  // the GPU backward's per-slice sums of the parameter gradients
};

// cuda(): the same on the GPU (every pointer of SsdInputs and SsdGrads, y, dy and the states on the device,
// fp32): small kernels build the scan inputs (q = C, k = dt B, v = x, log decay = dt A) and fold the
// results back, around the GLA CUDA kernels. The workspace's tensors are (re)allocated on Device::cuda; pass the
// same workspace to the matching forward and backward (ssd_bwd_cuda throws std::invalid_argument when
// it holds no GPU forward of this shape). Limits (cuda().unsupported): the GLA limits with Dk = N and
// Dv = P. Deterministic: the parameter gradients are summed in a fixed order.

struct SsdKernels : KernelFamily<SsdKernels> {
  static constexpr const char* kFamily = "ssd";

  // y: [batch, seq_len, heads * head_dim] contiguous. final_state [batch, heads, N, P], when non-null,
  // receives h after the last position.
  void (*fwd)(const SsdInputs& in, float* y, float* final_state, SsdWorkspace& ws, const SsdShape& shape,
              int64_t chunk_size);
  // dy laid out as y. ws must hold what the matching ssd_fwd_cpu left there.
  void (*bwd)(const SsdInputs& in, const float* dy, const SsdGrads& grads, SsdWorkspace& ws, const SsdShape& shape,
              int64_t chunk_size);
  // One token per sequence (shape.seq_len is taken as 1): state [batch, heads, N, P] advances,
  // y_t [batch, heads * head_dim].
  void (*decode)(const SsdInputs& in_t, float* state, float* y_t, SsdWorkspace& ws, const SsdShape& shape);
  ShapeCheck<SsdShape> unsupported;
};

}  // namespace seqbench
