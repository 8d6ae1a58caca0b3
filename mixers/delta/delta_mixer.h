// DeltaNet (Schlag et al. 2021; Yang et al. 2024) and Gated DeltaNet (Yang, Kautz & Hatamizadeh
// 2024) as one mixer backend: q, k, v, o projections to d_model, q and k L2-normalised per head,
// b_t = sigmoid(x W_b^T) per head; gated adds a_t = exp(-exp(A_log) softplus(x W_a^T + dt_bias)).
// The kernels of delta_rule.h train with the chunk-checkpointed recurrence and decode with
// a fixed state of n_heads x head_dim x head_dim floats per sequence.
//
// As in fla's layers, minus what sits outside the delta rule itself: no short convolution or SiLU
// on q/k/v and no output RMSNorm/gate. fla scales q by head_dim^-1/2 and then RMS-normalises the
// output, which cancels that scale; with no output norm here, q stays unit-length so o = S q has
// the size of the stored values, as softmax attention's output has the size of v.
//
// params: gated (default false); chunk_size (tokens between saved states, default 64);
// use_short_conv (only false: fla's per-q/k/v convolutions are not built in; the generic
// "short_conv": K of make_mixer convolves the mixer's input instead).
#pragma once
#include <memory>

#include "mixers/delta/delta_rule.h"
#include "mixers/delta/delta_rule_gates.h"
#include "models/head_state_cache.h"
#include "models/linear_layer.h"
#include "models/mixer.h"
#include "models/mixer_params.h"

namespace seqbench {

// The params this backend accepts, with their defaults and meanings.
const MixerParamTable& delta_params();

// state [batch, n_heads, head_dim (k), head_dim (v)]: S^T of each sequence and head.
class DeltaRuleMixer : public Mixer {
 public:
  // Throws std::invalid_argument on unknown or malformed params, or on bad sizes.
  explicit DeltaRuleMixer(const MixerSpec& spec);

  void forward(const Tensor& x, Tensor& y, MixerCache* cache) override;
  void backward(const Tensor& dy, Tensor& dx) override;
  std::unique_ptr<MixerCache> make_cache(int batch, int max_len) const override;
  void step(const Tensor& x_t, Tensor& y_t, MixerCache& cache) override;
  std::string unsupported(int64_t batch, int64_t seq_len) const override;

  bool gated() const { return gated_; }

 private:
  DeltaRuleShape shape_for(int64_t batch, int64_t seq_len) const;
  // q, k normalised, b and (gated) log a from the projections of x: [rows, ...] for rows tokens.
  void gates_fwd(int64_t rows, Tensor& q, Tensor& k, Tensor& beta, Tensor& log_decay, const Tensor& q_raw,
                 const Tensor& k_raw, const Tensor& b_raw, const Tensor& a_raw) const;

  const DeltaRuleKernels& kernels_;
  const DeltaRuleGateKernels& gate_kernels_;
  bool gated_ = false;
  DeltaRuleOptions options_;
  LinearLayer wq_, wk_, wv_, wb_, wa_, wo_;  // wa_ only when gated
  Param a_log_, dt_bias_;                    // [n_heads], only when gated
  // Saved by forward for backward.
  Tensor q_raw_, k_raw_, v_, b_raw_, a_raw_, q_, k_, beta_, log_decay_, checkpoints_, attn_;
  int64_t batch_ = 0, seq_len_ = 0;
  // Backward workspaces.
  Tensor d_attn_, dq_, dk_, dv_, dbeta_, dlog_decay_, d_raw_, dx_part_;
  // Decode workspaces.
  Tensor q_raw_t_, k_raw_t_, v_t_, b_raw_t_, a_raw_t_, q_t_, k_t_, beta_t_, log_decay_t_, attn_t_;
};

}  // namespace seqbench
