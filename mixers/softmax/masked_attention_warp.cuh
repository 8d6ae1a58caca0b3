// Warp-level pieces shared by the masked attention and block top-k CUDA kernels: a head_dim row
// spread over the 32 lanes, dot products against runs of key rows, the online-softmax update of a
// run of keys (FlashAttention-2, Dao 2023, Alg. 1), and how (batch, head) slices and span rows are
// addressed. Checked through the kernels using it, against the CPU ones, in test_gpu_masked_attention.cpp.
#pragma once
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "mixers/softmax/masked_attention.h"
#include "ops/cuda/warp_reduce.cuh"

namespace seqbench {
// The table's backward (masked_attention_bwd_cuda.cu), which allocates its workspace.
void masked_attention_bwd_cuda(const float* q, const float* k, const float* v, const float* lse, const float* dout,
                               float* dq, float* dk, float* dv, const SpanTable& keys, const AttentionShape& shape);

namespace masked_cuda {

constexpr int kWarpSize = 32;
constexpr int kMaxHeadDim = 256;
constexpr unsigned kFullMask = 0xffffffffu;

// A [batch, tokens, heads, head_dim] tensor seen one (batch, head) slice at a time: token t of
// slice bh starts at head_offset(bh) + t * stride().
struct HeadLayout {
  int64_t tokens = 0, heads = 0, head_dim = 0;

  __host__ __device__ int64_t stride() const { return heads * head_dim; }
  __host__ __device__ int64_t head_offset(int64_t bh) const {
    return (bh / heads) * tokens * stride() + (bh % heads) * head_dim;
  }
};

// SpanTable::row on the device (the table's spans pointer is a device pointer here).
struct SpanRows {
  const KeySpan* spans = nullptr;
  int64_t width = 0, queries = 0;
  bool per_head = false;

  __device__ const KeySpan* row(int64_t bh, int64_t query) const {
    return spans + ((per_head ? bh * queries : 0) + query) * width;
  }
};

// A span the kernels can read without leaving the key sequence; a row holding any other span is
// treated as broken and its outputs are written as NaN instead of reading out of bounds.
__device__ __forceinline__ bool span_in_range(const KeySpan& span, int64_t keys) {
  return span.begin >= 0 && span.begin <= span.end && span.end <= keys;
}

__device__ __forceinline__ bool row_in_range(const KeySpan* row, int64_t width, int64_t keys) {
  bool ok = true;
  for (int64_t s = 0; s < width; ++s) ok = ok && span_in_range(row[s], keys);
  return ok;
}

// Elements lane, lane + 32, ... of a row of head_dim floats (zeros past head_dim), so a dot
// product is kPerLane multiply-adds per lane and one warp sum.
template <int kPerLane>
struct LaneRow {
  float x[kPerLane];

  __device__ __forceinline__ void zero() {
#pragma unroll
    for (int e = 0; e < kPerLane; ++e) x[e] = 0.0f;
  }
  __device__ __forceinline__ void load(const float* row, int64_t dim, int lane) {
#pragma unroll
    for (int e = 0; e < kPerLane; ++e) {
      const int64_t d = lane + kWarpSize * e;
      x[e] = d < dim ? row[d] : 0.0f;
    }
  }
  __device__ __forceinline__ void store(float* row, int64_t dim, int lane) const {
#pragma unroll
    for (int e = 0; e < kPerLane; ++e) {
      const int64_t d = lane + kWarpSize * e;
      if (d < dim) row[d] = x[e];
    }
  }
  // This lane's share of the dot product; warp_sum completes it.
  __device__ __forceinline__ float partial_dot(const LaneRow& other) const {
    float sum = 0.0f;
#pragma unroll
    for (int e = 0; e < kPerLane; ++e) sum += x[e] * other.x[e];
    return sum;
  }
  __device__ __forceinline__ void scale(float alpha) {
#pragma unroll
    for (int e = 0; e < kPerLane; ++e) x[e] *= alpha;
  }
  __device__ __forceinline__ void axpy(float alpha, const LaneRow& other) {
#pragma unroll
    for (int e = 0; e < kPerLane; ++e) x[e] += alpha * other.x[e];
  }
};

// Every element of a row set to `value` (NaN marks the outputs of a row with broken spans).
__device__ __forceinline__ void fill_row(float* row, float value, int64_t dim, int lane) {
  for (int64_t d = lane; d < dim; d += kWarpSize) row[d] = value;
}

// The query row (bh, i) a warp of a one-warp-per-query kernel works on: rows are numbered
// bh * tokens + i (as lse is laid out), kWarps of them per block.
struct WarpQueryRow {
  int64_t row, bh, i;
  int lane;
  int64_t head, stride, D;  // where the (batch, head) slice starts, the token stride, head_dim
  const KeySpan* spans;     // the row's spans.width spans
};

// Finds the warp's query row; false where there is none to work on: past the last row (whole warps
// return, so no block-wide synchronisation may follow) or a row with a span outside the key
// sequence, whose output row (in `out`, laid out as q) and per-row value (row_value[row]: lse or
// delta) are then written as NaN.
template <int kWarps>
__device__ __forceinline__ bool start_query_row(const HeadLayout& layout, const SpanRows& spans, int64_t rows,
                                                float* out, float* row_value, WarpQueryRow& r) {
  const int64_t L = layout.tokens;
  r.row = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / kWarpSize;
  r.lane = threadIdx.x % kWarpSize;
  if (r.row >= rows) return false;
  r.bh = r.row / L;
  r.i = r.row % L;
  r.head = layout.head_offset(r.bh);
  r.stride = layout.stride();
  r.D = layout.head_dim;
  r.spans = spans.row(r.bh, r.i);
  if (!row_in_range(r.spans, spans.width, L)) {
    fill_row(out + r.head + r.i * r.stride, NAN, r.D, r.lane);
    if (r.lane == 0) row_value[r.row] = NAN;
    return false;
  }
  return true;
}

// The full dot product of two rows, in every lane. Every kernel scores a (query, key) pair through
// this one function, so forward, both backward passes and decode see bit-identical scores.
template <int kPerLane>
__device__ __forceinline__ float row_dot(const LaneRow<kPerLane>& a, const LaneRow<kPerLane>& b) {
  return warp_sum(a.partial_dot(b));
}

// Lane c receives x . rows[j0 + c] for c < n (n <= 32), the other lanes 0. rows[j] starts at
// rows + j * stride. Called by all 32 lanes with the same j0 and n.
template <int kPerLane>
__device__ __forceinline__ float lane_dots(const LaneRow<kPerLane>& x, const float* rows, int64_t stride, int64_t j0,
                                           int n, int64_t dim, int lane) {
  float mine = 0.0f;
  for (int c = 0; c < n; ++c) {
    LaneRow<kPerLane> r;
    r.load(rows + (j0 + c) * stride, dim, lane);
    const float dot = row_dot(x, r);
    if (lane == c) mine = dot;
  }
  return mine;
}

// acc += sum_c w_c * rows[j0 + c], w_c held by lane c, added in order c = 0, 1, ... n - 1.
template <int kPerLane>
__device__ __forceinline__ void add_weighted_rows(LaneRow<kPerLane>& acc, float weight, const float* rows,
                                                  int64_t stride, int64_t j0, int n, int64_t dim, int lane) {
  for (int c = 0; c < n; ++c) {
    const float w = __shfl_sync(kFullMask, weight, c);
    LaneRow<kPerLane> r;
    r.load(rows + (j0 + c) * stride, dim, lane);
    acc.axpy(w, r);
  }
}

// Running (max, sum, unnormalised output) of one query's softmax over the keys seen so far.
template <int kPerLane>
struct OnlineSoftmax {
  float max = -INFINITY, sum = 0.0f;
  LaneRow<kPerLane> out;

  __device__ __forceinline__ OnlineSoftmax() { out.zero(); }

  // Keys [j0, j0 + n): lane c holds the scaled score of key j0 + c (-INFINITY for c >= n). The
  // running max moves once per run, as FlashAttention rescales once per tile.
  __device__ __forceinline__ void add_run(float score, const float* v_rows, int64_t stride, int64_t j0, int n,
                                          int64_t dim, int lane) {
    const float new_max = fmaxf(max, warp_max(score));
    const float correction = expf(max - new_max);  // 0 on the first run (max = -inf)
    const float p = expf(score - new_max);         // 0 past the run
    sum = sum * correction + warp_sum(p);
    out.scale(correction);
    add_weighted_rows(out, p, v_rows, stride, j0, n, dim, lane);
    max = new_max;
  }
};

// Calls visit(j0, n) for the runs of at most 32 keys that cover [span.begin, span.end), taking
// runs first_run, first_run + run_step, ... of the span (a warp's share when several split it).
template <class Visit>
__device__ __forceinline__ void for_each_key_run(const KeySpan& span, int64_t first_run, int64_t run_step,
                                                 Visit visit) {
  for (int64_t j0 = span.begin + first_run * kWarpSize; j0 < span.end; j0 += run_step * kWarpSize)
    visit(j0, static_cast<int>(span.end - j0 < kWarpSize ? span.end - j0 : kWarpSize));
}

// Host-side checks shared by the masked attention entry points: std::invalid_argument naming the
// function, the bad value and what was expected. `queries` is the number of query rows; a null span
// table is accepted only when there are none.
inline void check_attention_problem(const SpanTable& keys, const AttentionShape& s, int64_t queries, const char* who) {
  const auto fail = [who](const std::string& what) { throw std::invalid_argument(std::string(who) + ": " + what); };
  if (s.batch < 0 || s.seq_len < 0)
    fail("batch and seq_len must be >= 0, got " + std::to_string(s.batch) + " and " + std::to_string(s.seq_len));
  if (s.heads < 1) fail("heads must be >= 1, got " + std::to_string(s.heads));
  if (s.head_dim < 1 || s.head_dim > kMaxHeadDim)
    fail("head_dim must be in [1, " + std::to_string(kMaxHeadDim) + "], got " + std::to_string(s.head_dim));
  if (keys.width < 1) fail("keys.width must be >= 1 (every query needs a key), got " + std::to_string(keys.width));
  if (!keys.spans && queries > 0) fail("keys.spans is null (expected a device pointer to the span rows)");
}

// Runs launch(std::integral_constant<int, P>{}) with P = ceil(head_dim / 32) rounded up to 1, 2, 4
// or 8, so each kernel is compiled for the few register widths a head_dim <= 256 needs.
template <class Launch>
void with_lanes_for(int64_t head_dim, Launch launch) {
  if (head_dim <= 32)
    launch(std::integral_constant<int, 1>{});
  else if (head_dim <= 64)
    launch(std::integral_constant<int, 2>{});
  else if (head_dim <= 128)
    launch(std::integral_constant<int, 4>{});
  else
    launch(std::integral_constant<int, 8>{});
}

}  // namespace masked_cuda
}  // namespace seqbench
