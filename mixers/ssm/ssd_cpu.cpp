#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "mixers/gla/gla.h"
#include "mixers/ssm/ssd.h"
#include "mixers/ssm/ssd_scan.h"
#include "ops/vector_ops.h"

namespace seqbench {
namespace {

constexpr int64_t kParallelRows = 256;

inline float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }
inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// Zero-filled on reallocation only: a workspace reused at the same size keeps its buffers.
void ensure_size(Tensor& t, int64_t n) { t.resize({n}, Device::cpu); }

// Per (row, head): dt, q = C, k = dt B, v = x, log decay = dt A, in the scan's [rows, heads, .] layout.
void build_scan_inputs(const SsdInputs& in, SsdWorkspace& ws, const SsdShape& s) {
  const int64_t rows = s.batch * s.seq_len, H = s.heads, N = s.state_dim, P = s.head_dim;
  size_ssd_scan_inputs(ws, s, Device::cpu);
#pragma omp parallel for schedule(static) if (rows > kParallelRows)
  for (int64_t r = 0; r < rows; ++r) {
    const float* b = in.b + r * in.bc_stride;
    const float* c = in.c + r * in.bc_stride;
    for (int64_t h = 0; h < H; ++h) {
      const int64_t rh = r * H + h;
      const float dt = softplus(in.dt_raw[r * in.dt_stride + h] + in.dt_bias[h]);
      ws.dt[rh] = dt;
      ws.log_decay[rh] = -dt * std::exp(in.a_log[h]);
      std::copy(c, c + N, ws.q.data() + rh * N);
      for (int64_t n = 0; n < N; ++n) ws.k[rh * N + n] = dt * b[n];
      const float* x = in.x + r * in.x_stride + h * P;
      std::copy(x, x + P, ws.v.data() + rh * P);
    }
  }
}

// y += D x per head.
void add_skip(const SsdInputs& in, float* y, int64_t rows, const SsdShape& s) {
  const int64_t H = s.heads, P = s.head_dim;
#pragma omp parallel for schedule(static) if (rows > kParallelRows)
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t h = 0; h < H; ++h) axpy_cpu(in.d_skip[h], in.x + r * in.x_stride + h * P, y + (r * H + h) * P, P);
}

}  // namespace

void ssd_fwd_cpu(const SsdInputs& in, float* y, float* final_state, SsdWorkspace& ws, const SsdShape& s,
                 int64_t chunk_size) {
  const GlaShape scan = ssd_scan_shape(s);
  build_scan_inputs(in, ws, s);
  ensure_size(ws.chunk_states, s.batch * s.heads * gla_num_chunks(s.seq_len, chunk_size) * s.state_dim * s.head_dim);
  GlaKernels::cpu().fwd(ws.q.data(), ws.k.data(), ws.v.data(), ws.log_decay.data(), y, ws.chunk_states.data(),
                        final_state, scan, {chunk_size, 1.0f});
  add_skip(in, y, s.batch * s.seq_len, s);
}

void ssd_bwd_cpu(const SsdInputs& in, const float* dy, const SsdGrads& d, SsdWorkspace& ws, const SsdShape& s,
                 int64_t chunk_size) {
  const int64_t rows = s.batch * s.seq_len, H = s.heads, N = s.state_dim, P = s.head_dim;
  if (rows > 0 && ws.q.device() != Device::cpu)
    throw std::invalid_argument("ssd_bwd_cpu: the workspace holds a forward run on " + device_name(ws.q.device()) +
                                ", expected one run by ssd_fwd_cpu");
  run_ssd_scan_bwd(dy, ws, s, chunk_size, Device::cpu);
  // Per row: dx = dv + D dy; dC = sum_h dq_h; dB = sum_h dt_h dk_h; d dt_h = B . dk_h + A_h d(log decay)_h.
#pragma omp parallel for schedule(static) if (rows > kParallelRows)
  for (int64_t r = 0; r < rows; ++r) {
    const float* b = in.b + r * in.bc_stride;
    float* db = d.db + r * d.dbc_stride;
    float* dc = d.dc + r * d.dbc_stride;
    fill_zero_cpu(db, N);
    fill_zero_cpu(dc, N);
    for (int64_t h = 0; h < H; ++h) {
      const int64_t rh = r * H + h;
      float* dx = d.dx + r * d.dx_stride + h * P;
      std::copy(ws.dv.data() + rh * P, ws.dv.data() + (rh + 1) * P, dx);
      axpy_cpu(in.d_skip[h], dy + rh * P, dx, P);
      axpy_cpu(1.0f, ws.dq.data() + rh * N, dc, N);
      axpy_cpu(ws.dt[rh], ws.dk.data() + rh * N, db, N);
      const float a = -std::exp(in.a_log[h]);
      const float ddt = dot_cpu(b, ws.dk.data() + rh * N, N) + a * ws.dlog_decay[rh];
      d.ddt_raw[r * d.ddt_stride + h] = ddt * sigmoid(in.dt_raw[r * in.dt_stride + h] + in.dt_bias[h]);
    }
  }
  // Parameter sums over rows, serially in row order so they do not depend on the thread count.
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t rh = r * H + h;
      d.ddt_bias[h] += d.ddt_raw[r * d.ddt_stride + h];
      // log decay = -dt exp(A_log): its derivative in A_log is the log decay itself.
      d.da_log[h] += ws.dlog_decay[rh] * ws.log_decay[rh];
      d.dd_skip[h] += dot_cpu(dy + rh * P, in.x + r * in.x_stride + h * P, P);
    }
}

void ssd_decode_cpu(const SsdInputs& in_t, float* state, float* y_t, SsdWorkspace& ws, const SsdShape& shape) {
  SsdShape s = shape;
  s.seq_len = 1;
  build_scan_inputs(in_t, ws, s);
  GlaKernels::cpu().decode(ws.q.data(), ws.k.data(), ws.v.data(), ws.log_decay.data(), state, y_t, ssd_scan_shape(s),
                           {1, 1.0f});
  add_skip(in_t, y_t, s.batch, s);
}

template <>
SsdKernels cpu_kernel_table<SsdKernels>{{}, ssd_fwd_cpu, ssd_bwd_cpu, ssd_decode_cpu, no_shape_limits<SsdShape>};

}  // namespace seqbench
