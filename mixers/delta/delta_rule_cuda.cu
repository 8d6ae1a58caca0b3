// (Gated) delta rule S_t = a_t S_{t-1} (I - b_t k_t k_t^T) + b_t v_t k_t^T, o_t = S_t q_t: the exact recurrence,
// one block per (batch, head), chunk checkpoints and BPTT backward; checked against the CPU kernels in
// test_gpu_delta.cpp.
#include <algorithm>
#include <climits>
#include <stdexcept>
#include <string>

#include "mixers/delta/delta_rule.h"
#include "mixers/delta/delta_rule_block_cuda.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/current_stream.cuh"
#include "ops/cuda/scratch_buffer.cuh"

namespace seqbench {
namespace {

using delta_block::BlockPlan;
using delta_block::for_owned;
using delta_block::load_token;
using delta_block::TokenGrads;
using delta_block::TokenShared;

constexpr int kMaxThreads = 512;
constexpr int kMaxColumnThreads = 128;
// The CPU's default recompute budget per (batch, head): as many S_{t-1} as fit in 1 MiB.
constexpr int64_t kSpanFloats = int64_t(1) << 18;

// q, k, v, beta, log_decay in the CPU layouts: token t of block (b, h) is row (b L + t) H + h.
struct DeltaInputs {
  const float *q, *k, *v, *beta, *log_decay;  // log_decay null: ungated
  int64_t seq_len, heads;

  __device__ int64_t row(int64_t t) const {
    const int64_t bh = blockIdx.x;
    return (bh / heads * seq_len + t) * heads + bh % heads;
  }
  __device__ float alpha(int64_t row) const { return log_decay ? expf(log_decay[row]) : 1.0f; }
};

struct ForwardBuffers {
  float* out;
  float* checkpoints;  // null: none saved
  int64_t checkpoint_count, chunk;
  const float* initial_state;  // null: zero
  float* final_state;          // null: not kept
  float* state_memory;         // [pairs, dk, dv] when the state is not in shared memory
  bool state_in_shared;
};

__global__ void __launch_bounds__(kMaxThreads) delta_rule_fwd_kernel(DeltaInputs x, ForwardBuffers f, BlockPlan p) {
  extern __shared__ __align__(16) float shared[];
  const TokenShared s = delta_block::carve(shared, p);
  const int64_t bh = blockIdx.x, state = p.state_floats();
  float* S = f.state_in_shared ? shared + p.vector_floats() : f.state_memory + bh * state;
  const float* initial = f.initial_state ? f.initial_state + bh * state : nullptr;
  for_owned(p, [&](int, int, int e) { S[e] = initial ? initial[e] : 0.0f; });
  for (int64_t t = 0; t < x.seq_len; ++t) {
    if (f.checkpoints && t % f.chunk == 0) {  // the state before each chunk, as the CPU saves it
      float* checkpoint = f.checkpoints + (bh * f.checkpoint_count + t / f.chunk) * state;
      for_owned(p, [&](int, int, int e) { checkpoint[e] = S[e]; });
    }
    const int64_t row = x.row(t);
    load_token(s, p, x.q, x.k, x.v, nullptr, row);
    delta_block::token_forward(S, S, s, p, x.beta[row], x.alpha(row), f.out + row * p.dv);
  }
  float* final_state = f.final_state ? f.final_state + bh * state : nullptr;
  if (final_state && final_state != S) for_owned(p, [&](int, int, int e) { final_state[e] = S[e]; });
}

struct BackwardBuffers {
  const float *checkpoints, *dout;
  float *dq, *dk, *dv, *dbeta, *dlog_decay;  // dlog_decay null: ungated
  int64_t checkpoint_count, chunk, span, max_spans;
  float* workspace;  // per head: [G, span starts 1.., states after a span's first token]
  int64_t workspace_per_head;
  bool gradient_in_shared;
};

// Chunks in reverse; within a chunk, spans in reverse, each recomputed from its start state (a chunk
// longer than a span is first run forward to save the later spans' starts), as backward_head on the CPU.
__global__ void __launch_bounds__(kMaxThreads) delta_rule_bwd_kernel(DeltaInputs x, BackwardBuffers b, BlockPlan p) {
  extern __shared__ __align__(16) float shared[];
  const TokenShared s = delta_block::carve(shared, p);
  const int64_t bh = blockIdx.x, state = p.state_floats();
  float* work = b.workspace + bh * b.workspace_per_head;
  float* G = b.gradient_in_shared ? shared + p.vector_floats() : work;
  float* starts = work + state;                        // start of span 1, 2, ... of the current chunk
  float* states = starts + (b.max_spans - 1) * state;  // S_{t-1} for a span's tokens after its first
  for_owned(p, [&](int, int, int e) { G[e] = 0.0f; });
  const int64_t chunks = (x.seq_len + b.chunk - 1) / b.chunk;
  for (int64_t c = chunks - 1; c >= 0; --c) {
    const int64_t t0 = c * b.chunk, t1 = min(x.seq_len, t0 + b.chunk);
    const int64_t spans = (t1 - t0 + b.span - 1) / b.span;
    const float* checkpoint = b.checkpoints + (bh * b.checkpoint_count + c) * state;
    auto span_start = [&](int64_t sp) -> const float* { return sp == 0 ? checkpoint : starts + (sp - 1) * state; };
    for (int64_t sp = 1; sp < spans; ++sp) {
      float* S = starts + (sp - 1) * state;
      const int64_t a0 = t0 + (sp - 1) * b.span;
      for (int64_t t = a0; t < a0 + b.span; ++t) {
        const int64_t row = x.row(t);
        load_token(s, p, x.q, x.k, x.v, nullptr, row);
        delta_block::token_forward(t == a0 ? span_start(sp - 1) : S, S, s, p, x.beta[row], x.alpha(row), nullptr);
      }
    }
    for (int64_t sp = spans - 1; sp >= 0; --sp) {
      const int64_t s0 = t0 + sp * b.span, n = min(t1, s0 + b.span) - s0;
      auto before = [&](int64_t m) -> const float* { return m == 0 ? span_start(sp) : states + (m - 1) * state; };
      for (int64_t m = 0; m + 1 < n; ++m) {
        const int64_t row = x.row(s0 + m);
        load_token(s, p, x.q, x.k, x.v, nullptr, row);
        delta_block::token_forward(before(m), states + m * state, s, p, x.beta[row], x.alpha(row), nullptr);
      }
      for (int64_t m = n - 1; m >= 0; --m) {
        const int64_t row = x.row(s0 + m);
        load_token(s, p, x.q, x.k, x.v, b.dout, row);
        const TokenGrads g{b.dq + row * p.dk, b.dk + row * p.dk, b.dv + row * p.dv, b.dbeta + row,
                           b.dlog_decay ? b.dlog_decay + row : nullptr};
        delta_block::token_reverse(before(m), G, s, p, x.beta[row], x.alpha(row), g);
      }
    }
  }
}

void check_shape(const DeltaRuleShape& s, const char* who) {
  if (s.batch < 0 || s.seq_len < 0 || s.heads < 0)
    throw std::invalid_argument(std::string(who) + ": batch, seq_len and heads must be >= 0, got " +
                                std::to_string(s.batch) + ", " + std::to_string(s.seq_len) + ", " +
                                std::to_string(s.heads));
  for (const auto& [name, dim] : {std::pair<const char*, int64_t>{"key_dim", s.key_dim}, {"value_dim", s.value_dim}})
    if (dim < 1 || dim > kDeltaRuleCudaMaxHeadDim)
      throw std::invalid_argument(std::string(who) + ": " + name + " must be in [1, " +
                                  std::to_string(kDeltaRuleCudaMaxHeadDim) + "] on the GPU, got " +
                                  std::to_string(dim));
  if (s.batch * s.heads > INT_MAX)
    throw std::invalid_argument(std::string(who) + ": batch * heads must be <= " + std::to_string(INT_MAX) +
                                " (one block each), got " + std::to_string(s.batch * s.heads));
}

// As many value columns per row group as fit (whole warps), row groups to fill kMaxThreads.
BlockPlan plan_for(const DeltaRuleShape& s) {
  BlockPlan p;
  p.dk = static_cast<int>(s.key_dim);
  p.dv = static_cast<int>(s.value_dim);
  p.cols = std::min(kMaxColumnThreads, (p.dv + 31) / 32 * 32);
  p.rows = std::max(1, std::min(kMaxThreads / p.cols, p.dk));
  return p;
}

// Dynamic shared memory for `kernel`: the vectors, plus the state when both fit under the device's
// opt-in limit (*state_in_shared says which).
template <class Kernel>
size_t prepare_shared_memory(Kernel kernel, const BlockPlan& p, bool* state_in_shared, const char* who) {
  int device = 0, limit = 0;
  cudaCheck(cudaGetDevice(&device));
  cudaCheck(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  const size_t vectors = p.vector_floats() * sizeof(float), with_state = vectors + p.state_floats() * sizeof(float);
  if (vectors > static_cast<size_t>(limit))
    throw std::invalid_argument(std::string(who) + ": head dims need " + std::to_string(vectors) +
                                " bytes of shared memory, the device allows " + std::to_string(limit));
  *state_in_shared = with_state <= static_cast<size_t>(limit);
  const size_t bytes = *state_in_shared ? with_state : vectors;
  cudaCheck(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
  return bytes;
}

void launch_forward(const DeltaInputs& x, ForwardBuffers f, const BlockPlan& p, int64_t pairs, const char* who,
                    cudaStream_t stream) {
  if (pairs == 0) return;
  const size_t bytes = prepare_shared_memory(delta_rule_fwd_kernel, p, &f.state_in_shared, who);
  // Out of shared memory, each block scans in its slice of final_state, or of a scratch buffer.
  const ScratchFloats memory(f.state_in_shared ? nullptr : f.final_state,
                             f.state_in_shared ? 0 : pairs * p.state_floats(), stream);
  f.state_memory = memory.data();
  delta_rule_fwd_kernel<<<static_cast<unsigned>(pairs), p.threads(), bytes, stream>>>(x, f, p);
  cudaCheckLaunch();
}

// The backward's recompute spans, chosen as on the CPU (BackwardScratch in delta_rule_cpu.cpp).
struct BackwardSpans {
  int64_t span, max_spans, per_head_floats;
};

BackwardSpans backward_spans(const DeltaRuleShape& s, const DeltaRuleOptions& o) {
  const int64_t state = s.key_dim * s.value_dim;
  const int64_t chunk = std::min(o.chunk_size, std::max<int64_t>(1, s.seq_len));
  const int64_t span =
      std::max<int64_t>(1, std::min(chunk, o.recompute_span > 0 ? o.recompute_span : kSpanFloats / state));
  const int64_t max_spans = (chunk + span - 1) / span;
  return {span, max_spans, (1 + (max_spans - 1) + (span - 1)) * state};
}

}  // namespace

void delta_rule_fwd_cuda(const float* q, const float* k, const float* v, const float* beta, const float* log_decay,
                         float* out, float* checkpoints, float* final_state, const DeltaRuleShape& s,
                         const DeltaRuleOptions& o) {
  const cudaStream_t stream = current_stream();
  check_shape(s, "delta_rule_fwd_cuda");
  const int64_t count = delta_rule_checkpoint_count(s, o);  // also checks the options
  const DeltaInputs x{q, k, v, beta, log_decay, s.seq_len, s.heads};
  const ForwardBuffers f{out, checkpoints, count, o.chunk_size, nullptr, final_state, nullptr, false};
  launch_forward(x, f, plan_for(s), s.batch * s.heads, "delta_rule_fwd_cuda", stream);
}

int64_t delta_rule_bwd_workspace_floats(const DeltaRuleShape& s, const DeltaRuleOptions& o) {
  check_shape(s, "delta_rule_bwd_workspace_floats");
  delta_rule_checkpoint_count(s, o);  // checks the options
  return s.batch * s.heads * backward_spans(s, o).per_head_floats;
}

void delta_rule_bwd_cuda(const float* q, const float* k, const float* v, const float* beta, const float* log_decay,
                         const float* checkpoints, const float* dout, float* dq, float* dk, float* dv, float* dbeta,
                         float* dlog_decay, const DeltaRuleShape& s, const DeltaRuleOptions& o, float* workspace) {
  const cudaStream_t stream = current_stream();
  check_shape(s, "delta_rule_bwd_cuda");
  const int64_t count = delta_rule_checkpoint_count(s, o);
  if (!checkpoints) throw std::invalid_argument("delta_rule_bwd_cuda: needs the forward's checkpoints");
  if (log_decay && !dlog_decay) throw std::invalid_argument("delta_rule_bwd_cuda: gated backward needs dlog_decay");
  const int64_t pairs = s.batch * s.heads;
  if (pairs == 0 || s.seq_len == 0) return;
  const BlockPlan p = plan_for(s);
  const BackwardSpans spans = backward_spans(s, o);
  const ScratchFloats scratch(workspace, pairs * spans.per_head_floats, stream);
  BackwardBuffers b{checkpoints,
                    dout,
                    dq,
                    dk,
                    dv,
                    dbeta,
                    log_decay ? dlog_decay : nullptr,
                    count,
                    o.chunk_size,
                    spans.span,
                    spans.max_spans,
                    scratch.data(),
                    spans.per_head_floats,
                    false};
  const size_t bytes = prepare_shared_memory(delta_rule_bwd_kernel, p, &b.gradient_in_shared, "delta_rule_bwd_cuda");
  const DeltaInputs x{q, k, v, beta, log_decay, s.seq_len, s.heads};
  delta_rule_bwd_kernel<<<static_cast<unsigned>(pairs), p.threads(), bytes, stream>>>(x, b, p);
  cudaCheckLaunch();
}

void delta_rule_decode_cuda(const float* q_t, const float* k_t, const float* v_t, const float* beta_t,
                            const float* log_decay_t, float* state, float* out_t, const DeltaRuleShape& s) {
  const cudaStream_t stream = current_stream();
  DeltaRuleShape one = s;
  one.seq_len = 1;  // [batch, heads, dim] is the [batch, 1, heads, dim] of a one-token forward
  check_shape(one, "delta_rule_decode_cuda");
  const DeltaInputs x{q_t, k_t, v_t, beta_t, log_decay_t, 1, s.heads};
  const ForwardBuffers f{out_t, nullptr, 0, 1, state, state, nullptr, false};
  launch_forward(x, f, plan_for(one), s.batch * s.heads, "delta_rule_decode_cuda", stream);
}

void delta_rule_bwd_cuda(const float* q, const float* k, const float* v, const float* beta, const float* log_decay,
                         const float* checkpoints, const float* dout, float* dq, float* dk, float* dv, float* dbeta,
                         float* dlog_decay, const DeltaRuleShape& s, const DeltaRuleOptions& o) {
  delta_rule_bwd_cuda(q, k, v, beta, log_decay, checkpoints, dout, dq, dk, dv, dbeta, dlog_decay, s, o, nullptr);
}

std::string delta_rule_cuda_limits(const DeltaRuleShape& s) {
  if (std::max(s.key_dim, s.value_dim) > kDeltaRuleCudaMaxHeadDim)
    return "key_dim and value_dim must be <= " + std::to_string(kDeltaRuleCudaMaxHeadDim) + " on the GPU, got " +
           std::to_string(s.key_dim) + " and " + std::to_string(s.value_dim);
  if (s.batch * s.heads > INT_MAX)
    return "batch * heads must be <= " + std::to_string(INT_MAX) + " on the GPU, got " +
           std::to_string(s.batch * s.heads);
  return {};
}

template <>
DeltaRuleKernels cuda_kernel_table<DeltaRuleKernels>{
    {}, delta_rule_fwd_cuda, delta_rule_bwd_cuda, delta_rule_decode_cuda, delta_rule_cuda_limits};

}  // namespace seqbench
