// The model every backend is compared in: embedding -> N x (pre-norm mixer + residual, pre-norm
// MLP + residual) -> final norm -> LM head. The loss (and the head) is computed only at labelled
// positions, which is what recall tasks score and saves most of the vocabulary-sized work.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "ops/cuda/recorded_work.h"
#include "ops/device_buffer.h"
#include "ops/index_buffer.h"
#include "models/layer_norm_layer.h"
#include "models/linear_layer.h"
#include "models/mixer.h"
#include "models/mlp_block.h"
#include "models/model_config.h"
#include "models/token_embedding.h"

namespace seqbench {

struct DecodeState {
  std::vector<std::unique_ptr<MixerCache>> caches;  // one per layer
  int64_t batch = 0;
  int64_t position = 0;
};

class SequenceModel {
 public:
  explicit SequenceModel(const ModelConfig& config);

  // Forward, cross-entropy over positions whose label != kIgnoreLabel, backward. Gradients are
  // accumulated into params(); the mean loss (0 when nothing is labelled) goes to *mean_loss, which
  // lives on the model's device: on the GPU nothing waits for the device, so a training loop can
  // run ahead and read its losses when it reports.
  void loss_and_backward(const int32_t* tokens, const int32_t* labels, int64_t batch, int64_t seq_len,
                         double* mean_loss);
  // The same, returning the loss (on the GPU this waits for the step to finish).
  double loss_and_backward(const int32_t* tokens, const int32_t* labels, int64_t batch, int64_t seq_len);
  // Forward and loss only (no gradients).
  double loss(const int32_t* tokens, const int32_t* labels, int64_t batch, int64_t seq_len);
  // Argmax token at every labelled position; other positions get kIgnoreLabel.
  void predict(const int32_t* tokens, const int32_t* labels, int64_t batch, int64_t seq_len, int32_t* predictions);

  // Decode path (used by the profiler and the decode-vs-parallel tests): prefill fills the
  // caches from tokens [B, L]; decode_step consumes one token per sequence. Both write the
  // logits of the last position, [B, vocab].
  DecodeState prefill(const int32_t* tokens, int64_t batch, int64_t seq_len, int64_t max_len,
                      std::vector<float>& last_logits);
  // The same into caches the caller made, one per layer (state.batch and state.caches set): e.g.
  // KV caches under a policy (harness/scenarios/). Restarts them at position 0.
  void prefill(DecodeState& state, const int32_t* tokens, int64_t seq_len, std::vector<float>& last_logits);
  void decode_step(DecodeState& state, const int32_t* tokens, std::vector<float>& logits);

  // On the GPU a training step's device work before and after the loss (embedding gather and layers
  // forward; layers backward) is recorded as two CUDA graphs once per (batch, length) and replayed,
  // so the host launches two graphs instead of ~150 kernels (ops/cuda/recorded_work.h). Recorded and
  // unrecorded steps compute the same values bit for bit. On by default; environment variable
  // SEQBENCH_STEP_GRAPHS=0 turns it off for a whole process (to measure what it buys).
  void set_step_recording(bool on);
  bool step_replays() const;  // the next training step of the last shape launches its records

  std::vector<Param*> params();
  void zero_grad();
  int64_t num_parameters();
  size_t state_bytes(int seq_len) const;  // summed over layers, per sequence
  // FLOPs and bytes of one pass (ops/work_count.h): every layer's mixer (Mixer::work) and MLP,
  // and the head on `logit_rows` rows (a training step: the labelled positions; prefill and decode:
  // one per sequence). Norms, residuals and the embedding gather are left out (elementwise).
  WorkCount work(int64_t batch, int64_t seq_len, WorkPass pass, int64_t logit_rows) const;
  const ModelConfig& config() const { return config_; }
  std::vector<Mixer*> mixers() const;

 private:
  struct Layer {
    LayerNormLayer mixer_norm;
    std::unique_ptr<Mixer> mixer;
    bool has_mlp = true;  // mlp_expand 0: mixer-only layers (as Zoology's Identity state mixer)
    LayerNormLayer mlp_norm;
    MlpBlock mlp;
  };
  // Runs embedding and all layers; leaves the final-normed hidden states in final_hidden_.
  void forward_hidden(const int32_t* tokens, int64_t batch, int64_t seq_len,
                      std::vector<MixerCache*>* caches = nullptr);
  // The device work of a forward pass after the embedding: residual_ -> final_hidden_.
  void forward_layers(std::vector<MixerCache*>* caches);
  // d_final_hidden_ -> d_residual_ through the final norm and every layer (gradients accumulate).
  void backward_layers();
  // Drops the recorded step when anything it recorded may have moved (see set_step_recording).
  void forget_recorded_steps();
  // Keeps the recorded step only while it still fits: same shape, same parameter and gradient storage.
  void forget_recorded_steps_unless_they_fit(int64_t batch, int64_t seq_len);
  // Gathers final_hidden_ rows at labelled positions and computes their logits (head forward);
  // leaves the labels of those rows in targets_ and their row numbers in row_index_ (host and device).
  int64_t labelled_logits(const int32_t* labels, int64_t rows);
  // Rows `row_ids` (host) of src [*, d] into dst [n, d] on the model's device.
  void gather_rows(const Tensor& src, const std::vector<int32_t>& row_ids, Tensor& dst);
  // targets_'s labels where the cross-entropy kernel reads them (host or device).
  const int32_t* device_targets();
  // Mean cross-entropy of logits_ against the labelled rows into *mean_loss (model's device);
  // d_logits gets its gradient when non-null.
  void labelled_loss(int64_t selected, float* d_logits, double* mean_loss);
  // loss_slot_'s value on the host.
  double read_loss_slot();

  ModelConfig config_;
  TokenEmbedding embedding_;
  std::vector<Layer> layers_;
  LayerNormLayer final_norm_;
  LinearLayer head_;

  Tensor residual_, final_hidden_, selected_hidden_, logits_, d_logits_, d_selected_, d_final_hidden_, d_residual_;
  RecordedWork forward_record_, backward_record_;
  int64_t recorded_batch_ = 0, recorded_len_ = 0;
  std::vector<const float*> recorded_storage_;  // parameter values and gradients the records address
  std::vector<int32_t> host_targets_, host_rows_;
  IndexBuffer targets_, row_ids_, scatter_order_, scatter_rows_;
  DeviceBuffer<double> loss_slot_;  // where the host-returning loss calls have the loss written
};

}  // namespace seqbench
