// One-token causal attention decode in one launch: blocks stream token ranges of neighbouring heads
// (contiguous runs of the [B, L, H, D] cache) straight into registers (or through a shared-memory
// cp.async pipeline), and the last range of each group of heads merges the partial softmaxes.
// Checked against softmax_attention_decode_cpu in test_gpu_softmax.cpp.
#include <cuda_bf16.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>

#include "mixers/softmax/softmax_attention_bf16.cuh"
#include "mixers/softmax/softmax_attention_cuda_internal.cuh"
#include "mixers/softmax/softmax_attention_decode_item.cuh"
#include "mixers/softmax/softmax_attention_decode_kernel.cuh"
#include "mixers/softmax/softmax_attention_decode_merge.cuh"
#include "mixers/softmax/softmax_attention_decode_plan.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/scratch_buffer.cuh"

namespace seqbench {
namespace decode {
namespace {

// kPrefetch: the L2 prefetch hint of the cache loads (copy_async_16_hinted). kBulk: tiles come
// through the bulk copy engine (bulk_load_tile), each stage's arrival counted on its own barrier.
template <class T, int LPR, int PPL, bool kVector, int kPrefetch, bool kBulk>
__global__ void __launch_bounds__(kThreads, kMaxBlocksPerSm) attention_decode_kernel(DecodeWork w, DecodeTensors<T> t) {
  using C = Config<T, LPR, PPL, kVector>;
  using Slice = typename C::Slice;
  using Cursor = TileCursor<C::kTileRows>;
  extern __shared__ __align__(16) unsigned char stage_bytes[];
  T* stages = reinterpret_cast<T*>(stage_bytes);
  __shared__ __align__(16) float o_s[C::kCombineFloats];
  __shared__ float m_s[C::kGroups], l_s[C::kGroups];
  __shared__ int last_s;
  __shared__ uint64_t landed[kBulk ? kMaxStages : 1];
  uint32_t landed_parity = 0;                                        // bit s: the parity of stage s's next phase
  const uint64_t policy = kBulk ? hopper::evict_first_policy() : 0;  // the cache is read once
  if constexpr (kBulk) {
    if (threadIdx.x == 0) {
      for (int s = 0; s < w.stages; ++s) hopper::barrier_init(&landed[s], 1);
      hopper::barrier_init_fence();
      hopper::fence_shared_for_async_proxy();
    }
    __syncthreads();
  }
  const int group = threadIdx.x / LPR;
  const Slice slice{static_cast<int>(threadIdx.x % LPR), w.head_dim};
  const int64_t row_stride = static_cast<int64_t>(w.heads) * w.head_dim;

  // Every thread issues its share of a tile and commits a group, empty past the last tile, so
  // wait_async counts the same groups in every thread. On the bulk path the first warp issues it.
  auto fetch_tile = [&](Cursor& at, int stage) {
    if (!at.done(w)) {
      T* k_s = stages + stage * C::kStageElems;
      T* v_s = k_s + C::kTileRows * Slice::kRowElems;
      if constexpr (kBulk) {
        if (threadIdx.x < 32)
          bulk_load_tile(t.k + at.head, t.v + at.head, row_stride, at.key, at.rows(w) >> w.head_shift,
                         1 << w.head_shift, w.head_dim, k_s, v_s, &landed[stage], policy);
      } else {
        load_tile<T, Slice::kRowElems, kVector, kPrefetch>(t.k + at.head, t.v + at.head, row_stride, at.key, at.rows(w),
                                                           w.head_shift, w.head_dim, k_s, v_s);
      }
      at.advance(w);
    }
    if constexpr (!kBulk) tc::commit_async();
  };
  float qv[Slice::kFloats];
  auto next_stage = [&](int stage) { return stage + 1 == w.stages ? 0 : stage + 1; };

  Cursor fetch, use;
  fetch.enter(w, blockIdx.x);
  use = fetch;
  for (int s = 0; s + 1 < w.stages; ++s) fetch_tile(fetch, s);
  int fetch_stage = w.stages - 1, use_stage = 0;
  if (!use.done(w)) load_query(w, t.q, use.column, group, slice, qv);
  RunningSoftmax<Slice::kFloats> st;
  while (!use.done(w)) {
    if constexpr (kBulk) {
      hopper::barrier_wait(&landed[use_stage], (landed_parity >> use_stage) & 1u);
      landed_parity ^= 1u << use_stage;
    } else {
      wait_async_pending(w.stages - 2);
    }
    __syncthreads();  // this tile landed for every thread; the stage refilled next was consumed by all
    fetch_tile(fetch, fetch_stage);
    fetch_stage = next_stage(fetch_stage);
    const T* k_s = stages + use_stage * C::kStageElems;
    use_stage = next_stage(use_stage);
    consume_tile<T, Slice, C::kKeysPerGroup, C::kGroups>(k_s, k_s + C::kTileRows * Slice::kRowElems, use.rows(w), group,
                                                         slice, qv, st);
    if (!use.last_of_item(w)) {
      use.advance(w);
      continue;
    }
    finish_item<T, Slice, C::kGroups, false>(w, t, use.column, use.item / w.columns, group, slice, st, o_s, m_s, l_s,
                                             &last_s);
    st = RunningSoftmax<Slice::kFloats>{};
    use.advance(w);
    if (!use.done(w)) load_query(w, t.q, use.column, group, slice, qv);
  }
}

// The direct path: each group loads its rows of an item straight from global memory into registers
// (DirectStep), kRows rows of K and V in flight per thread and the block's other warps and blocks
// covering each other's waits; no stage, no shared copy, no block barrier per tile. kAhead
// (DecodeTuning::direct_ahead): kDirectAheadStep loads the next step's rows before this step's are
// used (two sets of registers), so a thread's loads never all drain; kDirectAheadStaggered reloads
// K as soon as the scores are taken and V once it was used, so one set of registers keeps one of
// the two in flight while the other is used, the blocks per SM of no loads ahead. kHint: the loads'
// L2 hints. Every group takes the same number of steps (rows past the item's end masked), so the
// shuffles of a warp's groups stay converged.
template <class T, int LPR, int PPL, bool kVector, int kRows, int kAhead, int kHint>
__global__ void __launch_bounds__(kThreads, direct_blocks_per_sm(kRows, kAhead))
    attention_decode_direct_kernel(DecodeWork w, DecodeTensors<T> t) {
  using C = Config<T, LPR, PPL, kVector>;
  using Slice = typename C::Slice;
  constexpr int kGroupRows = C::template kDirectRows<kRows>, kStepRows = kGroupRows * C::kGroups;
  using Step = DirectStep<T, Slice, kGroupRows, C::kGroups, kHint>;
  __shared__ __align__(16) float o_s[C::kCombineFloats];
  __shared__ float m_s[C::kGroups], l_s[C::kGroups];
  __shared__ int last_s;
  const int group = threadIdx.x / LPR;
  const Slice slice{static_cast<int>(threadIdx.x % LPR), w.head_dim};
  const int64_t row_stride = static_cast<int64_t>(w.heads) * w.head_dim;
  const uint64_t policy = (kHint & kHintEvictFirst) ? hopper::evict_first_policy() : 0;  // the cache is read once
  for (int item = blockIdx.x; item < w.items; item += gridDim.x) {
    const int split = item / w.columns, column = item - split * w.columns;
    const int key = w.split_begin(split), rows = (w.split_begin(split + 1) - key) << w.head_shift;
    const int64_t from = w.column_head(column) + key * row_stride;
    float qv[Slice::kFloats];
    load_query(w, t.q, column, group, slice, qv);
    RunningSoftmax<Slice::kFloats> st;
    const T *k = t.k + from, *v = t.v + from;
    if constexpr (kAhead == kDirectAheadStep) {
      Step now, next;
      next.fetch(k, v, row_stride, w.head_shift, group, rows, slice, policy);
      for (int step = 0; step < rows; step += kStepRows) {
        now = next;
        if (step + kStepRows < rows)
          next.fetch(k, v, row_stride, w.head_shift, step + kStepRows + group, rows, slice, policy);
        now.consume(step + group, rows, slice, qv, st);
      }
    } else if constexpr (kAhead == kDirectAheadStaggered) {
      Step now;
      now.fetch(k, v, row_stride, w.head_shift, group, rows, slice, policy);
      for (int step = 0; step < rows; step += kStepRows) {
        const int next = step + kStepRows;  // the same for the whole block: no divergence
        float s[kGroupRows];
        now.scores(step + group, rows, slice, qv, s);
        if (next < rows) now.fetch_keys(k, row_stride, w.head_shift, next + group, rows, slice, policy);
        now.values(s, slice, st);
        if (next < rows) now.fetch_values(v, row_stride, w.head_shift, next + group, rows, slice, policy);
      }
    } else {
      for (int step = 0; step < rows; step += kStepRows) {
        Step now;
        now.fetch(k, v, row_stride, w.head_shift, step + group, rows, slice, policy);
        now.consume(step + group, rows, slice, qv, st);
      }
    }
    finish_item<T, Slice, C::kGroups, true>(w, t, column, split, group, slice, st, o_s, m_s, l_s, &last_s);
    // finish_item may end while threads still read o_s, m_s and l_s (one split) or the merge's
    // weights; no tile barrier follows here before the next item's finish writes them.
    __syncthreads();
  }
}

// The shape of the row slices for a head dim: 16-byte pieces per row, 8 lanes up to 8 pieces, 16 up
// to 16, 32 up to 32, then 2 pieces a lane; 32 lanes of scalars off the vector path.
template <class T>
int lanes_per_row(int64_t head_dim, bool vector) {
  const int64_t pieces = head_dim / (16 / static_cast<int64_t>(sizeof(T)));
  return !vector || pieces > 16 ? 32 : pieces > 8 ? 16 : 8;
}

template <class T, int LPR, int PPL, bool kVector, int kPrefetch, bool kBulk = false>
void launch_hinted(const DecodeWork& w, const DecodeTensors<T>& t, int grid, cudaStream_t stream) {
  using C = Config<T, LPR, PPL, kVector>;
  auto kernel = attention_decode_kernel<T, LPR, PPL, kVector, kPrefetch, kBulk>;
  const size_t shared = w.stages * C::kStageBytes;
  // Once per device: the most dynamic shared memory any stage count asks, and all of L1 as shared
  // memory, or three blocks would not fit; the kernel does not use L1.
  constexpr int kMaxDevices = 64;
  static std::once_flag configured[kMaxDevices];
  int device = 0;
  cudaCheck(cudaGetDevice(&device));
  std::call_once(configured[device % kMaxDevices], [&] {
    cudaFuncAttributes attributes{};
    cudaCheck(cudaFuncGetAttributes(&attributes, kernel));
    const int most = device_limits().shared_per_block - static_cast<int>(attributes.sharedSizeBytes);
    cudaCheck(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, most));
    cudaCheck(
        cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout, cudaSharedmemCarveoutMaxShared));
  });
  kernel<<<grid, kThreads, shared, stream>>>(w, t);
  cudaCheckLaunch();
}

// The direct kernel of the plan's rows, loads ahead and L2 hints (hints only at the default rows
// without a whole step ahead, and only on the 16-byte path: the plain copies take none; the plan
// rejects the other combinations). Each is a template argument: run-time choices cost registers.
template <class T, int LPR, int PPL, bool kVector, int kRows, int kAhead>
void launch_direct_hinted(const DecodeWork& w, const DecodeTensors<T>& t, const DecodePlan& plan, cudaStream_t stream) {
  auto run = [&](auto kernel) {
    kernel<<<plan.grid, kThreads, 0, stream>>>(w, t);
    cudaCheckLaunch();
  };
  if constexpr (kVector && kRows == kDefaultDirectRows && kAhead != kDirectAheadStep) {
    constexpr int kBoth = kHintEvictFirst | kHintPrefetch256;
    if (plan.direct_hint == kHintEvictFirst)
      return run(attention_decode_direct_kernel<T, LPR, PPL, kVector, kRows, kAhead, kHintEvictFirst>);
    if (plan.direct_hint == kHintPrefetch256)
      return run(attention_decode_direct_kernel<T, LPR, PPL, kVector, kRows, kAhead, kHintPrefetch256>);
    if (plan.direct_hint == kBoth)
      return run(attention_decode_direct_kernel<T, LPR, PPL, kVector, kRows, kAhead, kBoth>);
  }
  run(attention_decode_direct_kernel<T, LPR, PPL, kVector, kRows, kAhead, 0>);
}

template <class T, int LPR, int PPL, bool kVector>
void launch_direct(const DecodeWork& w, const DecodeTensors<T>& t, const DecodePlan& plan, cudaStream_t stream) {
  constexpr int kRows = kDefaultDirectRows;
  if (plan.direct_rows == 2) {  // the plan allows rows 2 with no loads ahead or a whole step
    plan.direct_ahead == kDirectAheadStep
        ? launch_direct_hinted<T, LPR, PPL, kVector, 2, kDirectAheadStep>(w, t, plan, stream)
        : launch_direct_hinted<T, LPR, PPL, kVector, 2, kDirectAheadNone>(w, t, plan, stream);
  } else if (plan.direct_rows == 8) {  // and rows 8 without a whole step ahead
    plan.direct_ahead == kDirectAheadStaggered
        ? launch_direct_hinted<T, LPR, PPL, kVector, 8, kDirectAheadStaggered>(w, t, plan, stream)
        : launch_direct_hinted<T, LPR, PPL, kVector, 8, kDirectAheadNone>(w, t, plan, stream);
  } else if (plan.direct_ahead == kDirectAheadStep) {
    launch_direct_hinted<T, LPR, PPL, kVector, kRows, kDirectAheadStep>(w, t, plan, stream);
  } else if (plan.direct_ahead == kDirectAheadStaggered) {
    launch_direct_hinted<T, LPR, PPL, kVector, kRows, kDirectAheadStaggered>(w, t, plan, stream);
  } else {
    launch_direct_hinted<T, LPR, PPL, kVector, kRows, kDirectAheadNone>(w, t, plan, stream);
  }
}

// The prefetch hint is a template argument: a run-time choice between four copies of the load loop
// costs the main loop registers. Plain copies take no hint; the bulk path needs stage rows exactly
// head_dim long (16-byte multiples) and takes none either.
template <class T, int LPR, int PPL, bool kVector>
void launch(const DecodeWork& w, const DecodeTensors<T>& t, const DecodePlan& plan, cudaStream_t stream) {
  const int grid = plan.grid;
  const int l2_prefetch = plan.l2_prefetch;
  const bool bulk = plan.bulk_copy;
  if (!plan.shared_pipeline) {
    launch_direct<T, LPR, PPL, kVector>(w, t, plan, stream);
  } else if constexpr (!kVector) {
    launch_hinted<T, LPR, PPL, kVector, 0>(w, t, grid, stream);
  } else if (bulk && w.head_dim == Config<T, LPR, PPL, kVector>::Slice::kRowElems) {
    launch_hinted<T, LPR, PPL, kVector, 0, true>(w, t, grid, stream);
  } else if (l2_prefetch == 256) {
    launch_hinted<T, LPR, PPL, kVector, 256>(w, t, grid, stream);
  } else if (l2_prefetch == 128) {
    launch_hinted<T, LPR, PPL, kVector, 128>(w, t, grid, stream);
  } else if (l2_prefetch == 64) {
    launch_hinted<T, LPR, PPL, kVector, 64>(w, t, grid, stream);
  } else {
    launch_hinted<T, LPR, PPL, kVector, 0>(w, t, grid, stream);
  }
}

template <class T>
void launch_for_head_dim(const DecodeWork& w, const DecodeTensors<T>& t, bool vector, const DecodePlan& plan,
                         cudaStream_t stream) {
  const int lanes = lanes_per_row<T>(w.head_dim, vector);
  const int pieces = w.head_dim / (16 / static_cast<int>(sizeof(T)));
  if (!vector) {
    launch<T, 32, 1, false>(w, t, plan, stream);
  } else if (lanes == 8) {
    launch<T, 8, 1, true>(w, t, plan, stream);
  } else if (lanes == 16) {
    launch<T, 16, 1, true>(w, t, plan, stream);
  } else if (pieces <= 32) {
    launch<T, 32, 1, true>(w, t, plan, stream);
  } else if constexpr (sizeof(T) == 4) {  // fp32 with head_dim > 128
    launch<T, 32, 2, true>(w, t, plan, stream);
  } else {
    throw std::logic_error("softmax_attention_decode_cuda: no bf16 head_dim has more than 32 pieces");
  }
}

template <class T>
bool vector_path(const T* q, const T* k, const T* v, int64_t head_dim) {
  return aligned_16(q) && aligned_16(k) && aligned_16(v) && head_dim % (16 / static_cast<int64_t>(sizeof(T))) == 0;
}

}  // namespace
}  // namespace decode

// The plan of any row slicing (8, 16 or 32 groups): the largest workspace one of them needs.
int64_t softmax_attention_decode_workspace_floats(const AttentionShape& c, int64_t len) {
  if (c.batch * c.heads == 0 || len < 1) return 0;
  int64_t most = 0;
  for (int groups : {8, 16, 32})
    most = std::max(most, decode::workspace_floats(decode::plan_decode(c, len, groups), c.head_dim));
  return most;
}

template <class T>
std::string softmax_attention_decode_plan_text(const AttentionShape& c, int64_t len) {
  const int groups = decode::kThreads / decode::lanes_per_row<T>(c.head_dim, true);
  const decode::DecodePlan p = decode::plan_decode(c, len, groups);
  return std::to_string(decode::heads_per_block(p)) + " heads/block, " + std::to_string(p.splits) + " splits, " +
         (p.shared_pipeline ? std::to_string(p.stages) + " stages, "
                            : "direct loads of " + std::to_string(p.direct_rows) + " rows" +
                                  (p.direct_ahead == decode::kDirectAheadStep        ? " ahead, "
                                   : p.direct_ahead == decode::kDirectAheadStaggered ? " staggered, "
                                                                                     : ", ") +
                                  (p.direct_hint ? "L2 hint " + std::to_string(p.direct_hint) + ", " : "") +
                                  (p.merge_lanes != 32 ? "merge lanes " + std::to_string(p.merge_lanes) + ", " : "")) +
         std::to_string(p.blocks_per_sm) + " blocks/SM, " + std::to_string(p.grid) + " blocks" +
         (p.shared_pipeline && p.l2_prefetch ? ", L2 prefetch " + std::to_string(p.l2_prefetch) + " B" : "") +
         (p.bulk_copy ? ", bulk copies" : "");
}

template <class T>
void softmax_attention_decode_cuda(const T* q_t, const T* k_cache, const T* v_cache, int64_t len, T* out_t,
                                   const AttentionShape& c, float* workspace, cudaStream_t stream) {
  check_attention_shape(c, "softmax_attention_decode_cuda");
  if (len < 1 || len > c.seq_len)
    throw std::invalid_argument("softmax_attention_decode_cuda: len must be in [1, " + std::to_string(c.seq_len) +
                                "] (the cache capacity), got " + std::to_string(len));
  if (workspace && !aligned_16(workspace))
    throw std::invalid_argument("softmax_attention_decode_cuda: the workspace must be 16-byte aligned");
  const int64_t pairs = c.batch * c.heads;
  if (pairs == 0) return;
  const bool vector = decode::vector_path(q_t, k_cache, v_cache, c.head_dim);
  const decode::DecodePlan plan =
      decode::plan_decode(c, len, decode::kThreads / decode::lanes_per_row<T>(c.head_dim, vector));
  const ScratchFloats scratch(workspace, decode::workspace_floats(plan, c.head_dim), stream);
  unsigned* arrivals = reinterpret_cast<unsigned*>(scratch.data());
  // A workspace of our own starts from garbage; a caller's was zeroed once and stays so.
  if (!workspace && plan.splits > 1) cudaCheck(cudaMemsetAsync(arrivals, 0, pairs * sizeof(unsigned), stream));
  const decode::DecodeWork w{static_cast<int>(pairs >> plan.head_shift),
                             plan.splits,
                             plan.items,
                             static_cast<int>(len),
                             static_cast<int>(c.heads),
                             static_cast<int>(c.head_dim),
                             plan.head_shift,
                             plan.stages,
                             plan.merge_lanes,
                             c.seq_len,
                             attention_scale(c) * kLog2e};
  float* ml = scratch.data() + decode::counter_floats(pairs);
  const decode::DecodeTensors<T> t{
      q_t, k_cache, v_cache, out_t, reinterpret_cast<float2*>(ml), ml + decode::ml_floats(plan), arrivals};
  decode::launch_for_head_dim(w, t, vector, plan, stream);
}

template void softmax_attention_decode_cuda<float>(const float*, const float*, const float*, int64_t, float*,
                                                   const AttentionShape&, float*, cudaStream_t);
template void softmax_attention_decode_cuda<__nv_bfloat16>(const __nv_bfloat16*, const __nv_bfloat16*,
                                                           const __nv_bfloat16*, int64_t, __nv_bfloat16*,
                                                           const AttentionShape&, float*, cudaStream_t);
template std::string softmax_attention_decode_plan_text<float>(const AttentionShape&, int64_t);
template std::string softmax_attention_decode_plan_text<__nv_bfloat16>(const AttentionShape&, int64_t);

}  // namespace seqbench
