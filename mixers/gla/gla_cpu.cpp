// Chunked gated linear attention on the CPU. Inside a chunk [t0, t1) with local cumulative log
// decay c_t = g_{t0} + ... + g_t: o_t = scale (q_t * e^{c_t})^T S_{t0-1} + sum_{t0<=s<=t} A_ts v_s
// (A_ts from gla_chunk_cpu.h), and the state is carried to the next chunk; backward walks the chunks
// in reverse carrying dL/dS. Every exponential is of a difference of c within one chunk, never of
// the cumulative decay since the sequence start. Checked in test_gla.cpp.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "mixers/gla/gla.h"
#include "mixers/gla/gla_chunk_cpu.h"
#include "mixers/gla/triangular_matmul_cpu.h"
#include "ops/simd_math.h"
#include "ops/vector_ops.h"

namespace seqbench {
namespace {

// Below this many multiply-adds a parallel region costs more than it saves.
constexpr int64_t kParallelWork = 1 << 14;

void check_call(const GlaShape& s, const GlaOptions& o, const char* what) {
  if (o.chunk_size < 1)
    throw std::invalid_argument(std::string(what) + ": chunk_size must be >= 1, got " + std::to_string(o.chunk_size));
  if (s.batch < 0 || s.seq_len < 0 || s.heads < 1 || s.key_dim < 1 || s.value_dim < 1)
    throw std::invalid_argument(std::string(what) + ": bad shape batch=" + std::to_string(s.batch) +
                                " seq_len=" + std::to_string(s.seq_len) + " heads=" + std::to_string(s.heads) +
                                " key_dim=" + std::to_string(s.key_dim) + " value_dim=" + std::to_string(s.value_dim));
}

bool worth_parallel(const GlaShape& s, int64_t chunk) {
  const int64_t pairs = s.batch * s.heads;
  return pairs > 1 &&
         pairs * s.seq_len * (std::min(chunk, s.seq_len) + s.key_dim) * (s.key_dim + s.value_dim) > kParallelWork;
}

// S <- diag(e^{c_last}) S + sum_s (k_s * e^{c_last - c_s}) v_s^T: the state past the chunk.
void carry_state(const GlaHeadView& x, int64_t t0, int64_t t1, const GlaChunkScratch& w, float* S) {
  const int64_t n = t1 - t0;
  const float* last_decay = w.q_decay.data() + (n - 1) * x.dk;  // e^{c_last}
  for (int64_t i = 0; i < x.dk; ++i) scale_cpu(last_decay[i], S + i * x.dv, x.dv);
  for (int64_t s = 0; s < n; ++s) {
    const float* kd = w.k_decayed.data() + s * x.dk;
    for (int64_t i = 0; i < x.dk; ++i) axpy_cpu(kd[i], x.v + (t0 + s) * x.v_stride, S + i * x.dv, x.dv);
  }
}

void forward_head(const GlaHeadView& x, float* out, float* states, bool want_final_state, GlaChunkScratch& w,
                  const GlaOptions& o) {
  float* S = w.state.data();
  fill_zero_cpu(S, x.dk * x.dv);
  for (int64_t c = 0, t0 = 0; t0 < x.seq_len; ++c, t0 += o.chunk_size) {
    const int64_t t1 = std::min(x.seq_len, t0 + o.chunk_size);
    std::copy(S, S + x.dk * x.dv, states + c * x.dk * x.dv);
    const GlaScoreForm form = gla_prepare_chunk(x, t0, t1, w);
    gla_chunk_scores(x, t0, t1, form, o.scale, w);
    for (int64_t tl = 0; tl < t1 - t0; ++tl) {
      float* o_t = out + (t0 + tl) * x.v_stride;
      fill_zero_cpu(o_t, x.dv);
      if (c > 0) {  // scale (q_t * e^{c_t})^T S; the first chunk starts from the zero state
        const float* q_t = x.q + (t0 + tl) * x.qk_stride;
        const float* qd = w.q_decay.data() + tl * x.dk;
        for (int64_t i = 0; i < x.dk; ++i) axpy_cpu(o.scale * q_t[i] * qd[i], S + i * x.dv, o_t, x.dv);
      }
    }
    triangular_matmul_acc_cpu(w.scores.data(), w.capacity, TriangularSide::lower, x.v + t0 * x.v_stride, x.v_stride,
                              out + t0 * x.v_stride, x.v_stride, t1 - t0, x.dv, w.matmul_scratch);
    if (t1 < x.seq_len || want_final_state) carry_state(x, t0, t1, w, S);
  }
}

// Gradient rows of one head, laid out like the inputs.
struct GlaHeadGrads {
  float* dq;
  float* dk;
  float* dv;
  float* dg;  // may be null
};

// dscores[t, s] = scale dout_t . v_s, and dv_s += sum_{t >= s} A_ts dout_t, inside the chunk.
void backward_chunk_values(const GlaHeadView& x, const float* dout, float* dv, int64_t t0, int64_t t1,
                           GlaChunkScratch& w, const GlaOptions& o) {
  const int64_t n = t1 - t0, ld = w.capacity;
  gla_transpose_rows(x.v + t0 * x.v_stride, n, x.v_stride, x.dv, ld, w.values_t.data());
  lower_scores_cpu(dout + t0 * x.v_stride, x.v_stride, w.values_t.data(), ld, o.scale, w.dscores.data(), ld, n, x.dv,
                   w.matmul_scratch);
  triangular_matmul_acc_cpu(w.scores.data(), ld, TriangularSide::lower_transposed, dout + t0 * x.v_stride, x.v_stride,
                            dv + t0 * x.v_stride, x.v_stride, n, x.dv, w.matmul_scratch);
}

// dq_t += scale e^{c_t} * (S0 dout_t), S0 the state at the chunk's start.
void backward_queries_from_state(const GlaHeadView& x, const float* dout, const float* S0, float* dq, int64_t t0,
                                 int64_t t1, GlaChunkScratch& w, const GlaOptions& o) {
  float* st = w.state_t.data();
  float* tmp = w.row.data();
  gla_transpose_rows(S0, x.dk, x.dv, x.dv, x.dk, st);
  for (int64_t tl = 0; tl < t1 - t0; ++tl) {
    const float* do_t = dout + (t0 + tl) * x.v_stride;
    fill_zero_cpu(tmp, x.dk);
    for (int64_t j = 0; j < x.dv; ++j) axpy_cpu(do_t[j], st + j * x.dk, tmp, x.dk);
    const float* qd = w.q_decay.data() + tl * x.dk;
    float* dq_t = dq + (t0 + tl) * x.qk_stride;
    for (int64_t i = 0; i < x.dk; ++i) dq_t[i] += o.scale * qd[i] * tmp[i];
  }
}

// R = dL/dS at the chunk's end, and S_end holds (k_s * e^{c_last - c_s}) v_s^T for every s of the chunk:
// dk_s += e^{c_last - c_s} * (R v_s), dv_s += R^T (k_s * e^{c_last - c_s}).
void backward_keys_values_from_state(const GlaHeadView& x, const float* R, const GlaHeadGrads& d, int64_t t0,
                                     int64_t t1, GlaChunkScratch& w) {
  float* rt = w.state_t.data();
  float* tmp = w.row.data();
  gla_transpose_rows(R, x.dk, x.dv, x.dv, x.dk, rt);
  for (int64_t s = 0; s < t1 - t0; ++s) {
    const float* v_s = x.v + (t0 + s) * x.v_stride;
    fill_zero_cpu(tmp, x.dk);
    for (int64_t j = 0; j < x.dv; ++j) axpy_cpu(v_s[j], rt + j * x.dk, tmp, x.dk);
    const float* kd = w.k_decay.data() + s * x.dk;
    const float* kdd = w.k_decayed.data() + s * x.dk;
    float* dk_s = d.dk + (t0 + s) * x.qk_stride;
    float* dv_s = d.dv + (t0 + s) * x.v_stride;
    for (int64_t i = 0; i < x.dk; ++i) {
      dk_s[i] += kd[i] * tmp[i];
      axpy_cpu(kdd[i], R + i * x.dv, dv_s, x.dv);
    }
  }
}

// R <- dL/dS at the chunk's start: diag(e^{c_last}) R + scale sum_t (q_t * e^{c_t}) dout_t^T.
void carry_state_gradient(const GlaHeadView& x, const float* dout, int64_t t0, int64_t t1, const GlaChunkScratch& w,
                          float* R, const GlaOptions& o) {
  const int64_t n = t1 - t0;
  const float* last_decay = w.q_decay.data() + (n - 1) * x.dk;
  for (int64_t i = 0; i < x.dk; ++i) scale_cpu(last_decay[i], R + i * x.dv, x.dv);
  for (int64_t tl = 0; tl < n; ++tl) {
    const float* q_t = x.q + (t0 + tl) * x.qk_stride;
    const float* qd = w.q_decay.data() + tl * x.dk;
    for (int64_t i = 0; i < x.dk; ++i)
      axpy_cpu(o.scale * q_t[i] * qd[i], dout + (t0 + tl) * x.v_stride, R + i * x.dv, x.dv);
  }
}

// The output depends on q_t and k_t only through q_t e^{B_t} and k_t e^{-B_t} (B the cumulative
// log decay from the sequence start), so dL/dB_t = q_t dq_t - k_t dk_t and dL/dg_s = sum_{t>=s} dL/dB_t.
// g_0 decays the zero initial state: its gradient is exactly zero (the sum would leave rounding).
void backward_log_decay(const GlaHeadView& x, const GlaHeadGrads& d, float* acc) {
  fill_zero_cpu(acc, x.dk);
  fill_zero_cpu(d.dg, x.dg);
  float total = 0.0f;
  for (int64_t t = x.seq_len - 1; t >= 1; --t) {
    const float* q_t = x.q + t * x.qk_stride;
    const float* k_t = x.k + t * x.qk_stride;
    const float* dq_t = d.dq + t * x.qk_stride;
    const float* dk_t = d.dk + t * x.qk_stride;
    float* dg_t = d.dg + t * x.g_stride;
    if (x.channel) {
      for (int64_t i = 0; i < x.dk; ++i) {
        acc[i] += q_t[i] * dq_t[i] - k_t[i] * dk_t[i];
        dg_t[i] = acc[i];
      }
    } else {
      total += dot_cpu(q_t, dq_t, x.dk) - dot_cpu(k_t, dk_t, x.dk);
      dg_t[0] = total;
    }
  }
}

void backward_head(const GlaHeadView& x, const float* states, const float* dout, const GlaHeadGrads& d,
                   GlaChunkScratch& w, const GlaOptions& o) {
  float* R = w.state.data();
  fill_zero_cpu(R, x.dk * x.dv);
  const int64_t chunks = gla_num_chunks(x.seq_len, o.chunk_size);
  for (int64_t c = chunks - 1; c >= 0; --c) {
    const int64_t t0 = c * o.chunk_size, t1 = std::min(x.seq_len, t0 + o.chunk_size);
    for (int64_t t = t0; t < t1; ++t) {
      fill_zero_cpu(d.dq + t * x.qk_stride, x.dk);
      fill_zero_cpu(d.dk + t * x.qk_stride, x.dk);
      fill_zero_cpu(d.dv + t * x.v_stride, x.dv);
    }
    const GlaScoreForm form = gla_prepare_chunk(x, t0, t1, w);
    gla_chunk_scores(x, t0, t1, form, o.scale, w);
    backward_chunk_values(x, dout, d.dv, t0, t1, w, o);
    gla_chunk_query_key_grads(x, t0, t1, form, w, d.dq, d.dk);  // before the state terms join dq, dk
    if (c > 0) backward_queries_from_state(x, dout, states + c * x.dk * x.dv, d.dq, t0, t1, w, o);
    if (c < chunks - 1) backward_keys_values_from_state(x, R, d, t0, t1, w);
    if (c > 0) carry_state_gradient(x, dout, t0, t1, w, R, o);
  }
  if (d.dg) backward_log_decay(x, d, w.row.data());
}

}  // namespace

int64_t gla_num_chunks(int64_t seq_len, int64_t chunk_size) { return (seq_len + chunk_size - 1) / chunk_size; }

void gla_fwd_cpu(const float* q, const float* k, const float* v, const float* log_decay, float* out,
                 float* chunk_states, float* final_state, const GlaShape& s, const GlaOptions& o) {
  check_call(s, o, "gla_fwd_cpu");
  if (!chunk_states) throw std::invalid_argument("gla_fwd_cpu: chunk_states buffer is required");
  const int64_t pairs = s.batch * s.heads, state_size = s.key_dim * s.value_dim;
  const int64_t per_head_states = gla_num_chunks(s.seq_len, o.chunk_size) * state_size;
#pragma omp parallel if (worth_parallel(s, o.chunk_size))
  {
    GlaChunkScratch w(s, o.chunk_size);
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < pairs; ++bh) {
      const GlaHeadView x = gla_head_view(q, k, v, log_decay, bh, s);
      forward_head(x, out + (x.v - v), chunk_states + bh * per_head_states, final_state != nullptr, w, o);
      if (final_state) std::copy(w.state.begin(), w.state.end(), final_state + bh * state_size);
    }
  }
}

void gla_bwd_cpu(const float* q, const float* k, const float* v, const float* log_decay, const float* chunk_states,
                 const float* dout, float* dq, float* dk, float* dv, float* dlog_decay, const GlaShape& s,
                 const GlaOptions& o) {
  check_call(s, o, "gla_bwd_cpu");
  const int64_t pairs = s.batch * s.heads;
  const int64_t per_head_states = gla_num_chunks(s.seq_len, o.chunk_size) * s.key_dim * s.value_dim;
#pragma omp parallel if (worth_parallel(s, o.chunk_size))
  {
    GlaChunkScratch w(s, o.chunk_size);
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < pairs; ++bh) {
      const GlaHeadView x = gla_head_view(q, k, v, log_decay, bh, s);
      const int64_t qo = x.q - q, vo = x.v - v, go = x.g - log_decay;
      const GlaHeadGrads d{dq + qo, dk + qo, dv + vo, dlog_decay ? dlog_decay + go : nullptr};
      backward_head(x, chunk_states + bh * per_head_states, dout + vo, d, w, o);
    }
  }
}

void gla_decode_cpu(const float* q_t, const float* k_t, const float* v_t, const float* log_decay_t, float* state,
                    float* out_t, const GlaShape& s, const GlaOptions& o) {
  const int64_t pairs = s.batch * s.heads, dk = s.key_dim, dv = s.value_dim, dg = s.decay_width();
  const bool parallel = pairs > 1 && pairs * dk * dv > kParallelWork;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t bh = 0; bh < pairs; ++bh) {
    const float* q = q_t + bh * dk;
    const float* k = k_t + bh * dk;
    const float* v = v_t + bh * dv;
    const float* g = log_decay_t + bh * dg;
    float* S = state + bh * dk * dv;
    float* o_t = out_t + bh * dv;
    const float scalar_decay = simd_exp(g[0]);
    for (int64_t i = 0; i < dk; ++i) {
      scale_cpu(s.channel_decay ? simd_exp(g[i]) : scalar_decay, S + i * dv, dv);
      axpy_cpu(k[i], v, S + i * dv, dv);
    }
    fill_zero_cpu(o_t, dv);
    for (int64_t i = 0; i < dk; ++i) axpy_cpu(o.scale * q[i], S + i * dv, o_t, dv);
  }
}

template <>
GlaKernels cpu_kernel_table<GlaKernels>{
    {}, gla_fwd_cpu, gla_bwd_cpu, gla_decode_cpu, no_shape_limits<GlaShape, GlaOptions>};

}  // namespace seqbench
