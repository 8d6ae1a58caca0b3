// One-token causal attention decode in one launch: blocks stream key ranges of the cache through a
// cp.async pipeline and the last range of each (batch, head) merges the partial softmaxes.
// Checked against softmax_attention_decode_cpu in test_gpu_softmax.cpp.
#include <cuda_bf16.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "mixers/softmax/softmax_attention_bf16.cuh"
#include "mixers/softmax/softmax_attention_cuda_internal.cuh"
#include "mixers/softmax/softmax_attention_decode_kernel.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/scratch_buffer.cuh"

namespace seqbench {
namespace decode {
namespace {

// Blocks resident per SM, which the plan counts on: 72 KiB of shared memory each, registers capped
// by __launch_bounds__.
constexpr int kBlocksPerSm = 3;

// A block's geometry: G groups of LPR lanes each take kKeysPerGroup rows of a tile, so a stage
// (the K and V rows of one tile) is 16 KiB on the vector path; 3 stages stay in flight while one is
// consumed, 48 KiB per block, enough (with 2-3 blocks per SM) to cover HBM latency at full rate.
template <class T, int LPR, int PPL, bool kVector>
struct Config {
  using Slice = RowSlice<T, LPR, PPL, kVector>;
  static constexpr int kGroups = kThreads / LPR;
  static constexpr int kKeysPerGroup = kVector ? 2 / PPL : 2;
  static constexpr int kTileKeys = kGroups * kKeysPerGroup;
  static constexpr int kStages = kVector ? 4 : 2;  // the plain-copy path cannot overlap its loads anyway
  static constexpr int kStageElems = 2 * kTileKeys * Slice::kRowElems;
  static constexpr size_t kSharedBytes = size_t{kStages} * kStageElems * sizeof(T);
};

// The end of an item: the groups' softmaxes combined through shared memory, then either the output
// (one split) or a partial result; the block that counts a pair's last partial merges them. The
// counter goes back to zero there, so the next call (or graph replay) needs no memset.
template <class T, class Slice, int G>
__device__ void finish_item(const DecodeWork& w, const DecodeTensors<T>& t, int pair, int split, int group,
                            const Slice& slice, const RunningSoftmax<Slice::kFloats>& st, float* o_s, float* m_s,
                            float* l_s, int* last_s) {
  if (slice.sub == 0) m_s[group] = st.m, l_s[group] = st.l;
#pragma unroll
  for (int e = 0; e < Slice::kFloats; ++e)
    if (slice.index(e) < w.head_dim) o_s[group * Slice::kRowElems + slice.index(e)] = st.o[e];
  __syncthreads();
  float m = -INFINITY, l = 0.0f;
  for (int g = 0; g < G; ++g) m = fmaxf(m, m_s[g]);
  for (int g = 0; g < G; ++g) l += l_s[g] * exp2f(m_s[g] - m);  // groups without keys: 0 * 0
  float* slot = t.partial + (static_cast<int64_t>(pair) * w.splits + split) * (w.head_dim + 2);
  for (int d = threadIdx.x; d < w.head_dim; d += kThreads) {
    float acc = 0.0f;
    for (int g = 0; g < G; ++g) acc += o_s[g * Slice::kRowElems + d] * exp2f(m_s[g] - m);
    if (w.splits == 1) {
      t.out[static_cast<int64_t>(pair) * w.head_dim + d] = from_float<T>(acc / l);
    } else {
      slot[2 + d] = acc;
    }
  }
  if (w.splits == 1) return;
  if (threadIdx.x == 0) slot[0] = m, slot[1] = l;
  __threadfence();  // this block's partial is visible device-wide before it is counted
  __syncthreads();
  if (threadIdx.x == 0) {
    const bool last = atomicAdd(&t.arrivals[pair], 1u) == static_cast<unsigned>(w.splits - 1);
    if (last) t.arrivals[pair] = 0;
    __threadfence();  // and the others' partials are read only after they were counted
    *last_s = last;
  }
  __syncthreads();
  if (*last_s) merge_partials(w, t, pair);
  // Shared memory written here is next written in the following item's finish, after at least one
  // more tile and its barrier.
}

template <class T, int LPR, int PPL, bool kVector>
__global__ void __launch_bounds__(kThreads, kBlocksPerSm) attention_decode_kernel(DecodeWork w, DecodeTensors<T> t) {
  using C = Config<T, LPR, PPL, kVector>;
  using Slice = typename C::Slice;
  extern __shared__ __align__(16) unsigned char stage_bytes[];
  T* stages = reinterpret_cast<T*>(stage_bytes);
  __shared__ float o_s[kThreads * Slice::kFloats], m_s[C::kGroups], l_s[C::kGroups];
  __shared__ int last_s;
  const int group = threadIdx.x / LPR;
  const Slice slice{static_cast<int>(threadIdx.x % LPR), w.head_dim};
  const int64_t row_stride = static_cast<int64_t>(w.heads) * w.head_dim;

  // Every thread issues its share of a tile and commits a group, empty past the last tile, so
  // wait_async counts the same groups in every thread.
  auto fetch_tile = [&](TileCursor<C::kTileKeys>& at, int stage) {
    if (!at.done(w)) {
      T* k_s = stages + stage * C::kStageElems;
      load_tile<T, Slice::kRowElems, kVector>(t.k + at.head, t.v + at.head, row_stride, at.key, at.count(), w.head_dim,
                                              k_s, k_s + C::kTileKeys * Slice::kRowElems);
      at.advance(w);
    }
    tc::commit_async();
  };
  float qv[Slice::kFloats];
  auto load_query = [&](int pair) {
    slice.load(t.q + static_cast<int64_t>(pair) * w.head_dim, qv);
#pragma unroll
    for (int e = 0; e < Slice::kFloats; ++e) qv[e] *= w.scale_log2;
  };

  TileCursor<C::kTileKeys> fetch, use;
  fetch.enter(w, blockIdx.x);
  use = fetch;
  for (int s = 0; s + 1 < C::kStages; ++s) fetch_tile(fetch, s);
  if (!use.done(w)) load_query(use.pair);
  RunningSoftmax<Slice::kFloats> st;
  for (int tile = 0; !use.done(w); ++tile) {
    tc::wait_async<C::kStages - 2>();
    __syncthreads();  // this tile landed for every thread; the stage refilled next was consumed by all
    fetch_tile(fetch, (tile + C::kStages - 1) % C::kStages);
    const T* k_s = stages + (tile % C::kStages) * C::kStageElems;
    consume_tile<T, Slice, C::kKeysPerGroup, C::kGroups>(k_s, k_s + C::kTileKeys * Slice::kRowElems, use.count(), group,
                                                         slice, qv, st);
    if (!use.last_of_item()) {
      use.advance(w);
      continue;
    }
    finish_item<T, Slice, C::kGroups>(w, t, use.pair, use.item / w.pairs, group, slice, st, o_s, m_s, l_s, &last_s);
    st = RunningSoftmax<Slice::kFloats>{};
    use.advance(w);
    if (!use.done(w)) load_query(use.pair);
  }
}

constexpr int64_t kMinSplitKeys = 128;  // a split smaller than this is not worth its partial
constexpr int64_t kItemCostKeys = 32;   // an item's finish, in the time of streaming this many keys

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

struct DecodePlan {
  int splits, items, grid;
};

// SEQBENCH_DECODE_SPLITS=n sets the splits per (batch, head) for a whole process (caches shorter
// than n keys get one split per key), to measure the plan below against other choices; 0 if unset.
int64_t forced_splits() {
  static const int64_t splits = [] {
    const char* text = std::getenv("SEQBENCH_DECODE_SPLITS");
    if (!text) return int64_t{0};
    char* end = nullptr;
    const long long n = std::strtoll(text, &end, 10);
    if (end == text || *end != '\0' || n < 1 || n > INT_MAX)
      throw std::invalid_argument(std::string("SEQBENCH_DECODE_SPLITS must be a positive integer, got '") + text + "'");
    return static_cast<int64_t>(n);
  }();
  return splits;
}

// Splits per pair and blocks so that every block streams about the same number of keys: the busiest
// block's rounds * (keys per item + item cost) is the smallest over the split counts tried. Items
// stay within 8 rounds of the device's block slots.
DecodePlan plan_decode(int64_t pairs, int64_t len) {
  int device = 0, sms = 0;
  cudaCheck(cudaGetDevice(&device));
  cudaCheck(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  const int64_t slots = int64_t{sms} * kBlocksPerSm;
  const int64_t max_splits = std::max<int64_t>(1, std::min(ceil_div(len, kMinSplitKeys), ceil_div(8 * slots, pairs)));
  int64_t best_splits = 1, best_cost = INT64_MAX;
  for (int64_t s = 1; s <= max_splits; ++s) {
    const int64_t cost = ceil_div(pairs * s, slots) * (ceil_div(len, s) + kItemCostKeys);
    if (cost < best_cost) best_cost = cost, best_splits = s;
  }
  if (forced_splits() > 0) best_splits = std::min(forced_splits(), len);
  const int64_t items = pairs * best_splits;
  if (items > INT_MAX)
    throw std::invalid_argument("softmax_attention_decode_cuda: batch * heads must be below 2^31 / 8, got " +
                                std::to_string(pairs));
  const int64_t rounds = ceil_div(items, slots);
  return {static_cast<int>(best_splits), static_cast<int>(items), static_cast<int>(ceil_div(items, rounds))};
}

// The arrival counters, then (with more than one split) the partial results.
int64_t counter_floats(int64_t pairs) { return ceil_div(pairs, 4) * 4; }
int64_t workspace_floats(const DecodePlan& plan, int64_t pairs, int64_t head_dim) {
  return counter_floats(pairs) + (plan.splits > 1 ? int64_t{plan.items} * (head_dim + 2) : 0);
}

template <class T, int LPR, int PPL, bool kVector>
void launch(const DecodeWork& w, const DecodeTensors<T>& t, int grid, cudaStream_t stream) {
  using C = Config<T, LPR, PPL, kVector>;
  auto kernel = attention_decode_kernel<T, LPR, PPL, kVector>;
  cudaCheck(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, C::kSharedBytes));
  // All of L1 as shared memory, or kBlocksPerSm blocks would not fit; the kernel does not use L1.
  cudaCheck(
      cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout, cudaSharedmemCarveoutMaxShared));
  kernel<<<grid, kThreads, C::kSharedBytes, stream>>>(w, t);
  cudaCheckLaunch();
}

// 16-byte pieces per row: 8 lanes up to 8 pieces, 16 up to 16, 32 up to 32, then 2 pieces a lane.
template <class T>
void launch_for_head_dim(const DecodeWork& w, const DecodeTensors<T>& t, int grid, bool vector, cudaStream_t stream) {
  const int pieces = w.head_dim / (16 / static_cast<int>(sizeof(T)));
  if (!vector) {
    launch<T, 32, 1, false>(w, t, grid, stream);
  } else if (pieces <= 8) {
    launch<T, 8, 1, true>(w, t, grid, stream);
  } else if (pieces <= 16) {
    launch<T, 16, 1, true>(w, t, grid, stream);
  } else if (pieces <= 32) {
    launch<T, 32, 1, true>(w, t, grid, stream);
  } else if constexpr (sizeof(T) == 4) {  // fp32 with head_dim > 128
    launch<T, 32, 2, true>(w, t, grid, stream);
  } else {
    throw std::logic_error("softmax_attention_decode_cuda: no bf16 head_dim has more than 32 pieces");
  }
}

}  // namespace
}  // namespace decode

int64_t softmax_attention_decode_workspace_floats(const AttentionShape& c, int64_t len) {
  const int64_t pairs = c.batch * c.heads;
  if (pairs == 0 || len < 1) return 0;
  return decode::workspace_floats(decode::plan_decode(pairs, len), pairs, c.head_dim);
}

template <class T>
void softmax_attention_decode_cuda(const T* q_t, const T* k_cache, const T* v_cache, int64_t len, T* out_t,
                                   const AttentionShape& c, float* workspace, cudaStream_t stream) {
  check_attention_shape(c, "softmax_attention_decode_cuda");
  if (len < 1 || len > c.seq_len)
    throw std::invalid_argument("softmax_attention_decode_cuda: len must be in [1, " + std::to_string(c.seq_len) +
                                "] (the cache capacity), got " + std::to_string(len));
  const int64_t pairs = c.batch * c.heads;
  if (pairs == 0) return;
  const decode::DecodePlan plan = decode::plan_decode(pairs, len);
  const ScratchFloats scratch(workspace, decode::workspace_floats(plan, pairs, c.head_dim), stream);
  unsigned* arrivals = reinterpret_cast<unsigned*>(scratch.data());
  // A workspace of our own starts from garbage; a caller's was zeroed once and stays so.
  if (!workspace && plan.splits > 1) cudaCheck(cudaMemsetAsync(arrivals, 0, pairs * sizeof(unsigned), stream));
  const decode::DecodeWork w{static_cast<int>(pairs),
                             plan.splits,
                             plan.items,
                             static_cast<int>(len),
                             static_cast<int>(c.heads),
                             static_cast<int>(c.head_dim),
                             c.seq_len,
                             attention_scale(c) * kLog2e};
  const decode::DecodeTensors<T> t{q_t,     k_cache, v_cache, out_t, scratch.data() + decode::counter_floats(pairs),
                                   arrivals};
  const bool vector = aligned_16(q_t) && aligned_16(k_cache) && aligned_16(v_cache) &&
                      c.head_dim % (16 / static_cast<int64_t>(sizeof(T))) == 0;
  decode::launch_for_head_dim(w, t, plan.grid, vector, stream);
}

template void softmax_attention_decode_cuda<float>(const float*, const float*, const float*, int64_t, float*,
                                                   const AttentionShape&, float*, cudaStream_t);
template void softmax_attention_decode_cuda<__nv_bfloat16>(const __nv_bfloat16*, const __nv_bfloat16*,
                                                           const __nv_bfloat16*, int64_t, __nv_bfloat16*,
                                                           const AttentionShape&, float*, cudaStream_t);

}  // namespace seqbench
