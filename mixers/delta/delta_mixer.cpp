#include "mixers/delta/delta_mixer.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "mixers/delta/delta_rule.h"
#include "mixers/delta/delta_rule_gates.h"
#include "mixers/mixer_backend.h"
#include "models/fused_projection.h"
#include "models/head_state_cache.h"
#include "models/linear_layer.h"
#include "models/mixer_params.h"
#include "models/mixer_validation.h"

namespace seqbench {

const MixerParamTable& delta_params() {
  static const MixerParamTable table{
      {"gated", false, "Gated DeltaNet: a data-dependent decay a_t on the state (Yang, Kautz & Hatamizadeh 2024)"},
      {"chunk_size", 64, "tokens between the states the training form saves for backward"},
      {"use_short_conv", false, "accepted as false only (fla's name); use \"short_conv\": K for a conv"}};
  return table;
}

namespace {

// fla's l2norm epsilon: x / sqrt(|x|^2 + 1e-6).
constexpr float kL2NormEps = 1e-6f;

// Sub-seed labels of each initialised tensor, so each draws from its own stream of spec.seed.
enum InitSeed : uint64_t { kSeedQ = 1, kSeedK = 2, kSeedV = 3, kSeedO = 4, kSeedB = 5, kSeedA = 6, kSeedDecay = 7 };

LinearLayer projection(const MixerSpec& spec, const char* name, int out_features, uint64_t label) {
  Rng rng(Rng::derive(spec.seed, label));
  return LinearLayer(spec.kind + "." + name, spec.d_model, out_features, false, rng, 0.0f, spec.device);
}

// Mamba-2 / Gated DeltaNet decay initialisation: A ~ U[1, 16) (Mamba-2's A_init_range; fla draws
// from [0, 16), which can reach log 0), dt log-uniform in [1e-3, 1e-1], dt_bias = softplus^-1(dt),
// so that at x W_a^T = 0 the per-token decay is exp(-A dt).
void init_decay(const MixerSpec& spec, Param& a_log, Param& dt_bias) {
  Rng rng(Rng::derive(spec.seed, kSeedDecay));
  const double dt_min = 1e-3, dt_max = 1e-1, dt_floor = 1e-4;
  for (int h = 0; h < spec.n_heads; ++h) {
    a_log.value[h] = static_cast<float>(std::log(rng.uniform(1.0, 16.0)));
    const double dt =
        std::max(dt_floor, std::exp(rng.uniform() * (std::log(dt_max) - std::log(dt_min)) + std::log(dt_min)));
    dt_bias.value[h] = static_cast<float>(dt + std::log(-std::expm1(-dt)));
  }
}

// state [batch, n_heads, head_dim (k), head_dim (v)]: S^T of each sequence and head.
class DeltaRuleMixer : public Mixer {
 public:
  // Throws std::invalid_argument on unknown or malformed params, or on bad sizes.
  explicit DeltaRuleMixer(const MixerSpec& spec) : Mixer(checked_spec(spec, delta_params())) {
    const MixerParamTable& table = delta_params();
    gated_ = mixer_param_bool(spec, table, "gated");
    options_.chunk_size = mixer_param_int(spec, table, "chunk_size");
    if (options_.chunk_size < 1) bad_param(spec, "chunk_size must be >= 1, got " + std::to_string(options_.chunk_size));
    if (mixer_param_bool(spec, table, "use_short_conv"))
      bad_param(spec,
                "use_short_conv true is not supported (expected false); the generic param \"short_conv\": K "
                "puts a causal conv of width K in front of any mixer");

    const int heads = spec.n_heads;
    // Every projection of x in one matmul: q, k, v, the beta logits and (gated) the decay logits.
    std::vector<ProjectionPart> parts{{spec.d_model, Rng::derive(spec.seed, kSeedQ)},
                                      {spec.d_model, Rng::derive(spec.seed, kSeedK)},
                                      {spec.d_model, Rng::derive(spec.seed, kSeedV)},
                                      {heads, Rng::derive(spec.seed, kSeedB)}};
    if (gated_) parts.push_back({heads, Rng::derive(spec.seed, kSeedA)});
    w_in_ = FusedProjection(spec.kind + ".in_proj", spec.d_model, parts, spec.device);
    wo_ = projection(spec, "o_proj", spec.d_model, kSeedO);
    if (gated_) {
      a_log_ = Param(spec.kind + ".A_log", {heads}, false);
      dt_bias_ = Param(spec.kind + ".dt_bias", {heads}, false);
      init_decay(spec, a_log_, dt_bias_);
      place_param(a_log_, spec.device);
      place_param(dt_bias_, spec.device);
    }
    set_state_size({heads * int64_t{spec.head_dim()} * spec.head_dim()});  // S per head, whatever the length
    add_params(w_in_.params());
    add_params(wo_.params());
    if (gated_) add_params({&a_log_, &dt_bias_});
  }

  void forward(const Tensor& x, Tensor& y, MixerCache* cache) override {
    check_mixer_input(spec_, x, 3, "input");
    HeadStateCache* state =
        cache ? &cache_for_batch<HeadStateCache>(*cache, spec_, x.dim(0), CacheUse::forward) : nullptr;
    batch_ = x.dim(0);
    seq_len_ = x.dim(1);
    const DeltaRuleShape shape = shape_for(batch_, seq_len_);
    w_in_.forward(x, projections(q_raw_, k_raw_, v_, b_raw_, a_raw_));
    gates_fwd(batch_ * seq_len_, q_, k_, beta_, log_decay_, q_raw_, k_raw_, b_raw_, a_raw_);
    checkpoints_.resize(
        {batch_, shape.heads, delta_rule_checkpoint_count(shape, options_), shape.value_dim, shape.key_dim},
        spec_.device);
    attn_.resize(x.shape(), spec_.device);
    kernels_.fwd(q_.data(), k_.data(), v_.data(), beta_.data(), gated_ ? log_decay_.data() : nullptr, attn_.data(),
                 checkpoints_.data(), state ? state->state.data() : nullptr, shape, options_);
    wo_.forward(attn_, y);
    if (state) state->position = seq_len_;
  }
  void backward(const Tensor& dy, Tensor& dx) override {
    if (seq_len_ == 0) throw std::logic_error("mixer '" + spec_.kind + "': backward() called before forward()");
    if (dy.shape() != attn_.shape())
      throw std::invalid_argument("mixer '" + spec_.kind + "': gradient has shape " + shape_string(dy.shape()) +
                                  ", expected " + shape_string(attn_.shape()));
    const DeltaRuleShape shape = shape_for(batch_, seq_len_);
    const int64_t rows = batch_ * seq_len_, heads = shape.heads, dh = shape.key_dim;
    wo_.backward(dy, d_attn_);
    dq_.resize(q_.shape(), spec_.device);
    dk_.resize(k_.shape(), spec_.device);
    dv_.resize(v_.shape(), spec_.device);
    dbeta_.resize(beta_.shape(), spec_.device);
    if (gated_) dlog_decay_.resize(log_decay_.shape(), spec_.device);
    kernels_.bwd(q_.data(), k_.data(), v_.data(), beta_.data(), gated_ ? log_decay_.data() : nullptr,
                 checkpoints_.data(), d_attn_.data(), dq_.data(), dk_.data(), dv_.data(), dbeta_.data(),
                 gated_ ? dlog_decay_.data() : nullptr, shape, options_);

    d_q_raw_.resize(q_raw_.shape(), spec_.device);
    d_k_raw_.resize(k_raw_.shape(), spec_.device);
    d_b_raw_.resize(b_raw_.shape(), spec_.device);
    gate_kernels_.l2_normalize_bwd(q_raw_.data(), dq_.data(), d_q_raw_.data(), rows * heads, dh, kL2NormEps);
    gate_kernels_.l2_normalize_bwd(k_raw_.data(), dk_.data(), d_k_raw_.data(), rows * heads, dh, kL2NormEps);
    gate_kernels_.sigmoid_bwd(beta_.data(), dbeta_.data(), d_b_raw_.data(), rows * heads);
    if (gated_) {
      d_a_raw_.resize(a_raw_.shape(), spec_.device);
      gate_kernels_.gated_decay_bwd(a_raw_.data(), a_log_.value.data(), dt_bias_.value.data(), dlog_decay_.data(),
                                    d_a_raw_.data(), a_log_.grad.data(), dt_bias_.grad.data(), rows, heads);
    }
    std::vector<const Tensor*> d_in{&d_q_raw_, &d_k_raw_, &dv_, &d_b_raw_};
    if (gated_) d_in.push_back(&d_a_raw_);
    w_in_.backward(d_in, dx);
  }
  std::unique_ptr<MixerCache> make_cache(int batch, int max_len) const override {
    return make_head_state_cache(spec_, batch);
  }
  void step(const Tensor& x_t, Tensor& y_t, MixerCache& cache) override {
    check_mixer_input(spec_, x_t, 2, "decode input");
    auto& state = cache_for_batch<HeadStateCache>(cache, spec_, x_t.dim(0), CacheUse::decode_step);
    w_in_.apply(x_t, projections(q_raw_t_, k_raw_t_, v_t_, b_raw_t_, a_raw_t_));
    gates_fwd(state.batch, q_t_, k_t_, beta_t_, log_decay_t_, q_raw_t_, k_raw_t_, b_raw_t_, a_raw_t_);
    attn_t_.resize(x_t.shape(), spec_.device);
    kernels_.decode(q_t_.data(), k_t_.data(), v_t_.data(), beta_t_.data(), gated_ ? log_decay_t_.data() : nullptr,
                    state.state.data(), attn_t_.data(), shape_for(state.batch, 1));
    wo_.apply(attn_t_, y_t);
    ++state.position;
  }
  std::string unsupported(int64_t batch, int64_t seq_len) const override {
    return kernels_.unsupported(shape_for(batch, seq_len));
  }
  // Counted for the chunked WY form (ops/work_count.h), as the rates of other implementations are.
  WorkCount mixing_work(int64_t batch, int64_t seq_len, WorkPass pass) const override {
    const DeltaRuleShape s = shape_for(batch, seq_len);
    return chunked_scan_work({batch, seq_len, s.heads, s.key_dim, s.value_dim, options_.chunk_size, gated_ ? 1 : 0,
                              s.heads, true, sizeof(float), sizeof(float)},
                             pass);
  }

  bool gated() const { return gated_; }

 private:
  DeltaRuleShape shape_for(int64_t batch, int64_t seq_len) const {
    return {{batch, seq_len, spec_.n_heads}, spec_.head_dim(), spec_.head_dim()};
  }
  // Where w_in_ writes its parts: q, k, v, the beta logits and (gated) the decay logits.
  std::vector<Tensor*> projections(Tensor& q_raw, Tensor& k_raw, Tensor& v, Tensor& b_raw, Tensor& a_raw) const {
    std::vector<Tensor*> out{&q_raw, &k_raw, &v, &b_raw};
    if (gated_) out.push_back(&a_raw);
    return out;
  }
  // q, k normalised, b and (gated) log a from the projections of x: [rows, ...] for rows tokens.
  void gates_fwd(int64_t rows, Tensor& q, Tensor& k, Tensor& beta, Tensor& log_decay, const Tensor& q_raw,
                 const Tensor& k_raw, const Tensor& b_raw, const Tensor& a_raw) const {
    const int64_t heads = spec_.n_heads, dh = spec_.head_dim();
    q.resize(q_raw.shape(), spec_.device);
    k.resize(k_raw.shape(), spec_.device);
    beta.resize(b_raw.shape(), spec_.device);
    gate_kernels_.l2_normalize_fwd(q_raw.data(), q.data(), rows * heads, dh, kL2NormEps);
    gate_kernels_.l2_normalize_fwd(k_raw.data(), k.data(), rows * heads, dh, kL2NormEps);
    gate_kernels_.sigmoid_fwd(b_raw.data(), beta.data(), rows * heads);
    if (!gated_) return;
    log_decay.resize(a_raw.shape(), spec_.device);
    gate_kernels_.gated_decay_fwd(a_raw.data(), a_log_.value.data(), dt_bias_.value.data(), log_decay.data(), rows,
                                  heads);
  }

  const DeltaRuleKernels& kernels_ = kernels_for<DeltaRuleKernels>(spec().device);
  const DeltaRuleGateKernels& gate_kernels_ = kernels_for<DeltaRuleGateKernels>(spec().device);
  bool gated_ = false;
  DeltaRuleOptions options_;
  FusedProjection w_in_;
  LinearLayer wo_;
  Param a_log_, dt_bias_;  // [n_heads], only when gated
  // Saved by forward for backward.
  Tensor q_raw_, k_raw_, v_, b_raw_, a_raw_, q_, k_, beta_, log_decay_, checkpoints_, attn_;
  int64_t batch_ = 0, seq_len_ = 0;
  // Backward workspaces, each one size for every step (a recorded step keeps their addresses); the
  // d_*_raw_ are the gradients of w_in_'s parts.
  Tensor d_attn_, dq_, dk_, dv_, dbeta_, dlog_decay_, d_q_raw_, d_k_raw_, d_b_raw_, d_a_raw_;
  // Decode workspaces.
  Tensor q_raw_t_, k_raw_t_, v_t_, b_raw_t_, a_raw_t_, q_t_, k_t_, beta_t_, log_decay_t_, attn_t_;
};

}  // namespace

std::unique_ptr<Mixer> make_delta_mixer(const MixerSpec& spec) { return std::make_unique<DeltaRuleMixer>(spec); }

bool delta_gated(const Mixer& mixer) { return backend_of<DeltaRuleMixer>(mixer, "delta").gated(); }

}  // namespace seqbench
