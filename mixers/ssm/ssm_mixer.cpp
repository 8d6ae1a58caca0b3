#include "mixers/ssm/ssm_mixer.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "mixers/mixer_backend.h"
#include "mixers/ssm/ssd.h"
#include "models/linear_layer.h"
#include "models/mixer_params.h"
#include "models/mixer_validation.h"
#include "ops/causal_conv1d.h"
#include "ops/plain_layer_norm.h"
#include "ops/swish_gate.h"

namespace seqbench {

const MixerParamTable& ssm_params() {
  static const MixerParamTable table{{"d_state", 16, "N: state size per head"},
                                     {"expand", 2, "d_inner = expand * d_model"},
                                     {"head_dim", 16, "P: channels per SSM head (d_inner / head_dim heads)"},
                                     {"conv_kernel", 4, "width of the causal conv over (x, B, C); 0 for none"},
                                     {"chunk_size", 64, "tokens per chunk of the SSD training form"},
                                     {"norm", true, "normalise y * silu(z) before the out-projection, as Mamba-2"}};
  return table;
}

namespace {

// ssm_state [batch, heads, N, P]; conv_state [batch, conv_kernel - 1, d_inner + 2N], the last inputs
// of the conv, oldest first.
struct SsmCache : CopyableCache<SsmCache> {
  Tensor ssm_state, conv_state;
  int64_t batch = 0;
};

// Sub-seed labels, so each parameter draws from its own stream of spec.seed.
enum ParamSeed : uint64_t { kSeedIn = 1, kSeedOut = 2, kSeedConv = 3, kSeedDt = 4, kSeedA = 5 };

// Mamba-2's initialisation: dt log-uniform in [1e-3, 1e-1] (floored at 1e-4) through the inverse
// softplus, A uniform in [1, 16], D = 1.
constexpr double kDtMin = 1e-3, kDtMax = 1e-1, kDtFloor = 1e-4, kAMin = 1.0, kAMax = 16.0;
constexpr float kNormEps = 1e-5f;  // Mamba-2's norm epsilon

class SsmMixer : public Mixer {
 public:
  // Throws std::invalid_argument on unknown params or bad sizes (d_inner not a multiple of head_dim).
  explicit SsmMixer(const MixerSpec& spec) : Mixer(checked_spec(spec, ssm_params())) {
    d_state_ = mixer_param_int_at_least(spec, ssm_params(), "d_state", 1);
    d_inner_ = static_cast<int64_t>(mixer_param_int_at_least(spec, ssm_params(), "expand", 1)) * spec.d_model;
    head_dim_ = mixer_param_int_at_least(spec, ssm_params(), "head_dim", 1);
    conv_kernel_ = mixer_param_int_at_least(spec, ssm_params(), "conv_kernel", 0);
    chunk_size_ = mixer_param_int_at_least(spec, ssm_params(), "chunk_size", 1);
    if (d_inner_ % head_dim_ != 0)
      bad_param(spec, "d_inner = expand * d_model = " + std::to_string(d_inner_) + " is not a multiple of head_dim " +
                          std::to_string(head_dim_));
    heads_ = d_inner_ / head_dim_;
    norm_ = mixer_param_bool(spec, ssm_params(), "norm");
    conv_channels_ = d_inner_ + 2 * d_state_;
    proj_width_ = d_inner_ + conv_channels_ + heads_;

    Rng in_rng(Rng::derive(spec.seed, kSeedIn)), out_rng(Rng::derive(spec.seed, kSeedOut));
    in_proj_ = LinearLayer(spec.kind + ".in_proj", spec.d_model, static_cast<int>(proj_width_), false, in_rng, 0.0f,
                           spec.device);
    out_proj_ = LinearLayer(spec.kind + ".out_proj", static_cast<int>(d_inner_), spec.d_model, false, out_rng, 0.0f,
                            spec.device);
    if (conv_kernel_ > 0) {
      // PyTorch's Conv1d default for a depthwise conv: uniform in +-1/sqrt(fan_in), fan_in = kernel.
      Rng rng(Rng::derive(spec.seed, kSeedConv));
      const double bound = 1.0 / std::sqrt(static_cast<double>(conv_kernel_));
      conv_weight_ = Param(spec.kind + ".conv1d.weight", {conv_kernel_, conv_channels_}, true);
      conv_bias_ = Param(spec.kind + ".conv1d.bias", {conv_channels_}, false);
      for (int64_t i = 0; i < conv_weight_.value.numel(); ++i)
        conv_weight_.value[i] = static_cast<float>(rng.uniform(-bound, bound));
      for (int64_t i = 0; i < conv_channels_; ++i) conv_bias_.value[i] = static_cast<float>(rng.uniform(-bound, bound));
    }
    dt_bias_ = Param(spec.kind + ".dt_bias", {heads_}, false);
    a_log_ = Param(spec.kind + ".A_log", {heads_}, false);
    d_skip_ = Param(spec.kind + ".D", {heads_}, false);
    Rng dt_rng(Rng::derive(spec.seed, kSeedDt)), a_rng(Rng::derive(spec.seed, kSeedA));
    for (int64_t h = 0; h < heads_; ++h) {
      const double dt = std::max(kDtFloor, std::exp(dt_rng.uniform(std::log(kDtMin), std::log(kDtMax))));
      dt_bias_.value[h] = static_cast<float>(dt + std::log(-std::expm1(-dt)));  // softplus^-1(dt)
      a_log_.value[h] = static_cast<float>(std::log(a_rng.uniform(kAMin, kAMax)));
      d_skip_.value[h] = 1.0f;
    }
    if (norm_) layer_norm_ = PlainLayerNorm(d_inner_, kNormEps, spec.device);
    // Initialised on the host from the seed, then placed: the same values on every device.
    for (Param* p : {&conv_weight_, &conv_bias_, &dt_bias_, &a_log_, &d_skip_}) place_param(*p, spec.device);
    // h [N, P] per head plus the conv's last K-1 inputs, whatever the length.
    set_state_size({d_inner_ * d_state_ + (conv_kernel_ > 0 ? (conv_kernel_ - 1) * conv_channels_ : 0)});
    add_params(in_proj_.params());
    if (conv_kernel_ > 0) add_params({&conv_weight_, &conv_bias_});
    add_params({&dt_bias_, &a_log_, &d_skip_});
    add_params(out_proj_.params());
  }

  void forward(const Tensor& x, Tensor& y, MixerCache* cache) override {
    check_mixer_input(spec_, x, 3, "input");
    batch_ = x.dim(0);
    seq_len_ = x.dim(1);
    SsmCache* state = cache ? &cache_for_batch<SsmCache>(*cache, spec_, batch_, CacheUse::forward) : nullptr;
    const int64_t rows = batch_ * seq_len_;
    in_proj_.forward(x, zxbcdt_);
    conv_fwd(zxbcdt_, conv_out_, xbc_, batch_, seq_len_);
    y_.resize({batch_, seq_len_, d_inner_}, spec_.device);
    kernels_.fwd(scan_inputs(zxbcdt_, xbc_), y_.data(), state ? state->ssm_state.data() : nullptr, ws_,
                 shape_for(batch_, seq_len_), chunk_size_);
    gated_.resize(y_.shape(), spec_.device);
    gate_kernels_.fwd(y_.data(), zxbcdt_.data(), gated_.data(), rows, d_inner_, proj_width_);
    if (norm_) layer_norm_.forward(gated_, normed_, norm_mean_, norm_rstd_);
    out_proj_.forward(norm_ ? normed_ : gated_, y);
    if (!state) return;
    if (conv_kernel_ > 0)
      conv_kernels_.final_state(zxbcdt_.data() + d_inner_, proj_width_, state->conv_state.data(),
                                {batch_, seq_len_, conv_channels_, conv_kernel_});
    state->position = seq_len_;
  }
  void backward(const Tensor& dy, Tensor& dx) override {
    if (seq_len_ == 0) bad_param(spec_, "backward() called before forward()");
    if (dy.shape() != Shape{batch_, seq_len_, spec_.d_model})
      bad_param(spec_, "gradient has shape " + shape_string(dy.shape()) + ", expected " +
                           shape_string({batch_, seq_len_, spec_.d_model}));
    const int64_t rows = batch_ * seq_len_;
    if (norm_) {
      out_proj_.backward(dy, d_normed_);
      layer_norm_.backward(d_normed_, gated_, norm_mean_, norm_rstd_, d_gated_);
    } else {
      out_proj_.backward(dy, d_gated_);
    }
    d_zxbcdt_.resize(zxbcdt_.shape(), spec_.device);  // every column is overwritten below
    d_y_.resize(y_.shape(), spec_.device);
    gate_kernels_.bwd(y_.data(), zxbcdt_.data(), d_gated_.data(), d_y_.data(), d_zxbcdt_.data(), rows, d_inner_,
                      proj_width_, proj_width_);

    SsdGrads grads;
    if (conv_kernel_ > 0) {
      d_xbc_.resize(xbc_.shape(), spec_.device);
      grads.dx = d_xbc_.data();
      grads.dx_stride = conv_channels_;
    } else {
      grads.dx = d_zxbcdt_.data() + d_inner_;
      grads.dx_stride = proj_width_;
    }
    grads.db = grads.dx + d_inner_;
    grads.dc = grads.dx + d_inner_ + d_state_;
    grads.dbc_stride = grads.dx_stride;
    grads.ddt_raw = d_zxbcdt_.data() + d_inner_ + conv_channels_;
    grads.ddt_stride = proj_width_;
    grads.ddt_bias = dt_bias_.grad.data();
    grads.da_log = a_log_.grad.data();
    grads.dd_skip = d_skip_.grad.data();
    kernels_.bwd(scan_inputs(zxbcdt_, xbc_), d_y_.data(), grads, ws_, shape_for(batch_, seq_len_), chunk_size_);

    if (conv_kernel_ > 0) {
      d_conv_out_.resize(conv_out_.shape(), spec_.device);
      gate_kernels_.silu_bwd(conv_out_.data(), d_xbc_.data(), d_conv_out_.data(), conv_out_.numel());
      conv_kernels_.bwd(zxbcdt_.data() + d_inner_, proj_width_, conv_weight_.value.data(), d_conv_out_.data(),
                        d_zxbcdt_.data() + d_inner_, proj_width_, conv_weight_.grad.data(), conv_bias_.grad.data(),
                        {batch_, seq_len_, conv_channels_, conv_kernel_});
    }
    in_proj_.backward(d_zxbcdt_, dx);
  }
  std::unique_ptr<MixerCache> make_cache(int batch, int max_len) const override {
    if (batch < 1) bad_param(spec_, "cache needs batch >= 1, got " + std::to_string(batch));
    auto cache = std::make_unique<SsmCache>();
    cache->ssm_state = Tensor({batch, heads_, d_state_, head_dim_}, spec_.device);
    if (conv_kernel_ > 1) cache->conv_state = Tensor({batch, conv_kernel_ - 1, conv_channels_}, spec_.device);
    cache->batch = batch;
    return cache;
  }
  void step(const Tensor& x_t, Tensor& y_t, MixerCache& cache) override {
    check_mixer_input(spec_, x_t, 2, "decode input");
    const int64_t batch = x_t.dim(0);
    auto& state = cache_for_batch<SsmCache>(cache, spec_, batch, CacheUse::decode_step);
    in_proj_.apply(x_t, zxbcdt_t_);
    if (conv_kernel_ > 0) {
      conv_out_t_.resize({batch, conv_channels_}, spec_.device);
      xbc_t_.resize(conv_out_t_.shape(), spec_.device);
      conv_kernels_.decode(zxbcdt_t_.data() + d_inner_, proj_width_, conv_weight_.value.data(), conv_bias_.value.data(),
                           state.conv_state.data(), conv_out_t_.data(), {batch, 1, conv_channels_, conv_kernel_});
      gate_kernels_.silu_fwd(conv_out_t_.data(), xbc_t_.data(), conv_out_t_.numel());
    }
    y_t_.resize({batch, d_inner_}, spec_.device);
    kernels_.decode(scan_inputs(zxbcdt_t_, xbc_t_), state.ssm_state.data(), y_t_.data(), step_ws_, shape_for(batch, 1));
    gated_t_.resize(y_t_.shape(), spec_.device);
    gate_kernels_.fwd(y_t_.data(), zxbcdt_t_.data(), gated_t_.data(), batch, d_inner_, proj_width_);
    if (norm_) layer_norm_.forward(gated_t_, normed_t_, mean_t_, rstd_t_);
    out_proj_.apply(norm_ ? normed_t_ : gated_t_, y_t);
    ++state.position;
  }
  std::string unsupported(int64_t batch, int64_t seq_len) const override {
    return kernels_.unsupported(shape_for(batch, seq_len));
  }
  // C and B play q and k for every head (one group), x plays v, dt is the scalar gate.
  WorkCount mixing_work(int64_t batch, int64_t seq_len, WorkPass pass) const override {
    return chunked_scan_work({batch, seq_len, heads_, d_state_, head_dim_, chunk_size_, 1, 1, false, sizeof(float),
                              sizeof(float)},
                             pass);
  }

  int64_t ssm_heads() const { return heads_; }
  int64_t d_inner() const { return d_inner_; }

 private:
  SsdShape shape_for(int64_t batch, int64_t seq_len) const { return {{batch, seq_len, heads_}, head_dim_, d_state_}; }
  // The scan's inputs: x, B, C from the conv output (or the projection without conv), dt from the projection.
  SsdInputs scan_inputs(const Tensor& zxbcdt, const Tensor& xbc) {
    SsdInputs in;
    const float* x = conv_kernel_ > 0 ? xbc.data() : zxbcdt.data() + d_inner_;
    in.x = x;
    in.x_stride = conv_kernel_ > 0 ? conv_channels_ : proj_width_;
    in.b = x + d_inner_;
    in.c = x + d_inner_ + d_state_;
    in.bc_stride = in.x_stride;
    in.dt_raw = zxbcdt.data() + d_inner_ + conv_channels_;
    in.dt_stride = proj_width_;
    in.dt_bias = dt_bias_.value.data();
    in.a_log = a_log_.value.data();
    in.d_skip = d_skip_.value.data();
    return in;
  }
  // zxbcdt [rows, proj_width] -> conv_out (pre-activation) and xbc = silu(conv_out); no-op without conv.
  void conv_fwd(const Tensor& zxbcdt, Tensor& conv_out, Tensor& xbc, int64_t batch, int64_t seq_len) {
    if (conv_kernel_ == 0) return;
    conv_out.resize({batch, seq_len, conv_channels_}, spec_.device);
    xbc.resize(conv_out.shape(), spec_.device);
    conv_kernels_.fwd(zxbcdt.data() + d_inner_, proj_width_, conv_weight_.value.data(), conv_bias_.value.data(),
                      conv_out.data(), {batch, seq_len, conv_channels_, conv_kernel_});
    gate_kernels_.silu_fwd(conv_out.data(), xbc.data(), conv_out.numel());
  }

  const SsdKernels& kernels_ = kernels_for<SsdKernels>(spec().device);
  const CausalConv1dKernels& conv_kernels_ = kernels_for<CausalConv1dKernels>(spec().device);
  const SwishGateKernels& gate_kernels_ = kernels_for<SwishGateKernels>(spec().device);
  int64_t d_inner_ = 0, heads_ = 0, head_dim_ = 0, d_state_ = 0, conv_kernel_ = 0, chunk_size_ = 64;
  int64_t conv_channels_ = 0, proj_width_ = 0;  // d_inner + 2N; 2 d_inner + 2N + heads
  LinearLayer in_proj_, out_proj_;
  Param conv_weight_, conv_bias_, dt_bias_, a_log_, d_skip_;
  bool norm_ = true;           // Mamba-2's norm of y * silu(z)
  PlainLayerNorm layer_norm_;  // when norm_
  // Saved by forward for backward.
  Tensor zxbcdt_, conv_out_, xbc_, y_, gated_, normed_, norm_mean_, norm_rstd_;
  SsdWorkspace ws_, step_ws_;
  int64_t batch_ = 0, seq_len_ = 0;
  // Backward and decode workspaces.
  Tensor d_gated_, d_normed_, d_y_, d_xbc_, d_conv_out_, d_zxbcdt_;
  Tensor zxbcdt_t_, conv_out_t_, xbc_t_, y_t_, gated_t_, normed_t_, mean_t_, rstd_t_;
};

}  // namespace

std::unique_ptr<Mixer> make_ssm_mixer(const MixerSpec& spec) { return std::make_unique<SsmMixer>(spec); }

int64_t ssm_d_inner(const Mixer& mixer) { return backend_of<SsmMixer>(mixer, "ssm").d_inner(); }

int64_t ssm_heads(const Mixer& mixer) { return backend_of<SsmMixer>(mixer, "ssm").ssm_heads(); }

}  // namespace seqbench
