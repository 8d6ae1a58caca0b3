// One chunk of one head of gated linear attention (GLA, Yang et al. 2023, Sec. 4, chunkwise form):
// with c_t = g_{t0} + ... + g_t inside the chunk, the intra-chunk scores
// A_ts = scale sum_i q_t[i] k_s[i] e^{c_t[i] - c_s[i]} (s <= t) and the decay factors the carried
// state needs. Checked through gla_fwd_cpu / gla_bwd_cpu against a plain recurrence in test_gla.cpp.
#pragma once
#include <cstdint>
#include <vector>

#include "mixers/gla/gla.h"

namespace seqbench {

// One (batch, head) slice: token t of q/k at t * qk_stride, of v/out at t * v_stride, of g at t * g_stride.
struct GlaHeadView {
  const float* q;
  const float* k;
  const float* v;
  const float* g;
  int64_t seq_len, dk, dv, dg, qk_stride, v_stride, g_stride;
  bool channel;
};

GlaHeadView gla_head_view(const float* q, const float* k, const float* v, const float* g, int64_t bh,
                          const GlaShape& shape);

// How the intra-chunk scores are formed. factorised: (q_t e^{c_t - c_last}) . (k_s e^{c_last - c_s}),
// one exp per token and channel, used when no channel decays by more than e^-40 over the chunk, so
// neither factor can overflow or underflow in float (the exponents stay differences of c, in
// log space, and their product is exact to rounding). Otherwise the decay is applied per pair as
// e^{c_t - c_s} <= 1: one exp per pair for a scalar decay, per pair and channel for GLA's.
enum class GlaScoreForm { factorised, scalar_per_pair, channel_per_pair };

// Per-thread buffers for one chunk of up to `capacity` tokens.
struct GlaChunkScratch {
  int64_t capacity = 0;
  std::vector<float> cum;           // [capacity, dg] c_t
  std::vector<float> q_decay;       // [capacity, dk] e^{c_t}: what the chunk's start state reaches t with
  std::vector<float> k_decay;       // [capacity, dk] e^{c_last - c_s}: what k_s keeps at the chunk's end
  std::vector<float> k_decayed;     // [capacity, dk] k_s * k_decay_s
  std::vector<float> q_scaled;      // [capacity, dk] q_t (times e^{c_t - c_last} when factorised)
  std::vector<float> inv_last;      // [dk] e^{-c_last} when factorised
  std::vector<float> keys_t;        // [dk, capacity] the keys the scores use, transposed
  std::vector<float> values_t;      // [dv, capacity] v transposed
  std::vector<float> scores, dscores;  // [capacity, capacity] rows t, columns s; zero above the diagonal
  std::vector<float> state, state_t;   // [dk, dv] and its transpose
  std::vector<float> row;              // [max(dk, dv)]
  std::vector<float> decay_row;        // [capacity]
  std::vector<float> matmul_scratch;   // triangular_matmul_acc_cpu's packed panels
  GlaChunkScratch(const GlaShape& shape, int64_t chunk_size);
};

// Everything the chunk [t0, t1) needs before scores: c, the decay factors, k_decayed, and the
// score form with q_scaled and keys_t to match. Returns that form.
GlaScoreForm gla_prepare_chunk(const GlaHeadView& x, int64_t t0, int64_t t1, GlaChunkScratch& w);

// scores[t * capacity + s] = A_ts for s <= t (local indices), 0 for t < s < t1 - t0.
void gla_chunk_scores(const GlaHeadView& x, int64_t t0, int64_t t1, GlaScoreForm form, float scale,
                      GlaChunkScratch& w);

// dscores holds dL/dA_ts (scale included), zero above the diagonal; adds the intra-chunk parts of dq and dk:
// dq_t += sum_s dA_ts k_s e^{c_t - c_s}, dk_s += sum_t dA_ts q_t e^{c_t - c_s}.
void gla_chunk_query_key_grads(const GlaHeadView& x, int64_t t0, int64_t t1, GlaScoreForm form,
                               GlaChunkScratch& w, float* dq, float* dk);

// xt[d * ld + t] = x[t * stride + d] for t < n, d < width.
void gla_transpose_rows(const float* x, int64_t n, int64_t stride, int64_t width, int64_t ld, float* xt);

}  // namespace seqbench
