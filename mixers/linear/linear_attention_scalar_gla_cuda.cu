// bf16 linear attention as scalar GLA without a decay, plus the normaliser (contract:
// linear_attention_scalar_gla_cuda.cuh). Checked through linear_attention_{fwd,bwd}_cuda against the
// CPU kernels in test_gpu_linear.cpp.
#include <cstdint>

#include "mixers/gla/gla_scalar_bf16.cuh"
#include "mixers/linear/linear_attention_normaliser_cuda.cuh"
#include "mixers/linear/linear_attention_scalar_gla_cuda.cuh"

namespace seqbench {
namespace {

using bf16 = __nv_bfloat16;

GlaShape gla_shape(const LinearAttentionShape& s) {
  GlaShape g;
  g.batch = s.batch, g.seq_len = s.seq_len, g.heads = s.heads;
  g.key_dim = s.feature_dim, g.value_dim = s.head_dim, g.channel_decay = false;
  return g;
}

// Linear attention applies no scale to q (the feature map is all there is).
GlaOptions gla_options() {
  GlaOptions o;
  o.scale = 1.0f;
  return o;
}

// Every workspace region starts 16 bytes after a multiple of 16 bytes from the (16-byte aligned) base.
int64_t aligned_floats(int64_t n) { return (n + 3) / 4 * 4; }

// Forward workspace, in floats from its start: [GLA workspace | z before each chunk | chunk totals | end].
struct ForwardLayout {
  int64_t prefix, scratch, end;
};
ForwardLayout forward_layout(const LinearAttentionShape& s) {
  ForwardLayout l;
  l.prefix = aligned_floats(gla_scalar_workspace_floats(gla_shape(s)));
  l.scratch = l.prefix + aligned_floats(normaliser_chunk_sum_floats(s));
  l.end = l.scratch + aligned_floats(normaliser_chunk_sum_floats(s));
  return l;
}

// Backward workspace: [GLA workspace | chunk states (bf16) | dout / den (bf16) | d den | z before each chunk |
// sum of d den_t q_t after each chunk | chunk totals | end].
struct BackwardLayout {
  int64_t states, dnum, dden, key_prefix, query_suffix, scratch, end;
};
BackwardLayout backward_layout(const LinearAttentionShape& s) {
  const int64_t sums = aligned_floats(normaliser_chunk_sum_floats(s));
  BackwardLayout l;
  l.states = aligned_floats(gla_scalar_workspace_floats(gla_shape(s)));
  l.dnum = l.states + aligned_floats((gla_scalar_chunk_state_elements(gla_shape(s)) + 1) / 2);
  l.dden = l.dnum + aligned_floats((s.batch * s.seq_len * s.heads * s.head_dim + 1) / 2);
  l.key_prefix = l.dden + aligned_floats(s.batch * s.heads * s.seq_len);
  l.query_suffix = l.key_prefix + sums;
  l.scratch = l.query_suffix + sums;
  l.end = l.scratch + sums;
  return l;
}

}  // namespace

bool normaliser_runs_fused() {
  return linear_normaliser_variant() == LinearNormaliserVariant::fused &&
         gla_scalar_fwd_variant() == GlaScalarFwdVariant::fused;
}

bool linear_attention_runs_as_scalar_gla(const LinearAttentionShape& s, std::initializer_list<const void*> buffers) {
  if (!gla_scalar_tc_unsupported(gla_shape(s), gla_options()).empty()) return false;
  if (s.feature_dim > kNormaliserMaxFeatures || s.feature_dim % 32 != 0) return false;
  for (const void* p : buffers)
    if (reinterpret_cast<uintptr_t>(p) % 16 != 0) return false;
  return true;
}

int64_t scalar_gla_linear_attention_fwd_workspace_floats(const LinearAttentionShape& s) {
  return forward_layout(s).end;
}

int64_t scalar_gla_linear_attention_bwd_workspace_floats(const LinearAttentionShape& s) {
  return backward_layout(s).end;
}

void scalar_gla_linear_attention_fwd(const bf16* q, const bf16* k, const bf16* v, bf16* out, float* denominator,
                                     float* final_kv_state, float* final_k_state, const LinearAttentionShape& s,
                                     const LinearAttentionOptions& o, float* workspace, cudaStream_t stream) {
  const ForwardLayout l = forward_layout(s);
  float* prefix = workspace + l.prefix;
  if (normaliser_runs_fused()) {
    gla_scalar_key_normalised_fwd_cuda(q, k, v, out, o.normalize, o.normalize ? denominator : nullptr, final_k_state,
                                       o.eps, final_kv_state, workspace, gla_shape(s), stream);
    return;
  }
  gla_scalar_fwd_cuda(q, k, v, nullptr, out, nullptr, final_kv_state, workspace, gla_shape(s), gla_options(),
                      gla_scalar_fwd_variant(), 0, nullptr, stream);
  if (o.normalize || final_k_state) key_sum_prefix_cuda(k, prefix, final_k_state, workspace + l.scratch, s, stream);
  if (o.normalize) normalise_output_cuda(q, k, prefix, out, denominator, o.eps, s, stream);
}

void scalar_gla_linear_attention_bwd(const bf16* q, const bf16* k, const bf16* v, const bf16* out,
                                     const float* denominator, const bf16* dout, bf16* dq, bf16* dk, bf16* dv,
                                     const LinearAttentionShape& s, const LinearAttentionOptions& o, float* workspace,
                                     cudaStream_t stream) {
  const BackwardLayout l = backward_layout(s);
  bf16* states = reinterpret_cast<bf16*>(workspace + l.states);
  float *dden = workspace + l.dden, *key_prefix = workspace + l.key_prefix, *query_suffix = workspace + l.query_suffix;
  gla_scalar_chunk_states_cuda(k, v, nullptr, states, nullptr, workspace, gla_shape(s), gla_options(), 0, stream);
  const bf16* dnum = dout;  // unnormalised: out is the numerator
  if (o.normalize) {
    bf16* scaled = reinterpret_cast<bf16*>(workspace + l.dnum);
    normaliser_output_gradient_cuda(q, k, out, denominator, dout, scaled, dden, key_prefix, query_suffix,
                                    workspace + l.scratch, s, stream);
    dnum = scaled;
  }
  gla_scalar_bwd_cuda(q, k, v, nullptr, states, dnum, dq, dk, dv, nullptr, workspace, gla_shape(s), gla_options(), 0,
                      stream);
  if (o.normalize) add_normaliser_gradient_cuda(q, k, dden, key_prefix, query_suffix, dq, dk, s, stream);
}

}  // namespace seqbench
