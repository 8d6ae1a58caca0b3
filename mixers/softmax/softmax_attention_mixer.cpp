#include "mixers/softmax/softmax_attention_mixer.h"

#include <algorithm>
#include <stdexcept>

#include "mixers/mixer_backend.h"
#include "mixers/softmax/managed_kv_cache.h"
#include "mixers/softmax/softmax_attention.h"
#include "models/mixer_params.h"
#include "models/mixer_validation.h"
#include "ops/row_ops.h"

namespace seqbench {

const MixerParamTable& softmax_params() {
  static const MixerParamTable none;
  return none;
}

SoftmaxAttentionMixer::SoftmaxAttentionMixer(const MixerSpec& spec)
    : Mixer(checked_spec(spec, softmax_params())),
      kernels_(kernels_for<SoftmaxAttentionKernels>(spec.device)),
      proj_(spec) {
  add_params(proj_.params());
  set_state_size({0, 2 * int64_t{spec.d_model}});  // a key and a value per token, every token
}

void SoftmaxAttentionMixer::forward(const Tensor& x, Tensor& y, MixerCache* cache) {
  check_mixer_input(spec_, x, 3, "input");
  batch_ = x.dim(0);
  seq_len_ = x.dim(1);
  const AttentionShape shape{batch_, seq_len_, spec_.n_heads, spec_.head_dim()};
  proj_.forward(x, q_, k_, v_);
  attn_.resize(x.shape(), x.device());
  if (auto* managed = dynamic_cast<ManagedKVCache*>(cache)) {  // a KV cache policy decides what attention reads
    managed->attend_prefill(q_, k_, v_, attn_);
    proj_.out().forward(attn_, y);
    seq_len_ = 0;  // nothing kept for backward
    return;
  }
  lse_.resize({batch_, spec_.n_heads, seq_len_}, x.device());
  kernels_.fwd(q_.data(), k_.data(), v_.data(), attn_.data(), lse_.data(), shape);
  proj_.out().forward(attn_, y);
  if (!cache) return;

  auto& kv = cache_as<SoftmaxAttentionCache>(*cache, spec_);
  if (kv.batch != batch_ || kv.max_len < seq_len_)
    throw std::invalid_argument("mixer 'softmax': cache holds " + std::to_string(kv.batch) + " x " +
                                std::to_string(kv.max_len) + " tokens, forward got batch " + std::to_string(batch_) +
                                " of length " + std::to_string(seq_len_));
  // Sequence b's keys go to the first seq_len slots of its max_len-slot cache row.
  const int64_t row = static_cast<int64_t>(spec_.d_model) * seq_len_, cache_row = kv.max_len * spec_.d_model;
  kernels_for<RowOpKernels>(x.device()).copy_rows(k_.data(), row, kv.keys.data(), cache_row, batch_, row);
  kernels_for<RowOpKernels>(x.device()).copy_rows(v_.data(), row, kv.values.data(), cache_row, batch_, row);
  kv.position = seq_len_;
}

void SoftmaxAttentionMixer::backward(const Tensor& dy, Tensor& dx) {
  if (seq_len_ == 0) throw std::logic_error("mixer 'softmax': backward() called before forward()");
  if (dy.shape() != attn_.shape())
    throw std::invalid_argument("mixer 'softmax': gradient has shape " + shape_string(dy.shape()) + ", expected " +
                                shape_string(attn_.shape()));
  const AttentionShape shape{batch_, seq_len_, spec_.n_heads, spec_.head_dim()};
  proj_.out().backward(dy, d_attn_);
  dq_.resize(attn_.shape(), dy.device());
  dk_.resize(attn_.shape(), dy.device());
  dv_.resize(attn_.shape(), dy.device());
  kernels_.bwd(q_.data(), k_.data(), v_.data(), attn_.data(), lse_.data(), d_attn_.data(), dq_.data(), dk_.data(),
               dv_.data(), shape);
  proj_.backward(dq_, dk_, dv_, dx);
}

std::unique_ptr<MixerCache> SoftmaxAttentionMixer::make_cache(int batch, int max_len) const {
  if (batch < 1 || max_len < 1)
    throw std::invalid_argument("mixer 'softmax': cache needs batch >= 1 and max_len >= 1, got " +
                                std::to_string(batch) + " and " + std::to_string(max_len));
  auto cache = std::make_unique<SoftmaxAttentionCache>();
  const Shape shape{batch, max_len, spec_.n_heads, spec_.head_dim()};
  cache->keys = Tensor(shape, spec_.device);
  cache->values = Tensor(shape, spec_.device);
  cache->batch = batch;
  cache->max_len = max_len;
  return cache;
}

void SoftmaxAttentionMixer::step(const Tensor& x_t, Tensor& y_t, MixerCache& cache) {
  check_mixer_input(spec_, x_t, 2, "decode input");
  if (auto* managed = dynamic_cast<ManagedKVCache*>(&cache)) {
    proj_.apply(x_t, q_t_, k_t_, v_t_);
    attn_t_.resize(x_t.shape(), x_t.device());
    managed->attend_step(q_t_, k_t_, v_t_, attn_t_);
    proj_.out().apply(attn_t_, y_t);
    return;
  }
  auto& kv = cache_for_batch<SoftmaxAttentionCache>(cache, spec_, x_t.dim(0), CacheUse::decode_step);
  if (kv.position >= kv.max_len)
    throw std::length_error("mixer 'softmax': KV cache is full (" + std::to_string(kv.max_len) +
                            " tokens); make_cache with a larger max_len");
  proj_.apply(x_t, q_t_, k_t_, v_t_);
  const int64_t D = spec_.d_model;
  const int64_t slot = kv.position * D;
  kernels_for<RowOpKernels>(x_t.device()).copy_rows(k_t_.data(), D, kv.keys.data() + slot, kv.max_len * D, kv.batch, D);
  kernels_for<RowOpKernels>(x_t.device())
      .copy_rows(v_t_.data(), D, kv.values.data() + slot, kv.max_len * D, kv.batch, D);
  attn_t_.resize(x_t.shape(), x_t.device());
  const AttentionShape cache_shape{kv.batch, kv.max_len, spec_.n_heads, spec_.head_dim()};
  kernels_.decode(q_t_.data(), kv.keys.data(), kv.values.data(), kv.position + 1, attn_t_.data(), cache_shape);
  proj_.out().apply(attn_t_, y_t);
  ++kv.position;
}

std::string SoftmaxAttentionMixer::unsupported(int64_t batch, int64_t seq_len) const {
  return kernels_.unsupported(AttentionShape{{batch, seq_len, spec_.n_heads}, spec_.head_dim()});
}

}  // namespace seqbench
