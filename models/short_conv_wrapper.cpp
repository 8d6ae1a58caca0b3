#include "models/short_conv_wrapper.h"

#include <stdexcept>

#include "models/mixer_params.h"
#include "models/mixer_validation.h"

namespace seqbench {
namespace {

constexpr const char* kKey = "short_conv";
// Sub-seed label of the conv's weights, far from the small labels the mixers give their projections.
constexpr uint64_t kSeedShortConv = 0x53686f7274436f6eULL;

[[noreturn]] void bad(const MixerSpec& spec, const std::string& message) {
  throw std::invalid_argument("mixer '" + spec.kind + "': " + message);
}

ShortConvLayer make_conv(const MixerSpec& spec) {
  const nlohmann::json& value = spec.params.at(kKey);
  const int kernel = value.is_null() ? 0 : mixer_param_int(spec, kKey, 0);
  if (kernel < 1) bad(spec, "short_conv must be a kernel size >= 1, got " + value.dump());
  Rng rng(Rng::derive(spec.seed, kSeedShortConv));
  return ShortConvLayer(spec.kind + ".short_conv", spec.d_model, kernel, rng, spec.device);
}

}  // namespace

bool has_short_conv(const MixerSpec& spec) { return spec.params.is_object() && spec.params.contains(kKey); }

MixerSpec without_short_conv(const MixerSpec& spec) {
  MixerSpec inner = spec;
  if (inner.params.is_object()) inner.params.erase(kKey);
  return inner;
}

ShortConvWrapper::ShortConvWrapper(const MixerSpec& spec, std::unique_ptr<Mixer> inner)
    : Mixer(spec), inner_(std::move(inner)), conv_(make_conv(spec)) {
  if (!inner_) bad(spec, "short_conv needs an inner mixer");
  StateSize size = inner_->state_size();
  size.fixed_floats += static_cast<int64_t>(conv_.kernel() - 1) * spec.d_model;  // the conv's last K-1 inputs
  set_state_size(size);
  add_params(conv_.params());
  add_params(inner_->params());
}

void ShortConvWrapper::forward(const Tensor& x, Tensor& y, MixerCache* cache) {
  check_mixer_input(spec_, x, 3, "input");
  ShortConvCache* state =
      cache ? &cache_for_batch<ShortConvCache>(*cache, spec_, x.dim(0), CacheUse::forward) : nullptr;
  conv_.forward(x, conv_out_);
  inner_->forward(conv_out_, y, state ? state->inner.get() : nullptr);
  if (!state) return;
  conv_.final_state(state->conv_state);
  state->position = x.dim(1);
}

void ShortConvWrapper::backward(const Tensor& dy, Tensor& dx) {
  inner_->backward(dy, d_conv_out_);
  conv_.backward(d_conv_out_, dx);
}

std::unique_ptr<MixerCache> ShortConvWrapper::make_cache(int batch, int max_len) const {
  auto cache = std::make_unique<ShortConvCache>();
  cache->inner = inner_->make_cache(batch, max_len);
  cache->conv_state = conv_.make_state(batch);
  cache->batch = batch;
  return cache;
}

void ShortConvWrapper::step(const Tensor& x_t, Tensor& y_t, MixerCache& cache) {
  check_mixer_input(spec_, x_t, 2, "decode input");
  auto& state = cache_for_batch<ShortConvCache>(cache, spec_, x_t.dim(0), CacheUse::decode_step);
  conv_.step(x_t, conv_out_t_, state.conv_state);
  inner_->step(conv_out_t_, y_t, *state.inner);
  ++state.position;
}

}  // namespace seqbench
