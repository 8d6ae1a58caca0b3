// Gated linear attention (Yang et al. 2023, GLA, eq. 1-4 and the chunkwise form of Sec. 4):
// S_t = diag(alpha_t) S_{t-1} + k_t v_t^T, o_t = scale * S_t^T q_t, alpha_t = exp(g_t) per key channel
// or one scalar per head (Mamba-2 SSD, Gated RetNet). Checked against a plain recurrence in double
// (and its finite differences for backward) in tests/test_gla.cpp.
#pragma once
#include <cstdint>

namespace seqbench {

// q, k: [batch, seq_len, heads, key_dim]; v, out: [batch, seq_len, heads, value_dim];
// log_decay g: [batch, seq_len, heads, decay_width] with decay_width = key_dim (per-channel, GLA)
// or 1 (per-head scalar). g <= 0 keeps every factor in (0, 1]; other values are allowed but can
// overflow over a long chunk.
struct GlaShape {
  int64_t batch = 0, seq_len = 0, heads = 0, key_dim = 0, value_dim = 0;
  bool channel_decay = true;

  int64_t decay_width() const { return channel_decay ? key_dim : 1; }
};

struct GlaOptions {
  int64_t chunk_size = 64;  // training form: quadratic inside a chunk, carried state across chunks
  float scale = 1.0f;       // applied to q (GLA uses key_dim^-1/2)
};

int64_t gla_num_chunks(int64_t seq_len, int64_t chunk_size);

// Chunked forward. chunk_states [batch, heads, num_chunks, key_dim, value_dim] receives the state
// at the start of each chunk (what backward reads instead of recomputing); final_state
// [batch, heads, key_dim, value_dim], when non-null, the state after the last position.
void gla_fwd_cpu(const float* q, const float* k, const float* v, const float* log_decay, float* out,
                 float* chunk_states, float* final_state, const GlaShape& shape, const GlaOptions& options);

// Exact backward of the chunked form, one reverse pass over the chunks carrying dL/dS. The decay
// gradient uses dL/dB_t = q_t * dq_t - k_t * dk_t for the cumulative log decay B_t (GLA, Sec. 4.3),
// summed backwards in time. dq, dk, dv, dlog_decay are overwritten; dlog_decay may be null.
void gla_bwd_cpu(const float* q, const float* k, const float* v, const float* log_decay,
                 const float* chunk_states, const float* dout, float* dq, float* dk, float* dv,
                 float* dlog_decay, const GlaShape& shape, const GlaOptions& options);

// One token per (batch, head): S = diag(exp(g)) S + k v^T, out = scale * S^T q. q_t, k_t:
// [batch, heads, key_dim]; v_t, out_t: [batch, heads, value_dim]; log_decay_t: [batch, heads,
// decay_width]; state: [batch, heads, key_dim, value_dim]. shape.seq_len is ignored.
void gla_decode_cpu(const float* q_t, const float* k_t, const float* v_t, const float* log_decay_t,
                    float* state, float* out_t, const GlaShape& shape, const GlaOptions& options);

}  // namespace seqbench
