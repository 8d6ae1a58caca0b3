#include "models/sequence_model.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "datasets/token_dataset.h"
#include "kernels/cross_entropy.h"
#include "models/mixer_registry.h"

namespace seqbench {
namespace {

void add_into(Tensor& acc, const Tensor& x) {
  float* a = acc.data();
  const float* b = x.data();
  for (int64_t i = 0; i < acc.numel(); ++i) a[i] += b[i];
}

}  // namespace

SequenceModel::SequenceModel(const ModelConfig& config) : config_(config) {
  const auto specs = layer_specs(config);
  Rng rng(Rng::derive(config.seed, 1));
  embedding_ = TokenEmbedding(config.vocab_size, config.d_model, config.max_seq_len, config.position, rng,
                              config.device);
  for (size_t i = 0; i < specs.size(); ++i) {
    const std::string name = "layers." + std::to_string(i);
    Layer layer;
    layer.mixer_norm = LayerNormLayer(name + ".mixer_norm", config.d_model, 1e-5f, config.device);
    layer.mixer = make_mixer(specs[i]);
    // Mixers name their parameters by kind ("softmax.q_proj.weight"); the layer prefix makes
    // names unique across layers, as checkpoints and optimizer logs need.
    for (Param* p : layer.mixer->params()) p->name = name + "." + p->name;
    layer.has_mlp = config.mlp_expand > 0;
    if (layer.has_mlp) {
      layer.mlp_norm = LayerNormLayer(name + ".mlp_norm", config.d_model, 1e-5f, config.device);
      Rng mlp_rng(Rng::derive(config.seed, 2000 + i));
      layer.mlp = MlpBlock(name + ".mlp", config.d_model, config.mlp_expand, mlp_rng, config.device);
    }
    layers_.push_back(std::move(layer));
  }
  final_norm_ = LayerNormLayer("final_norm", config.d_model, 1e-5f, config.device);
  Rng head_rng(Rng::derive(config.seed, 3));
  head_ = LinearLayer("head", config.d_model, config.vocab_size, false, head_rng, 0.0f, config.device);
}

void SequenceModel::forward_hidden(const int32_t* tokens, int64_t batch, int64_t seq_len,
                                   std::vector<MixerCache*>* caches) {
  embedding_.forward(tokens, batch, seq_len, residual_);
  Tensor normed, mixed;
  for (size_t i = 0; i < layers_.size(); ++i) {
    Layer& layer = layers_[i];
    layer.mixer_norm.forward(residual_, normed);
    layer.mixer->forward(normed, mixed, caches ? (*caches)[i] : nullptr);
    add_into(residual_, mixed);
    if (!layer.has_mlp) continue;
    layer.mlp_norm.forward(residual_, normed);
    layer.mlp.forward(normed, mixed);
    add_into(residual_, mixed);
  }
  final_norm_.forward(residual_, final_hidden_);
}

int64_t SequenceModel::labelled_logits(const int32_t* labels, int64_t rows, std::vector<int32_t>& targets,
                                       std::vector<int64_t>& row_index) {
  targets.clear();
  row_index.clear();
  for (int64_t r = 0; r < rows; ++r)
    if (labels[r] != kIgnoreLabel) {
      if (labels[r] < 0 || labels[r] >= config_.vocab_size)
        throw std::invalid_argument("label " + std::to_string(labels[r]) + " outside vocabulary of size " +
                                    std::to_string(config_.vocab_size));
      targets.push_back(labels[r]);
      row_index.push_back(r);
    }
  const int64_t selected = static_cast<int64_t>(row_index.size());
  const int d = config_.d_model;
  selected_hidden_.resize({selected, d});
  for (int64_t s = 0; s < selected; ++s) {
    const float* src = final_hidden_.data() + row_index[s] * d;
    std::copy(src, src + d, selected_hidden_.data() + s * d);
  }
  if (selected > 0) head_.forward(selected_hidden_, logits_);
  return selected;
}

void SequenceModel::backward_hidden(const Tensor& d_final_hidden) {
  Tensor d_residual, d_branch, d_normed;
  final_norm_.backward(d_final_hidden, d_residual);
  for (size_t i = layers_.size(); i-- > 0;) {
    Layer& layer = layers_[i];
    if (layer.has_mlp) {
      layer.mlp.backward(d_residual, d_branch);
      layer.mlp_norm.backward(d_branch, d_normed);
      add_into(d_residual, d_normed);
    }
    layer.mixer->backward(d_residual, d_branch);
    layer.mixer_norm.backward(d_branch, d_normed);
    add_into(d_residual, d_normed);
  }
  embedding_.backward(d_residual);
}

double SequenceModel::loss_and_backward(const int32_t* tokens, const int32_t* labels, int64_t batch,
                                        int64_t seq_len) {
  forward_hidden(tokens, batch, seq_len);
  std::vector<int32_t> targets;
  std::vector<int64_t> row_index;
  const int64_t selected = labelled_logits(labels, batch * seq_len, targets, row_index);
  if (selected == 0) return 0.0;
  Tensor d_logits(logits_.shape());
  const double loss = cross_entropy_cpu(logits_.data(), targets.data(), d_logits.data(), selected,
                                        config_.vocab_size);
  Tensor d_selected;
  head_.backward(d_logits, d_selected);
  const int d = config_.d_model;
  Tensor d_final({batch, seq_len, d});
  for (int64_t s = 0; s < selected; ++s)
    std::copy(d_selected.data() + s * d, d_selected.data() + (s + 1) * d, d_final.data() + row_index[s] * d);
  backward_hidden(d_final);
  return loss;
}

double SequenceModel::loss(const int32_t* tokens, const int32_t* labels, int64_t batch, int64_t seq_len) {
  forward_hidden(tokens, batch, seq_len);
  std::vector<int32_t> targets;
  std::vector<int64_t> row_index;
  const int64_t selected = labelled_logits(labels, batch * seq_len, targets, row_index);
  if (selected == 0) return 0.0;
  return cross_entropy_cpu(logits_.data(), targets.data(), nullptr, selected, config_.vocab_size);
}

void SequenceModel::predict(const int32_t* tokens, const int32_t* labels, int64_t batch, int64_t seq_len,
                            int32_t* predictions) {
  forward_hidden(tokens, batch, seq_len);
  std::vector<int32_t> targets;
  std::vector<int64_t> row_index;
  const int64_t rows = batch * seq_len;
  const int64_t selected = labelled_logits(labels, rows, targets, row_index);
  std::fill(predictions, predictions + rows, kIgnoreLabel);
  std::vector<int32_t> best(static_cast<size_t>(selected));
  if (selected > 0) argmax_rows_cpu(logits_.data(), best.data(), selected, config_.vocab_size);
  for (int64_t s = 0; s < selected; ++s) predictions[row_index[s]] = best[s];
}

DecodeState SequenceModel::prefill(const int32_t* tokens, int64_t batch, int64_t seq_len, int64_t max_len,
                                   std::vector<float>& last_logits) {
  DecodeState state;
  state.batch = batch;
  std::vector<MixerCache*> caches;
  for (auto& layer : layers_) {
    state.caches.push_back(layer.mixer->make_cache(static_cast<int>(batch), static_cast<int>(max_len)));
    caches.push_back(state.caches.back().get());
  }
  forward_hidden(tokens, batch, seq_len, &caches);
  state.position = seq_len;
  const int d = config_.d_model;
  Tensor last({batch, d});
  for (int64_t b = 0; b < batch; ++b) {
    const float* src = final_hidden_.data() + ((b + 1) * seq_len - 1) * d;
    std::copy(src, src + d, last.data() + b * d);
  }
  Tensor logits;
  head_.apply(last, logits);
  last_logits.assign(logits.data(), logits.data() + logits.numel());
  return state;
}

void SequenceModel::decode_step(DecodeState& state, const int32_t* tokens, std::vector<float>& logits_out) {
  Tensor x;
  embedding_.forward(tokens, state.batch, 1, x, state.position);
  x.reshape({state.batch, config_.d_model});
  Tensor normed, branch;
  for (size_t i = 0; i < layers_.size(); ++i) {
    Layer& layer = layers_[i];
    layer.mixer_norm.apply(x, normed);
    layer.mixer->step(normed, branch, *state.caches[i]);
    add_into(x, branch);
    if (!layer.has_mlp) continue;
    layer.mlp_norm.apply(x, normed);
    layer.mlp.apply(normed, branch);
    add_into(x, branch);
  }
  final_norm_.apply(x, normed);
  Tensor logits;
  head_.apply(normed, logits);
  logits_out.assign(logits.data(), logits.data() + logits.numel());
  ++state.position;
}

std::vector<Param*> SequenceModel::params() {
  std::vector<Param*> out = embedding_.params();
  for (auto& layer : layers_) {
    for (Param* p : layer.mixer_norm.params()) out.push_back(p);
    for (Param* p : layer.mixer->params()) out.push_back(p);
    if (!layer.has_mlp) continue;
    for (Param* p : layer.mlp_norm.params()) out.push_back(p);
    for (Param* p : layer.mlp.params()) out.push_back(p);
  }
  for (Param* p : final_norm_.params()) out.push_back(p);
  for (Param* p : head_.params()) out.push_back(p);
  return out;
}

void SequenceModel::zero_grad() {
  for (Param* p : params()) p->grad.zero();
}

int64_t SequenceModel::num_parameters() {
  int64_t n = 0;
  for (Param* p : params()) n += p->value.numel();
  return n;
}

size_t SequenceModel::state_bytes(int seq_len) const {
  size_t total = 0;
  for (const auto& layer : layers_) total += layer.mixer->state_bytes(seq_len);
  return total;
}

std::vector<Mixer*> SequenceModel::mixers() const {
  std::vector<Mixer*> out;
  for (const auto& layer : layers_) out.push_back(layer.mixer.get());
  return out;
}

}  // namespace seqbench
