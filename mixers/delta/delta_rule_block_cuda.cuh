// One token of the delta rule and of its reverse-mode recurrence, carried out by one thread block over a
// [Dk, Dv] state (S^T); the same formulas as delta_token / delta_token_bwd in delta_rule_cpu.cpp.
// Device code shared by the forward, backward and decode kernels of delta_rule_cuda.cu.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "ops/cuda/warp_reduce.cuh"

namespace seqbench {
namespace delta_block {

// How one block's threads share out a [dk, dv] state: thread (col, row) = (tid % cols, tid / cols) owns
// the elements (j, i) with j = row + a rows, i = col + b cols. Each state element is read and written by
// its owner only, so states need no synchronisation of their own (and may sit in shared or global
// memory); vectors and partial sums go through shared memory. cols is a multiple of 32, so a warp lies
// within one `row` and sums over a state row with shuffles.
struct BlockPlan {
  int dk = 0, dv = 0, cols = 32, rows = 1;

  __host__ __device__ int threads() const { return cols * rows; }
  __host__ __device__ int warps_per_row() const { return cols / 32; }
  __host__ __device__ int64_t state_floats() const { return static_cast<int64_t>(dk) * dv; }
  // Shared floats of the vectors below, rounded to 16 bytes so that a state can follow them.
  __host__ __device__ int64_t vector_floats() const {
    const int64_t n = 4 + 2 * dk + 7 * dv + 4 * static_cast<int64_t>(rows) * dv + 2 * dk * warps_per_row();
    return (n + 3) / 4 * 4;
  }
};

// The per-token vectors in shared memory.
struct TokenShared {
  float* scalars;      // [4]: q.k, then the backward's sums dbeta, dalpha, d.do
  float *q, *k;        // [dk]
  float *v, *dout;     // [dv]
  float *d, *du;       // [dv]: d = b (v - a S k), du = -b dd
  float* terms;        // [3][dv]: per-column terms of dbeta, dalpha, d.do
  float* partial;      // [4][rows][dv]: per-row-group partial sums over j
  float* row_partial;  // [2][dk][warps_per_row]: per-warp partial sums over i
};

__device__ __forceinline__ TokenShared carve(float* shared, const BlockPlan& p) {
  TokenShared s;
  s.scalars = shared;
  s.q = s.scalars + 4;
  s.k = s.q + p.dk;
  s.v = s.k + p.dk;
  s.dout = s.v + p.dv;
  s.d = s.dout + p.dv;
  s.du = s.d + p.dv;
  s.terms = s.du + p.dv;
  s.partial = s.terms + 3 * p.dv;
  s.row_partial = s.partial + 4 * p.rows * p.dv;
  return s;
}

__device__ __forceinline__ int owner_col(const BlockPlan& p) { return threadIdx.x % p.cols; }
__device__ __forceinline__ int owner_row(const BlockPlan& p) { return threadIdx.x / p.cols; }

// f(j, i, e) for every state element (j, i), at e = j dv + i, that this thread owns.
template <class F>
__device__ __forceinline__ void for_owned(const BlockPlan& p, F f) {
  for (int j = owner_row(p); j < p.dk; j += p.rows)
    for (int i = owner_col(p); i < p.dv; i += p.cols) f(j, i, j * p.dv + i);
}

// Token row `row` of q, k (dk floats), v and, when non-null, dout (dv floats) into shared memory. The
// first barrier keeps the previous token's readers ahead of the overwrite.
__device__ __forceinline__ void load_token(const TokenShared& s, const BlockPlan& p, const float* q, const float* k,
                                           const float* v, const float* dout, int64_t row) {
  __syncthreads();
  for (int j = threadIdx.x; j < p.dk; j += blockDim.x) {
    s.q[j] = q[row * p.dk + j];
    s.k[j] = k[row * p.dk + j];
  }
  for (int i = threadIdx.x; i < p.dv; i += blockDim.x) {
    s.v[i] = v[row * p.dv + i];
    if (dout) s.dout[i] = dout[row * p.dv + i];
  }
  __syncthreads();
}

// Warp 0 writes q.k to scalars[0].
__device__ __forceinline__ void store_q_dot_k(const TokenShared& s, const BlockPlan& p) {
  if (threadIdx.x >= 32) return;
  float sum = 0.0f;
  for (int j = threadIdx.x; j < p.dk; j += 32) sum += s.q[j] * s.k[j];
  sum = warp_sum(sum);
  if (threadIdx.x == 0) s.scalars[0] = sum;
}

// Column i's sum over the row groups of partial sum `which`, in row-group order.
__device__ __forceinline__ float column_sum(const TokenShared& s, const BlockPlan& p, int which, int i) {
  const float* part = s.partial + which * p.rows * p.dv;
  float sum = 0.0f;
  for (int r = 0; r < p.rows; ++r) sum += part[r * p.dv + i];
  return sum;
}

// One token from S_in to S_out (the same buffer when updating in place): p = S_in k, w = S_in q,
// d = b (v - a p), S_out = a S_in + d k^T, out = S_out q = a w + d (k.q) when out (dv floats) is non-null.
// The token's q, k, v are loaded.
__device__ void token_forward(const float* S_in, float* S_out, const TokenShared& s, const BlockPlan& p, float beta,
                              float alpha, float* out) {
  const int col = owner_col(p), row = owner_row(p);
  for (int i = col; i < p.dv; i += p.cols) {
    float pk = 0.0f, pq = 0.0f;
    for (int j = row; j < p.dk; j += p.rows) {
      const float x = S_in[j * p.dv + i];
      pk += x * s.k[j];
      pq += x * s.q[j];
    }
    s.partial[row * p.dv + i] = pk;
    s.partial[(p.rows + row) * p.dv + i] = pq;
  }
  if (out) store_q_dot_k(s, p);
  __syncthreads();
  for (int i = threadIdx.x; i < p.dv; i += blockDim.x) {
    const float d = beta * (s.v[i] - alpha * column_sum(s, p, 0, i));
    s.d[i] = d;
    if (out) out[i] = alpha * column_sum(s, p, 1, i) + d * s.scalars[0];
  }
  __syncthreads();
  for_owned(p, [&](int j, int i, int e) { S_out[e] = alpha * S_in[e] + s.k[j] * s.d[i]; });
}

// Where one token's gradients go (rows of dq, dk: dk floats; dv: dv floats; one dbeta, dlog_decay).
struct TokenGrads {
  float *dq, *dk, *dv, *dbeta, *dlog_decay;  // dlog_decay null: ungated
};

// Reverse of token_forward with P = S_{t-1} and G = (dL/dS_t)^T, which on exit holds (dL/dS_{t-1})^T
// (delta_token_bwd in delta_rule_cpu.cpp derives the formulas). The token's q, k, v, dout are loaded.
__device__ void token_reverse(const float* P, float* G, const TokenShared& s, const BlockPlan& p, float beta,
                              float alpha, const TokenGrads& g) {
  const bool gated = g.dlog_decay != nullptr;
  const int col = owner_col(p), row = owner_row(p);
  // gk = G^T k, gp_i = sum_j G_ji P_ji, and p = P^T k, w = P^T q (the forward's S_{t-1} k, S_{t-1} q).
  for (int i = col; i < p.dv; i += p.cols) {
    float gk = 0.0f, gp = 0.0f, pk = 0.0f, pq = 0.0f;
    for (int j = row; j < p.dk; j += p.rows) {
      const float gx = G[j * p.dv + i], px = P[j * p.dv + i];
      gk += gx * s.k[j];
      pk += px * s.k[j];
      if (gated) {
        gp += gx * px;
        pq += px * s.q[j];
      }
    }
    float* part = s.partial + row * p.dv + i;
    part[0] = gk;
    part[p.rows * p.dv] = gp;
    part[2 * p.rows * p.dv] = pk;
    part[3 * p.rows * p.dv] = pq;
  }
  store_q_dot_k(s, p);
  __syncthreads();
  const float qk = s.scalars[0];
  for (int i = threadIdx.x; i < p.dv; i += blockDim.x) {
    const float pk = column_sum(s, p, 2, i), do_i = s.dout[i];
    const float e = s.v[i] - alpha * pk, d = beta * e;
    const float dd = column_sum(s, p, 0, i) + do_i * qk, du = -beta * dd;
    g.dv[i] = beta * dd;
    s.d[i] = d;
    s.du[i] = du;
    s.terms[i] = dd * e;
    s.terms[p.dv + i] = gated ? column_sum(s, p, 1, i) + do_i * column_sum(s, p, 3, i) + du * pk : 0.0f;
    s.terms[2 * p.dv + i] = d * do_i;
  }
  __syncthreads();
  if (threadIdx.x < 32) {  // dbeta = sum dd e, da = <G, P> + do . w + du . p, and d . do
    for (int which = 0; which < 3; ++which) {
      float sum = 0.0f;
      for (int i = threadIdx.x; i < p.dv; i += 32) sum += s.terms[which * p.dv + i];
      sum = warp_sum(sum);
      if (threadIdx.x == 0) s.scalars[1 + which] = sum;
    }
  }
  // Row j: dk_j = G_j . d + a P_j . du and dq_j = a P_j . do (plus d.do terms below), then
  // G_j <- a (G_j + q_j do + k_j du); all lanes of a warp share j, so the row sums are warp sums.
  const int warps = p.warps_per_row(), warp_col = col / 32, lane = col % 32;
  for (int j = row; j < p.dk; j += p.rows) {
    const float qj = s.q[j], kj = s.k[j];
    float sum_k = 0.0f, sum_q = 0.0f;
    for (int i = col; i < p.dv; i += p.cols) {
      const float gx = G[j * p.dv + i], px = P[j * p.dv + i];
      sum_k += s.d[i] * gx + s.du[i] * alpha * px;
      sum_q += s.dout[i] * alpha * px;
      G[j * p.dv + i] = alpha * (gx + qj * s.dout[i] + kj * s.du[i]);
    }
    sum_k = warp_sum(sum_k);
    sum_q = warp_sum(sum_q);
    if (lane == 0) {
      s.row_partial[j * warps + warp_col] = sum_k;
      s.row_partial[(p.dk + j) * warps + warp_col] = sum_q;
    }
  }
  __syncthreads();
  const float d_dot_do = s.scalars[3];
  for (int j = threadIdx.x; j < p.dk; j += blockDim.x) {
    float sum_k = 0.0f, sum_q = 0.0f;
    for (int w = 0; w < warps; ++w) {
      sum_k += s.row_partial[j * warps + w];
      sum_q += s.row_partial[(p.dk + j) * warps + w];
    }
    g.dk[j] = sum_k + d_dot_do * s.q[j];
    g.dq[j] = sum_q + d_dot_do * s.k[j];
  }
  if (threadIdx.x == 0) {
    *g.dbeta = s.scalars[1];
    if (gated) *g.dlog_decay = s.scalars[2] * alpha;  // a = exp(g): dg = da a
  }
}

}  // namespace delta_block
}  // namespace seqbench
