#include "mixers/linear/linear_attention_mixer.h"

#include <stdexcept>

#include "mixers/linear/feature_maps.h"
#include "mixers/linear/linear_attention.h"
#include "mixers/mixer_backend.h"
#include "models/fused_projection.h"
#include "models/linear_layer.h"
#include "models/mixer_params.h"
#include "models/mixer_validation.h"

namespace seqbench {

const MixerParamTable& linear_params() {
  static const MixerParamTable table{
      {"feature_map", "elu", "identity, elu (+1), relu or taylor (Based's 2nd-order expansion)"},
      {"feature_dim", nullptr, "width of the q/k projection per head before the feature map (default: head_dim)"},
      {"normalize", true, "divide by the running sum of phi(q) . phi(k) (Katharopoulos et al.)"},
      {"eps", 1e-12, "added to that normaliser"},
      {"chunk_size", 64, "tokens per chunk of the training form"}};
  return table;
}

namespace {

// kv_state [batch, n_heads, f, head_dim] = sum phi(k) v^T and k_state [batch, n_heads, f] = sum phi(k).
struct LinearAttentionCache : CopyableCache<LinearAttentionCache> {
  Tensor kv_state, k_state;
  int64_t batch = 0;
};

// Sub-seed labels of the four projections, so each draws from its own stream of spec.seed.
enum ProjectionSeed : uint64_t { kSeedQ = 1, kSeedK = 2, kSeedV = 3, kSeedO = 4 };

LinearLayer projection(const MixerSpec& spec, const char* name, int out_features, uint64_t label) {
  Rng rng(Rng::derive(spec.seed, label));
  return LinearLayer(spec.kind + "." + name, spec.d_model, out_features, false, rng, 0.0f, spec.device);
}

class LinearAttentionMixer : public Mixer {
 public:
  // Throws std::invalid_argument on unknown params or feature maps, or on bad sizes.
  explicit LinearAttentionMixer(const MixerSpec& spec) : Mixer(checked_spec(spec, linear_params())) {
    const MixerParamTable& table = linear_params();
    map_ = parse_mixer_param(spec, table, "feature_map", parse_feature_map);
    projected_dim_ = mixer_param_int(spec, "feature_dim", spec.head_dim());
    if (projected_dim_ < 1) bad_param(spec, "feature_dim must be >= 1, got " + std::to_string(projected_dim_));
    options_.normalize = mixer_param_bool(spec, table, "normalize");
    options_.eps = static_cast<float>(mixer_param_double(spec, table, "eps"));
    if (!(options_.eps >= 0.0f)) bad_param(spec, "eps must be >= 0, got " + std::to_string(options_.eps));
    options_.chunk_size = mixer_param_int(spec, table, "chunk_size");
    if (options_.chunk_size < 1) bad_param(spec, "chunk_size must be >= 1, got " + std::to_string(options_.chunk_size));

    shape_.heads = spec.n_heads;
    shape_.feature_dim = feature_map_width(map_, projected_dim_);
    shape_.head_dim = spec.head_dim();
    const int qk_width = spec.n_heads * projected_dim_;
    wqkv_ = FusedProjection(spec.kind + ".qkv_proj", spec.d_model,
                            {{qk_width, Rng::derive(spec.seed, kSeedQ)},
                             {qk_width, Rng::derive(spec.seed, kSeedK)},
                             {spec.d_model, Rng::derive(spec.seed, kSeedV)}},
                            spec.device);
    wo_ = projection(spec, "o_proj", spec.d_model, kSeedO);
    // kv_state [f, head_dim] and k_state [f] per head, whatever the length.
    set_state_size({(shape_.feature_dim * shape_.head_dim + shape_.feature_dim) * shape_.heads});
    add_params(wqkv_.params());
    add_params(wo_.params());
  }

  void forward(const Tensor& x, Tensor& y, MixerCache* cache) override {
    check_mixer_input(spec_, x, 3, "input");
    batch_ = x.dim(0);
    seq_len_ = x.dim(1);
    const LinearAttentionShape shape = shape_for(batch_, seq_len_);
    const int64_t rows = batch_ * seq_len_ * shape.heads;
    wqkv_.forward(x, {&q_, &k_, &v_});
    phi_q_.resize({batch_, seq_len_, shape.heads * shape.feature_dim}, spec_.device);
    phi_k_.resize(phi_q_.shape(), spec_.device);
    feature_maps_.fwd(map_, q_.data(), phi_q_.data(), rows, projected_dim_);
    feature_maps_.fwd(map_, k_.data(), phi_k_.data(), rows, projected_dim_);
    attn_.resize(x.shape(), spec_.device);
    if (options_.normalize) denominator_.resize({batch_, shape.heads, seq_len_}, spec_.device);

    float* final_kv = nullptr;
    float* final_k = nullptr;
    LinearAttentionCache* state =
        cache ? &cache_for_batch<LinearAttentionCache>(*cache, spec_, batch_, CacheUse::forward) : nullptr;
    if (state) {
      final_kv = state->kv_state.data();
      final_k = state->k_state.data();
    }
    kernels_.fwd(phi_q_.data(), phi_k_.data(), v_.data(), attn_.data(),
                 options_.normalize ? denominator_.data() : nullptr, final_kv, final_k, shape, options_);
    wo_.forward(attn_, y);
    if (state) state->position = seq_len_;
  }
  void backward(const Tensor& dy, Tensor& dx) override {
    if (seq_len_ == 0) throw std::logic_error("mixer 'linear': backward() called before forward()");
    if (dy.shape() != attn_.shape())
      throw std::invalid_argument("mixer 'linear': gradient has shape " + shape_string(dy.shape()) + ", expected " +
                                  shape_string(attn_.shape()));
    const LinearAttentionShape shape = shape_for(batch_, seq_len_);
    const int64_t rows = batch_ * seq_len_ * shape.heads;
    wo_.backward(dy, d_attn_);
    d_phi_q_.resize(phi_q_.shape(), spec_.device);
    d_phi_k_.resize(phi_k_.shape(), spec_.device);
    dv_.resize(v_.shape(), spec_.device);
    kernels_.bwd(phi_q_.data(), phi_k_.data(), v_.data(), attn_.data(),
                 options_.normalize ? denominator_.data() : nullptr, d_attn_.data(), d_phi_q_.data(), d_phi_k_.data(),
                 dv_.data(), shape, options_);
    dq_.resize(q_.shape(), spec_.device);
    dk_.resize(k_.shape(), spec_.device);
    feature_maps_.bwd(map_, q_.data(), d_phi_q_.data(), dq_.data(), rows, projected_dim_);
    feature_maps_.bwd(map_, k_.data(), d_phi_k_.data(), dk_.data(), rows, projected_dim_);
    wqkv_.backward({&dq_, &dk_, &dv_}, dx);
  }
  std::unique_ptr<MixerCache> make_cache(int batch, int max_len) const override {
    if (batch < 1) throw std::invalid_argument("mixer 'linear': cache needs batch >= 1, got " + std::to_string(batch));
    auto cache = std::make_unique<LinearAttentionCache>();
    cache->kv_state = Tensor({batch, shape_.heads, shape_.feature_dim, shape_.head_dim}, spec_.device);
    cache->k_state = Tensor({batch, shape_.heads, shape_.feature_dim}, spec_.device);
    cache->batch = batch;
    return cache;
  }
  void step(const Tensor& x_t, Tensor& y_t, MixerCache& cache) override {
    check_mixer_input(spec_, x_t, 2, "decode input");
    auto& state = cache_for_batch<LinearAttentionCache>(cache, spec_, x_t.dim(0), CacheUse::decode_step);
    const LinearAttentionShape shape = shape_for(state.batch, 1);
    const int64_t rows = state.batch * shape.heads;
    wqkv_.apply(x_t, {&q_t_, &k_t_, &v_t_});
    phi_q_t_.resize({state.batch, shape.heads * shape.feature_dim}, spec_.device);
    phi_k_t_.resize(phi_q_t_.shape(), spec_.device);
    feature_maps_.fwd(map_, q_t_.data(), phi_q_t_.data(), rows, projected_dim_);
    feature_maps_.fwd(map_, k_t_.data(), phi_k_t_.data(), rows, projected_dim_);
    attn_t_.resize(x_t.shape(), spec_.device);
    kernels_.decode(phi_q_t_.data(), phi_k_t_.data(), v_t_.data(), state.kv_state.data(), state.k_state.data(),
                    attn_t_.data(), shape, options_);
    wo_.apply(attn_t_, y_t);
    ++state.position;
  }
  std::string unsupported(int64_t batch, int64_t seq_len) const override {
    return kernels_.unsupported(shape_for(batch, seq_len), options_);
  }
  // The normaliser's running key sum is one more value column of the state.
  WorkCount mixing_work(int64_t batch, int64_t seq_len, WorkPass pass) const override {
    return chunked_scan_work({batch, seq_len, shape_.heads, shape_.feature_dim,
                              shape_.head_dim + (options_.normalize ? 1 : 0), options_.chunk_size, 0, shape_.heads,
                              false, sizeof(float), sizeof(float)},
                             pass);
  }

  FeatureMap feature_map() const { return map_; }
  int64_t feature_width() const { return shape_.feature_dim; }  // f, after phi

 private:
  LinearAttentionShape shape_for(int64_t batch, int64_t seq_len) const {
    LinearAttentionShape s = shape_;
    s.batch = batch;
    s.seq_len = seq_len;
    return s;
  }

  const LinearAttentionKernels& kernels_ = kernels_for<LinearAttentionKernels>(spec().device);
  const FeatureMapKernels& feature_maps_ = kernels_for<FeatureMapKernels>(spec().device);
  FeatureMap map_ = FeatureMap::elu_plus_one;
  int projected_dim_ = 0;       // q/k width per head, before phi
  LinearAttentionShape shape_;  // heads, feature_dim (f), head_dim; batch/seq_len per call
  LinearAttentionOptions options_;
  FusedProjection wqkv_;
  LinearLayer wo_;
  // Saved by forward for backward.
  Tensor q_, k_, v_, phi_q_, phi_k_, attn_, denominator_;
  int64_t batch_ = 0, seq_len_ = 0;
  Tensor d_attn_, d_phi_q_, d_phi_k_, dq_, dk_, dv_;  // backward workspaces
  Tensor q_t_, k_t_, v_t_, phi_q_t_, phi_k_t_, attn_t_;         // decode workspaces
};

}  // namespace

std::unique_ptr<Mixer> make_linear_attention_mixer(const MixerSpec& spec) {
  return std::make_unique<LinearAttentionMixer>(spec);
}

FeatureMap linear_feature_map(const Mixer& mixer) {
  return backend_of<LinearAttentionMixer>(mixer, "linear").feature_map();
}

int64_t linear_feature_width(const Mixer& mixer) {
  return backend_of<LinearAttentionMixer>(mixer, "linear").feature_width();
}

}  // namespace seqbench
