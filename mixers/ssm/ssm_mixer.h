// Mamba-2 style selective SSM mixer (Dao & Gu 2024): one in-projection of x to (z, x, B, C, dt),
// a causal depthwise conv + SiLU over (x, B, C), the SSD scan of ssd.h (scalar A per head,
// B and C shared by all heads), y * silu(z), and the out-projection. Chunked scan for training, the
// recurrence (plus the conv's last inputs) for decode.
//
// params: d_state N (default 16); expand (default 2: d_inner = expand * d_model); head_dim P
// (default 16; the SSM has d_inner / P heads, so MixerSpec::n_heads is not used beyond the generic
// shape check); conv_kernel (default 4, 0 for no conv and no SiLU on x, B, C); chunk_size
// (default 64); norm (default true): Mamba-2's normalisation of y * silu(z) over d_inner before the
// out-projection (a LayerNorm without affine parameters, the out-projection absorbing the gain, as
// the gla mixer's output norm; Mamba-2 uses an RMSNorm). Without it the scan's output enters at the
// scale dt (1e-3..1e-1 at initialisation) beside D x, and MQAR recall is learnt far more slowly.
#pragma once
#include <memory>

#include "mixers/ssm/ssd.h"
#include "ops/causal_conv1d.h"
#include "ops/swish_gate.h"
#include "models/linear_layer.h"
#include "models/mixer.h"
#include "models/mixer_params.h"

namespace seqbench {

// ssm_state [batch, heads, N, P]; conv_state [batch, conv_kernel - 1, d_inner + 2N], the last inputs
// of the conv, oldest first.
struct SsmCache : CopyableCache<SsmCache> {
  Tensor ssm_state, conv_state;
  int64_t batch = 0;
};

// The params this backend accepts, with their defaults and meanings.
const MixerParamTable& ssm_params();

class SsmMixer : public Mixer {
 public:
  // Throws std::invalid_argument on unknown params or bad sizes (d_inner not a multiple of head_dim).
  explicit SsmMixer(const MixerSpec& spec);

  void forward(const Tensor& x, Tensor& y, MixerCache* cache) override;
  void backward(const Tensor& dy, Tensor& dx) override;
  std::unique_ptr<MixerCache> make_cache(int batch, int max_len) const override;
  void step(const Tensor& x_t, Tensor& y_t, MixerCache& cache) override;
  std::string unsupported(int64_t batch, int64_t seq_len) const override;

  int64_t ssm_heads() const { return heads_; }
  int64_t d_inner() const { return d_inner_; }

 private:
  SsdShape shape_for(int64_t batch, int64_t seq_len) const;
  // The scan's inputs: x, B, C from the conv output (or the projection without conv), dt from the projection.
  SsdInputs scan_inputs(const Tensor& zxbcdt, const Tensor& xbc);
  // zxbcdt [rows, proj_width] -> conv_out (pre-activation) and xbc = silu(conv_out); no-op without conv.
  void conv_fwd(const Tensor& zxbcdt, Tensor& conv_out, Tensor& xbc, int64_t batch, int64_t seq_len);

  const SsdKernels& kernels_;
  const CausalConv1dKernels& conv_kernels_;
  const SwishGateKernels& gate_kernels_;
  int64_t d_inner_ = 0, heads_ = 0, head_dim_ = 0, d_state_ = 0, conv_kernel_ = 0, chunk_size_ = 64;
  int64_t conv_channels_ = 0, proj_width_ = 0;  // d_inner + 2N; 2 d_inner + 2N + heads
  LinearLayer in_proj_, out_proj_;
  Param conv_weight_, conv_bias_, dt_bias_, a_log_, d_skip_;
  bool norm_ = true;                                        // Mamba-2's norm of y * silu(z)
  Tensor norm_gain_, norm_bias_, norm_dgain_, norm_dbias_;  // LayerNorm without affine: fixed 1 and 0
  // The norm of [rows, d_inner] `in` into `out` (mean and rstd kept for backward).
  void norm_fwd(const Tensor& in, Tensor& out, Tensor& mean, Tensor& rstd);
  // Saved by forward for backward.
  Tensor zxbcdt_, conv_out_, xbc_, y_, gated_, normed_, norm_mean_, norm_rstd_;
  SsdWorkspace ws_, step_ws_;
  int64_t batch_ = 0, seq_len_ = 0;
  // Backward and decode workspaces.
  Tensor d_gated_, d_normed_, d_y_, d_xbc_, d_conv_out_, d_zxbcdt_;
  Tensor zxbcdt_t_, conv_out_t_, xbc_t_, y_t_, gated_t_, normed_t_, mean_t_, rstd_t_;
};

}  // namespace seqbench
