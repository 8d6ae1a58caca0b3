// Gated linear attention (Yang et al. 2023, GLA, eq. 1-4 and the chunkwise form of Sec. 4):
// S_t = diag(alpha_t) S_{t-1} + k_t v_t^T, o_t = scale * S_t^T q_t, alpha_t = exp(g_t) per key channel
// or one scalar per head (Mamba-2 SSD, Gated RetNet). The CPU kernels (gla_cpu.cpp) are checked
// against a plain recurrence in double and its finite differences (test_gla.cpp); the CUDA kernels
// (gla_cuda.cu) against the CPU kernels (test_gpu_gla.cpp). The scalar decay in bf16 on tensor cores, with a
// caller-owned workspace, is gla_scalar_bf16.cuh.
#pragma once

#include "ops/kernel_table.h"
#include "ops/shape_legend.h"

namespace seqbench {

// q, k: [B, L, H, Dk]; v, out: [B, L, H, Dv]; log_decay g: [B, L, H, decay_width] with
// decay_width = Dk (per-channel, GLA) or 1 (per-head scalar). g <= 0 keeps every factor in (0, 1];
// other values are allowed but can overflow over a long chunk.
struct GlaShape : HeadsShape {
  int64_t key_dim = 0, value_dim = 0;  // Dk, Dv
  bool channel_decay = true;

  int64_t decay_width() const { return channel_decay ? key_dim : 1; }
};

struct GlaOptions {
  int64_t chunk_size = 64;  // C: quadratic inside a chunk, carried state across chunks
  float scale = 1.0f;       // applied to q (GLA uses key_dim^-1/2)
};

int64_t gla_num_chunks(int64_t seq_len, int64_t chunk_size);

// cuda(): the same three on the GPU (device pointers, fp32). Each value column of S evolves on its own, so
// one block scans time for one (batch, head) and a tile of 32 value columns, its [Dk x 32] slice of S
// in registers. Limits (cuda().unsupported): Dk <= 256 for forward and backward; decode needs
// 3 Dk + Dv <= 12288 (its vectors live in shared memory); B * H < 2^31. chunk_states has the CPU
// meaning for options.chunk_size. Deterministic: every sum runs in a fixed order (no atomics).
// Backward allocates ceil(Dv / 32) partial copies of dq and dk when Dv > 32.
constexpr int64_t kGlaCudaMaxKeyDim = 256;

struct GlaKernels : KernelFamily<GlaKernels> {
  static constexpr const char* kFamily = "gla";

  // Chunked forward. chunk_states [B, H, num_chunks, Dk, Dv] receives the state at the start of each
  // chunk (what backward reads instead of recomputing); final_state [B, H, Dk, Dv], when non-null, the
  // state after the last position.
  void (*fwd)(const float* q, const float* k, const float* v, const float* log_decay, float* out, float* chunk_states,
              float* final_state, const GlaShape& shape, const GlaOptions& options);
  // Exact backward of the chunked form, one reverse pass over the chunks carrying dL/dS. The decay
  // gradient uses dL/dB_t = q_t * dq_t - k_t * dk_t for the cumulative log decay B_t (GLA, Sec. 4.3),
  // summed backwards in time. dq, dk, dv, dlog_decay are overwritten; dlog_decay may be null.
  void (*bwd)(const float* q, const float* k, const float* v, const float* log_decay, const float* chunk_states,
              const float* dout, float* dq, float* dk, float* dv, float* dlog_decay, const GlaShape& shape,
              const GlaOptions& options);
  // One token per (batch, head): S = diag(exp(g)) S + k v^T, out = scale * S^T q. q_t, k_t: [B, H, Dk];
  // v_t, out_t: [B, H, Dv]; log_decay_t: [B, H, decay_width]; state: [B, H, Dk, Dv]. shape.seq_len is
  // ignored.
  void (*decode)(const float* q_t, const float* k_t, const float* v_t, const float* log_decay_t, float* state,
                 float* out_t, const GlaShape& shape, const GlaOptions& options);
  ShapeCheck<GlaShape, GlaOptions> unsupported;
};

}  // namespace seqbench
