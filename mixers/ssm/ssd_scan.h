// What the SSD kernels of both devices (ssd_cpu.cpp, ssd_cuda.cu) share: their scan is gated linear
// attention with a scalar decay (q = C, k = dt B, v = x, log decay = dt A; keys state_dim wide,
// values head_dim wide), run by the GLA kernels of the same device on the workspace's buffers.
#pragma once
#include <cstdint>

#include "mixers/gla/gla.h"
#include "mixers/ssm/ssd.h"
#include "ops/kernel_table.h"

namespace seqbench {

inline GlaShape ssd_scan_shape(const SsdShape& s) {
  return {s.batch, s.seq_len, s.heads, s.state_dim, s.head_dim, false};
}

// The workspace's scan inputs (dt, q, k, v, log decay) sized for the shape on `device`: zero-filled
// on reallocation only, so a workspace reused at the same size keeps its buffers.
inline void size_ssd_scan_inputs(SsdWorkspace& ws, const SsdShape& s, Device device) {
  const int64_t rows = s.batch * s.seq_len, H = s.heads, N = s.state_dim, P = s.head_dim;
  ws.dt.resize({rows * H}, device);
  ws.q.resize({rows * H * N}, device);
  ws.k.resize({rows * H * N}, device);
  ws.v.resize({rows * H * P}, device);
  ws.log_decay.resize({rows * H}, device);
}

// The scan's backward on `device` into the workspace's dq, dk, dv and dlog_decay (sized there), from
// the scan inputs and chunk states its forward left.
inline void run_ssd_scan_bwd(const float* dy, SsdWorkspace& ws, const SsdShape& s, int64_t chunk_size,
                             Device device) {
  const int64_t rows = s.batch * s.seq_len, H = s.heads, N = s.state_dim, P = s.head_dim;
  ws.dq.resize({rows * H * N}, device);
  ws.dk.resize({rows * H * N}, device);
  ws.dv.resize({rows * H * P}, device);
  ws.dlog_decay.resize({rows * H}, device);
  kernels_for<GlaKernels>(device).bwd(ws.q.data(), ws.k.data(), ws.v.data(), ws.log_decay.data(),
                                      ws.chunk_states.data(), dy, ws.dq.data(), ws.dk.data(), ws.dv.data(),
                                      ws.dlog_decay.data(), ssd_scan_shape(s), {chunk_size, 1.0f});
}

}  // namespace seqbench
