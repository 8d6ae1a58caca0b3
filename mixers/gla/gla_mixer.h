// Gated linear attention mixer: GLA (Yang et al. 2023) with a per-key-channel data-dependent decay,
// Gated RetNet / Mamba-2 SSD style with one data-dependent scalar decay per head, or RetNet (Sun
// et al. 2023) with a fixed decay gamma_h = 1 - 2^(-5-h). Per head S is [head_dim, head_dim];
// training uses the chunked kernels of gla.h, decode the recurrence.
//
// params: decay "channel" | "scalar" | "fixed" (default "channel"): alpha_t = sigmoid(W_up W_down x_t
// + b)^(1/tau) with a rank-`gate_rank` projection (GLA), sigmoid(w_h . x_t + b_h)^(1/tau), or
// gamma_h; gate_logit_normalizer tau (default 16, GLA's value; ignored by "fixed"); gate_rank
// (default 16; "channel" only); normalize_output (default true: a per-head LayerNorm of o_t without
// affine parameters, as GLA and RetNet's GroupNorm; the output projection absorbs the per-channel
// gain); output_gate (default true: o * silu(W_r x), GLA eq. 5 / RetNet); chunk_size (default 64).
// q is scaled by head_dim^-1/2.
#pragma once
#include <memory>
#include <string>

#include "mixers/gla/gla.h"
#include "mixers/gla/log_sigmoid_decay.h"
#include "models/head_state_cache.h"
#include "models/linear_layer.h"
#include "models/mixer.h"
#include "models/mixer_params.h"

namespace seqbench {

enum class GlaDecay { channel, scalar, fixed };
GlaDecay parse_gla_decay(const std::string& name);  // std::invalid_argument listing the known ones
const MixerParamTable& gla_params();

// state [batch, n_heads, head_dim, head_dim] = sum_s (product of later decays) k_s v_s^T.
class GlaMixer : public Mixer {
 public:
  // Throws std::invalid_argument on unknown params or decay modes, or on bad sizes.
  explicit GlaMixer(const MixerSpec& spec);

  void forward(const Tensor& x, Tensor& y, MixerCache* cache) override;
  void backward(const Tensor& dy, Tensor& dx) override;
  std::unique_ptr<MixerCache> make_cache(int batch, int max_len) const override;
  void step(const Tensor& x_t, Tensor& y_t, MixerCache& cache) override;
  std::string unsupported(int64_t batch, int64_t seq_len) const override;

  GlaDecay decay() const { return decay_; }

 private:
  // The gate's intermediate tensors; forward keeps one set for backward, step() uses its own.
  struct DecayBuffers {
    Tensor low, logits, log_decay;
  };
  struct OutputBuffers {
    Tensor normed, mean, rstd, gate, gated;
  };

  GlaShape shape_for(int64_t batch, int64_t seq_len) const;
  // log decay [..., heads * decay_width] of x [..., d_model]; `training` keeps what backward needs.
  void decay_fwd(const Tensor& x, DecayBuffers& buf, bool training);
  // attn [..., d_model] -> y: the per-head norm, the output gate and the output projection.
  void output_fwd(const Tensor& x, const Tensor& attn, Tensor& y, OutputBuffers& buf, bool training);
  // dy -> gradient wrt the kernel's output (d_attn_); the gate's input gradient goes to d_gate_.
  const Tensor& output_bwd(const Tensor& dy);
  void add_decay_input_grad(Tensor& dx);

  const GlaKernels& kernels_;
  const LogSigmoidDecayKernels& decay_kernels_;
  GlaDecay decay_ = GlaDecay::channel;
  bool normalize_ = true, output_gate_ = true;
  float tau_ = 16.0f;
  GlaOptions options_;
  LinearLayer wq_, wk_, wv_, wo_, w_gate_;
  LinearLayer w_decay_down_, w_decay_up_;                   // channel: both (low rank); scalar: w_decay_up_ only
  Tensor norm_gain_, norm_bias_, norm_dgain_, norm_dbias_;  // LayerNorm without affine: fixed 1 and 0
  // Saved by forward for backward.
  Tensor q_, k_, v_, chunk_states_, attn_;
  DecayBuffers train_decay_, step_decay_;
  OutputBuffers train_out_, step_out_;
  int64_t batch_ = 0, seq_len_ = 0;
  // Backward and decode workspaces.
  Tensor d_out_, d_normed_, d_attn_, d_gate_, dq_, dk_, dv_, d_log_decay_, d_logits_, d_low_, dx_part_;
  Tensor q_t_, k_t_, v_t_, attn_t_;
};

}  // namespace seqbench
