// Causal softmax attention on the GPU for either storage type, with caller-owned workspaces and an
// explicit stream: what benchmarks and the bf16 tests call; the fp32 entry points of the kernel table
// (softmax_attention.h) forward here. Forward (FlashAttention-2 tiled online softmax, writes the
// log-sum-exp), backward (FlashAttention-2 with D = rowsum(dO * O), atomic or deterministic dQ),
// one-token decode (split-K over the cache); checked against the CPU kernels in test_gpu_softmax.cpp.
// Device pointers throughout.
//
// T = float: fp32 storage and arithmetic (CUDA cores). T = __nv_bfloat16: bf16 storage, fp32
// accumulation, tensor cores (mma.sync) for head_dim 64 and 128 with 16-byte aligned pointers,
// CUDA cores otherwise. lse, workspaces and statistics are fp32 in both. head_dim <= 256.
// SEQBENCH_ATTENTION_FWD=hopper routes the bf16 forward at head_dim 64/128 to the sm_90a kernel of
// softmax_attention_hopper.cuh (wgmma, TMA); portable keeps mma.sync. SEQBENCH_ATTENTION_BWD_KERNEL=hopper
// (or another variant: hopper_bulk_dq, hopper_serial, ..., softmax_attention_hopper_bwd.cuh) does the
// same for the bf16 backward. Both default to the Hopper kernels on sm_90, portable elsewhere.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include "mixers/softmax/softmax_attention.h"
#include "ops/cuda/current_stream.cuh"

namespace seqbench {

template <class T>
void softmax_attention_fwd_cuda(const T* q, const T* k, const T* v, T* out, float* lse, const AttentionShape& shape,
                                cudaStream_t stream = current_stream());
// The same without the Hopper dispatch: the portable kernels on any GPU, the reference the Hopper
// forward is checked against.
template <class T>
void softmax_attention_fwd_portable_cuda(const T* q, const T* k, const T* v, T* out, float* lse,
                                         const AttentionShape& shape, cudaStream_t stream = current_stream());

// Two backwards with the same math. `atomic`: one pass, each block owning 128 keys and adding its
// share of dQ with fp32 atomics, so the order of those additions (and the last bits of dq) can change
// from run to run. `deterministic`: the same pass without dQ, then a second kernel in which each block
// owns 64 queries and sums over the keys in a fixed order (S and dP computed twice): bit-identical runs,
// for gating on exact results. Only the bf16 tensor-core path (head_dim 64/128) has atomics; the
// CUDA-core path (fp32, other head dims) is deterministic either way. The process default comes from
// SEQBENCH_ATTENTION_BWD (atomic or deterministic, read once; atomic when unset); anything else throws.
enum class AttentionBwdMode { atomic, deterministic };
AttentionBwdMode attention_bwd_mode();
const char* attention_bwd_mode_name(AttentionBwdMode mode);

// Floats of scratch the backward needs in either mode: an fp32 dq accumulator [B, L, H, Dh] (atomic
// mode, and the Hopper kernel's deterministic mode), D [B, H, L] and (Hopper) B H ceil(L / 64) ints.
int64_t softmax_attention_bwd_workspace_floats(const AttentionShape& shape);

// dq, dk, dv are overwritten. workspace: softmax_attention_bwd_workspace_floats(shape) floats, or
// null to allocate (and free) one inside the call.
template <class T>
void softmax_attention_bwd_cuda(const T* q, const T* k, const T* v, const T* out, const float* lse, const T* dout,
                                T* dq, T* dk, T* dv, const AttentionShape& shape, float* workspace = nullptr,
                                AttentionBwdMode mode = attention_bwd_mode(), cudaStream_t stream = current_stream());
// The same without the Hopper dispatch: the portable kernels on any GPU, the reference the Hopper
// backward is checked against.
template <class T>
void softmax_attention_bwd_portable_cuda(const T* q, const T* k, const T* v, const T* out, const float* lse,
                                         const T* dout, T* dq, T* dk, T* dv, const AttentionShape& shape,
                                         float* workspace, AttentionBwdMode mode, cudaStream_t stream = current_stream());

// One arrival counter per (batch, head) at most, then the partial results of the cache splits: (max, sum,
// unnormalised output) per split and (batch, head). How many splits depends on len and the device's
// SM count: the size is for this len on the current device, and covers every shorter len (a cache
// that grows token by token keeps the workspace of its capacity).
int64_t softmax_attention_decode_workspace_floats(const AttentionShape& cache, int64_t len);

// q_t, out_t: [batch, heads, head_dim]; k_cache, v_cache: [batch, cache.seq_len, heads, head_dim],
// the first `len` tokens valid. One launch: the last split of each (batch, head) to finish merges
// them. workspace: softmax_attention_decode_workspace_floats(cache, len) floats, zero-filled before
// its first use (the kernel leaves its counters at zero again, so calls and graph replays need no
// memset), or null to allocate and zero one inside the call. Calls sharing a workspace must not
// overlap in time.
// How a decode of this cache and len is cut on the current device with 16-byte aligned T arrays
// (heads per block, splits, stages, blocks per SM, grid), for benchmark rows; DecodeTuning sets it.
template <class T>
std::string softmax_attention_decode_plan_text(const AttentionShape& cache, int64_t len);

template <class T>
void softmax_attention_decode_cuda(const T* q_t, const T* k_cache, const T* v_cache, int64_t len, T* out_t,
                                   const AttentionShape& cache, float* workspace = nullptr,
                                   cudaStream_t stream = current_stream());

}  // namespace seqbench
