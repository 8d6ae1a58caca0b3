// Causal linear attention (Katharopoulos et al. 2020, eq. 5-9): with a = phi(q), b = phi(k),
// out_t = sum_{s<=t} (a_t.b_s) v_s / (sum_{s<=t} a_t.b_s + eps), normalised as Based/Zoology do
// (eps 1e-12), or the numerator alone when normalize is off. The CPU kernels are checked against a
// naive O(L^2) reference (and finite differences of it for backward) in test_linear_attention.cpp;
// the CUDA kernels (linear_attention_cuda.cu) against the CPU kernels in test_gpu_linear.cpp.
#pragma once
#include <string>

#include "ops/kernel_table.h"
#include "ops/shape_legend.h"

namespace seqbench {

// phi_q, phi_k: [B, L, H, F]; v, out: [B, L, H, D]. The feature width F is independent of D so
// widening maps (Taylor: 1 + d + d^2) fit.
struct LinearAttentionShape : HeadsShape {
  int64_t feature_dim = 0, head_dim = 0;  // F, D
};

struct LinearAttentionOptions {
  bool normalize = true;
  float eps = 1e-12f;
  int64_t chunk_size = 64;  // training form: quadratic inside a chunk, carried state across chunks
};

// Recurrent state per (batch, head): kv_state = sum_s b_s v_s^T [feature_dim, head_dim] and
// k_state = sum_s b_s [feature_dim]; stored as [batch, heads, f, Dh] and [batch, heads, f].

// cuda(): the same on the GPU in fp32 (device pointers). Chunked forward (intra-chunk quadratic + carried
// state) in 64-token chunks whatever options.chunk_size (the result does not depend on it beyond
// rounding); backward allocates its scratch per call. bf16 storage and caller-owned workspaces:
// linear_attention_bf16.cuh. Limits (cuda().unsupported): F (+1 when normalised) and D + 1
// at most 640; decode needs 2 F + D <= 12288.

struct LinearAttentionKernels : KernelFamily<LinearAttentionKernels> {
  static constexpr const char* kFamily = "linear_attention";

  // Chunked forward. denominator [batch, heads, seq_len] receives the divisor a_t.z_t + eps when
  // normalize is on (may be null otherwise). final_kv_state / final_k_state, when non-null,
  // receive the state after the last position (what decode continues from).
  void (*fwd)(const float* phi_q, const float* phi_k, const float* v, float* out, float* denominator,
              float* final_kv_state, float* final_k_state, const LinearAttentionShape& shape,
              const LinearAttentionOptions& options);
  // Exact backward of the chunked form: states are recomputed chunk by chunk, forwards for
  // d phi_q and backwards (a carried sum of a_t dn_t^T) for d phi_k and dv. Gradients overwritten.
  void (*bwd)(const float* phi_q, const float* phi_k, const float* v, const float* out, const float* denominator,
              const float* dout, float* dphi_q, float* dphi_k, float* dv, const LinearAttentionShape& shape,
              const LinearAttentionOptions& options);
  // One token per (batch, head): kv_state += b v^T, k_state += b, then out = a^T kv_state
  // (divided by a.k_state + eps when normalize is on). phi_q_t, phi_k_t: [batch, heads, f];
  // v_t, out_t: [batch, heads, head_dim]; shape.seq_len is ignored.
  void (*decode)(const float* phi_q_t, const float* phi_k_t, const float* v_t, float* kv_state, float* k_state,
                 float* out_t, const LinearAttentionShape& shape, const LinearAttentionOptions& options);
  ShapeCheck<LinearAttentionShape, LinearAttentionOptions> unsupported;
};

}  // namespace seqbench
