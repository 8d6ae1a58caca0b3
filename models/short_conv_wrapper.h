// Any mixer behind a short causal depthwise convolution of its input, as H3, Based and Mamba put
// one before their sequence mixers: y = inner(conv_K(x)). Chosen by the generic mixer param
// "short_conv": K (K >= 1) on any backend; make_mixer builds the inner mixer from the same spec
// without that key, so the inner backend sees only its own params.
#pragma once
#include <memory>

#include "models/mixer.h"
#include "models/short_conv_layer.h"

namespace seqbench {

// The inner mixer's cache plus the conv's last K-1 inputs, [batch, K-1, d_model].
struct ShortConvCache : MixerCache {
  std::unique_ptr<MixerCache> inner;
  Tensor conv_state;
  int64_t batch = 0;

  std::unique_ptr<MixerCache> clone() const override {
    auto copy = std::make_unique<ShortConvCache>();
    copy->inner = inner->clone();
    copy->conv_state = conv_state;
    copy->batch = batch;
    copy->position = position;
    return copy;
  }
};

// True when spec.params holds "short_conv" (a null value too: the wrapper then names it as invalid).
bool has_short_conv(const MixerSpec& spec);
// The spec with "short_conv" removed from its params: what the inner mixer is built from.
MixerSpec without_short_conv(const MixerSpec& spec);

class ShortConvWrapper : public Mixer {
 public:
  // spec: the full spec, "short_conv" included; inner: built from without_short_conv(spec).
  // Throws std::invalid_argument when short_conv is not an integer >= 1. params(): the conv's weight
  // and bias, then the inner mixer's.
  ShortConvWrapper(const MixerSpec& spec, std::unique_ptr<Mixer> inner);

  void forward(const Tensor& x, Tensor& y, MixerCache* cache) override;
  void backward(const Tensor& dy, Tensor& dx) override;
  std::unique_ptr<MixerCache> make_cache(int batch, int max_len) const override;
  void step(const Tensor& x_t, Tensor& y_t, MixerCache& cache) override;
  std::string unsupported(int64_t batch, int64_t seq_len) const override { return inner_->unsupported(batch, seq_len); }
  // The conv's taps count through work()'s matrix parameters (its weight is [kernel, channels]).
  WorkCount mixing_work(int64_t batch, int64_t seq_len, WorkPass pass) const override {
    return inner_->mixing_work(batch, seq_len, pass);
  }

  const Mixer& inner() const { return *inner_; }
  int kernel() const { return conv_.kernel(); }

 private:
  std::unique_ptr<Mixer> inner_;
  ShortConvLayer conv_;
  Tensor conv_out_, d_conv_out_, conv_out_t_;
};

}  // namespace seqbench
