// Masked attention forward and decode on the GPU: online softmax (FlashAttention-2, Dao 2023,
// Alg. 1) over each query's key spans, in runs of 32 keys scored one per lane.
// Checked against masked_attention_{fwd,decode}_cpu in test_gpu_masked_attention.cpp.
#include <cmath>
#include <string>

#include "mixers/softmax/masked_attention.h"
#include "mixers/softmax/masked_attention_warp.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/current_stream.cuh"

namespace seqbench {
namespace {

using namespace masked_cuda;

constexpr int kQueryWarps = 4;   // query rows per block: neighbours share most of their keys in cache
constexpr int kDecodeWarps = 8;  // warps splitting one decode query's keys

// One warp per query row (bh, i), rows numbered bh * L + i as lse is laid out.
template <int kPerLane>
__global__ void __launch_bounds__(kQueryWarps* kWarpSize)
    masked_attention_fwd_kernel(const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
                                float* __restrict__ out, float* __restrict__ lse, SpanRows spans, HeadLayout layout,
                                float scale, int64_t rows) {
  WarpQueryRow r;
  if (!start_query_row<kQueryWarps>(layout, spans, rows, out, lse, r)) return;
  const int64_t row = r.row, i = r.i, head = r.head, stride = r.stride, D = r.D;
  const int lane = r.lane;
  const KeySpan* my_spans = r.spans;
  float* out_row = out + head + i * stride;
  LaneRow<kPerLane> q_row;
  q_row.load(q + head + i * stride, D, lane);
  OnlineSoftmax<kPerLane> softmax;
  for (int64_t s = 0; s < spans.width; ++s)
    for_each_key_run(my_spans[s], 0, 1, [&](int64_t j0, int n) {
      const float dot = lane_dots(q_row, k + head, stride, j0, n, D, lane);
      softmax.add_run(lane < n ? dot * scale : -INFINITY, v + head, stride, j0, n, D, lane);
    });
  softmax.out.scale(1.0f / softmax.sum);
  softmax.out.store(out_row, D, lane);
  if (lane == 0) lse[row] = softmax.max + logf(softmax.sum);
}

// One block per (batch, head): warp w takes runs w, w + 8, ... of every span; the warps' partial
// softmax states are merged in warp order (as flash decoding merges its splits).
template <int kPerLane>
__global__ void __launch_bounds__(kDecodeWarps* kWarpSize)
    masked_attention_decode_kernel(const float* __restrict__ q_t, const float* __restrict__ k_cache,
                                   const float* __restrict__ v_cache, float* __restrict__ out_t, SpanRows spans,
                                   HeadLayout cache, float scale) {
  __shared__ float max_s[kDecodeWarps], sum_s[kDecodeWarps];
  __shared__ float out_s[kDecodeWarps][kPerLane * kWarpSize];
  const int64_t bh = blockIdx.x, D = cache.head_dim;
  const int warp = threadIdx.x / kWarpSize, lane = threadIdx.x % kWarpSize;
  const int64_t head = cache.head_offset(bh), stride = cache.stride();
  const KeySpan* my_spans = spans.row(bh, 0);
  float* out_row = out_t + bh * D;
  if (!row_in_range(my_spans, spans.width, cache.tokens)) {  // uniform across the block
    if (warp == 0) fill_row(out_row, NAN, D, lane);
    return;
  }
  LaneRow<kPerLane> q_row;
  q_row.load(q_t + bh * D, D, lane);
  OnlineSoftmax<kPerLane> softmax;
  for (int64_t s = 0; s < spans.width; ++s)
    for_each_key_run(my_spans[s], warp, kDecodeWarps, [&](int64_t j0, int n) {
      const float dot = lane_dots(q_row, k_cache + head, stride, j0, n, D, lane);
      softmax.add_run(lane < n ? dot * scale : -INFINITY, v_cache + head, stride, j0, n, D, lane);
    });
  if (lane == 0) max_s[warp] = softmax.max, sum_s[warp] = softmax.sum;
#pragma unroll
  for (int e = 0; e < kPerLane; ++e) out_s[warp][lane + kWarpSize * e] = softmax.out.x[e];
  __syncthreads();
  // A warp that saw no keys holds (-inf, 0, 0) and gets weight exp(-inf) = 0.
  float max_all = -INFINITY;
  for (int w = 0; w < kDecodeWarps; ++w) max_all = fmaxf(max_all, max_s[w]);
  float sum_all = 0.0f;
  for (int w = 0; w < kDecodeWarps; ++w) sum_all += sum_s[w] * expf(max_s[w] - max_all);
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
    float acc = 0.0f;
    for (int w = 0; w < kDecodeWarps; ++w) acc += out_s[w][d] * expf(max_s[w] - max_all);
    out_row[d] = acc / sum_all;
  }
}

}  // namespace

void masked_attention_fwd_cuda(const float* q, const float* k, const float* v, float* out, float* lse,
                               const SpanTable& keys, const AttentionShape& s) {
  const cudaStream_t stream = current_stream();
  const int64_t rows = s.batch * s.heads * s.seq_len;
  check_attention_problem(keys, s, rows, "masked_attention_fwd_cuda");
  if (rows == 0) return;
  const SpanRows spans{keys.spans, keys.width, s.seq_len, keys.per_head};
  const HeadLayout layout{s.seq_len, s.heads, s.head_dim};
  const float scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  const auto blocks = static_cast<unsigned>((rows + kQueryWarps - 1) / kQueryWarps);
  with_lanes_for(s.head_dim, [&](auto per_lane) {
    masked_attention_fwd_kernel<decltype(per_lane)::value>
        <<<blocks, kQueryWarps * kWarpSize, 0, stream>>>(q, k, v, out, lse, spans, layout, scale, rows);
    cudaCheckLaunch();
  });
}

void masked_attention_decode_cuda(const float* q_t, const float* k_cache, const float* v_cache, float* out_t,
                                  const SpanTable& keys, const AttentionShape& cache) {
  const cudaStream_t stream = current_stream();
  const int64_t pairs = cache.batch * cache.heads;
  check_attention_problem(keys, cache, pairs, "masked_attention_decode_cuda");
  if (pairs == 0) return;
  const SpanRows spans{keys.spans, keys.width, 1, keys.per_head};
  const HeadLayout layout{cache.seq_len, cache.heads, cache.head_dim};
  const float scale = 1.0f / std::sqrt(static_cast<float>(cache.head_dim));
  with_lanes_for(cache.head_dim, [&](auto per_lane) {
    masked_attention_decode_kernel<decltype(per_lane)::value>
        <<<static_cast<unsigned>(pairs), kDecodeWarps * kWarpSize, 0, stream>>>(q_t, k_cache, v_cache, out_t, spans,
                                                                                layout, scale);
    cudaCheckLaunch();
  });
}

std::string masked_attention_cuda_limits(const AttentionShape& s) {
  if (s.head_dim > masked_cuda::kMaxHeadDim)
    return "head_dim must be <= " + std::to_string(masked_cuda::kMaxHeadDim) + " on the GPU, got " +
           std::to_string(s.head_dim);
  return {};
}

template <>
MaskedAttentionKernels cuda_kernel_table<MaskedAttentionKernels>{{},
                                                                 masked_attention_fwd_cuda,
                                                                 masked_attention_bwd_cuda,
                                                                 masked_attention_decode_cuda,
                                                                 masked_attention_cuda_limits};

}  // namespace seqbench
