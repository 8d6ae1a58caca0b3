#include "models/sequence_model.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include "datasets/token_dataset.h"
#include "models/mixer_registry.h"
#include "ops/cross_entropy.h"
#include "ops/embedding.h"
#include "ops/row_ops.h"

namespace seqbench {
namespace {

void add_into(Tensor& acc, const Tensor& x) {
  kernels_for<RowOpKernels>(acc.device()).axpy(1.0f, x.data(), acc.data(), acc.numel());
}

}  // namespace

SequenceModel::SequenceModel(const ModelConfig& config)
    : config_(config),
      forward_record_(config.device),
      backward_record_(config.device),
      targets_(config.device),
      row_ids_(config.device),
      scatter_order_(config.device),
      scatter_rows_(config.device),
      loss_slot_(config.device) {
  const auto specs = layer_specs(config);
  Rng rng(Rng::derive(config.seed, 1));
  embedding_ =
      TokenEmbedding(config.vocab_size, config.d_model, config.max_seq_len, config.position, rng, config.device);
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
  loss_slot_.resize(1);
  const char* graphs = std::getenv("SEQBENCH_STEP_GRAPHS");
  if (graphs && std::string(graphs) == "0") set_step_recording(false);
}

void SequenceModel::forward_hidden(const int32_t* tokens, int64_t batch, int64_t seq_len,
                                   std::vector<MixerCache*>* caches) {
  // Not a training step: it may resize or move what the recorded steps address.
  forget_recorded_steps();
  embedding_.forward(tokens, batch, seq_len, residual_);
  forward_layers(caches);
}

void SequenceModel::forward_layers(std::vector<MixerCache*>* caches) {
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

void SequenceModel::gather_rows(const Tensor& src, const std::vector<int32_t>& row_ids, Tensor& dst) {
  const int64_t n = static_cast<int64_t>(row_ids.size()), d = src.dim(-1);
  dst.resize({n, d}, src.device());
  const int32_t* ids = row_ids.data();
  if (src.device() != Device::cpu) {
    row_ids_.upload(row_ids);
    ids = row_ids_.data();
  }
  kernels_for<EmbeddingKernels>(src.device()).gather(src.data(), ids, dst.data(), n, d);
}

int64_t SequenceModel::labelled_logits(const int32_t* labels, int64_t rows) {
  host_targets_.clear();
  host_rows_.clear();
  for (int64_t r = 0; r < rows; ++r)
    if (labels[r] != kIgnoreLabel) {
      if (labels[r] < 0 || labels[r] >= config_.vocab_size)
        throw std::invalid_argument("label " + std::to_string(labels[r]) + " outside vocabulary of size " +
                                    std::to_string(config_.vocab_size));
      host_targets_.push_back(labels[r]);
      host_rows_.push_back(static_cast<int32_t>(r));
    }
  const int64_t selected = static_cast<int64_t>(host_rows_.size());
  gather_rows(final_hidden_, host_rows_, selected_hidden_);
  if (selected > 0) head_.forward(selected_hidden_, logits_);
  return selected;
}

void SequenceModel::backward_layers() {
  Tensor d_branch, d_normed;
  final_norm_.backward(d_final_hidden_, d_residual_);
  for (size_t i = layers_.size(); i-- > 0;) {
    Layer& layer = layers_[i];
    if (layer.has_mlp) {
      layer.mlp.backward(d_residual_, d_branch);
      layer.mlp_norm.backward(d_branch, d_normed);
      add_into(d_residual_, d_normed);
    }
    layer.mixer->backward(d_residual_, d_branch);
    layer.mixer_norm.backward(d_branch, d_normed);
    add_into(d_residual_, d_normed);
  }
}

void SequenceModel::forget_recorded_steps() {
  forward_record_.forget();
  backward_record_.forget();
  recorded_storage_.clear();
}

void SequenceModel::forget_recorded_steps_unless_they_fit(int64_t batch, int64_t seq_len) {
  std::vector<const float*> storage;
  for (Param* p : params()) {
    storage.push_back(p->value.data());
    storage.push_back(p->grad.data());
  }
  if (batch != recorded_batch_ || seq_len != recorded_len_ || storage != recorded_storage_) forget_recorded_steps();
  recorded_batch_ = batch;
  recorded_len_ = seq_len;
  recorded_storage_ = std::move(storage);
}

void SequenceModel::set_step_recording(bool on) {
  forward_record_.set_enabled(on);
  backward_record_.set_enabled(on);
}

bool SequenceModel::step_replays() const { return forward_record_.replaying() && backward_record_.replaying(); }

const int32_t* SequenceModel::device_targets() {
  if (config_.device == Device::cpu) return host_targets_.data();
  targets_.upload(host_targets_);
  return targets_.data();
}

void SequenceModel::labelled_loss(int64_t selected, float* d_logits, double* mean_loss) {
  kernels_for<CrossEntropyKernels>(config_.device)
      .loss(selected ? logits_.data() : nullptr, selected ? device_targets() : nullptr, d_logits, selected,
            config_.vocab_size, mean_loss);
}

double SequenceModel::read_loss_slot() { return loss_slot_.download()[0]; }

void SequenceModel::loss_and_backward(const int32_t* tokens, const int32_t* labels, int64_t batch, int64_t seq_len,
                                      double* mean_loss) {
  const PrecisionScope precision(config_.precision);
  forget_recorded_steps_unless_they_fit(batch, seq_len);
  // Host work (checking and staging tokens, choosing the labelled rows) runs as it is; the device
  // work on either side of the loss runs from the records.
  embedding_.stage(tokens, batch, seq_len);
  forward_record_.run([&] {
    embedding_.forward_staged(residual_);
    forward_layers(nullptr);
  });
  const int64_t selected = labelled_logits(labels, batch * seq_len);
  if (selected == 0) return labelled_loss(0, nullptr, mean_loss);
  const Device device = config_.device;
  d_logits_.resize(logits_.shape(), device);
  labelled_loss(selected, d_logits_.data(), mean_loss);
  head_.backward(d_logits_, d_selected_);
  // Scatter the labelled rows' gradients back: each row is the one source of its destination.
  d_final_hidden_.resize({batch, seq_len, config_.d_model}, device);
  d_final_hidden_.zero();
  std::vector<int32_t> one_each(static_cast<size_t>(selected) + 1);
  for (int64_t s = 0; s <= selected; ++s) one_each[s] = static_cast<int32_t>(s);
  RowGroups scatter{one_each.data(), one_each.data(), host_rows_.data(), selected};
  if (device != Device::cpu) {
    scatter_order_.upload(one_each);
    scatter_rows_.upload(host_rows_);
    scatter = {scatter_order_.data(), scatter_order_.data(), scatter_rows_.data(), selected};
  }
  kernels_for<EmbeddingKernels>(device).grad(d_selected_.data(), scatter, d_final_hidden_.data(), config_.d_model);
  backward_record_.run([&] { backward_layers(); });
  embedding_.backward(d_residual_);
}

double SequenceModel::loss_and_backward(const int32_t* tokens, const int32_t* labels, int64_t batch,
                                        int64_t seq_len) {
  loss_and_backward(tokens, labels, batch, seq_len, loss_slot_.data());
  return read_loss_slot();
}

double SequenceModel::loss(const int32_t* tokens, const int32_t* labels, int64_t batch, int64_t seq_len) {
  const PrecisionScope precision(config_.precision);
  forward_hidden(tokens, batch, seq_len);
  const int64_t selected = labelled_logits(labels, batch * seq_len);
  labelled_loss(selected, nullptr, loss_slot_.data());
  return read_loss_slot();
}

void SequenceModel::predict(const int32_t* tokens, const int32_t* labels, int64_t batch, int64_t seq_len,
                            int32_t* predictions) {
  const PrecisionScope precision(config_.precision);
  forward_hidden(tokens, batch, seq_len);
  const int64_t rows = batch * seq_len;
  const int64_t selected = labelled_logits(labels, rows);
  std::fill(predictions, predictions + rows, kIgnoreLabel);
  if (selected == 0) return;
  IndexBuffer best(config_.device);
  best.resize(selected);
  kernels_for<CrossEntropyKernels>(config_.device)
      .argmax_rows(logits_.data(), best.data(), selected, config_.vocab_size);
  const std::vector<int32_t> host_best = best.download();
  for (int64_t s = 0; s < selected; ++s) predictions[host_rows_[s]] = host_best[s];
}

DecodeState SequenceModel::prefill(const int32_t* tokens, int64_t batch, int64_t seq_len, int64_t max_len,
                                   std::vector<float>& last_logits) {
  DecodeState state;
  state.batch = batch;
  for (auto& layer : layers_)
    state.caches.push_back(layer.mixer->make_cache(static_cast<int>(batch), static_cast<int>(max_len)));
  prefill(state, tokens, seq_len, last_logits);
  return state;
}

void SequenceModel::prefill(DecodeState& state, const int32_t* tokens, int64_t seq_len, std::vector<float>& last_logits) {
  const PrecisionScope precision(config_.precision);
  if (state.caches.size() != layers_.size())
    throw std::invalid_argument("prefill: " + std::to_string(state.caches.size()) + " caches for " +
                                std::to_string(layers_.size()) + " layers");
  const int64_t batch = state.batch;
  std::vector<MixerCache*> caches;
  for (auto& cache : state.caches) caches.push_back(cache.get());
  forward_hidden(tokens, batch, seq_len, &caches);
  state.position = seq_len;
  std::vector<int32_t> last_rows(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) last_rows[b] = static_cast<int32_t>((b + 1) * seq_len - 1);
  Tensor last, logits;
  gather_rows(final_hidden_, last_rows, last);
  head_.apply(last, logits);
  const Tensor host_logits = logits.to(Device::cpu);
  last_logits.assign(host_logits.data(), host_logits.data() + host_logits.numel());
}

void SequenceModel::decode_step(DecodeState& state, const int32_t* tokens, std::vector<float>& logits_out) {
  const PrecisionScope precision(config_.precision);
  forget_recorded_steps();  // as forward_hidden
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
  const Tensor host_logits = logits.to(Device::cpu);
  logits_out.assign(host_logits.data(), host_logits.data() + host_logits.numel());
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

WorkCount SequenceModel::work(int64_t batch, int64_t seq_len, WorkPass pass, int64_t logit_rows) const {
  const int64_t tokens = pass == WorkPass::decode_step ? batch : batch * seq_len, d = config_.d_model;
  const WorkPass matmul_pass = pass == WorkPass::backward ? WorkPass::backward : WorkPass::forward;
  WorkCount total = matmul_work(logit_rows, config_.vocab_size, d, sizeof(float), matmul_pass);
  for (const auto& layer : layers_) {
    total += layer.mixer->work(batch, seq_len, pass);
    if (layer.has_mlp)  // up and down projections
      total += matmul_work(tokens, int64_t{config_.mlp_expand} * d, d, sizeof(float), matmul_pass) +
               matmul_work(tokens, d, int64_t{config_.mlp_expand} * d, sizeof(float), matmul_pass);
  }
  return total;
}

std::vector<Mixer*> SequenceModel::mixers() const {
  std::vector<Mixer*> out;
  for (const auto& layer : layers_) out.push_back(layer.mixer.get());
  return out;
}

}  // namespace seqbench
