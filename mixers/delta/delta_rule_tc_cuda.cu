// The bf16 tensor-core (gated) delta rule forward in WY form (Yang et al. 2024, sec. 3): gates, per-chunk
// T, W, U, the state pass (V_new and H per chunk), then O = e^G Q H + (Q K^T (.) causal (.) e^{G_i - G_j}) V_new.
// Checked against DeltaRuleKernels::cpu().fwd in test_gpu_delta_bf16.cpp. Contract: delta_rule_bf16.cuh.
#include <cuda_bf16.h>

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "mixers/delta/delta_rule_bf16.cuh"
#include "mixers/delta/delta_rule_tc_internal.cuh"
#include "ops/cuda/cuda_check.h"

namespace seqbench {
namespace delta_tc {

ChunkGrid chunk_grid(const DeltaRuleShape& s) {
  return {static_cast<int>(s.seq_len), static_cast<int>(s.heads), static_cast<int>((s.seq_len + kChunk - 1) / kChunk),
          static_cast<int>(s.batch * s.heads), static_cast<int>(s.heads)};
}

void check_call(const DeltaRuleShape& s, const char* what, const ChunkGrid& d,
                std::initializer_list<const void*> buffers) {
  const std::string why = delta_rule_tc_unsupported(s);
  if (!why.empty()) throw std::invalid_argument(std::string(what) + ": " + why);
  if (d.BH == 0 || d.L == 0) return;  // nothing to read or write
  int i = 0;
  for (const void* p : buffers) {
    if (!p) throw std::invalid_argument(std::string(what) + ": required buffer #" + std::to_string(i) + " is null");
    if (!gla_tc::aligned16(p))
      throw std::invalid_argument(std::string(what) + ": buffer #" + std::to_string(i) +
                                  " is not 16-byte aligned (the tiles load 16 bytes at a time)");
    ++i;
  }
}

Workspace carve_workspace(float* base, const DeltaRuleShape& s, int64_t* floats_used) {
  const int64_t padded = s.batch * s.heads * ((s.seq_len + kChunk - 1) / kChunk) * kChunk;
  const int64_t tokens = s.batch * s.seq_len * s.heads, states = delta_rule_tc_chunk_state_elements(s);
  int64_t offset = 0;  // floats, kept a multiple of 4 (16 bytes)
  auto take = [&](int64_t floats) {
    float* p = base ? base + offset : nullptr;
    offset += (floats + 3) / 4 * 4;
    return p;
  };
  auto take_bf16 = [&](int64_t elements) { return reinterpret_cast<bf16*>(take((elements + 1) / 2)); };
  Workspace ws{};
  ws.decay = take(padded);
  ws.w = take_bf16(tokens * s.key_dim);
  ws.v_new = take_bf16(tokens * s.value_dim);
  ws.states = take_bf16(states);
  ws.beta = take(padded);
  ws.t = take_bf16(padded * kChunk);
  ws.dv_new = take_bf16(tokens * s.value_dim);
  ws.dstates = take_bf16(states);
  ws.dw = take_bf16(tokens * s.key_dim);
  ws.dgate = take(padded);
  if (floats_used) *floats_used = offset;
  return ws;
}

void launch_gates(const float* log_decay, const float* beta, const Workspace& ws, const ChunkGrid& d,
                  cudaStream_t stream) {
  gla_tc::launch_chunk_cumulative_decay(log_decay, ws.decay, d, stream, beta, ws.beta);
}

}  // namespace delta_tc

std::string delta_rule_tc_unsupported(const DeltaRuleShape& s) {
  auto dim_ok = [](int64_t x) { return x == 64 || x == 128; };
  if (!dim_ok(s.key_dim) || !dim_ok(s.value_dim))
    return "key_dim and value_dim must each be 64 or 128, got key_dim=" + std::to_string(s.key_dim) +
           " value_dim=" + std::to_string(s.value_dim);
  if (s.batch < 0 || s.seq_len < 0 || s.heads < 1)
    return "bad shape batch=" + std::to_string(s.batch) + " seq_len=" + std::to_string(s.seq_len) +
           " heads=" + std::to_string(s.heads);
  const int64_t chunks = s.batch * s.heads * ((s.seq_len + delta_tc::kChunk - 1) / delta_tc::kChunk);
  if (chunks >= (int64_t{1} << 31) || s.seq_len >= (int64_t{1} << 30))
    return "too many chunks: batch * heads * ceil(seq_len / 64) must be < 2^31, got " + std::to_string(chunks);
  return {};
}

int64_t delta_rule_tc_chunk_state_elements(const DeltaRuleShape& s) {
  return s.batch * s.heads * ((s.seq_len + delta_tc::kChunk - 1) / delta_tc::kChunk) * s.key_dim * s.value_dim;
}

int64_t delta_rule_tc_workspace_floats(const DeltaRuleShape& s) {
  int64_t floats = 0;
  delta_tc::carve_workspace(nullptr, s, &floats);
  return floats;
}

void delta_rule_tc_fwd_cuda(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v, const float* beta,
                            const float* log_decay, __nv_bfloat16* out, __nv_bfloat16* chunk_states, float* final_state,
                            float* workspace, const DeltaRuleShape& s, const DeltaRuleTcVariant& variant,
                            cudaStream_t stream) {
  using namespace delta_tc;
  const ChunkGrid d = chunk_grid(s);
  check_variant(variant, "delta_rule_tc_fwd_cuda");
  check_call(s, "delta_rule_tc_fwd_cuda", d, {q, k, v, beta, out, workspace});
  if (d.BH == 0 || d.L == 0) return;
  for (const void* p : {static_cast<const void*>(chunk_states), static_cast<const void*>(final_state)})
    if (p && !gla_tc::aligned16(p))
      throw std::invalid_argument("delta_rule_tc_fwd_cuda: an output state is not 16-byte aligned");
  const int dk = static_cast<int>(s.key_dim), dv = static_cast<int>(s.value_dim);
  const Workspace ws = carve_workspace(workspace, s);
  // Kept for a backward that reuses them (chunk_states given: a backward will follow): T beside W and V_new.
  const bool keep = variant.reuse_forward && chunk_states;
  launch_gates(log_decay, beta, ws, d, stream);
  launch_wy_prepare(k, v, ws.beta, ws.decay, ws.w, ws.v_new, keep ? ws.t : nullptr, dk, dv, variant.blocked_solve, d,
                    stream);
  if (variant.fused_forward) {
    launch_fused_forward(q, k, ws.w, ws.v_new, ws.decay, out, chunk_states, final_state, keep, dk, dv,
                         variant.walk_columns, d, stream);
    return;
  }
  bf16* states = chunk_states ? chunk_states : ws.states;
  launch_state_scan(k, ws.w, ws.v_new, ws.decay, states, final_state, dk, dv, variant.walk_columns, d, stream);
  gla_tc::launch_chunk_output(q, k, ws.v_new, states, ws.decay, nullptr, out, 1.0f, dk, dv, d, stream);
}

}  // namespace seqbench
