// Masked attention backward on the GPU: P_ij = exp(S_ij - lse_i), dP_ij = dout_i . v_j,
// D_i = sum_j P_ij dP_ij, dS_ij = P_ij (dP_ij - D_i) / sqrt(Dh); dq_i = sum_j dS_ij k_j,
// dk_j = sum_i dS_ij q_i, dv_j = sum_i P_ij dout_i (FlashAttention-2, Alg. 2, restricted to the spans).
// Checked against masked_attention_bwd_cpu in test_gpu_masked_attention.cpp.
#include <cmath>
#include <string>

#include "mixers/softmax/masked_attention.h"
#include "mixers/softmax/masked_attention_warp.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/current_stream.cuh"
#include "ops/cuda/scratch_buffer.cuh"

namespace seqbench {
namespace {

using namespace masked_cuda;

constexpr int kQueryWarps = 4;
// Key-major pass: a block owns kKeyTile consecutive keys of one (batch, head), each warp
// kKeysPerWarp of them, and accumulates their dk, dv rows in registers.
constexpr int kKeyWarps = 8, kKeysPerWarp = 4, kKeyTile = kKeyWarps * kKeysPerWarp;
constexpr int kKeyThreads = kKeyWarps * kWarpSize;

// One warp per query row: a first pass over the query's keys sums D_i (from the same P and dP that
// dS subtracts it from, as the CPU kernel does, so a query with a single key gets dS = 0), a
// second one accumulates dq_i.
template <int kPerLane>
__global__ void __launch_bounds__(kQueryWarps* kWarpSize)
    masked_attention_dq_kernel(const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
                               const float* __restrict__ lse, const float* __restrict__ dout, float* __restrict__ dq,
                               float* __restrict__ delta, SpanRows spans, HeadLayout layout, float scale,
                               int64_t rows) {
  WarpQueryRow r;
  if (!start_query_row<kQueryWarps>(layout, spans, rows, dq, delta, r)) return;
  const int64_t row = r.row, i = r.i, head = r.head, stride = r.stride, D = r.D;
  const int lane = r.lane;
  const KeySpan* my_spans = r.spans;
  float* dq_row = dq + head + i * stride;
  LaneRow<kPerLane> q_row, dout_row;
  q_row.load(q + head + i * stride, D, lane);
  dout_row.load(dout + head + i * stride, D, lane);
  const float row_lse = lse[row];
  // Lane c's P and dP of key j0 + c; P = 0 past the run.
  auto probabilities = [&](int64_t j0, int n, float& p, float& dp) {
    const float dot = lane_dots(q_row, k + head, stride, j0, n, D, lane);
    dp = lane_dots(dout_row, v + head, stride, j0, n, D, lane);
    p = lane < n ? expf(dot * scale - row_lse) : 0.0f;
  };

  float delta_part = 0.0f;
  for (int64_t s = 0; s < spans.width; ++s)
    for_each_key_run(my_spans[s], 0, 1, [&](int64_t j0, int n) {
      float p, dp;
      probabilities(j0, n, p, dp);
      delta_part += p * dp;
    });
  const float d_i = warp_sum(delta_part);

  LaneRow<kPerLane> dq_acc;
  dq_acc.zero();
  for (int64_t s = 0; s < spans.width; ++s)
    for_each_key_run(my_spans[s], 0, 1, [&](int64_t j0, int n) {
      float p, dp;
      probabilities(j0, n, p, dp);
      add_weighted_rows(dq_acc, p * (dp - d_i) * scale, k + head, stride, j0, n, D, lane);
    });
  dq_acc.store(dq_row, D, lane);
  if (lane == 0) delta[row] = d_i;
}

// Whether query row `query` has a span reaching keys [first, first + count), all its spans in range
// (a row with a broken span already has NaN dq and adds nothing here).
__device__ __forceinline__ bool row_reaches(const KeySpan* row, int64_t width, int64_t keys, int64_t first,
                                            int64_t count) {
  bool reaches = false;
  for (int64_t s = 0; s < width; ++s)
    reaches = reaches || (row[s].begin < row[s].end && row[s].begin < first + count && row[s].end > first);
  return reaches && row_in_range(row, width, keys);
}

// One block per kKeyTile keys of a (batch, head). The block walks the queries in ascending order,
// kKeyThreads at a time: each thread tests one query's spans against the tile, the hits are
// compacted in order into shared memory, then every warp adds the hit queries' terms to its own
// keys. Each dk_j, dv_j is thus one warp's sum over i in ascending order: no atomics.
template <int kPerLane>
__global__ void __launch_bounds__(kKeyThreads)
    masked_attention_dkdv_kernel(const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
                                 const float* __restrict__ lse, const float* __restrict__ delta,
                                 const float* __restrict__ dout, float* __restrict__ dk, float* __restrict__ dv,
                                 SpanRows spans, HeadLayout layout, float scale, int64_t tiles) {
  __shared__ int64_t hit_queries[kKeyThreads];
  __shared__ int warp_hits[kKeyWarps];
  const int64_t L = layout.tokens, bh = blockIdx.x / tiles, tile_first = (blockIdx.x % tiles) * kKeyTile;
  const int64_t head = layout.head_offset(bh), stride = layout.stride(), D = layout.head_dim;
  const int warp = threadIdx.x / kWarpSize, lane = threadIdx.x % kWarpSize;
  const int64_t warp_first = tile_first + warp * kKeysPerWarp;  // this warp's keys: warp_first + [0, 4)

  LaneRow<kPerLane> dk_acc[kKeysPerWarp], dv_acc[kKeysPerWarp];
#pragma unroll
  for (int u = 0; u < kKeysPerWarp; ++u) dk_acc[u].zero(), dv_acc[u].zero();

  for (int64_t base = 0; base < L; base += kKeyThreads) {
    const int64_t mine = base + threadIdx.x;
    const bool hit = mine < L && row_reaches(spans.row(bh, mine), spans.width, L, tile_first, kKeyTile);
    const unsigned ballot = __ballot_sync(kFullMask, hit);
    if (lane == 0) warp_hits[warp] = __popc(ballot);
    __syncthreads();
    int before = 0, hits = 0;
    for (int w = 0; w < kKeyWarps; ++w) {
      before += w < warp ? warp_hits[w] : 0;
      hits += warp_hits[w];
    }
    if (hit) hit_queries[before + __popc(ballot & ((1u << lane) - 1u))] = mine;
    __syncthreads();

    for (int h = 0; h < hits; ++h) {
      const int64_t i = hit_queries[h];
      const KeySpan* row = spans.row(bh, i);
      unsigned owned = 0;  // bit u: key warp_first + u is among query i's keys
      for (int64_t s = 0; s < spans.width; ++s)
#pragma unroll
        for (int u = 0; u < kKeysPerWarp; ++u) {
          const int64_t j = warp_first + u;
          if (j < L && row[s].begin <= j && j < row[s].end) owned |= 1u << u;
        }
      if (!owned) continue;  // uniform across the warp
      LaneRow<kPerLane> q_row, dout_row;
      q_row.load(q + head + i * stride, D, lane);
      dout_row.load(dout + head + i * stride, D, lane);
      const float row_lse = lse[bh * L + i], d_i = delta[bh * L + i];
#pragma unroll
      for (int u = 0; u < kKeysPerWarp; ++u) {
        if (!(owned & (1u << u))) continue;
        LaneRow<kPerLane> k_row, v_row;
        k_row.load(k + head + (warp_first + u) * stride, D, lane);
        v_row.load(v + head + (warp_first + u) * stride, D, lane);
        // The dq pass's lane_dots computes these two dots through the same row_dot: same bits.
        const float p = expf(row_dot(q_row, k_row) * scale - row_lse);
        const float dp = row_dot(dout_row, v_row);
        dk_acc[u].axpy(p * (dp - d_i) * scale, q_row);
        dv_acc[u].axpy(p, dout_row);
      }
    }
    __syncthreads();  // hit_queries and warp_hits are refilled next round
  }
#pragma unroll
  for (int u = 0; u < kKeysPerWarp; ++u) {
    const int64_t j = warp_first + u;
    if (j >= L) break;
    dk_acc[u].store(dk + head + j * stride, D, lane);
    dv_acc[u].store(dv + head + j * stride, D, lane);
  }
}

}  // namespace

int64_t masked_attention_bwd_workspace_floats(const AttentionShape& s) { return s.batch * s.heads * s.seq_len; }

void masked_attention_bwd_cuda(const float* q, const float* k, const float* v, const float* lse, const float* dout,
                               float* dq, float* dk, float* dv, const SpanTable& keys, const AttentionShape& s,
                               float* workspace) {
  const cudaStream_t stream = current_stream();
  const int64_t rows = s.batch * s.heads * s.seq_len;
  check_attention_problem(keys, s, rows, "masked_attention_bwd_cuda");
  if (rows == 0) return;
  const ScratchFloats delta(workspace, masked_attention_bwd_workspace_floats(s), stream);
  const SpanRows spans{keys.spans, keys.width, s.seq_len, keys.per_head};
  const HeadLayout layout{s.seq_len, s.heads, s.head_dim};
  const float scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  const int64_t tiles = (s.seq_len + kKeyTile - 1) / kKeyTile;
  const auto query_blocks = static_cast<unsigned>((rows + kQueryWarps - 1) / kQueryWarps);
  const auto key_blocks = static_cast<unsigned>(s.batch * s.heads * tiles);
  with_lanes_for(s.head_dim, [&](auto per_lane) {
    constexpr int kPerLane = decltype(per_lane)::value;
    masked_attention_dq_kernel<kPerLane><<<query_blocks, kQueryWarps * kWarpSize, 0, stream>>>(
        q, k, v, lse, dout, dq, delta.data(), spans, layout, scale, rows);
    cudaCheckLaunch();
    masked_attention_dkdv_kernel<kPerLane>
        <<<key_blocks, kKeyThreads, 0, stream>>>(q, k, v, lse, delta.data(), dout, dk, dv, spans, layout, scale, tiles);
    cudaCheckLaunch();
  });
}

void masked_attention_bwd_cuda(const float* q, const float* k, const float* v, const float* lse, const float* dout,
                               float* dq, float* dk, float* dv, const SpanTable& keys, const AttentionShape& s) {
  masked_attention_bwd_cuda(q, k, v, lse, dout, dq, dk, dv, keys, s, nullptr);
}

}  // namespace seqbench
