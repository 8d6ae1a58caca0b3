#include "kernels/linear_attention/linear_attention_cpu.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/vector_ops.h"

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

void check_options(const LinearAttentionOptions& o) {
  if (o.chunk_size < 1)
    throw std::invalid_argument("linear attention chunk_size must be >= 1, got " + std::to_string(o.chunk_size));
}

bool worth_parallel(const LinearAttentionShape& s, int64_t chunk) {
  const int64_t pairs = s.batch * s.heads;
  return pairs > 1 && pairs * s.seq_len * (std::min(chunk, s.seq_len) + s.feature_dim) *
                              (s.feature_dim + s.head_dim) > kParallelWork;
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

void forward_head(const HeadSlice& x, float* out, float* den, float* S, float* z,
                  const LinearAttentionOptions& o) {
  fill_zero_cpu(S, x.f * x.dh);
  fill_zero_cpu(z, x.f);
  for (int64_t t0 = 0; t0 < x.seq_len; t0 += o.chunk_size) {
    const int64_t t1 = std::min(x.seq_len, t0 + o.chunk_size);
    for (int64_t t = t0; t < t1; ++t) {
      const float* a_t = x.a + t * x.feature_stride;
      float* o_t = out + t * x.value_stride;
      read_state(a_t, S, x.f, x.dh, o_t);
      float g = dot_cpu(a_t, z, x.f);
      for (int64_t s = t0; s <= t; ++s) {
        const float w = dot_cpu(a_t, x.b + s * x.feature_stride, x.f);
        axpy_cpu(w, x.v + s * x.value_stride, o_t, x.dh);
        g += w;
      }
      if (o.normalize) {
        g += o.eps;
        scale_cpu(1.0f / g, o_t, x.dh);
        den[t] = g;
      }
    }
    add_chunk_to_state(x, t0, t1, S, z);
  }
}

// With n_t = a_t^T S_t and g_t = a_t.z_t + eps, out_t = n_t / g_t gives dn_t = dout_t / g_t and
// dg_t = -(dout_t . out_t) / g_t. Unnormalised: dn_t = dout_t, dg_t = 0.
void chunk_output_grads(const float* dout, const float* out, const float* den, const HeadSlice& x,
                        int64_t t0, int64_t t1, bool normalize, float* dn, float* dg) {
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

// da_t = S_{<t0} dn_t + dg_t z_{<t0} + sum_{t0<=s<=t} b_s (v_s.dn_t + dg_t), chunks in order.
void backward_queries(const HeadSlice& x, const float* out, const float* den, const float* dout,
                      float* dphi_q, float* S, float* z, float* dn, float* dg,
                      const LinearAttentionOptions& o) {
  fill_zero_cpu(S, x.f * x.dh);
  fill_zero_cpu(z, x.f);
  for (int64_t t0 = 0; t0 < x.seq_len; t0 += o.chunk_size) {
    const int64_t t1 = std::min(x.seq_len, t0 + o.chunk_size);
    chunk_output_grads(dout, out, den, x, t0, t1, o.normalize, dn, dg);
    for (int64_t t = t0; t < t1; ++t) {
      const float* dn_t = dn + (t - t0) * x.dh;
      const float dg_t = dg[t - t0];
      float* da = dphi_q + t * x.feature_stride;
      for (int64_t i = 0; i < x.f; ++i) da[i] = dot_cpu(S + i * x.dh, dn_t, x.dh) + dg_t * z[i];
      for (int64_t s = t0; s <= t; ++s) {
        const float c = dot_cpu(x.v + s * x.value_stride, dn_t, x.dh) + dg_t;
        axpy_cpu(c, x.b + s * x.feature_stride, da, x.f);
      }
    }
    add_chunk_to_state(x, t0, t1, S, z);
  }
}

// Chunks in reverse with R = sum_{t >= t1} a_t dn_t^T [f, Dh] and r = sum_{t >= t1} dg_t a_t:
// db_s = R v_s + r + sum_{s<=t<t1} a_t (dn_t.v_s + dg_t);  dv_s = R^T b_s + sum_{s<=t<t1} (a_t.b_s) dn_t.
void backward_keys_values(const HeadSlice& x, const float* out, const float* den, const float* dout,
                          float* dphi_k, float* dv, float* R, float* r, float* dn, float* dg,
                          const LinearAttentionOptions& o) {
  fill_zero_cpu(R, x.f * x.dh);
  fill_zero_cpu(r, x.f);
  const int64_t chunks = (x.seq_len + o.chunk_size - 1) / o.chunk_size;
  for (int64_t c = chunks - 1; c >= 0; --c) {
    const int64_t t0 = c * o.chunk_size, t1 = std::min(x.seq_len, t0 + o.chunk_size);
    chunk_output_grads(dout, out, den, x, t0, t1, o.normalize, dn, dg);
    for (int64_t s = t0; s < t1; ++s) {
      const float* b_s = x.b + s * x.feature_stride;
      const float* v_s = x.v + s * x.value_stride;
      float* db = dphi_k + s * x.feature_stride;
      float* dv_s = dv + s * x.value_stride;
      for (int64_t i = 0; i < x.f; ++i) db[i] = dot_cpu(R + i * x.dh, v_s, x.dh) + r[i];
      read_state(b_s, R, x.f, x.dh, dv_s);
      for (int64_t t = s; t < t1; ++t) {
        const float* a_t = x.a + t * x.feature_stride;
        const float* dn_t = dn + (t - t0) * x.dh;
        axpy_cpu(dot_cpu(dn_t, v_s, x.dh) + dg[t - t0], a_t, db, x.f);
        axpy_cpu(dot_cpu(a_t, b_s, x.f), dn_t, dv_s, x.dh);
      }
    }
    for (int64_t t = t0; t < t1; ++t) {
      const float* a_t = x.a + t * x.feature_stride;
      const float* dn_t = dn + (t - t0) * x.dh;
      for (int64_t i = 0; i < x.f; ++i) axpy_cpu(a_t[i], dn_t, R + i * x.dh, x.dh);
      axpy_cpu(dg[t - t0], a_t, r, x.f);
    }
  }
}

}  // namespace

void linear_attention_fwd_cpu(const float* phi_q, const float* phi_k, const float* v, float* out,
                              float* denominator, float* final_kv_state, float* final_k_state,
                              const LinearAttentionShape& s, const LinearAttentionOptions& o) {
  check_options(o);
  if (o.normalize && !denominator)
    throw std::invalid_argument("linear_attention_fwd_cpu: normalize needs a denominator buffer");
  const int64_t pairs = s.batch * s.heads, f = s.feature_dim, dh = s.head_dim;
#pragma omp parallel if (worth_parallel(s, o.chunk_size))
  {
    std::vector<float> state(static_cast<size_t>(f * dh + f));
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < pairs; ++bh) {
      const HeadSlice x = head_slice(phi_q, phi_k, v, bh, s);
      const int64_t vo = x.v - v;
      float* S = state.data();
      float* z = S + f * dh;
      forward_head(x, out + vo, o.normalize ? denominator + bh * s.seq_len : nullptr, S, z, o);
      if (final_kv_state) std::copy(S, S + f * dh, final_kv_state + bh * f * dh);
      if (final_k_state) std::copy(z, z + f, final_k_state + bh * f);
    }
  }
}

void linear_attention_bwd_cpu(const float* phi_q, const float* phi_k, const float* v, const float* out,
                              const float* denominator, const float* dout, float* dphi_q,
                              float* dphi_k, float* dv, const LinearAttentionShape& s,
                              const LinearAttentionOptions& o) {
  check_options(o);
  if (o.normalize && !denominator)
    throw std::invalid_argument("linear_attention_bwd_cpu: normalize needs the forward's denominator");
  const int64_t pairs = s.batch * s.heads, f = s.feature_dim, dh = s.head_dim;
  const int64_t chunk = std::max<int64_t>(1, std::min(o.chunk_size, s.seq_len));
#pragma omp parallel if (worth_parallel(s, o.chunk_size))
  {
    std::vector<float> scratch(static_cast<size_t>(f * dh + f + chunk * dh + chunk));
    float* S = scratch.data();
    float* z = S + f * dh;
    float* dn = z + f;
    float* dg = dn + chunk * dh;
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < pairs; ++bh) {
      const HeadSlice x = head_slice(phi_q, phi_k, v, bh, s);
      const int64_t fo = x.a - phi_q, vo = x.v - v;
      const float* den = o.normalize ? denominator + bh * s.seq_len : nullptr;
      backward_queries(x, out + vo, den, dout + vo, dphi_q + fo, S, z, dn, dg, o);
      backward_keys_values(x, out + vo, den, dout + vo, dphi_k + fo, dv + vo, S, z, dn, dg, o);
    }
  }
}

void linear_attention_decode_cpu(const float* phi_q_t, const float* phi_k_t, const float* v_t,
                                 float* kv_state, float* k_state, float* out_t,
                                 const LinearAttentionShape& s, const LinearAttentionOptions& o) {
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

}  // namespace seqbench
