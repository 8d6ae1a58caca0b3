// (Gated) delta rule S_t = a_t S_{t-1} (I - b_t k_t k_t^T) + b_t v_t k_t^T, o_t = S_t q_t: exact recurrence with
// chunk checkpoints and BPTT backward (see the header); checked against test_delta.cpp's naive recurrence.
#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "mixers/delta/delta_rule.h"
#include "mixers/delta/state_rows.h"
#include "ops/vector_ops.h"

namespace seqbench {
namespace {

using namespace delta_rows;

// Below this many state multiply-adds a parallel region costs more than it saves.
constexpr int64_t kParallelWork = 1 << 14;

// One (batch, head) slice: token t of q/k at t * key_stride, of v/out at t * value_stride, of
// beta/log_decay at t * gate_stride.
struct HeadSlice {
  const float *q, *k, *v, *beta, *log_decay;  // log_decay null: ungated
  int64_t key_offset, value_offset, gate_offset;
  int64_t seq_len, dk, dv, key_stride, value_stride, gate_stride;
};

HeadSlice head_slice(const float* q, const float* k, const float* v, const float* beta, const float* log_decay,
                     int64_t bh, const DeltaRuleShape& s) {
  const int64_t bt = bh / s.heads, h = bh % s.heads;
  const int64_t ks = s.heads * s.key_dim, vs = s.heads * s.value_dim;
  const int64_t ko = bt * s.seq_len * ks + h * s.key_dim, vo = bt * s.seq_len * vs + h * s.value_dim;
  const int64_t go = bt * s.seq_len * s.heads + h;
  return {q + ko,      k + ko, v + vo, beta + go, log_decay ? log_decay + go : nullptr,
          ko,          vo,     go,     s.seq_len, s.key_dim,
          s.value_dim, ks,     vs,     s.heads};
}

void check_options(const DeltaRuleOptions& o, const char* caller) {
  if (o.chunk_size < 1)
    throw std::invalid_argument(std::string(caller) + ": chunk_size must be >= 1, got " + std::to_string(o.chunk_size));
  if (o.recompute_span < 0)
    throw std::invalid_argument(std::string(caller) + ": recompute_span must be >= 0 (0: automatic), got " +
                                std::to_string(o.recompute_span));
}

bool worth_parallel(const DeltaRuleShape& s) {
  const int64_t pairs = s.batch * s.heads;
  return pairs > 1 && pairs * s.seq_len * s.key_dim * s.value_dim > kParallelWork;
}

float decay_at(const HeadSlice& x, int64_t t) { return x.log_decay ? std::exp(x.log_decay[t * x.gate_stride]) : 1.0f; }

// One token, with S^T_in, S^T_out [Dk, Dv] (the same buffer when updating in place):
// p = S_in k, w = S_in q, d = b (v - a p) (the value minus what the decayed state already stores
// under k), S_out = a S_in + d k^T, and out = S_out q computed as a w + d (k.q). p, w, d are
// caller buffers of Dv floats; backward keeps p and w.
void delta_token(const float* S_in, float* S_out, const float* q, const float* k, const float* v, float beta,
                 float alpha, float* out, float* p, float* w, float* d, int64_t dv, int64_t dk) {
  combine_rows(S_in, dk, dv, k, q, p, w);
  const float qk = dot_cpu(q, k, dk);
#pragma omp simd
  for (int64_t i = 0; i < dv; ++i) {
    d[i] = beta * (v[i] - alpha * p[i]);
    out[i] = alpha * w[i] + d[i] * qk;
  }
  for (int64_t j = 0; j < dk; ++j) {
    const float* s = S_in + j * dv;
    float* s_out = S_out + j * dv;
    const float kj = k[j];
#pragma omp simd
    for (int64_t i = 0; i < dv; ++i) s_out[i] = alpha * s[i] + kj * d[i];
  }
}

// What the reverse step reads of one token: its inputs, and p = S_{t-1} k, w = S_{t-1} q.
struct TokenRecord {
  const float *q, *k, *v, *p, *w, *dout;
  float beta, alpha;
};

// Per-thread vectors of Dv floats used within one reverse step.
struct ReverseScratch {
  float *gk, *gp, *d, *du, *du_alpha, *dout_alpha;  // Dv each
  float *lanes_k, *lanes_q;                         // [Dk rounded up to 8][8] each
};

// What the second half of the reverse step reads besides G and P: vectors of Dv (d, du, a du,
// a do, do), q and k, and where each row's lane sums go.
struct ReverseRowTerms {
  const float *d, *du, *du_alpha, *dout_alpha, *dout, *q, *k;
  float *lanes_k, *lanes_q;
  float alpha;
  int64_t dv;
};

// Row j of G^T and P^T: dk_j = G_j . d + P_j . (a du) and dq_j = P_j . (a do) as lane sums,
// then G_j <- a (G_j + q_j do + k_j du).
void reverse_row(float* G, const float* P, int64_t j, const ReverseRowTerms& t) {
  const int64_t n = t.dv, full = n - n % kLanes;
  float* __restrict g = G + j * n;
  const float* __restrict p = P + j * n;
  const float qj = t.q[j], kj = t.k[j];
  Lanes8 sum_k = {}, sum_q = {};
  for (int64_t i = 0; i < full; i += kLanes) {
    const Lanes8 gi = simd_load8(g + i), pi = simd_load8(p + i);
    sum_k += simd_load8(t.d + i) * gi + simd_load8(t.du_alpha + i) * pi;
    sum_q += simd_load8(t.dout_alpha + i) * pi;
    simd_store8(g + i, t.alpha * (gi + qj * simd_load8(t.dout + i) + kj * simd_load8(t.du + i)));
  }
  for (int64_t i = full; i < n; ++i) {
    sum_k[0] += t.d[i] * g[i] + t.du_alpha[i] * p[i];
    sum_q[0] += t.dout_alpha[i] * p[i];
    g[i] = t.alpha * (g[i] + qj * t.dout[i] + kj * t.du[i]);
  }
  simd_store8(t.lanes_k + j * kLanes, sum_k);
  simd_store8(t.lanes_q + j * kLanes, sum_q);
}

// Reverse of delta_token at one token. On entry G = (dL/dS_t)^T [Dk, Dv] from later tokens (not
// yet holding this token's output); on exit (dL/dS_{t-1})^T. With P = S_{t-1}, S' = a P,
// e = v - a P k, d = b e, S_t = S' + d k^T, o = S_t q and dS_t = G + do q^T:
//   dd = dS_t k = G k + do (q.k);  dv = b dd;  db = dd . e;  du = -b dd;  dS' = dS_t + du k^T;
//   dq = S_t^T do = a P^T do + (d.do) k;  dk = dS_t^T d + a P^T du = G^T d + (d.do) q + a P^T du;
//   da = <dS', P> = <G, P> + do . (P q) + du . (P k);  dL/dS_{t-1} = a dS'.
// dq, dk are overwritten; dbeta and dalpha receive the scalars (dalpha only when kGated).
template <bool kGated>
void delta_token_bwd(const float* P, float* G, const TokenRecord& r, const ReverseScratch& s, float* dq, float* dk,
                     float* dv, float* dbeta, float* dalpha, int64_t dv_dim, int64_t dk_dim) {
  combine_gradient_rows<kGated>(G, P, dk_dim, dv_dim, r.k, s.gk, s.gp);
  // Local restrict copies: through the structs the compiler would reload every pointer after each
  // store to G, not knowing they do not alias.
  const float* __restrict v = r.v;
  const float* __restrict p_k = r.p;
  const float* __restrict w_q = r.w;
  const float* __restrict dout = r.dout;
  const float* __restrict gk = s.gk;
  const float* __restrict gp = s.gp;
  float* __restrict d = s.d;
  float* __restrict du = s.du;
  float* __restrict du_alpha = s.du_alpha;
  float* __restrict dout_alpha = s.dout_alpha;
  const float qk = dot_cpu(r.q, r.k, dk_dim), alpha = r.alpha, beta = r.beta;
  float dbeta_sum = 0.0f, dalpha_sum = 0.0f, d_dot_do = 0.0f;
#pragma omp simd reduction(+ : dbeta_sum, dalpha_sum, d_dot_do)
  for (int64_t i = 0; i < dv_dim; ++i) {
    const float do_i = dout[i], e = v[i] - alpha * p_k[i], d_i = beta * e;
    const float dd = gk[i] + do_i * qk, du_i = -beta * dd;
    dv[i] = beta * dd;
    dbeta_sum += dd * e;
    if (kGated) dalpha_sum += gp[i] + do_i * w_q[i] + du_i * p_k[i];
    d_dot_do += d_i * do_i;
    d[i] = d_i;
    du[i] = du_i;
    du_alpha[i] = du_i * alpha;
    dout_alpha[i] = do_i * alpha;
  }
  const ReverseRowTerms terms{d, du, du_alpha, dout_alpha, dout, r.q, r.k, s.lanes_k, s.lanes_q, alpha, dv_dim};
  for (int64_t j = 0; j < dk_dim; ++j) reverse_row(G, P, j, terms);
  const int64_t padded = (dk_dim + kLanes - 1) / kLanes * kLanes;
  fill_zero_cpu(s.lanes_k + dk_dim * kLanes, (padded - dk_dim) * kLanes);
  fill_zero_cpu(s.lanes_q + dk_dim * kLanes, (padded - dk_dim) * kLanes);
  for (int64_t j0 = 0; j0 < dk_dim; j0 += kLanes) {
    const Lanes8 row_k = row_sums8(s.lanes_k + j0 * kLanes), row_q = row_sums8(s.lanes_q + j0 * kLanes);
    for (int64_t j = j0; j < std::min(dk_dim, j0 + kLanes); ++j) {
      dk[j] = row_k[j - j0] + d_dot_do * r.q[j];
      dq[j] = row_q[j - j0] + d_dot_do * r.k[j];
    }
  }
  *dbeta = dbeta_sum;
  *dalpha = dalpha_sum;
}

// Per-thread buffers of the forward pass and of decode: the state and three vectors of Dv.
struct ForwardScratch {
  std::vector<float> buffer;
  float *S, *p, *w, *d;

  ForwardScratch(int64_t dv, int64_t dk) : buffer(static_cast<size_t>(dk * dv + 3 * dv)) {
    S = buffer.data();
    p = S + dk * dv;
    w = p + dv;
    d = w + dv;
  }
};

void forward_head(const HeadSlice& x, float* out, float* checkpoints, ForwardScratch& f, int64_t chunk) {
  const int64_t state = x.dv * x.dk;
  fill_zero_cpu(f.S, state);
  for (int64_t t = 0; t < x.seq_len; ++t) {
    if (checkpoints && t % chunk == 0) std::copy(f.S, f.S + state, checkpoints + (t / chunk) * state);
    delta_token(f.S, f.S, x.q + t * x.key_stride, x.k + t * x.key_stride, x.v + t * x.value_stride,
                x.beta[t * x.gate_stride], decay_at(x, t), out + t * x.value_stride, f.p, f.w, f.d, x.dv, x.dk);
  }
}

struct HeadGrads {
  float *dq, *dk, *dv, *dbeta, *dlog_decay;
};

// Per-thread buffers of the backward pass. A span of `span` tokens is recomputed at a time and
// its states S_{t-1} kept, by default as many as fit in kSpanFloats (L2-sized); when a chunk is
// longer than a span, the chunk is first run forward once more to save each span's start state.
constexpr int64_t kSpanFloats = int64_t(1) << 18;

struct BackwardScratch {
  int64_t span = 1;
  std::unique_ptr<float[]> buffer;  // not zero-filled: every part is written before it is read
  float *states, *span_starts, *G, *p, *w, *out, *d;
  ReverseScratch reverse;

  BackwardScratch(int64_t chunk, int64_t requested_span, int64_t dv, int64_t dk) {
    const int64_t state = dv * dk;
    span = std::max<int64_t>(1, std::min(chunk, requested_span > 0 ? requested_span : kSpanFloats / state));
    const int64_t starts = (chunk + span - 1) / span;
    const int64_t lanes = (dk + kLanes - 1) / kLanes * kLanes * kLanes;
    buffer.reset(new float[static_cast<size_t>((span + starts + 1) * state + (2 * span + 8) * dv + 2 * lanes)]);
    states = buffer.get();
    span_starts = states + span * state;
    G = span_starts + starts * state;
    p = G + state;
    w = p + span * dv;
    out = w + span * dv;
    d = out + dv;
    float* r = d + dv;
    reverse = {r, r + dv, r + 2 * dv, r + 3 * dv, r + 4 * dv, r + 5 * dv, r + 6 * dv, r + 6 * dv + lanes};
  }
};

// Recomputes tokens [t0, t1) from S, which ends holding the state after t1 - 1. With keep, the
// state before each token goes to states[t - t0] and its p, w to the scratch.
void recompute_span(const HeadSlice& x, int64_t t0, int64_t t1, float* S, BackwardScratch& b, bool keep) {
  const int64_t state = x.dv * x.dk;
  if (keep) std::copy(S, S + state, b.states);
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t c = keep ? t - t0 : 0;
    const float* S_prev = keep ? b.states + c * state : S;
    float* S_next = keep && t + 1 < t1 ? b.states + (c + 1) * state : S;
    delta_token(S_prev, S_next, x.q + t * x.key_stride, x.k + t * x.key_stride, x.v + t * x.value_stride,
                x.beta[t * x.gate_stride], decay_at(x, t), b.out, b.p + c * x.dv, b.w + c * x.dv, b.d, x.dv, x.dk);
  }
}

template <bool kGated>
void backward_span(const HeadSlice& x, int64_t t0, int64_t t1, const float* dout, const HeadGrads& grad,
                   BackwardScratch& b) {
  const int64_t state = x.dv * x.dk;
  for (int64_t t = t1 - 1; t >= t0; --t) {
    const TokenRecord r{x.q + t * x.key_stride,    x.k + t * x.key_stride, x.v + t * x.value_stride,
                        b.p + (t - t0) * x.dv,     b.w + (t - t0) * x.dv,  dout + t * x.value_stride,
                        x.beta[t * x.gate_stride], decay_at(x, t)};
    float dalpha = 0.0f;
    delta_token_bwd<kGated>(b.states + (t - t0) * state, b.G, r, b.reverse, grad.dq + t * x.key_stride,
                            grad.dk + t * x.key_stride, grad.dv + t * x.value_stride, grad.dbeta + t * x.gate_stride,
                            &dalpha, x.dv, x.dk);
    // a = exp(g): dg = da * a.
    if (kGated) grad.dlog_decay[t * x.gate_stride] = dalpha * r.alpha;
  }
}

// Chunks in reverse; within a chunk, spans in reverse, each recomputed from its start state.
template <bool kGated>
void backward_head(const HeadSlice& x, const float* checkpoints, const float* dout, const HeadGrads& grad,
                   BackwardScratch& b, int64_t chunk) {
  const int64_t state = x.dv * x.dk;
  fill_zero_cpu(b.G, state);
  const int64_t chunks = (x.seq_len + chunk - 1) / chunk;
  for (int64_t c = chunks - 1; c >= 0; --c) {
    const int64_t t0 = c * chunk, t1 = std::min(x.seq_len, t0 + chunk);
    const int64_t spans = (t1 - t0 + b.span - 1) / b.span;
    std::copy(checkpoints + c * state, checkpoints + (c + 1) * state, b.span_starts);
    for (int64_t s = 1; s < spans; ++s) {
      float* start = b.span_starts + s * state;
      std::copy(start - state, start, start);
      recompute_span(x, t0 + (s - 1) * b.span, t0 + s * b.span, start, b, false);
    }
    for (int64_t s = spans - 1; s >= 0; --s) {
      const int64_t s0 = t0 + s * b.span, s1 = std::min(t1, s0 + b.span);
      // The span start is consumed here: each span is recomputed once, after the later ones.
      recompute_span(x, s0, s1, b.span_starts + s * state, b, true);
      backward_span<kGated>(x, s0, s1, dout, grad, b);
    }
  }
}

}  // namespace

int64_t delta_rule_checkpoint_count(const DeltaRuleShape& s, const DeltaRuleOptions& o) {
  check_options(o, "delta_rule_checkpoint_count");
  return (s.seq_len + o.chunk_size - 1) / o.chunk_size;
}

void delta_rule_fwd_cpu(const float* q, const float* k, const float* v, const float* beta, const float* log_decay,
                        float* out, float* checkpoints, float* final_state, const DeltaRuleShape& s,
                        const DeltaRuleOptions& o) {
  const int64_t checkpoint_count = delta_rule_checkpoint_count(s, o);
  const int64_t pairs = s.batch * s.heads, state = s.key_dim * s.value_dim;
#pragma omp parallel if (worth_parallel(s))
  {
    ForwardScratch f(s.value_dim, s.key_dim);
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < pairs; ++bh) {
      const HeadSlice x = head_slice(q, k, v, beta, log_decay, bh, s);
      forward_head(x, out + x.value_offset, checkpoints ? checkpoints + bh * checkpoint_count * state : nullptr, f,
                   o.chunk_size);
      if (final_state) std::copy(f.S, f.S + state, final_state + bh * state);
    }
  }
}

void delta_rule_bwd_cpu(const float* q, const float* k, const float* v, const float* beta, const float* log_decay,
                        const float* checkpoints, const float* dout, float* dq, float* dk, float* dv, float* dbeta,
                        float* dlog_decay, const DeltaRuleShape& s, const DeltaRuleOptions& o) {
  const int64_t checkpoint_count = delta_rule_checkpoint_count(s, o);
  if (!checkpoints) throw std::invalid_argument("delta_rule_bwd_cpu: needs the forward's checkpoints");
  if (log_decay && !dlog_decay) throw std::invalid_argument("delta_rule_bwd_cpu: gated backward needs dlog_decay");
  const int64_t pairs = s.batch * s.heads;
  const int64_t chunk = std::min(o.chunk_size, std::max<int64_t>(1, s.seq_len));
#pragma omp parallel if (worth_parallel(s))
  {
    BackwardScratch scratch(chunk, o.recompute_span, s.value_dim, s.key_dim);
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < pairs; ++bh) {
      const HeadSlice x = head_slice(q, k, v, beta, log_decay, bh, s);
      const HeadGrads grad{dq + x.key_offset, dk + x.key_offset, dv + x.value_offset, dbeta + x.gate_offset,
                           log_decay ? dlog_decay + x.gate_offset : nullptr};
      const float* head_checkpoints = checkpoints + bh * checkpoint_count * s.key_dim * s.value_dim;
      if (log_decay)
        backward_head<true>(x, head_checkpoints, dout + x.value_offset, grad, scratch, o.chunk_size);
      else
        backward_head<false>(x, head_checkpoints, dout + x.value_offset, grad, scratch, o.chunk_size);
    }
  }
}

void delta_rule_decode_cpu(const float* q_t, const float* k_t, const float* v_t, const float* beta_t,
                           const float* log_decay_t, float* state, float* out_t, const DeltaRuleShape& s) {
  const int64_t pairs = s.batch * s.heads, dk = s.key_dim, dv = s.value_dim;
#pragma omp parallel if (pairs > 1 && pairs * dk * dv > kParallelWork)
  {
    ForwardScratch f(dv, 0);  // p, w, d only; the state is the cache's
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < pairs; ++bh) {
      const float alpha = log_decay_t ? std::exp(log_decay_t[bh]) : 1.0f;
      float* S = state + bh * dk * dv;
      delta_token(S, S, q_t + bh * dk, k_t + bh * dk, v_t + bh * dv, beta_t[bh], alpha, out_t + bh * dv, f.p, f.w, f.d,
                  dv, dk);
    }
  }
}

template <>
DeltaRuleKernels cpu_kernel_table<DeltaRuleKernels>{
    {}, delta_rule_fwd_cpu, delta_rule_bwd_cpu, delta_rule_decode_cpu, no_shape_limits<DeltaRuleShape>};

}  // namespace seqbench
