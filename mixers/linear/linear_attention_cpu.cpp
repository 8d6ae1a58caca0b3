#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "mixers/linear/linear_attention.h"
#include "ops/vector_ops.h"

namespace seqbench {
namespace {

// Below this many multiply-adds a parallel region costs more than it saves.
constexpr int64_t kParallelWork = 1 << 14;

// One (batch, head) slice: token t of a/b lives at t * feature_stride, of v/out at t * value_stride.
struct HeadSlice {
  const float* a;  // phi(q)
  const float* b;  // phi(k)
  const float* v;
  int64_t seq_len, f, dh, feature_stride, value_stride;
};

HeadSlice head_slice(const float* phi_q, const float* phi_k, const float* v, int64_t bh,
                     const LinearAttentionShape& s) {
  const int64_t bt = bh / s.heads, h = bh % s.heads;
  const int64_t fs = s.heads * s.feature_dim, vs = s.heads * s.head_dim;
  const int64_t fo = bt * s.seq_len * fs + h * s.feature_dim, vo = bt * s.seq_len * vs + h * s.head_dim;
  return {phi_q + fo, phi_k + fo, v + vo, s.seq_len, s.feature_dim, s.head_dim, fs, vs};
}

// The chunk length forward and backward work in: chunk_size (std::invalid_argument when < 1), at
// most the sequence.
int64_t chunk_length(const LinearAttentionShape& s, const LinearAttentionOptions& o) {
  if (o.chunk_size < 1)
    throw std::invalid_argument("linear attention chunk_size must be >= 1, got " + std::to_string(o.chunk_size));
  return std::max<int64_t>(1, std::min(o.chunk_size, s.seq_len));
}

bool worth_parallel(const LinearAttentionShape& s, int64_t chunk) {
  const int64_t pairs = s.batch * s.heads;
  return pairs > 1 && pairs * s.seq_len * (std::min(chunk, s.seq_len) + s.feature_dim) * (s.feature_dim + s.head_dim) >
                          kParallelWork;
}

// S += sum_{s in [t0, t1)} b_s v_s^T and z += sum b_s: the state carried past a chunk.
void add_chunk_to_state(const HeadSlice& x, int64_t t0, int64_t t1, float* S, float* z) {
  for (int64_t s = t0; s < t1; ++s) {
    const float* b_s = x.b + s * x.feature_stride;
    const float* v_s = x.v + s * x.value_stride;
    for (int64_t i = 0; i < x.f; ++i) axpy_cpu(b_s[i], v_s, S + i * x.dh, x.dh);
    axpy_cpu(1.0f, b_s, z, x.f);
  }
}

// out_row = a^T S (the contribution of every earlier chunk, or the whole prefix when decoding).
void read_state(const float* a, const float* S, int64_t f, int64_t dh, float* out_row) {
  fill_zero_cpu(out_row, dh);
  for (int64_t i = 0; i < f; ++i) axpy_cpu(a[i], S + i * dh, out_row, dh);
}

// w[0..n) = sum_i x[i] * yt[i * stride + (0..n)]: one row of chunk-local scores against tokens
// held transposed, vectorised over tokens.
void row_scores(const float* x, const float* yt, int64_t width, int64_t stride, int64_t n, float* w) {
  fill_zero_cpu(w, n);
  for (int64_t i = 0; i < width; ++i) axpy_cpu(x[i], yt + i * stride, w, n);
}

// Chunk scratch: phi(k) of the chunk transposed [f][n] and one row of scores.
struct ForwardScratch {
  float *S, *z, *bt, *w;
};

void forward_head(const HeadSlice& x, float* out, float* den, bool keep_final_state, const ForwardScratch& m,
                  const LinearAttentionOptions& o) {
  fill_zero_cpu(m.S, x.f * x.dh);
  fill_zero_cpu(m.z, x.f);
  for (int64_t t0 = 0; t0 < x.seq_len; t0 += o.chunk_size) {
    const int64_t t1 = std::min(x.seq_len, t0 + o.chunk_size), n = t1 - t0;
    transpose_tokens_cpu(x.b + t0 * x.feature_stride, n, x.feature_stride, x.f, m.bt);
    for (int64_t t = t0; t < t1; ++t) {
      const float* a_t = x.a + t * x.feature_stride;
      float* o_t = out + t * x.value_stride;
      // Earlier chunks through the carried state (still zero in the first chunk).
      float g = 0.0f;
      if (t0 > 0) {
        read_state(a_t, m.S, x.f, x.dh, o_t);
        g = dot_cpu(a_t, m.z, x.f);
      } else {
        fill_zero_cpu(o_t, x.dh);
      }
      // This chunk, quadratically: w_s = a_t . b_s for t0 <= s <= t.
      const int64_t count = t - t0 + 1;
      row_scores(a_t, m.bt, x.f, n, count, m.w);
      for (int64_t s = 0; s < count; ++s) {
        axpy_cpu(m.w[s], x.v + (t0 + s) * x.value_stride, o_t, x.dh);
        g += m.w[s];
      }
      if (o.normalize) {
        g += o.eps;
        scale_cpu(1.0f / g, o_t, x.dh);
        den[t] = g;
      }
    }
    if (t1 < x.seq_len || keep_final_state) add_chunk_to_state(x, t0, t1, m.S, m.z);
  }
}

// With n_t = a_t^T S_t and g_t = a_t.z_t + eps, out_t = n_t / g_t gives dn_t = dout_t / g_t and
// dg_t = -(dout_t . out_t) / g_t. Unnormalised: dn_t = dout_t, dg_t = 0.
void chunk_output_grads(const float* dout, const float* out, const float* den, const HeadSlice& x, int64_t t0,
                        int64_t t1, bool normalize, float* dn, float* dg) {
  for (int64_t t = t0; t < t1; ++t) {
    const float* do_t = dout + t * x.value_stride;
    float* dn_t = dn + (t - t0) * x.dh;
    if (normalize) {
      const float inv = 1.0f / den[t];
      for (int64_t d = 0; d < x.dh; ++d) dn_t[d] = do_t[d] * inv;
      dg[t - t0] = -dot_cpu(do_t, out + t * x.value_stride, x.dh) * inv;
    } else {
      std::copy(do_t, do_t + x.dh, dn_t);
      dg[t - t0] = 0.0f;
    }
  }
}

// Chunk scratch of the backward: output grads dn [n][Dh] and dg [n], two transposed token
// blocks (up to [max(f, Dh)][n] and [Dh][n]) and two rows of chunk-local coefficients.
struct BackwardScratch {
  float *S, *z, *dn, *dg, *xt, *dnt, *c, *w;
};

// da_t = S_{<t0} dn_t + dg_t z_{<t0} + sum_{t0<=s<=t} b_s (v_s.dn_t + dg_t), chunks in order.
void backward_queries(const HeadSlice& x, const float* out, const float* den, const float* dout, float* dphi_q,
                      const BackwardScratch& m, const LinearAttentionOptions& o) {
  fill_zero_cpu(m.S, x.f * x.dh);
  fill_zero_cpu(m.z, x.f);
  for (int64_t t0 = 0; t0 < x.seq_len; t0 += o.chunk_size) {
    const int64_t t1 = std::min(x.seq_len, t0 + o.chunk_size), n = t1 - t0;
    chunk_output_grads(dout, out, den, x, t0, t1, o.normalize, m.dn, m.dg);
    transpose_tokens_cpu(x.v + t0 * x.value_stride, n, x.value_stride, x.dh, m.xt);  // v^T
    for (int64_t t = t0; t < t1; ++t) {
      const float* dn_t = m.dn + (t - t0) * x.dh;
      const float dg_t = m.dg[t - t0];
      float* da = dphi_q + t * x.feature_stride;
      if (t0 > 0) {
        for (int64_t i = 0; i < x.f; ++i) da[i] = dot_cpu(m.S + i * x.dh, dn_t, x.dh) + dg_t * m.z[i];
      } else {
        fill_zero_cpu(da, x.f);
      }
      const int64_t count = t - t0 + 1;
      row_scores(dn_t, m.xt, x.dh, n, count, m.c);
      for (int64_t s = 0; s < count; ++s) axpy_cpu(m.c[s] + dg_t, x.b + (t0 + s) * x.feature_stride, da, x.f);
    }
    if (t1 < x.seq_len) add_chunk_to_state(x, t0, t1, m.S, m.z);
  }
}

// Chunks in reverse with R = sum_{t >= t1} a_t dn_t^T [f, Dh] and r = sum_{t >= t1} dg_t a_t:
// db_s = R v_s + r + sum_{s<=t<t1} a_t (dn_t.v_s + dg_t);  dv_s = R^T b_s + sum_{s<=t<t1} (a_t.b_s) dn_t.
void backward_keys_values(const HeadSlice& x, const float* out, const float* den, const float* dout, float* dphi_k,
                          float* dv, const BackwardScratch& m, const LinearAttentionOptions& o) {
  float* R = m.S;
  float* r = m.z;
  fill_zero_cpu(R, x.f * x.dh);
  fill_zero_cpu(r, x.f);
  const int64_t chunks = (x.seq_len + o.chunk_size - 1) / o.chunk_size;
  for (int64_t c = chunks - 1; c >= 0; --c) {
    const int64_t t0 = c * o.chunk_size, t1 = std::min(x.seq_len, t0 + o.chunk_size), n = t1 - t0;
    chunk_output_grads(dout, out, den, x, t0, t1, o.normalize, m.dn, m.dg);
    transpose_tokens_cpu(x.a + t0 * x.feature_stride, n, x.feature_stride, x.f, m.xt);  // a^T
    transpose_tokens_cpu(m.dn, n, x.dh, x.dh, m.dnt);                                   // dn^T
    for (int64_t s = t0; s < t1; ++s) {
      const float* b_s = x.b + s * x.feature_stride;
      const float* v_s = x.v + s * x.value_stride;
      float* db = dphi_k + s * x.feature_stride;
      float* dv_s = dv + s * x.value_stride;
      if (c < chunks - 1) {
        for (int64_t i = 0; i < x.f; ++i) db[i] = dot_cpu(R + i * x.dh, v_s, x.dh) + r[i];
        read_state(b_s, R, x.f, x.dh, dv_s);
      } else {
        fill_zero_cpu(db, x.f);
        fill_zero_cpu(dv_s, x.dh);
      }
      // Rows t in [s, t1) of the chunk: c_t = dn_t . v_s, w_t = a_t . b_s.
      const int64_t first = s - t0, count = n - first;
      row_scores(v_s, m.dnt + first, x.dh, n, count, m.c);
      row_scores(b_s, m.xt + first, x.f, n, count, m.w);
      for (int64_t k = 0; k < count; ++k) {
        axpy_cpu(m.c[k] + m.dg[first + k], x.a + (s + k) * x.feature_stride, db, x.f);
        axpy_cpu(m.w[k], m.dn + (first + k) * x.dh, dv_s, x.dh);
      }
    }
    if (c == 0) break;
    for (int64_t t = t0; t < t1; ++t) {
      const float* a_t = x.a + t * x.feature_stride;
      const float* dn_t = m.dn + (t - t0) * x.dh;
      for (int64_t i = 0; i < x.f; ++i) axpy_cpu(a_t[i], dn_t, R + i * x.dh, x.dh);
      axpy_cpu(m.dg[t - t0], a_t, r, x.f);
    }
  }
}

}  // namespace

void linear_attention_fwd_cpu(const float* phi_q, const float* phi_k, const float* v, float* out, float* denominator,
                              float* final_kv_state, float* final_k_state, const LinearAttentionShape& s,
                              const LinearAttentionOptions& o) {
  const int64_t chunk = chunk_length(s, o);
  if (o.normalize && !denominator)
    throw std::invalid_argument("linear_attention_fwd_cpu: normalize needs a denominator buffer");
  const int64_t pairs = s.batch * s.heads, f = s.feature_dim, dh = s.head_dim;
#pragma omp parallel if (worth_parallel(s, o.chunk_size))
  {
    std::vector<float> scratch(static_cast<size_t>(f * dh + f + f * chunk + chunk));
    const ForwardScratch m{scratch.data(), scratch.data() + f * dh, scratch.data() + f * dh + f,
                           scratch.data() + f * dh + f + f * chunk};
    const bool keep_final_state = final_kv_state || final_k_state;
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < pairs; ++bh) {
      const HeadSlice x = head_slice(phi_q, phi_k, v, bh, s);
      forward_head(x, out + (x.v - v), o.normalize ? denominator + bh * s.seq_len : nullptr, keep_final_state, m, o);
      if (final_kv_state) std::copy(m.S, m.S + f * dh, final_kv_state + bh * f * dh);
      if (final_k_state) std::copy(m.z, m.z + f, final_k_state + bh * f);
    }
  }
}

void linear_attention_bwd_cpu(const float* phi_q, const float* phi_k, const float* v, const float* out,
                              const float* denominator, const float* dout, float* dphi_q, float* dphi_k, float* dv,
                              const LinearAttentionShape& s, const LinearAttentionOptions& o) {
  const int64_t chunk = chunk_length(s, o);
  if (o.normalize && !denominator)
    throw std::invalid_argument("linear_attention_bwd_cpu: normalize needs the forward's denominator");
  const int64_t pairs = s.batch * s.heads, f = s.feature_dim, dh = s.head_dim;
#pragma omp parallel if (worth_parallel(s, o.chunk_size))
  {
    const int64_t widest = std::max(f, dh);
    std::vector<float> scratch(static_cast<size_t>(f * dh + f + 2 * chunk * dh + chunk + widest * chunk + 2 * chunk));
    BackwardScratch m;
    m.S = scratch.data();
    m.z = m.S + f * dh;
    m.dn = m.z + f;
    m.dg = m.dn + chunk * dh;
    m.xt = m.dg + chunk;
    m.dnt = m.xt + widest * chunk;
    m.c = m.dnt + chunk * dh;
    m.w = m.c + chunk;
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < pairs; ++bh) {
      const HeadSlice x = head_slice(phi_q, phi_k, v, bh, s);
      const int64_t fo = x.a - phi_q, vo = x.v - v;
      const float* den = o.normalize ? denominator + bh * s.seq_len : nullptr;
      backward_queries(x, out + vo, den, dout + vo, dphi_q + fo, m, o);
      backward_keys_values(x, out + vo, den, dout + vo, dphi_k + fo, dv + vo, m, o);
    }
  }
}

void linear_attention_decode_cpu(const float* phi_q_t, const float* phi_k_t, const float* v_t, float* kv_state,
                                 float* k_state, float* out_t, const LinearAttentionShape& s,
                                 const LinearAttentionOptions& o) {
  const int64_t pairs = s.batch * s.heads, f = s.feature_dim, dh = s.head_dim;
  const bool parallel = pairs > 1 && pairs * f * dh > kParallelWork;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t bh = 0; bh < pairs; ++bh) {
    const float* a = phi_q_t + bh * f;
    const float* b = phi_k_t + bh * f;
    const float* v = v_t + bh * dh;
    float* S = kv_state + bh * f * dh;
    float* z = k_state + bh * f;
    float* o_t = out_t + bh * dh;
    for (int64_t i = 0; i < f; ++i) axpy_cpu(b[i], v, S + i * dh, dh);
    axpy_cpu(1.0f, b, z, f);
    read_state(a, S, f, dh, o_t);
    if (o.normalize) scale_cpu(1.0f / (dot_cpu(a, z, f) + o.eps), o_t, dh);
  }
}

template <>
LinearAttentionKernels cpu_kernel_table<LinearAttentionKernels>{
    {},
    linear_attention_fwd_cpu,
    linear_attention_bwd_cpu,
    linear_attention_decode_cpu,
    no_shape_limits<LinearAttentionShape, LinearAttentionOptions>};

}  // namespace seqbench
