// The bf16 tensor-core (gated) delta rule backward in WY form (FLA's chunk_gated_delta_rule_bwd): reuse the
// forward's T, W and V_new or recompute T, W and U per chunk, dV_local, the reverse state pass (dL/dV_new, dL/dH
// per chunk), per-chunk dq, dk, dW and dG, then the WY backward into dk, dv, dbeta and dlog_decay. Checked against
// DeltaRuleKernels::cpu().bwd in test_gpu_delta_bf16.cpp. Contract: delta_rule_bf16.cuh.
#include <cuda_bf16.h>

#include <stdexcept>

#include "mixers/delta/delta_rule_bf16.cuh"
#include "mixers/delta/delta_rule_tc_internal.cuh"

namespace seqbench {

void delta_rule_tc_bwd_cuda(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v, const float* beta,
                            const float* log_decay, const __nv_bfloat16* chunk_states, const __nv_bfloat16* dout,
                            __nv_bfloat16* dq, __nv_bfloat16* dk, __nv_bfloat16* dv, float* dbeta, float* dlog_decay,
                            float* workspace, const DeltaRuleShape& s, const DeltaRuleTcVariant& variant,
                            cudaStream_t stream) {
  using namespace delta_tc;
  const ChunkGrid d = chunk_grid(s);
  check_variant(variant, "delta_rule_tc_bwd_cuda");
  check_call(s, "delta_rule_tc_bwd_cuda", d, {q, k, v, beta, chunk_states, dout, dq, dk, dv, dbeta, workspace});
  if (d.BH == 0 || d.L == 0) return;
  if (log_decay && dlog_decay && !gla_tc::aligned16(dlog_decay))
    throw std::invalid_argument("delta_rule_tc_bwd_cuda: dlog_decay is not 16-byte aligned");
  const int dk_dim = static_cast<int>(s.key_dim), dv_dim = static_cast<int>(s.value_dim);
  const Workspace ws = carve_workspace(workspace, s);
  float* dgate = log_decay && dlog_decay ? ws.dgate : nullptr;
  if (!variant.reuse_forward) {
    launch_gates(log_decay, beta, ws, d, stream);
    // ws.v_new keeps U here: the chunk-gradient kernel forms V_new = U - W H itself from the saved states.
    launch_wy_prepare(k, v, ws.beta, ws.decay, ws.w, ws.v_new, ws.t, dk_dim, dv_dim, variant.blocked_solve, d, stream);
  }  // else the forward left the gates, W, V_new and T in the workspace
  launch_dv_local(q, k, dout, ws.decay, ws.dv_new, dk_dim, dv_dim, d, stream);
  launch_reverse_scan(q, k, ws.w, dout, ws.dv_new, ws.decay, ws.dstates, dk_dim, dv_dim, variant.reverse_stages,
                      variant.walk_columns, d, stream);
  launch_chunk_grads(q, k, ws.w, ws.v_new, variant.reuse_forward, chunk_states, dout, ws.dv_new, ws.dstates, ws.decay,
                     dq, dk, ws.dw, dgate, dk_dim, dv_dim, d, stream);
  launch_wy_bwd(ws.t, k, v, ws.beta, ws.decay, ws.dw, ws.dv_new, dgate, dk, dv, dbeta, dgate ? dlog_decay : nullptr,
                dk_dim, dv_dim, d, stream);
}

}  // namespace seqbench
