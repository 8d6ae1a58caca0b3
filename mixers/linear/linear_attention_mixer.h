// Multi-head causal linear attention (Katharopoulos et al. 2020) as in Based/Zoology's
// LinearAttention: q and k projected to feature_dim per head, mapped by phi, v to head_dim; the
// chunked kernels of linear_attention.h for training, a fixed-size recurrent state for decode.
//
// params: feature_map "identity" | "elu" | "relu" | "taylor" (default "elu", i.e. elu(x) + 1;
// "taylor" is Based's 2nd-order Taylor map, width f = 1 + d + d^2 for d = feature_dim, so Based
// sets feature_dim small, e.g. 16); normalize (default true, as Based divides by
// sum phi(q).phi(k) + eps); eps (default 1e-12); chunk_size (default 64); feature_dim (q/k width
// per head before phi, default head_dim).
#pragma once
#include <memory>

#include "mixers/linear/feature_maps.h"
#include "mixers/linear/linear_attention.h"
#include "models/linear_layer.h"
#include "models/mixer.h"
#include "models/mixer_params.h"

namespace seqbench {

// kv_state [batch, n_heads, f, head_dim] = sum phi(k) v^T and k_state [batch, n_heads, f] = sum phi(k).
struct LinearAttentionCache : CopyableCache<LinearAttentionCache> {
  Tensor kv_state, k_state;
  int64_t batch = 0;
};

// The params this backend accepts, with their defaults and meanings.
const MixerParamTable& linear_params();

class LinearAttentionMixer : public Mixer {
 public:
  // Throws std::invalid_argument on unknown params or feature maps, or on bad sizes.
  explicit LinearAttentionMixer(const MixerSpec& spec);

  void forward(const Tensor& x, Tensor& y, MixerCache* cache) override;
  void backward(const Tensor& dy, Tensor& dx) override;
  std::unique_ptr<MixerCache> make_cache(int batch, int max_len) const override;
  void step(const Tensor& x_t, Tensor& y_t, MixerCache& cache) override;
  std::string unsupported(int64_t batch, int64_t seq_len) const override;

  FeatureMap feature_map() const { return map_; }
  int64_t feature_width() const { return shape_.feature_dim; }  // f, after phi

 private:
  LinearAttentionShape shape_for(int64_t batch, int64_t seq_len) const;

  const LinearAttentionKernels& kernels_;
  const FeatureMapKernels& feature_maps_;
  FeatureMap map_ = FeatureMap::elu_plus_one;
  int projected_dim_ = 0;            // q/k width per head, before phi
  LinearAttentionShape shape_;       // heads, feature_dim (f), head_dim; batch/seq_len per call
  LinearAttentionOptions options_;
  LinearLayer wq_, wk_, wv_, wo_;
  // Saved by forward for backward.
  Tensor q_, k_, v_, phi_q_, phi_k_, attn_, denominator_;
  int64_t batch_ = 0, seq_len_ = 0;
  Tensor d_attn_, d_phi_q_, d_phi_k_, dq_, dk_, dv_, dx_part_;  // backward workspaces
  Tensor q_t_, k_t_, v_t_, phi_q_t_, phi_k_t_, attn_t_;        // decode workspaces
};

}  // namespace seqbench
