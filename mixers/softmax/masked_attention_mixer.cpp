#include "mixers/softmax/masked_attention_mixer.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "mixers/softmax/attention_projections.h"
#include "mixers/softmax/masked_attention.h"
#include "models/mixer_params.h"
#include "models/mixer_validation.h"
#include "ops/row_ops.h"

namespace seqbench {
namespace {

const MixerSpec& checked(const MixerSpec& spec) {
  validate_mixer_shape(spec);
  return spec;
}

// rows [b, first, last) of a [B, rows, D] tensor -> the same rows of a [B, slots, D] cache, token u
// of sequence b going to slot slot_of(u). Tokens with consecutive slots move as one block; blocks
// are copied in token order, so where a ring slot is reused the later token stays.
template <class SlotOf>
void write_tokens(const Tensor& src, int64_t rows, int64_t first, int64_t last, SlotOf slot_of, Tensor& cache,
                  int64_t slots, int64_t batch) {
  const int64_t D = src.numel() / (batch * rows);
  for (int64_t u = first; u < last;) {
    const int64_t slot = slot_of(u);
    int64_t run = 1;
    while (u + run < last && slot_of(u + run) == slot + run) ++run;
    kernels_for<RowOpKernels>(src.device())
        .copy_rows(src.data() + (u - first) * D, rows * D, cache.data() + slot * D, slots * D, batch, run * D);
    u += run;
  }
}

class MaskedAttentionMixer : public Mixer {
 public:
  MaskedAttentionMixer(const MixerSpec& spec, std::unique_ptr<AttentionKeyPattern> pattern)
      : Mixer(checked(spec)),
        kernels_(kernels_for<MaskedAttentionKernels>(spec.device)),
        pattern_(std::move(pattern)),
        proj_(spec),
        spans_(spec.device),
        decode_spans_(spec.device) {
    add_params(proj_.params());
    // Keys and values of the tokens the pattern keeps, as Zoology counts a KV cache.
    set_state_size({0, 2 * int64_t{spec.d_model}, pattern_->max_cached_tokens()});
  }

  void forward(const Tensor& x, Tensor& y, MixerCache* cache) override {
    check_mixer_input(spec_, x, 3, "input");
    batch_ = x.dim(0);
    seq_len_ = x.dim(1);
    proj_.forward(x, q_, k_, v_);
    keys_ = pattern_->sequence_spans(q_, k_, shape(batch_, seq_len_), spans_);
    attn_.resize(x.shape(), spec_.device);
    lse_.resize({batch_, spec_.n_heads, seq_len_}, spec_.device);
    kernels_.fwd(q_.data(), k_.data(), v_.data(), attn_.data(), lse_.data(), keys_, shape(batch_, seq_len_));
    proj_.out().forward(attn_, y);
    if (!cache) return;

    auto& kv = cache_for_batch<MaskedAttentionCache>(*cache, spec_, batch_, CacheUse::forward);
    if (kv.capacity < seq_len_)
      throw std::invalid_argument(name() + "cache takes " + std::to_string(kv.capacity) + " tokens, forward got " +
                                  std::to_string(seq_len_) + "; make_cache with a larger max_len");
    // Tokens are written in order, so where a ring slot is reused the later token stays.
    auto slot_of = [&](int64_t u) { return pattern_->slot_of(u, kv); };
    write_tokens(k_, seq_len_, 0, seq_len_, slot_of, kv.keys, kv.slots, batch_);
    write_tokens(v_, seq_len_, 0, seq_len_, slot_of, kv.values, kv.slots, batch_);
    pattern_->keys_written(kv, 0, seq_len_);
    kv.position = seq_len_;
  }
  void backward(const Tensor& dy, Tensor& dx) override {
    if (seq_len_ == 0) throw std::logic_error(name() + "backward() called before forward()");
    if (dy.shape() != attn_.shape())
      throw std::invalid_argument(name() + "gradient has shape " + shape_string(dy.shape()) + ", expected " +
                                  shape_string(attn_.shape()));
    proj_.out().backward(dy, d_attn_);
    dq_.resize(attn_.shape(), spec_.device);
    dk_.resize(attn_.shape(), spec_.device);
    dv_.resize(attn_.shape(), spec_.device);
    kernels_.bwd(q_.data(), k_.data(), v_.data(), lse_.data(), d_attn_.data(), dq_.data(), dk_.data(), dv_.data(),
                 keys_, shape(batch_, seq_len_));
    proj_.backward(dq_, dk_, dv_, dx);
  }
  std::unique_ptr<MixerCache> make_cache(int batch, int max_len) const override {
    if (batch < 1 || max_len < 1)
      throw std::invalid_argument(name() + "cache needs batch >= 1 and max_len >= 1, got " + std::to_string(batch) +
                                  " and " + std::to_string(max_len));
    const MaskedCacheLayout layout = pattern_->cache_layout(max_len);
    auto cache = std::make_unique<MaskedAttentionCache>();
    cache->keys = Tensor({batch, layout.slots, spec_.n_heads, spec_.head_dim()}, spec_.device);
    cache->values = Tensor({batch, layout.slots, spec_.n_heads, spec_.head_dim()}, spec_.device);
    if (layout.summary_rows > 0)
      cache->summaries = Tensor({batch, layout.summary_rows, spec_.n_heads, spec_.head_dim()}, spec_.device);
    cache->batch = batch;
    cache->slots = layout.slots;
    cache->summary_rows = layout.summary_rows;
    cache->capacity = layout.capacity;
    return cache;
  }
  void step(const Tensor& x_t, Tensor& y_t, MixerCache& cache) override {
    check_mixer_input(spec_, x_t, 2, "decode input");
    auto& kv = cache_for_batch<MaskedAttentionCache>(cache, spec_, x_t.dim(0), CacheUse::decode_step);
    if (kv.position >= kv.capacity)
      throw std::length_error(name() + "decode cache is full (" + std::to_string(kv.capacity) +
                              " tokens); make_cache with a larger max_len");
    proj_.apply(x_t, q_t_, k_t_, v_t_);
    const int64_t t = kv.position;
    auto slot_of = [&](int64_t u) { return pattern_->slot_of(u, kv); };
    write_tokens(k_t_, 1, t, t + 1, slot_of, kv.keys, kv.slots, kv.batch);
    write_tokens(v_t_, 1, t, t + 1, slot_of, kv.values, kv.slots, kv.batch);
    pattern_->keys_written(kv, t, t + 1);
    const SpanTable keys = pattern_->decode_spans(q_t_, kv, decode_spans_);
    attn_t_.resize(x_t.shape(), spec_.device);
    kernels_.decode(q_t_.data(), kv.keys.data(), kv.values.data(), attn_t_.data(), keys, shape(kv.batch, kv.slots));
    proj_.out().apply(attn_t_, y_t);
    ++kv.position;
  }
  WorkCount mixing_work(int64_t batch, int64_t seq_len, WorkPass pass) const override {
    return attention_work({batch, seq_len, spec_.n_heads, spec_.head_dim(), pattern_->keys_per_query(seq_len),
                           sizeof(float)},
                          pass);
  }
  std::string unsupported(int64_t batch, int64_t seq_len) const override {
    const std::string why = kernels_.unsupported(shape(batch, seq_len));
    return why.empty() ? pattern_->unsupported(shape(batch, seq_len), spec_.device) : why;
  }

 private:
  AttentionShape shape(int64_t batch, int64_t rows) const { return {{batch, rows, spec_.n_heads}, spec_.head_dim()}; }
  std::string name() const { return "mixer '" + spec_.kind + "': "; }

  const MaskedAttentionKernels& kernels_;
  std::unique_ptr<AttentionKeyPattern> pattern_;
  AttentionProjections proj_;
  // Saved by forward for backward: projections, key spans, attention output, per-row log-sum-exp.
  Tensor q_, k_, v_, attn_, lse_;
  SpanBuffer spans_;
  SpanTable keys_;
  int64_t batch_ = 0, seq_len_ = 0;
  Tensor d_attn_, dq_, dk_, dv_;     // backward workspaces
  Tensor q_t_, k_t_, v_t_, attn_t_;  // decode workspaces
  SpanBuffer decode_spans_;
};

}  // namespace

std::unique_ptr<Mixer> make_masked_attention_mixer(const MixerSpec& spec,
                                                   std::unique_ptr<AttentionKeyPattern> pattern) {
  return std::make_unique<MaskedAttentionMixer>(spec, std::move(pattern));
}

}  // namespace seqbench
