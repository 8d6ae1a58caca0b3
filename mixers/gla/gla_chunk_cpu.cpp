#include "mixers/gla/gla_chunk_cpu.h"

#include <algorithm>

#include "ops/simd_math.h"
#include "mixers/gla/triangular_matmul_cpu.h"

namespace seqbench {
namespace {

// Largest total log decay of a chunk for which the factorised scores are used: both factors stay
// within e^{+-40}, far from float's e^{+-87} even after multiplying by q, k and the gradients.
constexpr float kMaxFactorisedDecay = 40.0f;

// row[s] *= e^{c_t - c_s} for s < len, a scalar decay per position; `exps` has room for len floats.
void apply_scalar_decay(const float* cum, int64_t t, int64_t len, float* exps, float* row) {
  for (int64_t s = 0; s < len; ++s) exps[s] = cum[t] - cum[s];
  simd_exp_array(exps, exps, len);
  for (int64_t s = 0; s < len; ++s) row[s] *= exps[s];
}

// exps[i] = e^{c_t[i] - c_s[i]}: GLA's per-channel decay from s to t, formed in log space.
void channel_decay_between(const float* c_t, const float* c_s, int64_t dk, float* exps) {
  for (int64_t i = 0; i < dk; ++i) exps[i] = c_t[i] - c_s[i];
  simd_exp_array(exps, exps, dk);
}

}  // namespace

GlaHeadView gla_head_view(const float* q, const float* k, const float* v, const float* g, int64_t bh,
                          const GlaShape& s) {
  const int64_t bt = bh / s.heads, h = bh % s.heads, dg = s.decay_width();
  const int64_t qs = s.heads * s.key_dim, vs = s.heads * s.value_dim, gs = s.heads * dg;
  return {q + bt * s.seq_len * qs + h * s.key_dim,
          k + bt * s.seq_len * qs + h * s.key_dim,
          v + bt * s.seq_len * vs + h * s.value_dim,
          g + bt * s.seq_len * gs + h * dg,
          s.seq_len, s.key_dim, s.value_dim, dg, qs, vs, gs, s.channel_decay};
}

GlaChunkScratch::GlaChunkScratch(const GlaShape& s, int64_t chunk_size)
    : capacity(std::min(chunk_size, std::max<int64_t>(s.seq_len, 1))) {
  const auto n = static_cast<size_t>(capacity), dk = static_cast<size_t>(s.key_dim),
             dv = static_cast<size_t>(s.value_dim);
  cum.resize(n * static_cast<size_t>(s.decay_width()));
  for (auto* buffer : {&q_decay, &k_decay, &k_decayed, &q_scaled, &keys_t}) buffer->resize(n * dk);
  inv_last.resize(dk);
  decay_row.resize(n);
  values_t.resize(dv * n);
  scores.resize(n * n);
  dscores.resize(n * n);
  state.resize(dk * dv);
  state_t.resize(dk * dv);
  row.resize(std::max(dk, dv));
}

void gla_transpose_rows(const float* x, int64_t n, int64_t stride, int64_t width, int64_t ld, float* xt) {
  for (int64_t t = 0; t < n; ++t)
    for (int64_t d = 0; d < width; ++d) xt[d * ld + t] = x[t * stride + d];
}

namespace {

// cum[tl] = g_{t0} + ... + g_{t0 + tl}; q_decay = e^{c_t}; k_decay = e^{c_last - c_s}; k_decayed = k * k_decay.
void chunk_decay_factors(const GlaHeadView& x, int64_t t0, int64_t n, GlaChunkScratch& w) {
  const int64_t dk = x.dk, dg = x.dg;
  float* cum = w.cum.data();
  for (int64_t tl = 0; tl < n; ++tl) {
    const float* g_t = x.g + (t0 + tl) * x.g_stride;
    for (int64_t i = 0; i < dg; ++i) cum[tl * dg + i] = (tl == 0 ? 0.0f : cum[(tl - 1) * dg + i]) + g_t[i];
  }
  const float* last = cum + (n - 1) * dg;
  if (x.channel) {  // cum is [n, dk]: one pass over the whole chunk
    float* kd = w.k_decay.data();
    for (int64_t tl = 0; tl < n; ++tl)
      for (int64_t i = 0; i < dk; ++i) kd[tl * dk + i] = last[i] - cum[tl * dk + i];
    simd_exp_array(cum, w.q_decay.data(), n * dk);
    simd_exp_array(kd, kd, n * dk);
  } else {
    float* exps = w.decay_row.data();
    for (int64_t tl = 0; tl < n; ++tl) exps[tl] = last[0] - cum[tl];
    simd_exp_array(exps, exps, n);
    for (int64_t tl = 0; tl < n; ++tl) std::fill_n(w.k_decay.data() + tl * dk, dk, exps[tl]);
    simd_exp_array(cum, exps, n);
    for (int64_t tl = 0; tl < n; ++tl) std::fill_n(w.q_decay.data() + tl * dk, dk, exps[tl]);
  }
  for (int64_t tl = 0; tl < n; ++tl) {
    const float* k_s = x.k + (t0 + tl) * x.qk_stride;
    const float* kd = w.k_decay.data() + tl * dk;
    float* kdd = w.k_decayed.data() + tl * dk;
    for (int64_t i = 0; i < dk; ++i) kdd[i] = k_s[i] * kd[i];
  }
}

}  // namespace

GlaScoreForm gla_prepare_chunk(const GlaHeadView& x, int64_t t0, int64_t t1, GlaChunkScratch& w) {
  const int64_t n = t1 - t0, dk = x.dk, dg = x.dg;
  chunk_decay_factors(x, t0, n, w);
  const float* last = w.cum.data() + (n - 1) * dg;
  float total_decay = 0.0f;
  for (int64_t i = 0; i < dg; ++i) total_decay = std::max(total_decay, -last[i]);
  const bool factorised = total_decay <= kMaxFactorisedDecay;
  if (!factorised && x.channel) return GlaScoreForm::channel_per_pair;
  for (int64_t i = 0; i < dk; ++i) w.inv_last[i] = factorised ? -last[x.channel ? i : 0] : 0.0f;
  simd_exp_array(w.inv_last.data(), w.inv_last.data(), dk);
  for (int64_t tl = 0; tl < n; ++tl) {
    const float* q_t = x.q + (t0 + tl) * x.qk_stride;
    const float* qd = w.q_decay.data() + tl * dk;
    float* qs = w.q_scaled.data() + tl * dk;
    for (int64_t i = 0; i < dk; ++i) qs[i] = factorised ? q_t[i] * qd[i] * w.inv_last[i] : q_t[i];
  }
  if (factorised)
    gla_transpose_rows(w.k_decayed.data(), n, dk, dk, w.capacity, w.keys_t.data());
  else
    gla_transpose_rows(x.k + t0 * x.qk_stride, n, x.qk_stride, dk, w.capacity, w.keys_t.data());
  return factorised ? GlaScoreForm::factorised : GlaScoreForm::scalar_per_pair;
}

void gla_chunk_scores(const GlaHeadView& x, int64_t t0, int64_t t1, GlaScoreForm form, float scale,
                      GlaChunkScratch& w) {
  const int64_t n = t1 - t0, dk = x.dk, ld = w.capacity;
  if (form != GlaScoreForm::channel_per_pair) {
    lower_scores_cpu(w.q_scaled.data(), dk, w.keys_t.data(), ld, scale, w.scores.data(), ld, n, dk,
                     w.matmul_scratch);
    if (form == GlaScoreForm::scalar_per_pair)
      for (int64_t tl = 0; tl < n; ++tl)
        apply_scalar_decay(w.cum.data(), tl, tl + 1, w.decay_row.data(), w.scores.data() + tl * ld);
    return;
  }
  // The exponent is formed per pair and channel in log space: e^{c_t - c_s} <= 1 always.
  float* exps = w.row.data();
  for (int64_t tl = 0; tl < n; ++tl) {
    const float* q_t = x.q + (t0 + tl) * x.qk_stride;
    const float* c_t = w.cum.data() + tl * dk;
    float* row = w.scores.data() + tl * ld;
    for (int64_t s = 0; s <= tl; ++s) {
      const float* k_s = x.k + (t0 + s) * x.qk_stride;
      channel_decay_between(c_t, w.cum.data() + s * dk, dk, exps);
      float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
      for (int64_t i = 0; i < dk; ++i) sum += q_t[i] * k_s[i] * exps[i];
      row[s] = scale * sum;
    }
    std::fill(row + tl + 1, row + n, 0.0f);  // the products below read whole rows of the triangle
  }
}

void gla_chunk_query_key_grads(const GlaHeadView& x, int64_t t0, int64_t t1, GlaScoreForm form,
                               GlaChunkScratch& w, float* dq, float* dk) {
  const int64_t n = t1 - t0, d = x.dk, ld = w.capacity;
  if (form == GlaScoreForm::channel_per_pair) {
    for (int64_t tl = 0; tl < n; ++tl) {
      const float* q_t = x.q + (t0 + tl) * x.qk_stride;
      const float* c_t = w.cum.data() + tl * d;
      float* __restrict dq_t = dq + (t0 + tl) * x.qk_stride;
      float* exps = w.row.data();
      for (int64_t s = 0; s <= tl; ++s) {
        const float* k_s = x.k + (t0 + s) * x.qk_stride;
        float* __restrict dk_s = dk + (t0 + s) * x.qk_stride;
        channel_decay_between(c_t, w.cum.data() + s * d, d, exps);
        const float p = w.dscores[tl * ld + s];
#pragma omp simd
        for (int64_t i = 0; i < d; ++i) {
          dq_t[i] += p * exps[i] * k_s[i];
          dk_s[i] += p * exps[i] * q_t[i];
        }
      }
    }
    return;
  }
  // Factorised: dq_t = e^{c_t - c_last} * sum_s dA_ts (k_s e^{c_last - c_s}) and
  // dk_s = e^{c_last - c_s} * sum_t dA_ts (q_t e^{c_t - c_last}); per pair: the decay scales dA_ts.
  const bool factorised = form == GlaScoreForm::factorised;
  if (!factorised)
    for (int64_t tl = 0; tl < n; ++tl)
      apply_scalar_decay(w.cum.data(), tl, tl + 1, w.decay_row.data(), w.dscores.data() + tl * ld);
  const float* keys = factorised ? w.k_decayed.data() : x.k + t0 * x.qk_stride;
  const int64_t keys_stride = factorised ? d : x.qk_stride;
  triangular_matmul_acc_cpu(w.dscores.data(), ld, TriangularSide::lower, keys, keys_stride, dq + t0 * x.qk_stride,
                            x.qk_stride, n, d, w.matmul_scratch);
  triangular_matmul_acc_cpu(w.dscores.data(), ld, TriangularSide::lower_transposed, w.q_scaled.data(), d,
                            dk + t0 * x.qk_stride, x.qk_stride, n, d, w.matmul_scratch);
  if (!factorised) return;
  for (int64_t tl = 0; tl < n; ++tl) {
    float* dq_t = dq + (t0 + tl) * x.qk_stride;
    float* dk_t = dk + (t0 + tl) * x.qk_stride;
    const float* qd = w.q_decay.data() + tl * d;
    const float* kd = w.k_decay.data() + tl * d;
    for (int64_t i = 0; i < d; ++i) {
      dq_t[i] *= qd[i] * w.inv_last[i];
      dk_t[i] *= kd[i];
    }
  }
}

}  // namespace seqbench
