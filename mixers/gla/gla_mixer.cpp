#include "mixers/gla/gla_mixer.h"

#include <cmath>
#include <stdexcept>

#include "mixers/gla/gla.h"
#include "mixers/gla/log_sigmoid_decay.h"
#include "mixers/mixer_backend.h"
#include "models/fused_projection.h"
#include "models/head_state_cache.h"
#include "models/linear_layer.h"
#include "models/mixer_params.h"
#include "models/mixer_validation.h"
#include "ops/plain_layer_norm.h"
#include "ops/row_ops.h"
#include "ops/swish_gate.h"

namespace seqbench {

const MixerParamTable& gla_params() {
  static const MixerParamTable table{
      {"decay", "channel", "channel (GLA, per key channel), scalar (one per head, SSD-style) or fixed (RetNet)"},
      {"gate_logit_normalizer", 16.0, "tau in alpha = sigmoid(logits)^(1/tau) (GLA's value)"},
      {"gate_rank", 16, "rank of the channel decay's low-rank projection"},
      {"normalize_output", true, "a per-head LayerNorm of the output (GLA, RetNet's GroupNorm)"},
      {"output_gate", true, "o * silu(W_r x) (GLA eq. 5)"},
      {"chunk_size", 64, "tokens per chunk of the training form"}};
  return table;
}

namespace {

// Sub-seed labels of the projections, so each draws from its own stream of spec.seed.
enum ProjectionSeed : uint64_t {
  kSeedQ = 1,
  kSeedK = 2,
  kSeedV = 3,
  kSeedO = 4,
  kSeedGate = 5,
  kSeedDown = 6,
  kSeedUp = 7
};

constexpr float kNormEps = 1e-5f;  // LayerNorm eps, as GLA's and RetNet's group norms

LinearLayer projection(const MixerSpec& spec, const char* name, int in, int out, bool bias, uint64_t label) {
  Rng rng(Rng::derive(spec.seed, label));
  return LinearLayer(spec.kind + "." + name, in, out, bias, rng, 0.0f, spec.device);
}

}  // namespace

GlaDecay parse_gla_decay(const std::string& name) {
  if (name == "channel") return GlaDecay::channel;
  if (name == "scalar") return GlaDecay::scalar;
  if (name == "fixed") return GlaDecay::fixed;
  throw std::invalid_argument("unknown decay '" + name + "'; known decays: channel, scalar, fixed");
}

namespace {

// state [batch, n_heads, head_dim, head_dim] = sum_s (product of later decays) k_s v_s^T.
class GlaMixer : public Mixer {
 public:
  // Throws std::invalid_argument on unknown params or decay modes, or on bad sizes.
  explicit GlaMixer(const MixerSpec& spec) : Mixer(checked_spec(spec, gla_params())) {
    const MixerParamTable& table = gla_params();
    decay_ = parse_mixer_param(spec, table, "decay", parse_gla_decay);
    tau_ = static_cast<float>(mixer_param_double(spec, table, "gate_logit_normalizer"));
    if (!(tau_ > 0.0f)) bad_param(spec, "gate_logit_normalizer must be > 0, got " + std::to_string(tau_));
    const int rank = mixer_param_int(spec, table, "gate_rank");
    if (rank < 1) bad_param(spec, "gate_rank must be >= 1, got " + std::to_string(rank));
    normalize_ = mixer_param_bool(spec, table, "normalize_output");
    output_gate_ = mixer_param_bool(spec, table, "output_gate");
    options_.chunk_size = mixer_param_int(spec, table, "chunk_size");
    if (options_.chunk_size < 1) bad_param(spec, "chunk_size must be >= 1, got " + std::to_string(options_.chunk_size));
    options_.scale = 1.0f / std::sqrt(static_cast<float>(spec.head_dim()));

    const int d = spec.d_model;
    wqkv_ = FusedProjection(spec.kind + ".qkv_proj", d,
                            {{d, Rng::derive(spec.seed, kSeedQ)},
                             {d, Rng::derive(spec.seed, kSeedK)},
                             {d, Rng::derive(spec.seed, kSeedV)}},
                            spec.device);
    wo_ = projection(spec, "o_proj", d, d, false, kSeedO);
    if (output_gate_) w_gate_ = projection(spec, "g_proj", d, d, false, kSeedGate);
    if (decay_ == GlaDecay::channel) {
      w_decay_down_ = projection(spec, "gk_down", d, rank, false, kSeedDown);
      w_decay_up_ = projection(spec, "gk_up", rank, d, true, kSeedUp);
    } else if (decay_ == GlaDecay::scalar) {
      w_decay_up_ = projection(spec, "gk_proj", d, spec.n_heads, true, kSeedUp);
    }
    const int64_t dh = spec.head_dim();
    norm_ = PlainLayerNorm(dh, kNormEps, spec.device);
    set_state_size({spec.n_heads * dh * dh});  // S per head, whatever the length
    add_params(wqkv_.params());
    add_params(wo_.params());
    if (output_gate_) add_params(w_gate_.params());
    if (decay_ == GlaDecay::channel) add_params(w_decay_down_.params());
    if (decay_ != GlaDecay::fixed) add_params(w_decay_up_.params());
  }

  void forward(const Tensor& x, Tensor& y, MixerCache* cache) override {
    check_mixer_input(spec_, x, 3, "input");
    batch_ = x.dim(0);
    seq_len_ = x.dim(1);
    const GlaShape shape = shape_for(batch_, seq_len_);
    HeadStateCache* state =
        cache ? &cache_for_batch<HeadStateCache>(*cache, spec_, batch_, CacheUse::forward) : nullptr;
    wqkv_.forward(x, {&q_, &k_, &v_});
    decay_fwd(x, train_decay_, true);
    chunk_states_.resize(
        {batch_, shape.heads, gla_num_chunks(seq_len_, options_.chunk_size), shape.key_dim, shape.value_dim},
        spec_.device);
    attn_.resize(x.shape(), spec_.device);
    kernels_.fwd(q_.data(), k_.data(), v_.data(), train_decay_.log_decay.data(), attn_.data(), chunk_states_.data(),
                 state ? state->state.data() : nullptr, shape, options_);
    output_fwd(x, attn_, y, train_out_, true);
    if (state) state->position = seq_len_;
  }
  void backward(const Tensor& dy, Tensor& dx) override {
    if (seq_len_ == 0) bad_param(spec_, "backward() called before forward()");
    if (dy.shape() != attn_.shape())
      bad_param(spec_, "gradient has shape " + shape_string(dy.shape()) + ", expected " + shape_string(attn_.shape()));
    const GlaShape shape = shape_for(batch_, seq_len_);
    const Tensor& d_attn = output_bwd(dy);
    dq_.resize(q_.shape(), spec_.device);
    dk_.resize(k_.shape(), spec_.device);
    dv_.resize(v_.shape(), spec_.device);
    d_log_decay_.resize(train_decay_.log_decay.shape(), spec_.device);
    kernels_.bwd(q_.data(), k_.data(), v_.data(), train_decay_.log_decay.data(), chunk_states_.data(), d_attn.data(),
                 dq_.data(), dk_.data(), dv_.data(), decay_ == GlaDecay::fixed ? nullptr : d_log_decay_.data(), shape,
                 options_);
    wqkv_.backward({&dq_, &dk_, &dv_}, dx);
    add_decay_input_grad(dx);
    if (output_gate_) {
      w_gate_.backward(d_gate_, dx_part_);
      kernels_for<RowOpKernels>(spec_.device).axpy(1.0f, dx_part_.data(), dx.data(), dx.numel());
    }
  }
  std::unique_ptr<MixerCache> make_cache(int batch, int max_len) const override {
    return make_head_state_cache(spec_, batch);
  }
  void step(const Tensor& x_t, Tensor& y_t, MixerCache& cache) override {
    check_mixer_input(spec_, x_t, 2, "decode input");
    auto& state = cache_for_batch<HeadStateCache>(cache, spec_, x_t.dim(0), CacheUse::decode_step);
    wqkv_.apply(x_t, {&q_t_, &k_t_, &v_t_});
    decay_fwd(x_t, step_decay_, false);
    attn_t_.resize(x_t.shape(), spec_.device);
    kernels_.decode(q_t_.data(), k_t_.data(), v_t_.data(), step_decay_.log_decay.data(), state.state.data(),
                    attn_t_.data(), shape_for(state.batch, 1), options_);
    output_fwd(x_t, attn_t_, y_t, step_out_, false);
    ++state.position;
  }
  std::string unsupported(int64_t batch, int64_t seq_len) const override {
    return kernels_.unsupported(shape_for(batch, seq_len), options_);
  }
  WorkCount mixing_work(int64_t batch, int64_t seq_len, WorkPass pass) const override {
    const GlaShape s = shape_for(batch, seq_len);
    return chunked_scan_work({batch, seq_len, s.heads, s.key_dim, s.value_dim, options_.chunk_size, s.decay_width(),
                              s.heads, false, sizeof(float), sizeof(float)},
                             pass);
  }

  GlaDecay decay() const { return decay_; }

 private:
  // The gate's intermediate tensors; forward keeps one set for backward, step() uses its own.
  struct DecayBuffers {
    Tensor low, logits, log_decay;
  };
  struct OutputBuffers {
    Tensor normed, mean, rstd, gate, gated;
  };

  GlaShape shape_for(int64_t batch, int64_t seq_len) const {
    return {{batch, seq_len, spec_.n_heads}, spec_.head_dim(), spec_.head_dim(), decay_ == GlaDecay::channel};
  }
  // log decay [..., heads * decay_width] of x [..., d_model]; `training` keeps what backward needs.
  void decay_fwd(const Tensor& x, DecayBuffers& buf, bool training) {
    auto project = [training](LinearLayer& layer, const Tensor& in, Tensor& out) {
      if (training)
        layer.forward(in, out);
      else
        layer.apply(in, out);
    };
    if (decay_ == GlaDecay::fixed) {
      // RetNet: gamma_h = 1 - 2^(-5-h), the same at every position. The values depend on the shape
      // alone (nothing writes this buffer), so it is filled on the host only when the shape changes.
      const Shape shape = with_last_dim(x.shape(), spec_.n_heads);
      if (buf.log_decay.shape() == shape && buf.log_decay.device() == spec_.device) return;
      const int64_t rows = x.numel() / spec_.d_model;
      Tensor host(shape);
      for (int h = 0; h < spec_.n_heads; ++h) {
        const float g = static_cast<float>(std::log1p(-std::ldexp(1.0, -5 - h)));
        for (int64_t r = 0; r < rows; ++r) host[r * spec_.n_heads + h] = g;
      }
      buf.log_decay = host.to(spec_.device);
      return;
    }
    if (decay_ == GlaDecay::channel) {
      project(w_decay_down_, x, buf.low);
      project(w_decay_up_, buf.low, buf.logits);
    } else {
      project(w_decay_up_, x, buf.logits);
    }
    buf.log_decay.resize(buf.logits.shape(), spec_.device);
    decay_kernels_.fwd(buf.logits.data(), buf.log_decay.data(), buf.logits.numel(), tau_);
  }
  // attn [..., d_model] -> y: the per-head norm, the output gate and the output projection.
  void output_fwd(const Tensor& x, const Tensor& attn, Tensor& y, OutputBuffers& buf, bool training) {
    const int64_t d = spec_.d_model, tokens = attn.numel() / d;
    const Tensor* current = &attn;
    if (normalize_) {
      norm_.forward(attn, buf.normed, buf.mean, buf.rstd);
      current = &buf.normed;
    }
    if (output_gate_) {
      if (training)
        w_gate_.forward(x, buf.gate);
      else
        w_gate_.apply(x, buf.gate);
      buf.gated.resize(attn.shape(), spec_.device);
      kernels_for<SwishGateKernels>(spec_.device).fwd(current->data(), buf.gate.data(), buf.gated.data(), tokens, d, d);
      current = &buf.gated;
    }
    if (training)
      wo_.forward(*current, y);
    else
      wo_.apply(*current, y);
  }
  // dy -> gradient wrt the kernel's output (d_attn_); the gate's input gradient goes to d_gate_.
  const Tensor& output_bwd(const Tensor& dy) {
    const int64_t d = spec_.d_model, tokens = attn_.numel() / d;
    wo_.backward(dy, d_out_);
    const Tensor* grad = &d_out_;
    if (output_gate_) {
      const Tensor& gate_input = normalize_ ? train_out_.normed : attn_;
      d_normed_.resize(attn_.shape(), spec_.device);
      d_gate_.resize(attn_.shape(), spec_.device);
      kernels_for<SwishGateKernels>(spec_.device)
          .bwd(gate_input.data(), train_out_.gate.data(), d_out_.data(), d_normed_.data(), d_gate_.data(), tokens, d, d,
               d);
      grad = &d_normed_;
    }
    if (!normalize_) return *grad;
    norm_.backward(*grad, attn_, train_out_.mean, train_out_.rstd, d_attn_);
    return d_attn_;
  }
  void add_decay_input_grad(Tensor& dx) {
    if (decay_ == GlaDecay::fixed) return;
    const Tensor& logits = train_decay_.logits;
    d_logits_.resize(logits.shape(), spec_.device);
    decay_kernels_.bwd(logits.data(), d_log_decay_.data(), d_logits_.data(), logits.numel(), tau_);
    if (decay_ == GlaDecay::channel) {
      w_decay_up_.backward(d_logits_, d_low_);
      w_decay_down_.backward(d_low_, dx_part_);
    } else {
      w_decay_up_.backward(d_logits_, dx_part_);
    }
    kernels_for<RowOpKernels>(spec_.device).axpy(1.0f, dx_part_.data(), dx.data(), dx.numel());
  }

  const GlaKernels& kernels_ = kernels_for<GlaKernels>(spec().device);
  const LogSigmoidDecayKernels& decay_kernels_ = kernels_for<LogSigmoidDecayKernels>(spec().device);
  GlaDecay decay_ = GlaDecay::channel;
  bool normalize_ = true, output_gate_ = true;
  float tau_ = 16.0f;
  GlaOptions options_;
  FusedProjection wqkv_;
  LinearLayer wo_, w_gate_;
  LinearLayer w_decay_down_, w_decay_up_;  // channel: both (low rank); scalar: w_decay_up_ only
  PlainLayerNorm norm_;                    // per head, when normalize_
  // Saved by forward for backward.
  Tensor q_, k_, v_, chunk_states_, attn_;
  DecayBuffers train_decay_, step_decay_;
  OutputBuffers train_out_, step_out_;
  int64_t batch_ = 0, seq_len_ = 0;
  // Backward and decode workspaces.
  Tensor d_out_, d_normed_, d_attn_, d_gate_, dq_, dk_, dv_, d_log_decay_, d_logits_, d_low_, dx_part_;
  Tensor q_t_, k_t_, v_t_, attn_t_;
};

}  // namespace

std::unique_ptr<Mixer> make_gla_mixer(const MixerSpec& spec) { return std::make_unique<GlaMixer>(spec); }

GlaDecay gla_decay(const Mixer& mixer) { return backend_of<GlaMixer>(mixer, "gla").decay(); }

}  // namespace seqbench
