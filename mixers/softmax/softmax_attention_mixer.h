// Multi-head causal softmax attention (Vaswani et al. 2017) as a mixer backend: q, k, v, o
// projections without bias around the kernels in softmax_attention.h. Decode keeps a KV
// cache, so its state grows with the sequence: 2 * L * d_model floats per layer (Zoology's count).
#pragma once
#include <memory>

#include "mixers/softmax/softmax_attention.h"
#include "models/mixer.h"
#include "models/mixer_params.h"
#include "mixers/softmax/attention_projections.h"

namespace seqbench {

// k and v of every consumed token: [batch, max_len, n_heads, head_dim] each.
struct SoftmaxAttentionCache : CopyableCache<SoftmaxAttentionCache> {
  Tensor keys, values;
  int64_t batch = 0, max_len = 0;
};

// The params this backend accepts, with their defaults and meanings.
const MixerParamTable& softmax_params();

class SoftmaxAttentionMixer : public Mixer {
 public:
  // Accepts no params; throws std::invalid_argument on any, or on a bad d_model / n_heads.
  explicit SoftmaxAttentionMixer(const MixerSpec& spec);

  void forward(const Tensor& x, Tensor& y, MixerCache* cache) override;
  void backward(const Tensor& dy, Tensor& dx) override;
  std::unique_ptr<MixerCache> make_cache(int batch, int max_len) const override;
  void step(const Tensor& x_t, Tensor& y_t, MixerCache& cache) override;
  std::string unsupported(int64_t batch, int64_t seq_len) const override;
  WorkCount mixing_work(int64_t batch, int64_t seq_len, WorkPass pass) const override {
    return attention_work({batch, seq_len, spec_.n_heads, spec_.head_dim(), std::max<int64_t>(seq_len, 1),
                           sizeof(float)},
                          pass);
  }

 private:
  const SoftmaxAttentionKernels& kernels_;
  AttentionProjections proj_;
  // Saved by forward for backward: projections, attention output and per-row log-sum-exp.
  Tensor q_, k_, v_, attn_, lse_;
  int64_t batch_ = 0, seq_len_ = 0;
  Tensor d_attn_, dq_, dk_, dv_;     // backward workspaces
  Tensor q_t_, k_t_, v_t_, attn_t_;  // decode workspaces
};

}  // namespace seqbench
